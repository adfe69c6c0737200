import type { Catalog } from '../catalog/catalog.js';
import { isTrackableType } from '../catalog/entity-type.js';
import type { Stores } from '../store/ports.js';
import { checkLink, GENESIS_HASH, legacySealText, type ChainFailure } from './change-chain.js';
import { localRecordIds } from './record-references.js';
import { sameEntityState } from './entity-state.js';
import type { HistoryKeys } from './history-keys.js';

export interface VerifyResult {
  ok: boolean;
  /** Rows of the log read. */
  checked: number;
  headSeq: number;
  /** The first failure (null when none). */
  failure: ChainFailure | null;
  /** Every failure, up to VERIFY_FAILURES_SHOWN: rows in log order, then entities. */
  failures: ChainFailure[];
  /** How many failures there are in all. */
  failureCount: number;
  /** Tracked entities compared with their head change, and those without one (written while tracking was off). */
  entities: { checked: number; untracked: number };
}

/** Failures listed in full; beyond them only counted. */
export const VERIFY_FAILURES_SHOWN = 100;

const PAGE = 2000;
const ENTITY_PAGE = 500;

/**
 * Checks the whole history (ADR 12): every row's keyed digest and chain link (rows of a legacy segment as ADR 2 has
 * them, the segment pinned by its seal), the recorded head, and every tracked entity's stored state against its head
 * change. It goes on past a failure, so one bad row never hides another.
 */
export async function verifyHistory(stores: Stores, deps: { catalog: Catalog; keys: HistoryKeys }): Promise<VerifyResult> {
  const { catalog, keys } = deps;
  const failures: ChainFailure[] = [];
  let failureCount = 0;
  const fail = (failure: ChainFailure): void => {
    failureCount += 1;
    if (failures.length < VERIFY_FAILURES_SHOWN) failures.push(failure);
  };

  const head = await stores.changes.head();
  const segment = await stores.changes.legacySegment();
  if (segment.until > 0 && segment.seal === null) {
    fail({
      seq: segment.until,
      changeId: null,
      reason: 'legacy-unsealed',
      message: `Rows 1 to ${segment.until} are in the unkeyed format of earlier versions and were never sealed with this pipeline's key: start the instance with its key to re-key them.`,
    });
  }
  let sealSeen = segment.until === 0 || segment.seal === null;
  let previous = { seq: 0, hash: GENESIS_HASH };
  let checked = 0;
  // Each entity's latest change in the log, with its row: what its head must be.
  const latest = new Map<string, { id: string; seq: number }>();
  for (;;) {
    const batch = await stores.changes.scan(previous.seq, PAGE);
    for (const row of batch) {
      const failure = checkLink(keys, previous, row, row.seq <= segment.until);
      if (failure) fail(failure);
      if (row.seq === segment.until && segment.seal !== null) {
        sealSeen = true;
        if (keys.chain.check(segment.seal, legacySealText(segment.until, row.hash)) !== 'ok') fail(sealFailure(segment.until, row.id));
      }
      previous = { seq: row.seq, hash: row.hash };
      latest.set(row.entityId, { id: row.id, seq: row.seq });
      checked += 1;
    }
    if (batch.length < PAGE) break;
  }
  if (!sealSeen) fail(sealFailure(segment.until, null));
  if (previous.seq !== head.seq || previous.hash !== head.hash) {
    const truncated = previous.seq < head.seq;
    fail({
      seq: truncated ? previous.seq + 1 : previous.seq,
      changeId: null,
      reason: 'head-mismatch',
      message: truncated
        ? `Rows ${previous.seq + 1} to ${head.seq} are missing: the recorded head is row ${head.seq} but the log ends at row ${previous.seq}.`
        : `The recorded head does not match row ${previous.seq}: the head or the last row was altered.`,
    });
  }

  const entities = { checked: 0, untracked: 0 };
  for (const def of catalog.list().filter(isTrackableType)) {
    for (let afterId: string | undefined; ; ) {
      const page = await stores.entities.list({ type: def.key, limit: ENTITY_PAGE, ...(afterId ? { afterId } : {}) });
      const heads = new Map((await stores.history.findByIds(page.flatMap((e) => (e.head ? [e.head] : [])))).map((c) => [c.id, c]));
      for (const entity of page) {
        if (entity.head === null) {
          entities.untracked += 1;
          continue;
        }
        entities.checked += 1;
        const named = { entity: { type: entity.type, id: entity.id, name: entity.name }, changeId: entity.head };
        const change = heads.get(entity.head);
        const last = latest.get(entity.id);
        if (!change) {
          fail({ ...named, seq: null, reason: 'head-missing', message: `"${entity.name}" (${def.label}) names head change ${entity.head}, which the log does not hold.` });
        } else if (change.entityId !== entity.id || change.type !== entity.type || change.after === null) {
          fail({ ...named, seq: change.seq, reason: 'state-mismatch', message: `"${entity.name}" (${def.label}) names head change ${change.id}, which does not leave this entity as it is.` });
        } else if (last?.id !== change.id) {
          fail({ ...named, seq: change.seq, reason: 'head-not-latest', message: `"${entity.name}" (${def.label}) names head change ${change.id}, but its latest change in the log is ${last?.id ?? 'none'}.` });
        } else if (!sameEntityState(def, entity.id, entity.body, await localRecordIds(stores, def, change.after))) {
          fail({ ...named, seq: change.seq, reason: 'state-mismatch', message: `"${entity.name}" (${def.label}) differs from what its head change ${change.id} recorded: it was edited outside Shiplog.` });
        }
      }
      if (page.length < ENTITY_PAGE) break;
      afterId = page[page.length - 1]!.id;
    }
  }

  return { ok: failureCount === 0, checked, headSeq: head.seq, failure: failures[0] ?? null, failures, failureCount, entities };
}

function sealFailure(until: number, changeId: string | null): ChainFailure {
  return {
    seq: until,
    changeId,
    reason: 'legacy-seal-mismatch',
    message: `The seal of the unkeyed rows 1 to ${until} does not match: the boundary or those rows were altered.`,
  };
}
