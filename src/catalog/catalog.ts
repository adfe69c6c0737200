import { z } from 'zod';
import { DomainError } from '../shared/errors.js';
import type { EntityTypeDefinition, ReferenceDeclaration } from './entity-type.js';

export interface IncomingReference {
  from: EntityTypeDefinition;
  reference: ReferenceDeclaration;
}

/** The registry of entity types. Core behaviour reads it; no type is special-cased elsewhere. */
export interface Catalog {
  list(): EntityTypeDefinition[];
  find(key: string): EntityTypeDefinition | undefined;
  /** The type, or UNKNOWN_TYPE. */
  get(key: string): EntityTypeDefinition;
  /** Declared references that point at `key`. */
  referencesTo(key: string): IncomingReference[];
  /** JSON Schema of a type's body. */
  jsonSchema(key: string): Record<string, unknown>;
}

export function createCatalog(definitions: EntityTypeDefinition[]): Catalog {
  const byKey = new Map<string, EntityTypeDefinition>();
  for (const def of definitions) {
    if (byKey.has(def.key)) throw new Error(`catalog: duplicate type ${def.key}`);
    if (!/^[a-z][a-z0-9-]*$/.test(def.key)) throw new Error(`catalog: bad type key ${def.key}`);
    byKey.set(def.key, def);
  }
  const incoming = new Map<string, IncomingReference[]>();
  for (const def of definitions) {
    for (const reference of def.references) {
      if (!byKey.has(reference.target)) {
        throw new Error(`catalog: ${def.key}.${reference.path} references unknown type ${reference.target}`);
      }
      const list = incoming.get(reference.target) ?? [];
      list.push({ from: def, reference });
      incoming.set(reference.target, list);
    }
  }
  const schemas = new Map<string, Record<string, unknown>>();
  return {
    list: () => [...byKey.values()],
    find: (key) => byKey.get(key),
    get(key) {
      const def = byKey.get(key);
      if (!def) throw new DomainError('UNKNOWN_TYPE', `There is no configuration type "${key}".`, { type: key });
      return def;
    },
    referencesTo: (key) => incoming.get(key) ?? [],
    jsonSchema(key) {
      let schema = schemas.get(key);
      if (!schema) {
        const def = this.get(key);
        schema = z.toJSONSchema(def.schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
        schemas.set(key, schema);
      }
      return schema;
    },
  };
}
