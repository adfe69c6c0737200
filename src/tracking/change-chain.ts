import { canonicalOf } from '../shared/body-text.js';
import { canonicalJson, keyShapeOf, quotedAt, sha256Hex } from '../shared/canonical-json.js';
import type { ChangeReceipt, ChangeRecord } from '../store/ports.js';
import type { HistoryKeys } from './history-keys.js';

/** A change before its digest and hash are computed. */
export type ChangeContent = Omit<ChangeRecord, 'digest' | 'hash'>;

/** The fields of a change that travel between instances; `digest` covers exactly these. */
export type PortableChange = Omit<ChangeContent, 'seq' | 'appliedFrom' | 'received'>;

/** The hash of the row before the first. */
export const GENESIS_HASH = '0'.repeat(64);

export function portableOf(change: ChangeContent): PortableChange {
  const { seq: _seq, appliedFrom: _appliedFrom, received: _received, ...portable } = change;
  return portable;
}

// What the digest leaves out of a change (the local fields), and the digest itself.
const NOT_DIGESTED: ReadonlySet<string> = new Set(['seq', 'appliedFrom', 'received', 'digest', 'hash']);

/**
 * The canonical text of the change's portable fields (RFC 8785), read from the change (or the change as it travels)
 * without copying it; `snapshotText` gives the canonical text of a before or after snapshot, so a caller that
 * remembers them reuses them.
 */
export function contentTextOf(change: object, snapshotText: (body: Record<string, unknown>) => string): string {
  const record = change as Record<string, unknown>;
  const shape = keyShapeOf(record);
  const { keys } = shape;
  let out = '{';
  for (let i = 0; i < keys.length; i += 1) {
    const key = keys[i]!;
    const item = record[key];
    if (item === undefined || typeof item === 'function' || NOT_DIGESTED.has(key)) continue;
    if (out.length > 1) out += ',';
    const snapshot = (key === 'before' || key === 'after') && typeof item === 'object' && item !== null && !Array.isArray(item);
    out += `${quotedAt(shape, i)}:${snapshot ? snapshotText(item as Record<string, unknown>) : canonicalJson(item)}`;
  }
  return `${out}}`;
}

/** Content digest of the portable fields, keyed (ADR 12): detects a change altered in transit, in a file or in the database. */
export function contentDigestOf(change: object, snapshotText: (body: Record<string, unknown>) => string, keys: HistoryKeys): string {
  return keys.digest.sign(contentTextOf(change, snapshotText));
}

/** `contentDigestOf` a whole change. */
export function digestOf(change: ChangeContent, keys: HistoryKeys): string {
  return keys.digest.sign(canonicalJson(portableOf(change)));
}

/** The digest of ADR 2: an unkeyed SHA-256 of the same text, which rows written before keyed digests carry. */
export function legacyDigestOf(change: object, snapshotText: (body: Record<string, unknown>) => string): string {
  return sha256Hex(contentTextOf(change, snapshotText));
}

/** What a chain link covers: the previous row's hash, this row's place and digest, and its local fields. */
function linkText(previousHash: string, seq: number, digest: string, appliedFrom: string | null, received: ChangeReceipt | null): string {
  // A batch's changes share one receipt: its canonical text is made once (canonicalOf remembers it per object).
  return `${previousHash}|${seq}|${digest}|${JSON.stringify(appliedFrom)}|${received === null ? 'null' : canonicalOf(received as unknown as Record<string, unknown>)}`;
}

/** Link of the tamper-evident chain, keyed: this row's digest and local fields, bound to the previous row's hash. */
export function chainHash(
  keys: HistoryKeys,
  previousHash: string,
  row: { seq: number; digest: string; appliedFrom: string | null; received: ChangeReceipt | null },
): string {
  return keys.chain.sign(linkText(previousHash, row.seq, row.digest, row.appliedFrom, row.received));
}

/** The link of ADR 2, which rows written before keyed digests carry. */
export function legacyChainHash(previousHash: string, seq: number, digest: string, appliedFrom: string | null): string {
  return sha256Hex(`${previousHash}|${seq}|${digest}|${appliedFrom ?? ''}`);
}

/** The seal that pins a legacy segment ending at row `until` with hash `hash`: a chain mark, so no edit can move it. */
export const legacySealText = (until: number, hash: string): string => `legacy-segment|${until}|${hash}`;

export type ChainFailureReason =
  | 'digest-mismatch'
  | 'hash-mismatch'
  | 'sequence-gap'
  | 'head-mismatch'
  | 'key-unknown'
  | 'legacy-seal-mismatch'
  | 'legacy-unsealed'
  | 'state-mismatch'
  | 'head-missing'
  | 'head-not-latest';

export interface ChainFailure {
  /** The row at fault (for an entity, its head change's row when the log holds it); null when there is none. */
  seq: number | null;
  changeId: string | null;
  /** The entity whose stored state fails its head change. */
  entity?: { type: string; id: string; name: string };
  reason: ChainFailureReason;
  message: string;
}

/**
 * Checks one row against its predecessor; returns the failure or null. `legacy`: the row is in the legacy segment,
 * and is checked as ADR 2 has it.
 */
export function checkLink(keys: HistoryKeys, previous: { seq: number; hash: string }, row: ChangeRecord, legacy = false): ChainFailure | null {
  const at = { seq: row.seq, changeId: row.id };
  if (row.seq !== previous.seq + 1) {
    return { ...at, reason: 'sequence-gap', message: `Row ${row.seq} follows row ${previous.seq}: rows between them were deleted or reordered.` };
  }
  const edited = { ...at, reason: 'digest-mismatch' as const, message: `Row ${row.seq} was edited: its content no longer matches its digest.` };
  const unlinked = { ...at, reason: 'hash-mismatch' as const, message: `Row ${row.seq} does not chain to the row before it: rows were edited, deleted or reordered.` };
  if (legacy) {
    if (legacyDigestOf(row, canonicalJson) !== row.digest) return edited;
    return legacyChainHash(previous.hash, row.seq, row.digest, row.appliedFrom) === row.hash ? null : unlinked;
  }
  const digest = keys.digest.check(row.digest, contentTextOf(row, canonicalJson));
  if (digest === 'key-unknown') {
    return { ...at, reason: 'key-unknown', message: `Row ${row.seq} is digested under a key this instance does not have: configure every key of the pipeline, old ones after the active one.` };
  }
  if (digest !== 'ok') return edited;
  const link = keys.chain.check(row.hash, linkText(previous.hash, row.seq, row.digest, row.appliedFrom, row.received));
  if (link === 'key-unknown') {
    return { ...at, reason: 'key-unknown', message: `Row ${row.seq} is chained under a key this instance does not have: configure every key of the pipeline, old ones after the active one.` };
  }
  return link === 'ok' ? null : unlinked;
}
