import { canonicalJson } from '../shared/canonical-json.js';
import type { ChangeRecord, Transactor } from '../store/ports.js';
import { chainHash, checkLink, contentDigestOf, GENESIS_HASH, legacySealText } from './change-chain.js';
import { isLegacyMark, type HistoryKeys } from './history-keys.js';

/** What keying a log written before keyed digests did. */
export interface HistoryUpgrade {
  /** rekeyed: every row now carries a keyed digest and link; sealed: the rows failed their old check and were kept as found, pinned by a seal. */
  outcome: 'none' | 'rekeyed' | 'sealed' | 'refused';
  rows: number;
  /** Rows that failed the check of ADR 2 (sealed), or that are keyed already (refused). */
  failing: number;
}

const PAGE = 2000;

/**
 * Carries a log of the unkeyed format (ADR 2) forward, once, when the instance starts with its key (ADR 12). The
 * migration marks every row it found as the legacy segment. If those rows pass their old check, each is re-digested
 * and re-chained under the key, and the log is keyed throughout. If any fails, nothing is rewritten (a failing row is
 * never blessed): the segment is sealed as found, so verify goes on reporting it and no edit can move its boundary. A
 * segment that holds a keyed row, or ends short of the head, was not left by the migration but made by an edit: it is
 * left unsealed, and verify says so.
 */
export async function upgradeHistory(db: Transactor, keys: HistoryKeys): Promise<HistoryUpgrade> {
  return db.write(async (stores) => {
    const segment = await stores.changes.legacySegment();
    if (segment.until === 0 || segment.seal !== null) return { outcome: 'none', rows: 0, failing: 0 };
    /** Each row of the segment, in order, a page at a time (the log may be long). */
    const eachRow = async (visit: (row: ChangeRecord) => Promise<void> | void): Promise<void> => {
      for (let after = 0; after < segment.until; ) {
        const page = await stores.changes.scan(after, PAGE);
        for (const row of page) if (row.seq <= segment.until) await visit(row);
        if (page.length < PAGE) break;
        after = page[page.length - 1]!.seq;
      }
    };
    let rows = 0;
    let failing = 0;
    let keyed = 0;
    let previous = { seq: 0, hash: GENESIS_HASH };
    await eachRow((row) => {
      rows += 1;
      if (!isLegacyMark(row.digest) || !isLegacyMark(row.hash)) keyed += 1;
      else if (checkLink(keys, previous, row, true)) failing += 1;
      previous = { seq: row.seq, hash: row.hash };
    });
    const head = await stores.changes.head();
    // The migration marks the whole log, before anything can be added: a segment short of the head, or holding keyed rows, is an edit.
    if (keyed > 0 || head.seq !== segment.until) return { outcome: 'refused', rows, failing: keyed };
    if (failing > 0 || previous.seq !== segment.until || head.hash !== previous.hash) {
      await stores.changes.saveLegacySegment({ until: segment.until, seal: keys.chain.sign(legacySealText(segment.until, previous.hash)) });
      return { outcome: 'sealed', rows, failing: Math.max(failing, 1) };
    }
    let hash = GENESIS_HASH;
    await eachRow(async (row) => {
      row.digest = contentDigestOf(row, canonicalJson, keys);
      row.hash = hash = chainHash(keys, hash, row);
      await stores.changes.rekey(row.seq, row.digest, row.hash);
    });
    await stores.changes.saveLegacySegment({ until: 0, seal: null });
    return { outcome: 'rekeyed', rows, failing: 0 };
  });
}
