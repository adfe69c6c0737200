import type { Catalog } from '../catalog/catalog.js';
import { isTrackableType, withoutInstanceLocal, type EntityTypeDefinition } from '../catalog/entity-type.js';
import { sha256Hex } from '../shared/canonical-json.js';
import type { EntityRecord, Stores } from '../store/ports.js';
import { canonicalOf } from '../tracking/change-writer.js';
import type { EntityDigest, TypeDigest } from './peer-client.js';

export function trackableTypes(catalog: Catalog): string[] {
  return catalog
    .list()
    .filter(isTrackableType)
    .map((def) => def.key);
}

// Instance-local fields (a role's agents) differ between instances by design, so they are left out.
function digestOfEntity(def: EntityTypeDefinition, entity: EntityRecord): string {
  return sha256Hex(canonicalOf(withoutInstanceLocal(def, entity.id, entity.body)));
}

/** Per tracked type: entity count and a digest over ids and bodies, so two instances compare types cheaply. */
export async function typeDigests(stores: Stores, catalog: Catalog): Promise<TypeDigest[]> {
  const out: TypeDigest[] = [];
  for (const type of trackableTypes(catalog)) {
    const entities = await stores.entities.listAll(type);
    if (entities.length === 0) continue;
    const def = catalog.get(type);
    const lines = entities.map((e) => `${e.id}:${digestOfEntity(def, e)}`).sort();
    out.push({ type, count: entities.length, digest: sha256Hex(lines.join('\n')) });
  }
  return out;
}

export async function entityDigests(stores: Stores, catalog: Catalog, types: string[]): Promise<EntityDigest[]> {
  const known = new Set(trackableTypes(catalog));
  const out: EntityDigest[] = [];
  for (const type of types.filter((t) => known.has(t))) {
    const def = catalog.get(type);
    for (const e of await stores.entities.listAll(type)) out.push({ type, id: e.id, name: e.name, head: e.head, digest: digestOfEntity(def, e) });
  }
  return out;
}
