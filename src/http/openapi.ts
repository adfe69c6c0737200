import type { FastifyDynamicSwaggerOptions, SwaggerTransform, SwaggerTransformObject } from '@fastify/swagger';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import type { OpenAPIV3 } from 'openapi-types';
import { permissions, type Permission } from '../access/permissions.js';
import { CSRF_HEADER, sessionCookieName, type RoutePermission } from './plugins/auth.js';
import { problemSchema } from './schemas.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** `oauth`: the route answers errors as RFC 6749 §5.2 does, not as problems (the token endpoint). */
    errorFormat?: 'oauth';
  }
}

/** What the API document says about this instance. */
export interface DocumentSettings {
  version: string;
  /** The instance's public URL (--public-url); the document's server, else `/`. */
  publicUrl: URL | null;
  /** The instance's id: its session cookie is named by it. */
  instanceId: string;
}

/** What the document keeps of a route until the whole document is put together (then it is removed). */
export interface RouteFacts {
  permission: RoutePermission;
  method: string;
  /** Problem statuses the route declares itself (a handler's domain errors). */
  declared: number[];
  ifMatch: boolean;
  errorFormat: 'problem' | 'oauth';
}

const FACTS = 'x-shiplog-route';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Each problem status as a shared response, with what it means here. */
const problemResponses: Record<number, { name: string; description: string }> = {
  400: { name: 'BadRequest', description: 'The request is not valid: a parameter, header or body field is wrong (`errors` names each), or the JSON is malformed or nested too deeply.' },
  401: { name: 'Unauthorized', description: 'No valid credentials: send a bearer token, or sign in (UNAUTHENTICATED); on sign-in routes, the sign-in was refused (SIGN_IN_REFUSED).' },
  403: { name: 'Forbidden', description: 'The caller lacks the permission the route declares (FORBIDDEN, with `permission`), is restricted to some customers, or sent a cookie-authenticated write without its CSRF token (CSRF_FAILED).' },
  404: { name: 'NotFound', description: 'What the path names does not exist here, or is not visible to the caller.' },
  409: { name: 'Conflict', description: 'The request conflicts with the current state (the code says how); nothing was written.' },
  412: { name: 'PreconditionFailed', description: 'If-Match did not name the current version (PRECONDITION_FAILED); nothing was written.' },
  413: { name: 'PayloadTooLarge', description: 'The body is larger than this route accepts (PAYLOAD_TOO_LARGE).' },
  415: { name: 'UnsupportedMediaType', description: 'The body is not of a media type this route accepts (UNSUPPORTED_MEDIA_TYPE).' },
  422: { name: 'UnprocessableContent', description: 'The body names a record that does not exist here (REFERENCE_NOT_FOUND).' },
  423: { name: 'Locked', description: 'Editing of config-tracked entities is disabled on this instance (CONFIG_LOCKED); nothing was written.' },
  429: { name: 'TooManyRequests', description: 'Too many requests from this caller (RATE_LIMITED) or too many failed attempts (TOO_MANY_ATTEMPTS): wait Retry-After seconds.' },
  502: { name: 'BadGateway', description: 'Another server this request needs (a linked instance, an identity provider) did not answer, or refused.' },
  503: { name: 'ServiceUnavailable', description: 'This instance is not set up for the request (e.g. single sign-on without a public URL), or not ready to serve (NOT_READY).' },
};

const responseHeaders: Record<string, OpenAPIV3.HeaderObject> = {
  RetryAfter: { description: 'Seconds to wait before trying again.', required: true, schema: { type: 'integer', minimum: 1 } },
  WwwAuthenticate: { description: '`Bearer realm="shiplog"` when credentials were missing or not valid.', schema: { type: 'string' } },
  Location: { description: 'Where the created resource is read.', required: true, schema: { type: 'string' } },
  Redirect: { description: 'Where to go next.', required: true, schema: { type: 'string' } },
  ETag: { description: 'The entity’s version, quoted; send it back in If-Match to refuse lost updates.', required: true, schema: { type: 'string' } },
  WrittenETag: { description: 'The entity’s version after the write, quoted; absent after a delete.', schema: { type: 'string' } },
  ChangeId: { description: 'The change the write recorded; absent when it recorded none.', schema: { type: 'string' } },
};

const headerNames: Record<string, string> = { 'x-change-set': 'X-Change-Set', 'if-match': 'If-Match', 'idempotency-key': 'Idempotency-Key' };

