import { withoutInstanceLocal, type EntityTypeDefinition } from '../catalog/entity-type.js';
import { mapRecordIds } from '../catalog/record-references.js';
import { canonicalOf } from '../shared/body-text.js';

/**
 * Whether an entity's stored body is the state a change recorded for it (the `after` of its head change, or the
 * `before` of a change arriving from elsewhere): the same but for what each instance keeps for itself, the type's
 * instance-local fields. The one comparison of stored state with history: verify, the writer and the receiver use it.
 * Record ids (customers, users, agents) differ between instances: callers give `recorded` in this instance's terms
 * (localRecordIds), or, judging another instance's state they cannot map, ask to leave record ids out.
 */
export function sameEntityState(
  def: EntityTypeDefinition,
  entityId: string,
  stored: Record<string, unknown>,
  recorded: Record<string, unknown>,
  options: { ignoreRecordIds?: boolean } = {},
): boolean {
  if (stored === recorded) return true;
  const comparable = (body: Record<string, unknown>) => {
    const shared = withoutInstanceLocal(def, entityId, body);
    return options.ignoreRecordIds ? mapRecordIds(def, shared, () => '') : shared;
  };
  return canonicalOf(comparable(stored)) === canonicalOf(comparable(recorded));
}
