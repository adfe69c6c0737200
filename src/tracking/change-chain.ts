import { canonicalJson, sha256Hex } from '../shared/canonical-json.js';
import type { ChangeRecord } from '../store/ports.js';

/** A change before its digest and hash are computed. */
export type ChangeContent = Omit<ChangeRecord, 'digest' | 'hash'>;

/** The fields of a change that travel between instances; `digest` covers exactly these. */
export type PortableChange = Omit<ChangeContent, 'seq' | 'appliedFrom'>;

export function portableOf(change: ChangeContent): PortableChange {
  const { seq: _seq, appliedFrom: _appliedFrom, ...portable } = change;
  return portable;
}

/** Content digest of the portable fields: detects a change altered in transit or in an export file. */
export function digestOf(change: ChangeContent): string {
  return sha256Hex(canonicalJson(portableOf(change)));
}

// What digestOf leaves out of a change, and the digest itself.
const NOT_DIGESTED: ReadonlySet<string> = new Set(['seq', 'appliedFrom', 'digest', 'hash']);

/**
 * Exactly `digestOf` the change's content, read from the change (or the change as it travels) without copying it;
 * `snapshotText` gives the canonical text of a before or after snapshot, so a caller that remembers them reuses them.
 */
export function contentDigestOf(change: object, snapshotText: (body: Record<string, unknown>) => string): string {
  const record = change as Record<string, unknown>;
  let out = '{';
  for (const key of Object.keys(record).sort()) {
    const item = record[key];
    if (item === undefined || typeof item === 'function' || NOT_DIGESTED.has(key)) continue;
    if (out.length > 1) out += ',';
    const snapshot = (key === 'before' || key === 'after') && typeof item === 'object' && item !== null && !Array.isArray(item);
    out += `${JSON.stringify(key)}:${snapshot ? snapshotText(item as Record<string, unknown>) : canonicalJson(item)}`;
  }
  return sha256Hex(`${out}}`);
}

/** Link of the tamper-evident chain: this row's digest and local fields, bound to the previous row's hash. */
export function chainHash(previousHash: string, seq: number, digest: string, appliedFrom: string | null): string {
  return sha256Hex(`${previousHash}|${seq}|${digest}|${appliedFrom ?? ''}`);
}

export type ChainFailureReason = 'digest-mismatch' | 'hash-mismatch' | 'sequence-gap' | 'head-mismatch';

export interface ChainFailure {
  seq: number;
  changeId: string | null;
  reason: ChainFailureReason;
  message: string;
}

/** Checks one row against its predecessor; returns the failure or null. */
export function checkLink(previous: { seq: number; hash: string }, row: ChangeRecord): ChainFailure | null {
  if (row.seq !== previous.seq + 1) {
    return {
      seq: row.seq,
      changeId: row.id,
      reason: 'sequence-gap',
      message: `Row ${row.seq} follows row ${previous.seq}: rows between them were deleted or reordered.`,
    };
  }
  const { digest: _d, hash: _h, ...content } = row;
  if (digestOf(content) !== row.digest) {
    return { seq: row.seq, changeId: row.id, reason: 'digest-mismatch', message: `Row ${row.seq} was edited: its content no longer matches its digest.` };
  }
  if (chainHash(previous.hash, row.seq, row.digest, row.appliedFrom) !== row.hash) {
    return {
      seq: row.seq,
      changeId: row.id,
      reason: 'hash-mismatch',
      message: `Row ${row.seq} does not chain to the row before it: rows were edited, deleted or reordered.`,
    };
  }
  return null;
}
