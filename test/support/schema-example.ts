import { primaryType as primary, variantsOf as variants, type JsonSchema } from '../../web/src/features/config/json-schema.js';

export type { JsonSchema };

/** What the example generator reads of a catalog entry (GET /v1/catalog). */
export interface CatalogEntry {
  key: string;
  label: string;
  area: string;
  tracking: { kind: string };
  references: { path: string; target: string }[];
  records: { path: string; target: 'customer' | 'user' | 'agent' | 'agent-or-user'; by: 'id' | 'third-party-id' }[];
  sensitive: string[];
  instanceScoped: string[];
  schema: JsonSchema;
}

/** Records of this instance an example may name (a customer, one of its users, an agent), by id and by third-party id. */
export interface ExampleRecords {
  customer: { id: string; thirdPartyId: string };
  user: { id: string; thirdPartyId: string };
  agent: { id: string; thirdPartyId: string };
}

export interface ExampleContext {
  /** Ids of existing entities of a type, for references. */
  entitiesOf(type: string): string[];
  records: ExampleRecords;
  /** This instance's name: what an instance-scoped field names. */
  instance: string;
  /** Every field (a full example) or the required ones only (a prerequisite). */
  full: boolean;
  /** Words that make the name unique. */
  tag: string;
}

/** In a hint: the name of the instance the example is written on. */
const INSTANCE = Symbol('instance');

/**
 * What a type's JSON Schema cannot say: rules across its fields (a workflow starts in one of its own steps, a time zone
 * is a real one, the end of working hours follows their start, options only on select fields). Each is the value at a
 * catalog path; `undefined` leaves the field out.
 */
export const EXAMPLE_HINTS: Record<string, Record<string, unknown>> = {
  // An agent step needs agents, which a prerequisite (required fields only) leaves out.
  'approval-processes': { 'steps[].approverKind': 'customer-approver' },
  // Credentials name the instance they serve; this one, while mailboxes are not tracked.
  mailboxes: { 'credentials[].instance': INSTANCE },
  workflows: { startStepId: 'step-1', 'steps[].actions[].nextStepId': 'step-1' },
  workdays: { timezone: 'Europe/London', 'days[].start': '09:00', 'days[].end': '17:30' },
  'custom-fields': { fieldType: 'single-select' },
  'asset-fields': { fieldType: 'single-select' },
  // The webhook channel takes the address and the signing secret; the email channel's fields do not apply to it.
  notifications: { channel: 'webhook', recipients: undefined, teamIds: undefined, emailTemplateId: undefined },
  'sso-connections': { issuer: 'https://login.example.test/tenant' },
};

const EXAMPLE_TEXT = ['Example text', 'example', 'Example', '#336699', '/example/path', 'en-GB', 'X-Example', 'example.user@example.test', '09:00'];

/** A deterministic value that a string schema accepts: its format, pattern and length honoured. */
function exampleString(schema: JsonSchema, words: string): string {
  if (schema.format === 'email') return 'example.user@example.test';
  if (schema.format === 'uri') return 'https://example.test/path';
  const fits = (text: string) =>
    text.length >= (schema.minLength ?? 0) && text.length <= (schema.maxLength ?? Infinity) && (schema.pattern === undefined || new RegExp(schema.pattern).test(text));
  const found = [words, ...EXAMPLE_TEXT].find(fits);
  if (found === undefined) throw new Error(`no example string fits ${JSON.stringify(schema)}`);
  return found;
}

function singular(key: string): string {
  return key.replace(/ies$/, 'y').replace(/s$/, '');
}

/** "fieldGroupIds" → "field group ids". */
function wordsOf(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
}

const SECRET_PREFIX = 'example-secret-';

/**
 * A valid example body of a catalog type, produced from its JSON Schema and catalog entry: every field filled (or, for a
 * prerequisite, the required ones), enums on a value other than their default, numbers within their bounds, strings of
 * their format and pattern, references to existing entities of their type, records to the instance's own, secrets
 * written as text, instance-scoped fields naming this instance.
 */
