import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface Subset {
  paths: Record<string, Record<string, unknown>>;
  schemas: Record<string, { properties: Record<string, string> }>;
}

/** Halo's published record schemas, one level deep: field → `type/format`, `?` for nullable, `ref:` and `array of`. */
export const haloSubset = JSON.parse(readFileSync(fileURLToPath(new URL('../../src/halo/halo-api-subset.json', import.meta.url)), 'utf8')) as Subset;

/** Fields Shiplog adds to Halo's records (docs/halo-api.md). */
export const shiplogFields = new Set(['shiplog_id']);

/** The record schema each /api resource answers with. */
export const schemaOf: Record<string, string> = {
  Tickets: 'Faults',
  Actions: 'Actions',
  Client: 'Area',
  Users: 'Users',
  Asset: 'Device',
  AssetType: 'Xtype',
  Agent: 'Uname',
  Team: 'SectionDetail',
  TicketType: 'RequestType',
  Status: 'TStatus',
  Priority: 'Policy',
  SLA: 'SlaHead',
  Roles: 'NHD_Roles',
  Category: 'CategoryDetail',
  ConfigCommit: 'ConfigCommit',
  Instance: 'Instance',
  ConnectedInstance: 'ConnectedInstance',
};

function typeProblem(declared: string, value: unknown): string | null {
  const nullable = declared.endsWith('?');
  const type = nullable ? declared.slice(0, -1) : declared;
  if (value === null) return nullable ? null : 'is null but not nullable';
  if (type === 'undefined') return null;
  if (type.startsWith('array of')) return Array.isArray(value) ? null : 'is not an array';
  if (type.startsWith('ref:')) return typeof value === 'object' && !Array.isArray(value) ? null : 'is not an object';
  const [base, format] = type.split('/');
  switch (base) {
    case 'integer':
      return Number.isInteger(value) && (format !== 'int32' || Math.abs(value as number) < 2 ** 31) ? null : 'is not an int32';
    case 'number':
      return typeof value === 'number' ? null : 'is not a number';
    case 'boolean':
      return typeof value === 'boolean' ? null : 'is not a boolean';
    case 'string':
      if (typeof value !== 'string') return 'is not a string';
      if (format === 'date-time' && Number.isNaN(Date.parse(value))) return 'is not a date-time';
      if (format === 'uuid' && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)) return 'is not a uuid';
      return null;
    default:
      return `has an unknown declared type ${declared}`;
  }
}

/** Every field of `record` that Halo's schema does not name, or whose value is not of its declared type. */
export function contractProblems(schemaName: string, record: unknown, where = schemaName): string[] {
  const schema = haloSubset.schemas[schemaName];
  if (!schema) return [`${where}: no schema ${schemaName}`];
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return [`${where}: not a record`];
  const problems: string[] = [];
  for (const [field, value] of Object.entries(record)) {
    if (shiplogFields.has(field)) continue;
    const declared = schema.properties[field];
    if (declared === undefined) {
      problems.push(`${where}.${field}: not a field of ${schemaName}`);
      continue;
    }
    const problem = typeProblem(declared, value);
    if (problem) problems.push(`${where}.${field} ${problem}`);
    const nested = /^array of ref:(\w+)$/.exec(declared)?.[1];
    if (nested && Array.isArray(value) && haloSubset.schemas[nested]) value.forEach((item, i) => problems.push(...contractProblems(nested, item, `${where}.${field}[${i}]`)));
  }
  return problems;
}