const tags: OpenAPIV3.TagObject[] = [
  { name: 'instance', description: 'This instance: identity, version, banners and settings.' },
  { name: 'catalog', description: 'The configuration types, their tracking rules and JSON Schemas.' },
  { name: 'config', description: 'Configuration entities of every catalog type; tracked writes record changes.' },
  { name: 'changes', description: 'The change list, change detail, rollback, verification, export and import.' },
  { name: 'instances', description: 'Linked instances and pipelines: status, state diff, push, pull and restore.' },
  { name: 'sync protocol', description: 'What instances ask each other; shapes follow the sync module and change with the version peers share.' },
  { name: 'access', description: 'Agents and API applications.' },
  { name: 'session', description: 'Console sign-in and sign-out, with a password or single sign-on.' },
  { name: 'oauth', description: 'The OAuth 2 token endpoint.' },
  { name: 'audit', description: 'The instance’s audit log.' },
  { name: 'promotion requests', description: 'The promotion policy and the requests pushes, pulls and imports become where it asks for approvals.' },
  { name: 'desk', description: 'Customers, users, tickets, ticket lists, assets, mailboxes and webhook deliveries.' },
  { name: 'meta', description: 'The API document and the health check.' },
  { name: 'Halo API', description: 'Halo’s REST API (v2) under /api: snake_case records, integer id aliases, list envelopes and array saves, over the same services as /v1.' },
];

const permissionDescriptions: Record<Permission, string> = {
  'tickets:read': 'Read tickets, ticket lists and view lists',
  'tickets:edit': 'Log and change tickets, save ticket lists',
  'customers:read': 'Read customers (and, for applications, users)',
  'customers:edit': 'Change customers (and, for applications, users)',
  'users:read': 'Read users of customers',
  'users:edit': 'Change users of customers',
  'assets:read': 'Read assets',
  'assets:edit': 'Change assets',
  'config:read': 'Read configuration, the change list and linked instances; export changes',
  'config:edit': 'Change configuration and settings',
  'config:push': 'Link instances, push, pull, import and restore',
  'changes:rollback': 'Roll back changes',
  'access:manage': 'Manage agents and API applications (Administrator role only)',
  'audit:read': 'Read the audit log (Administrator role only)',
  'promotions:approve': 'Approve, reject, apply and schedule promotion requests',
  'promotions:bypass': 'Apply an approved promotion request outside the deploy windows and freezes, with an audited reason',
};

/** Who may call a route: anonymous routes none; others an access token with the permission as scope, a personal token, or the console session (with its CSRF token on writes). */
export function securityOf(permission: RoutePermission, method: string): OpenAPIV3.SecurityRequirementObject[] {
  if (permission === 'public') return [];
  const scopes = permission === 'authenticated' ? [] : [permission];
  const session: OpenAPIV3.SecurityRequirementObject = SAFE_METHODS.has(method) ? { session: [] } : { session: [], csrf: [] };
  return [{ oauth2: scopes }, { bearer: [] }, session];
}

/** The problem statuses a route can answer: those its handler declares, and those every route of its kind gets. */
export function problemStatusesOf(facts: RouteFacts): number[] {
  if (facts.errorFormat === 'oauth') return [];
  const statuses = new Set(facts.declared);
  // Query parameters and headers are checked on every route.
  statuses.add(400);
  // Counted before anything else, even for callers without credentials (rate-limit.ts).
  statuses.add(429);
  if (facts.permission !== 'public') statuses.add(401);
  const needsPermission = facts.permission !== 'public' && facts.permission !== 'authenticated';
  const csrf = facts.permission !== 'public' && !SAFE_METHODS.has(facts.method);
  if (needsPermission || csrf) statuses.add(403);
  if (BODY_METHODS.has(facts.method)) {
    // Fastify reads a body sent to any of these methods, whether or not the route takes one.
    statuses.add(413);
    statuses.add(415);
  }
  if (facts.ifMatch) statuses.add(412);
  return [...statuses].sort((a, b) => a - b);
}

interface ZodLike {
  shape?: Record<string, unknown>;
}

/** The per-route step: zod schemas become JSON Schema, and the route's facts ride along to the document step. */
const transform: SwaggerTransform = (input) => {
  const result = jsonSchemaTransform(input as Parameters<typeof jsonSchemaTransform>[0]);
  const { route } = input;
  const response = (route.schema?.response ?? {}) as Record<string, unknown>;
  const headers = route.schema?.headers as ZodLike | undefined;
  const method = [route.method].flat()[0]!;
  const facts: RouteFacts = {
    permission: route.config?.permission ?? 'authenticated',
    method,
    declared: Object.entries(response)
      .filter(([, schema]) => schema === problemSchema)
      .map(([status]) => Number(status)),
    ifMatch: headers?.shape !== undefined && 'if-match' in headers.shape,
    errorFormat: route.config?.errorFormat ?? 'problem',
  };
  return { ...result, schema: { ...result.schema, [FACTS]: facts } };
};

type Json = Record<string, unknown>;

