import type { Clock } from '../shared/clock.js';
import { newId } from '../shared/ids.js';
import type { InstanceIdentity, Transactor } from '../store/ports.js';

export const instanceKinds = ['development', 'staging', 'production', 'sandbox', 'beta', 'release-candidate'] as const;
export type InstanceKind = (typeof instanceKinds)[number];

/**
 * Loads this database's instance identity, creating it on first start. The id is the `origin` of every change
 * made here, so a database keeps its identity: starting it under another name or kind is refused.
 */
export async function ensureInstanceIdentity(db: Transactor, clock: Clock, wanted: { name: string; kind: InstanceKind }): Promise<InstanceIdentity> {
  return db.write(async (stores) => {
    const existing = await stores.instance.get();
    if (existing) {
      if (existing.name !== wanted.name || existing.kind !== wanted.kind) {
        throw new Error(
          `this database belongs to instance "${existing.name}" (${existing.kind}); it cannot be served as "${wanted.name}" (${wanted.kind})`,
        );
      }
      return existing;
    }
    const now = clock.now();
    const identity: InstanceIdentity = { id: newId(now), name: wanted.name, kind: wanted.kind, createdAt: now };
    await stores.instance.create(identity);
    return identity;
  });
}
