import { createHash } from 'node:crypto';
import type { ChangeKey, Stores, SummaryCell } from '../store/ports.js';

/** Origin sequences per bucket: a leaf of the summary tree, exchanged as a 256-bit bitmap. */
export const BUCKET_SPAN = 256;
/** Children per inner node of the summary tree. */
export const FANOUT = 16;
const FP_MODULUS = 2 ** 48;
const FOLD_PAGE = 5_000;

/** A node of one origin's summary tree: level 0 is a bucket; level L covers FANOUT^L buckets. */
export interface SummaryNode {
  origin: string;
  level: number;
  index: number;
}

export interface OriginSummary {
  origin: string;
  n: number;
  fp: number;
  maxBucket: number;
}

/** What a node holds: the cells of its children (inner nodes) or the bitmap of its members (buckets). */
export interface NodeContent {
  node: SummaryNode;
  children?: [number, number][];
  members?: string;
}

/** 48 bits of SHA-256 of the change id: the same change gives the same fingerprint on every instance. */
export function fingerprintOf(changeId: string): number {
  const digest = createHash('sha256').update(changeId).digest();
  return digest.readUIntBE(0, 6);
}

export function bucketOf(originSeq: number): number {
  return Math.floor(originSeq / BUCKET_SPAN);
}

/** The level whose node 0 covers buckets 0..maxBucket. */
export function rootLevel(maxBucket: number): number {
  let level = 0;
  while (FANOUT ** level <= maxBucket) level += 1;
  return level;
}

export function sameCell(a: SummaryCell | undefined, b: SummaryCell | undefined): boolean {
  return (a?.n ?? 0) === (b?.n ?? 0) && (a?.fp ?? 0) === (b?.fp ?? 0);
}

/** Buckets a node covers: `[from, to)`. */
export function bucketRange(node: SummaryNode): { from: number; to: number } {
  const width = FANOUT ** node.level;
  return { from: node.index * width, to: (node.index + 1) * width };
}

/** Origin sequences a node covers: `[from, to)`. */
export function seqRange(node: SummaryNode): { from: number; to: number } {
  const { from, to } = bucketRange(node);
  return { from: from * BUCKET_SPAN, to: to * BUCKET_SPAN };
}

/**
 * Folds log rows written since the last fold into the buckets, inside the caller's write transaction.
 * Upkeep is paid here, once per change, rather than on every tracked write.
 */
export async function foldSummary(stores: Stores): Promise<number> {
  let mark = await stores.summary.mark();
  let folded = 0;
  for (;;) {
    const rows = await stores.history.keysAfter(mark, FOLD_PAGE);
    if (rows.length === 0) return folded;
    const deltas = new Map<string, { origin: string; bucket: number; n: number; fp: number }>();
    for (const row of rows) {
      const bucket = bucketOf(row.originSeq);
      const key = `${row.origin}\u0000${bucket}`;
      const delta = deltas.get(key) ?? { origin: row.origin, bucket, n: 0, fp: 0 };
      delta.n += 1;
      delta.fp = (delta.fp + fingerprintOf(row.id)) % FP_MODULUS;
      deltas.set(key, delta);
    }
    mark = rows[rows.length - 1]!.seq;
    await stores.summary.fold([...deltas.values()], mark);
    folded += rows.length;
  }
}

/** Per-origin totals (after folding). */
export async function originSummaries(stores: Stores): Promise<OriginSummary[]> {
  const rows = await stores.summary.origins();
  return rows.map((r) => ({ origin: r.origin, n: r.cell.n, fp: r.cell.fp, maxBucket: r.maxBucket }));
}

function encodeMembers(seqs: number[], from: number): string {
  const bits = Buffer.alloc(BUCKET_SPAN / 8);
  for (const seq of seqs) {
    const i = seq - from;
    bits[i >> 3]! |= 1 << (i & 7);
  }
  return bits.toString('base64url');
}

/** Origin sequences of a bucket's bitmap. */
export function decodeMembers(bitmap: string, bucket: number): number[] {
  const bits = Buffer.from(bitmap, 'base64url');
  const from = bucket * BUCKET_SPAN;
  const seqs: number[] = [];
  for (let i = 0; i < BUCKET_SPAN; i += 1) if ((bits[i >> 3] ?? 0) & (1 << (i & 7))) seqs.push(from + i);
  return seqs;
}

/** The content of each node: children cells for inner nodes, member bitmaps for buckets. */
export async function nodeContents(stores: Stores, nodes: SummaryNode[]): Promise<NodeContent[]> {
  const out: NodeContent[] = [];
  for (const node of nodes) {
    if (node.level === 0) {
      const { from, to } = seqRange(node);
      out.push({ node, members: encodeMembers(await stores.history.originSeqs(node.origin, from, to), from) });
      continue;
    }
    const { from, to } = bucketRange(node);
    const childWidth = FANOUT ** (node.level - 1);
    const children: [number, number][] = Array.from({ length: FANOUT }, () => [0, 0]);
    for (const g of await stores.summary.groups(node.origin, from, to, childWidth)) {
      children[g.group - node.index * FANOUT] = [g.cell.n, g.cell.fp];
    }
    out.push({ node, children });
  }
  return out;
}

/** A set of change keys as contiguous ranges `[from, to)` of origin sequences per origin. */
export type KeyRanges = Record<string, [number, number][]>;

export function rangesOf(keys: ChangeKey[]): KeyRanges {
  const byOrigin = new Map<string, number[]>();
  for (const key of keys) {
    const list = byOrigin.get(key.origin) ?? [];
    list.push(key.originSeq);
    byOrigin.set(key.origin, list);
  }
  const out: KeyRanges = {};
  for (const [origin, seqs] of byOrigin) {
    seqs.sort((a, b) => a - b);
    const ranges: [number, number][] = [];
    for (const seq of seqs) {
      const last = ranges[ranges.length - 1];
      if (last && last[1] === seq) last[1] = seq + 1;
      else if (!last || last[1] < seq) ranges.push([seq, seq + 1]);
    }
    out[origin] = ranges;
  }
  return out;
}

export function keysOf(ranges: KeyRanges): ChangeKey[] {
  const keys: ChangeKey[] = [];
  for (const [origin, list] of Object.entries(ranges)) {
    for (const [from, to] of list) for (let seq = from; seq < to; seq += 1) keys.push({ origin, originSeq: seq });
  }
  return keys;
}

export function countOf(ranges: KeyRanges): number {
  let n = 0;
  for (const list of Object.values(ranges)) for (const [from, to] of list) n += to - from;
  return n;
}
