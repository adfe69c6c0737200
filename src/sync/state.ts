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
    const digest = typeDigestOf(catalog, type, await stores.entities.listAll(type));
    if (digest) out.push(digest);
  }
  return out;
}

/** `typeDigests` of entities held in memory (a restore's copy), in the same order and form. */
export function typeDigestsOf(catalog: Catalog, entities: readonly EntityRecord[]): TypeDigest[] {
  const byType = new Map<string, EntityRecord[]>();
  for (const e of entities) {
    const list = byType.get(e.type);
    if (list) list.push(e);
    else byType.set(e.type, [e]);
  }
  return trackableTypes(catalog).flatMap((type) => typeDigestOf(catalog, type, byType.get(type) ?? []) ?? []);
}

function typeDigestOf(catalog: Catalog, type: string, entities: readonly EntityRecord[]): TypeDigest | null {
  if (entities.length === 0) return null;
  const def = catalog.get(type);
  const lines = entities.map((e) => `${e.id}:${digestOfEntity(def, e)}`).sort();
  return { type, count: entities.length, digest: sha256Hex(lines.join('\n')) };
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
