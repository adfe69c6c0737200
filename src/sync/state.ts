import type { Catalog } from '../catalog/catalog.js';
import { isTrackableType, withoutInstanceLocal, type EntityTypeDefinition } from '../catalog/entity-type.js';
import { sha256Hex } from '../shared/canonical-json.js';
import type { EntityRecord, Stores } from '../store/ports.js';
import { canonicalOf } from '../tracking/change-writer.js';
import { portableBodies } from '../tracking/record-references.js';
import { maskSecrets } from '../tracking/secrets.js';
import type { EntityDigest, TypeDigest } from './peer-client.js';

export function trackableTypes(catalog: Catalog): string[] {
  return catalog
    .list()
    .filter(isTrackableType)
    .map((def) => def.key);
}

/**
 * Bodies as two instances compare them. Instance-local fields (a role's agents) differ between instances by design, so
 * they are left out; records (customers, users, agents) have ids of their own on each instance, so each is named by
 * what it resolves to (its third-party id, else its global id), not by the id this instance gives it.
 */
function comparableBodies(stores: Stores, def: EntityTypeDefinition, entities: readonly EntityRecord[]): Promise<Record<string, unknown>[]> {
  return portableBodies(
    stores,
    def,
    entities.map((e) => withoutInstanceLocal(def, e.id, e.body)),
  );
}

const digestOf = (body: Record<string, unknown>): string => sha256Hex(canonicalOf(body));

/** Per tracked type: entity count and a digest over ids and bodies, so two instances compare types cheaply. */
export async function typeDigests(stores: Stores, catalog: Catalog): Promise<TypeDigest[]> {
  const out: TypeDigest[] = [];
  for (const type of trackableTypes(catalog)) {
    const entities = await stores.entities.listAll(type);
    if (entities.length === 0) continue;
    const bodies = await comparableBodies(stores, catalog.get(type), entities);
    const lines = entities.map((e, i) => `${e.id}:${digestOf(bodies[i]!)}`).sort();
    out.push({ type, count: entities.length, digest: sha256Hex(lines.join('\n')) });
  }
  return out;
}

export async function entityDigests(stores: Stores, catalog: Catalog, types: string[]): Promise<EntityDigest[]> {
  const known = new Set(trackableTypes(catalog));
  const out: EntityDigest[] = [];
  for (const type of types.filter((t) => known.has(t))) {
    const entities = await stores.entities.listAll(type);
    const bodies = await comparableBodies(stores, catalog.get(type), entities);
    entities.forEach((e, i) => out.push({ type, id: e.id, name: e.name, head: e.head, digest: digestOf(bodies[i]!) }));
  }
  return out;
}

/** Tracked entities by id as a field diff shows them: secrets masked, records named as comparableBodies names them. */
export async function comparableEntities(stores: Stores, catalog: Catalog, ids: string[]): Promise<EntityRecord[]> {
  const trackable = new Set(trackableTypes(catalog));
  const found = (await stores.entities.findMany(ids)).filter((e) => trackable.has(e.type));
  const out: EntityRecord[] = [];
  for (const type of new Set(found.map((e) => e.type))) {
    const def = catalog.get(type);
    const ofType = found.filter((e) => e.type === type);
    const bodies = await portableBodies(
      stores,
      def,
      ofType.map((e) => maskSecrets(def, e.body)),
    );
    ofType.forEach((e, i) => out.push({ ...e, body: bodies[i]! }));
  }
  return out;
}