/** Every `#/components/<kind>/<name>` a value refers to. */
function refsIn(value: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const item of value) refsIn(item, out);
  else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (key === '$ref' && typeof item === 'string') out.add(item);
      else refsIn(item, out);
    }
  }
  return out;
}

/** Renames refs throughout a value. */
function renameRefs(value: unknown, rename: (ref: string) => string): unknown {
  if (Array.isArray(value)) return value.map((item) => renameRefs(item, rename));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, key === '$ref' && typeof item === 'string' ? rename(item) : renameRefs(item, rename)]));
  }
  return value;
}

const SCHEMAS = '#/components/schemas/';

/**
 * zod names each registered schema twice, as read (`XInput`) and as written (`X`). An input form equal to its output form
 * (its refs taken as merged too) is merged into it; one without an output form left takes its name.
 */
function mergeInputSchemas(document: Json): Json {
  const components = document.components as Json & { schemas: Record<string, unknown> };
  // zod marks each as a document of its own ($schema, $id); inside components they are plain schemas.
  const schemas = Object.fromEntries(Object.entries(components.schemas).map(([name, schema]) => [name, withoutKeys(schema as Json, ['$schema', '$id'])]));
  const baseOf = (name: string) => name.slice(0, -'Input'.length);
  // The greatest set of pairs that stay equal when each pair's refs are taken as one: drop any that differ until none do.
  const merged = new Set(Object.keys(schemas).filter((name) => name.endsWith('Input') && baseOf(name) in schemas));
  for (let changed = true; changed; ) {
    changed = false;
    const same = (ref: string) => (ref.startsWith(SCHEMAS) && merged.has(ref.slice(SCHEMAS.length)) ? baseOf(ref) : ref);
    for (const name of merged) {
      if (JSON.stringify(renameRefs(schemas[name], same)) === JSON.stringify(schemas[baseOf(name)])) continue;
      merged.delete(name);
      changed = true;
    }
  }
  const renamed = new Set(Object.keys(schemas).filter((name) => name.endsWith('Input') && (merged.has(name) || !(baseOf(name) in schemas))));
  const rename = (ref: string) => (ref.startsWith(SCHEMAS) && renamed.has(ref.slice(SCHEMAS.length)) ? baseOf(ref) : ref);
  const next: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(schemas)) {
    if (!merged.has(name)) next[renamed.has(name) ? baseOf(name) : name] = renameRefs(schema, rename);
  }
  return { ...(renameRefs(document, rename) as Json), components: { ...components, schemas: next } };
}

function withoutKeys(value: Json, keys: string[]): Json {
  return Object.fromEntries(Object.entries(value).filter(([key]) => !keys.includes(key)));
}

/** Drops components nothing refers to, following refs from the paths through the components they reach. */
function pruneComponents(document: Json): Json {
  const components = document.components as Record<string, Record<string, unknown>>;
  const reached = new Set<string>();
  const queue = [...refsIn(document.paths)];
  while (queue.length > 0) {
    const ref = queue.pop()!;
    if (reached.has(ref)) continue;
    reached.add(ref);
    const [, , kind, name] = ref.split('/');
    for (const next of refsIn(components[kind!]?.[name!])) queue.push(next);
  }
  const kept = Object.fromEntries(
    Object.entries(components).map(([kind, entries]) => [
      kind,
      kind === 'securitySchemes' ? entries : Object.fromEntries(Object.entries(entries).filter(([name]) => reached.has(`#/components/${kind}/${name}`))),
    ]),
  );
  return { ...document, components: kept };
}

const statusText: Record<string, string> = { '200': 'OK', '201': 'Created', '204': 'No content', '302': 'Found: follow Location' };

const ref = (kind: string, name: string) => ({ $ref: `#/components/${kind}/${name}` });

/** The schema a response's JSON content refers to, if it is a named one. */
function namedSchemaOf(response: OpenAPIV3.ResponseObject | undefined): string | undefined {
  const schema = response?.content?.['application/json']?.schema as { $ref?: string } | undefined;
  return schema?.$ref?.startsWith(SCHEMAS) ? schema.$ref.slice(SCHEMAS.length) : undefined;
}

