import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isTrackableType } from './entity-type.js';
import { createBuiltinCatalog } from './builtin/index.js';
import { keysNaming, mapRecordIds, recordReferenceKey, recordReferencesIn, travellingIdReferences } from './record-references.js';

const catalog = createBuiltinCatalog();
const ULID_PATTERN = '^[0-9A-HJKMNP-TV-Z]{26}$';
const ITEM_ID_PATTERN = '^[A-Za-z0-9_-]{1,64}$';
/** Ids that name no record: credentials of outside services. */
const notRecords = new Set(['clientId', 'tenantId']);

type JsonSchema = { type?: string; pattern?: string; properties?: Record<string, JsonSchema>; items?: JsonSchema; anyOf?: JsonSchema[]; oneOf?: JsonSchema[]; allOf?: JsonSchema[] };

/** Every string field of a body schema (or array of strings) whose name says it holds an id, as catalog paths. */
function idFields(schema: JsonSchema, path = ''): { path: string; key: string; pattern: string | undefined }[] {
  const out: { path: string; key: string; pattern: string | undefined }[] = [];
  for (const part of [...(schema.anyOf ?? []), ...(schema.oneOf ?? []), ...(schema.allOf ?? [])]) out.push(...idFields(part, path));
  for (const [key, property] of Object.entries(schema.properties ?? {})) {
    const at = path ? `${path}.${key}` : key;
    const leaf = property.type === 'array' && property.items ? property.items : property;
    const leafPath = property.type === 'array' ? `${at}[]` : at;
    if (leaf.type === 'string' && /(Id|Ids)$/.test(key)) out.push({ path: leafPath, key, pattern: leaf.pattern });
    else out.push(...idFields(leaf, leafPath));
  }
  return out;
}

describe('record references in the catalog', () => {
  const tracked = catalog.list().filter(isTrackableType);

  it('declares every field of a tracked type that holds the id of a customer, user or agent, and nothing that is not a field', () => {
    const undeclared: string[] = [];
    for (const def of tracked) {
      const declared = new Set([...def.records.map((r) => r.path), ...def.references.map((r) => r.path)]);
      for (const field of idFields(catalog.jsonSchema(def.key) as JsonSchema)) {
        // Entity ids (ULIDs) are references to entities, and item ids name items inside the entity itself.
        if (field.key === 'id' || notRecords.has(field.key) || field.pattern === ITEM_ID_PATTERN) continue;
        if (!declared.has(field.path)) undeclared.push(`${def.key}: ${field.path}${field.pattern === ULID_PATTERN ? ' (an id, declared neither as a reference nor as a record)' : ''}`);
      }
      const fields = new Set(idFields(catalog.jsonSchema(def.key) as JsonSchema).map((f) => f.path));
      for (const record of def.records) expect(fields, `${def.key}: ${record.path} is not a field`).toContain(record.path);
    }
    expect(undeclared).toEqual([]);
  });

  it('declares the record references the guides rely on, by id and by third-party id', () => {
    const of = (key: string) => catalog.get(key).records.map((r) => `${r.path} → ${r.target} by ${r.by}`);
    expect(of('ticket-rules')).toEqual(['criteria[].customerIds[] → customer by id', 'outcomes[].agentId → agent by id', 'outcomes[].agentThirdPartyId → agent by third-party-id']);
    expect(of('roles')).toContain('customerRestrictions.customerIds[] → customer by id');
    expect(of('assets')).toContain('businessOwnerId → agent-or-user by id');
    // A role's agents and a user role's users are each instance's own: they never travel.
    expect(travellingIdReferences(catalog.get('roles')).map((r) => r.path)).toEqual(['customerRestrictions.customerIds[]']);
    expect(travellingIdReferences(catalog.get('user-roles'))).toEqual([]);
  });

  it('finds and replaces exactly the record ids that travel, leaving everything else as it was', () => {
    const def = catalog.get('roles');
    const body = {
      name: 'Partner agents',
      customerRestrictions: { allowAllCustomers: false, customerIds: ['C1', 'C2'] },
      agentIds: ['A1'],
      agentThirdPartyIds: ['EMP-1'],
    };
    expect(recordReferencesIn(def, body).map((h) => `${h.path}=${h.value}`)).toEqual([
      'customerRestrictions.customerIds[0]=C1',
      'customerRestrictions.customerIds[1]=C2',
      'agentIds[0]=A1',
      'agentThirdPartyIds[0]=EMP-1',
    ]);
    expect(recordReferencesIn(def, body, 'shared').map((h) => h.path)).toEqual(['customerRestrictions.customerIds[0]', 'customerRestrictions.customerIds[1]', 'agentThirdPartyIds[0]']);
    expect(mapRecordIds(def, body, (id) => `local-${id}`)).toEqual({ ...body, customerRestrictions: { allowAllCustomers: false, customerIds: ['local-C1', 'local-C2'] } });
    expect(mapRecordIds(def, body, (id) => id)).toBe(body);
    expect(mapRecordIds(def, null, (id) => id)).toBeNull();
  });

  it('keeps each reference under a key that the record it names is found by', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('customer' as const, 'user' as const, 'agent' as const),
        fc.string({ minLength: 1 }),
        fc.option(fc.string({ minLength: 1 })),
        (kind, id, thirdPartyId) => {
          const keys = keysNaming({ kind, id, thirdPartyId });
          expect(keys).toContain(recordReferenceKey({ target: kind, by: 'id', value: id }));
          if (thirdPartyId !== null) expect(keys).toContain(recordReferenceKey({ target: kind, by: 'third-party-id', value: thirdPartyId }));
          if (kind !== 'customer') expect(keys).toContain(recordReferenceKey({ target: 'agent-or-user', by: 'id', value: id }));
          // Another kind's reference, or one by third-party id to a record's id, is never taken for it.
          const other = kind === 'customer' ? 'user' : 'customer';
          expect(keys).not.toContain(recordReferenceKey({ target: other, by: 'id', value: id }));
          if (thirdPartyId !== id) expect(keys).not.toContain(recordReferenceKey({ target: kind, by: 'third-party-id', value: id }));
          expect(keysNaming({ kind, id, thirdPartyId }, 'id').every((k) => k.startsWith('record:'))).toBe(true);
        },
      ),
    );
  });
});
