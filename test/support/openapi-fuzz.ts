import fc from 'fast-check';

/** The part of JSON Schema (as the served OpenAPI document spells it) that requests are generated from. */
export interface Schema {
  /** OpenAPI 3.1: a type or a list of types (`["string", "null"]`). */
  type?: string | string[];
  const?: unknown;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema | Schema[];
  minItems?: number;
  maxItems?: number;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number | boolean;
  minLength?: number;
  maxLength?: number;
  format?: string;
  pattern?: string;
  nullable?: boolean;
  anyOf?: Schema[];
  oneOf?: Schema[];
}

export interface Parameter {
  in: 'path' | 'query' | 'header' | 'cookie';
  name: string;
  required?: boolean;
  schema?: Schema;
}

/** What the document declares an answer of an operation to be. */
export interface DeclaredResponse {
  mediaTypes: string[];
  /** Headers every such answer carries. */
  requiredHeaders: string[];
}

/** One operation of the served document. */
export interface Operation {
  method: string;
  /** OpenAPI form: `/v1/config/{type}/{id}`. */
  path: string;
  parameters: Parameter[];
  /** Media type → schema of the request body, when the operation declares one. */
  body: Record<string, Schema>;
  /** Status → what the document declares the answer to be. */
  responses: Record<string, DeclaredResponse>;
}

interface DocumentResponse {
  content?: Record<string, unknown>;
  headers?: Record<string, { required?: boolean }>;
}

interface OpenApiDocument {
  paths: Record<string, Record<string, { parameters?: Parameter[]; requestBody?: { content?: Record<string, { schema?: Schema }> }; responses?: Record<string, DocumentResponse> }>>;
}

/** The value with every `$ref` into the document replaced by what it names (the document has no cycles). */
export function dereference<T>(value: T, document: unknown, depth = 0): T {
  if (depth > 50) throw new Error('$ref chain too deep: a cycle?');
  if (Array.isArray(value)) return value.map((item) => dereference(item, document, depth)) as T;
  if (!value || typeof value !== 'object') return value;
  const ref = (value as { $ref?: unknown }).$ref;
  if (typeof ref === 'string' && ref.startsWith('#/')) {
    const target = ref
      .slice(2)
      .split('/')
      .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], document);
    if (target === undefined) throw new Error(`${ref} names nothing in the document`);
    return dereference(target as T, document, depth + 1);
  }
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, dereference(item, document, depth)])) as T;
}

/** Every operation of an OpenAPI document, its refs resolved: a route added to the API is in it, and so is fuzzed. */
export function operationsOf(document: unknown): Operation[] {
  const out: Operation[] = [];
  for (const [path, operations] of Object.entries((document as OpenApiDocument).paths)) {
    for (const [method, raw] of Object.entries(operations)) {
      const operation = dereference(raw, document);
      const body: Record<string, Schema> = {};
      for (const [type, media] of Object.entries(operation.requestBody?.content ?? {})) body[type] = media.schema ?? {};
      const responses = Object.fromEntries(
        Object.entries(operation.responses ?? {}).map(([status, response]) => [
          status,
          {
            mediaTypes: Object.keys(response.content ?? {}),
            requiredHeaders: Object.entries(response.headers ?? {})
              .filter(([, header]) => header.required)
              .map(([name]) => name.toLowerCase()),
          },
        ]),
      );
      out.push({ method: method.toUpperCase(), path, parameters: operation.parameters ?? [], body, responses });
    }
  }
  return out;
}

/**
 * The operation a request reaches, as the router picks it: same method and number of segments, each static segment
 * equal, and of several, the one with the most static segments. Undefined when none does.
 */
export function operationFor(operations: Operation[], method: string, url: string): Operation | undefined {
  const segments = (url.split('?')[0] ?? '').split('/');
  // A dot segment (`..`, `%2e%2e`) is resolved away before routing: the path is not the one written.
  if (segments.some((segment) => /^(\.|%2e){1,2}$/i.test(segment))) return undefined;
  let best: { operation: Operation; statics: number } | undefined;
  for (const operation of operations) {
    if (operation.method !== method) continue;
    const pattern = operation.path.split('/');
    if (pattern.length !== segments.length) continue;
    if (!pattern.every((part, i) => part.startsWith('{') || part === segments[i])) continue;
    const statics = pattern.filter((part) => !part.startsWith('{')).length;
    if (!best || statics > best.statics) best = { operation, statics };
  }
  return best?.operation;
}

/** What schema-shaped strings are drawn from beside random text: ids and names the instance knows, URLs it can reach. */
export interface Vocabulary {
  ids: string[];
  urls: string[];
}

const MAX_TEXT = 24;
const MAX_ITEMS = 4;

/** A value of the schema's shape: what a well-behaved client sends, so that requests reach deep into the routes. */
export function shapedValue(schema: Schema, words: Vocabulary, key = '', depth = 0): fc.Arbitrary<unknown> {
  if (Array.isArray(schema.type)) return fc.oneof(...schema.type.map((type) => shapedValue({ ...schema, type }, words, key, depth)));
  const choices = schema.anyOf ?? schema.oneOf;
  const base = choices ? fc.oneof(...choices.map((s) => shapedValue(s, words, key, depth))) : shapedByType(schema, words, key, depth);
  return schema.nullable ? fc.oneof(fc.constant(null), base) : base;
}