/** One operation finished: its security, its problem responses and the headers its answers carry. */
function finishOperation(operation: Json, path: string, paths: Record<string, Json>): void {
  const facts = operation[FACTS] as RouteFacts;
  delete operation[FACTS];
  operation.security = securityOf(facts.permission, facts.method);
  const responses = operation.responses as Record<string, OpenAPIV3.ResponseObject | OpenAPIV3.ReferenceObject>;
  for (const status of problemStatusesOf(facts)) {
    const shared = problemResponses[status];
    if (!shared) throw new Error(`${facts.method} ${path} declares problem status ${status}, which the document does not describe`);
    responses[status] = ref('responses', shared.name);
  }
  for (const [status, response] of Object.entries(responses)) {
    if ('$ref' in response) continue;
    if (response.description === 'Default Response') response.description = statusText[status] ?? 'Answer';
    const named = namedSchemaOf(response);
    const headers: Record<string, OpenAPIV3.ReferenceObject> = {};
    if (status === '201' && Object.keys(paths).some((other) => other.startsWith(`${path}/{`) && !other.slice(path.length + 1).includes('/') && paths[other]!.get)) {
      headers.Location = ref('headers', 'Location');
    }
    if (status === '302') headers.Location = ref('headers', 'Redirect');
    // The token endpoint's own slow_down carries it as every 429 does.
    if (status === '429') headers['Retry-After'] = ref('headers', 'RetryAfter');
    if (named === 'Entity' && facts.method === 'GET') headers.ETag = ref('headers', 'ETag');
    if (named === 'WriteOutcome') {
      if (facts.method !== 'DELETE') headers.ETag = ref('headers', 'WrittenETag');
      headers['X-Change-Id'] = ref('headers', 'ChangeId');
    }
    if (Object.keys(headers).length > 0) response.headers = headers;
  }
  for (const parameter of (operation.parameters ?? []) as OpenAPIV3.ParameterObject[]) {
    if (parameter.in === 'header') parameter.name = headerNames[parameter.name] ?? parameter.name;
  }
}

/** The document step: named schemas, security, problem responses and headers; then what nothing uses goes. */
function transformObjectFor(settings: DocumentSettings): SwaggerTransformObject {
  return (input) => {
    const document = jsonSchemaTransformObject(input as Parameters<typeof jsonSchemaTransformObject>[0]) as unknown as Json;
    const paths = document.paths as Record<string, Json>;
    for (const [path, item] of Object.entries(paths)) {
      for (const operation of Object.values(item)) finishOperation(operation as Json, path, paths);
    }
    const components = document.components as Json;
    const tokenUrl = settings.publicUrl ? new URL('auth/token', settings.publicUrl).href : '/auth/token';
    const withShared = {
      ...document,
      components: {
        ...components,
        responses: Object.fromEntries(
          Object.entries(problemResponses).map(([status, { name, description }]) => {
            const headers = status === '429' ? { 'Retry-After': ref('headers', 'RetryAfter') } : status === '401' ? { 'WWW-Authenticate': ref('headers', 'WwwAuthenticate') } : undefined;
            return [name, { description, ...(headers ? { headers } : {}), content: { 'application/problem+json': { schema: ref('schemas', 'Problem') } } }];
          }),
        ),
        headers: responseHeaders,
        securitySchemes: {
          oauth2: {
            type: 'oauth2',
            description: 'An API application’s access token from POST /auth/token (client credentials). Each scope is a permission; a request gets the token’s scopes ∩ the application’s ∩ its agent’s permissions.',
            flows: { clientCredentials: { tokenUrl, scopes: Object.fromEntries(permissions.map((p) => [p, permissionDescriptions[p]])) } },
          },
          bearer: { type: 'http', scheme: 'bearer', description: 'An agent’s personal API token (`shp_…`), with the permissions of the roles that hold the agent.' },
          session: { type: 'apiKey', in: 'cookie', name: sessionCookieName(settings.instanceId), description: 'The console session cookie set by POST /v1/session or single sign-on (httpOnly), named for this instance.' },
          csrf: {
            type: 'apiKey',
            in: 'header',
            name: 'X-CSRF-Token',
            description: `The CSRF token returned at sign-in; required with the session cookie on every write (${CSRF_HEADER}).`,
          },
        },
      },
    };
    return mergeInputSchemas(pruneComponents(withShared)) as ReturnType<SwaggerTransformObject>;
  };
}

/** Options of @fastify/swagger for Shiplog's API document (served at /openapi.json). */
export function openApiOptions(settings: DocumentSettings): FastifyDynamicSwaggerOptions {
  const server = settings.publicUrl ? settings.publicUrl.href.replace(/\/$/, '') : '/';
  return {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Shiplog API',
        version: settings.version,
        description:
          'Version-controlled service-desk configuration: every save of a configuration entity is a tracked change, and changes move along a pipeline of instances (development → staging → production) with checks that make each move safe. ' +
          'Errors are RFC 9457 problem documents (`application/problem+json`) with a stable `code` and the fields at fault. The conventions are described in docs/api.md.',
        license: { name: 'MIT', url: 'https://opensource.org/license/mit' },
      },
      servers: [{ url: server, description: settings.publicUrl ? 'This instance' : 'This instance (the document’s own origin)' }],
      tags,
    },
    transform,
    transformObject: transformObjectFor(settings),
  };
}
