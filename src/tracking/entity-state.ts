import { withoutInstanceLocal, type EntityTypeDefinition } from '../catalog/entity-type.js';
import { canonicalOf } from '../shared/body-text.js';

/**
 * Whether an entity's stored body is the state a change recorded for it (the `after` of its head change, or the
 * `before` of a change arriving from elsewhere): the same but for what each instance keeps for itself, the type's
 * instance-local fields. The one comparison of stored state with history: verify, the writer and the receiver use it.
 */
export function sameEntityState(def: EntityTypeDefinition, stored: Record<string, unknown>, recorded: Record<string, unknown>): boolean {
  if (stored === recorded) return true;
  if (Object.keys(def.instanceLocal).length === 0) return canonicalOf(stored) === canonicalOf(recorded);
  return canonicalOf(withoutInstanceLocal(def, stored)) === canonicalOf(withoutInstanceLocal(def, recorded));
}