function shapedByType(schema: Schema, words: Vocabulary, key: string, depth: number): fc.Arbitrary<unknown> {
  if (schema.enum) return fc.constantFrom(...schema.enum);
  if ('const' in schema) return fc.constant(schema.const);
  switch (schema.type) {
    case 'object': {
      const properties = Object.entries(schema.properties ?? {});
      if (properties.length === 0 && typeof schema.additionalProperties === 'object' && depth < 3) {
        return fc.dictionary(fc.string({ maxLength: 8 }), shapedValue(schema.additionalProperties, words, key, depth + 1), { maxKeys: 3 });
      }
      if (properties.length === 0) return fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 });
      const model = Object.fromEntries(properties.map(([name, s]) => [name, shapedValue(s, words, name, depth + 1)]));
      return fc.record(model, { requiredKeys: (schema.required ?? []).filter((name) => name in model) });
    }
    case 'array': {
      if (Array.isArray(schema.items)) return fc.tuple(...schema.items.map((s) => shapedValue(s, words, key, depth + 1)));
      const item = schema.items ? shapedValue(schema.items, words, key, depth + 1) : fc.jsonValue({ maxDepth: 1 });
      const minLength = schema.minItems ?? 0;
      return fc.array(item, { minLength, maxLength: Math.max(minLength, Math.min(schema.maxItems ?? MAX_ITEMS, MAX_ITEMS)) });
    }
    case 'integer':
    case 'number': {
      const min = Math.max(schema.minimum ?? -1_000_000, -1_000_000);
      const max = Math.min(schema.maximum ?? 1_000_000, 1_000_000);
      return fc.integer({ min, max: Math.max(min, max) });
    }
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'string':
      return shapedText(schema, words, key);
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

function shapedText(schema: Schema, words: Vocabulary, key: string): fc.Arbitrary<string> {
  if (/url$/i.test(key)) return fc.constantFrom(...words.urls);
  if (schema.format === 'date-time' || /^(from|to|cutoff)$/.test(key)) {
    return fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString());
  }
  if (schema.format === 'email') return fc.emailAddress();
  if (schema.pattern === '^[0-9a-f]{64}$') return fc.stringMatching(/^[0-9a-f]{64}$/);
  const minLength = schema.minLength ?? 0;
  const maxLength = Math.max(minLength, Math.min(schema.maxLength ?? MAX_TEXT, MAX_TEXT));
  return fc.oneof(fc.constantFrom(...words.ids), fc.string({ minLength, maxLength }));
}

/** Text a careless or hostile client sends: empty, huge, ill-formed, control characters, injections, odd numbers. */
export const hostileText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    '\ud800',
    'a\udfffb',
    '\u0000',
    '\u202e',
    '😀',
    '%',
    '%ff',
    '%ED%A0%80',
    '../../etc/passwd',
    "' OR 1=1 --",
    '${7*7}',
    '__proto__',
    'constructor',
    '-1',
    '0',
    '1e309',
    '9'.repeat(400),
    '2030-13-45T99:99:99Z',
    'null',
    '[]',
  ),
  fc.string({ unit: 'binary', maxLength: 16 }),
  fc.nat({ max: 300_000 }).map((n) => 'x'.repeat(n)),
);

const prototypeKey = fc.constantFrom('__proto__', 'constructor', 'prototype');

/** Any JSON value, with hostile text and prototype keys among its strings and keys. */
export const hostileValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    hostileText,
    fc.constantFrom(-1, 0, 1.5, -0, 2 ** 53 + 1, 1e308, -1e308, true, false, null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(fc.string({ maxLength: 8 }), prototypeKey, hostileText), tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** A JSON text whose object holds `key` as its own member (an object literal would set the prototype instead). */
export function withKey(value: unknown, key: string, member: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  return JSON.parse(`{${JSON.stringify(key)}:${JSON.stringify(member) ?? 'null'}${Object.keys(value).length > 0 ? `,${JSON.stringify(value).slice(1)}` : '}'}`);
}

/** Bodies that are not JSON objects of any shape: malformed, nested too deep, too large, not UTF-8, empty. */
export const rawBodies: fc.Arbitrary<string | Buffer> = fc.oneof(
  fc.constantFrom('{', '{"a":', '{"a":1}x', 'nul', "{'a':1}", '[1,]', '', '   ', '"text"', '42', 'null', '[]', '{"a":1,"a":2}'),
  fc.integer({ min: 30, max: 100_000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
  fc.integer({ min: 30, max: 2_000 }).map((n) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`),
  fc.constant(`{"name":"${'x'.repeat(1_100_000)}"}`),
  fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
  fc.constantFrom(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d]), Buffer.from([0xff, 0xfe, 0x7b, 0x00, 0x7d, 0x00])),
);

/** Header values as a client on the wire can send them: printable Latin-1, no line breaks. */
export const headerText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 40 }).map((s) => s.replace(/[^\x20-\x7e]/g, '')),
  fc.constantFrom('', '%', '%ED%A0%80', 'é\u00ff', 'x'.repeat(8_000)),
);

/**
 * Percent-encodes any string, as encodeURIComponent does, but a lone surrogate as the three bytes a careless encoder
 * makes of it (which are not UTF-8) instead of throwing: the server must refuse them.
 */
export function percentEncode(text: string): string {
  return text.replace(/[\ud800-\udfff]/gu, (c) => {
    const unit = c.charCodeAt(0);
    return [0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join('');
  }).split(/(%[0-9A-F]{2})/).map((part, i) => (i % 2 === 1 ? part : encodeURIComponent(part))).join('');
}
