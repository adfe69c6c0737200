/**
 * Records each instance keeps for itself: customers, users of customers and agents. They have global ids, but each
 * instance creates its own, so the same customer has a different id on dev and on production; across instances a
 * record is known by its third-party id (the id another system gives it), unique per kind on an instance when set.
 */
export type RecordKind = 'customer' | 'user' | 'agent';

export const recordKinds: readonly RecordKind[] = ['customer', 'user', 'agent'];

/** A record as configuration sees it: what names it here and elsewhere. */
export interface RecordSummary {
  kind: RecordKind;
  id: string;
  name: string;
  thirdPartyId: string | null;
}