export function exampleOf(entry: CatalogEntry, context: ExampleContext): Record<string, unknown> {
  const hints = EXAMPLE_HINTS[entry.key] ?? {};
  const walk = (schema: JsonSchema, path: string, key: string, index: number): unknown => {
    if (path in hints) return hints[path] === INSTANCE ? context.instance : hints[path];
    if (schema.const !== undefined) return schema.const;
    const reference = entry.references.find((r) => r.path === path || r.path === `${path}[]`);
    if (reference) {
      const ids = context.entitiesOf(reference.target);
      if (ids.length === 0) throw new Error(`${entry.key}.${path}: no ${reference.target} to name`);
      return primary(schema) === 'array' ? ids.slice(0, Math.max(1, schema.minItems ?? 1)) : ids[0];
    }
    const record = entry.records.find((r) => r.path === path || r.path === `${path}[]`);
    if (record) {
      const holder = record.target === 'agent-or-user' ? context.records.user : context.records[record.target];
      const value = record.by === 'id' ? holder.id : holder.thirdPartyId;
      return primary(schema) === 'array' ? [value] : value;
    }
    if (entry.sensitive.includes(path)) return /url|address/i.test(`${key} ${schema.description ?? ''}`) ? `https://hooks.example.test/${SECRET_PREFIX}${key}` : `${SECRET_PREFIX}${key}`;
    if (entry.instanceScoped.includes(path)) return [context.instance];
    const options = variants(schema);
    if (options.length > 0) return walk({ ...options[0]!, description: schema.description ?? options[0]!.description }, path, key, index);
    if (schema.enum) {
      const other = schema.enum.find((v) => v !== schema.default);
      return other ?? schema.enum[0];
    }
    switch (primary(schema)) {
      case 'object': {
        if (!schema.properties) {
          // A map: one entry whose key and value the schema accepts.
          const valueSchema = typeof schema.additionalProperties === 'object' ? schema.additionalProperties : {};
          const names = schema.propertyNames ?? {};
          const name = exampleString({ type: 'string', ...names }, 'X-Example');
          const value = Object.keys(valueSchema).length === 0 ? 'example value' : walk(valueSchema, `${path}.${name}`, name, 0);
          return { [name]: value };
        }
        const out: Record<string, unknown> = {};
        const required = new Set(schema.required ?? []);
        for (const [name, property] of Object.entries(schema.properties)) {
          const childPath = path ? `${path}.${name}` : name;
          if (!context.full && !required.has(name) && property.const === undefined) {
            if (property.default !== undefined) out[name] = structuredClone(property.default);
            continue;
          }
          const value = name === 'id' && index >= 0 && primary(property) === 'string' ? `${singular(key)}-${index + 1}` : walk(property, childPath, name, -1);
          if (value !== undefined) out[name] = value;
          else if (property.default !== undefined) out[name] = structuredClone(property.default);
        }
        return out;
      }
      case 'array': {
        const items = schema.items ?? {};
        // A non-empty default (the OpenID scopes) is itself the example.
        if (Array.isArray(schema.default) && schema.default.length > 0) return structuredClone(schema.default);
        const count = Math.max(context.full ? 1 : 0, schema.minItems ?? 0);
        return Array.from({ length: count }, (_, i) => walk(items, `${path}[]`, key, i));
      }
      case 'boolean':
        return schema.default === undefined ? true : !schema.default;
      case 'integer':
      case 'number': {
        const low = schema.minimum ?? 0;
        const high = schema.maximum ?? low + 1000;
        const preferred = typeof schema.default === 'number' ? schema.default + 1 : low + 1;
        return preferred <= high ? preferred : low;
      }
      case 'string':
        if (key === 'name') return exampleString(schema, `${entry.label} ${context.tag}`);
        return exampleString(schema, `Example ${wordsOf(key)}`);
      default:
        return 'example value';
    }
  };
  const body = walk(entry.schema, '', entry.key, -1) as Record<string, unknown>;
  return body;
}

/** The body as the API shows it back: every secret reported as set. */
export function maskedExample(entry: CatalogEntry, body: Record<string, unknown>): Record<string, unknown> {
  const mask = (value: unknown, path: string): unknown => {
    if (entry.sensitive.includes(path)) return value === undefined || value === null ? value : { set: true };
    if (Array.isArray(value)) return value.map((item) => mask(item, `${path}[]`));
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mask(v, path ? `${path}.${k}` : k)]));
    return value;
  };
  return mask(body, '') as Record<string, unknown>;
}

/** The catalog types in an order where every type comes after the types its required references name. */
export function inDependencyOrder(entries: CatalogEntry[]): CatalogEntry[] {
  const byKey = new Map(entries.map((e) => [e.key, e]));
  const done = new Set<string>();
  const out: CatalogEntry[] = [];
  const visiting = new Set<string>();
  const visit = (entry: CatalogEntry) => {
    if (done.has(entry.key)) return;
    if (visiting.has(entry.key)) throw new Error(`required references form a cycle through ${entry.key}`);
    visiting.add(entry.key);
    for (const target of requiredTargets(entry)) if (target !== entry.key) visit(byKey.get(target)!);
    visiting.delete(entry.key);
    done.add(entry.key);
    out.push(entry);
  };
  for (const entry of entries) visit(entry);
  return out;
}

/** The types a body of `entry` must reference: references on paths whose every step is required. */
export function requiredTargets(entry: CatalogEntry): string[] {
  const required = (path: string): boolean => {
    let schema: JsonSchema | undefined = entry.schema;
    for (const part of path.split('.')) {
      const name = part.replace(/\[\]$/, '');
      if (!schema?.properties?.[name] || !(schema.required ?? []).includes(name)) return false;
      schema = schema.properties[name];
      if (part.endsWith('[]')) {
        if ((schema.minItems ?? 0) < 1) return false;
        schema = variants(schema.items ?? {})[0] ?? schema.items;
      }
    }
    return true;
  };
  return [...new Set(entry.references.filter((r) => required(r.path)).map((r) => r.target))];
}
