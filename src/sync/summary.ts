import { hash } from 'node:crypto';
import type { ChangeKey, Stores, SummaryCell } from '../store/ports.js';

/** Origin sequences per bucket: a leaf of the summary tree, exchanged as a 256-bit bitmap. */
export const BUCKET_SPAN = 256;
/** Origin sequences per word of a bucket's bitmap as the store reads it. */
const WORD_BITS = 32;
/** Children per inner node of the summary tree. */
export const FANOUT = 16;
const FP_MODULUS = 2 ** 48;
const FOLD_PAGE = 10_000;

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
  /** When asked for: the children cells of the origin's root on its own size (see ownRoot). */
  rootChildren?: [number, number][];
}

/** What a node holds: the cells of its children (inner nodes) or the bitmap of its members (buckets). */
export interface NodeContent {
  node: SummaryNode;
  children?: [number, number][];
  members?: string;
}

/** 48 bits of SHA-256 of the change id: the same change gives the same fingerprint on every instance. */
export function fingerprintOf(changeId: string): number {
  // The first 12 hex digits are the first 6 bytes, big-endian; the one-shot hash is ~3x cheaper than createHash.
  return parseInt(hash('sha256', changeId).slice(0, 12), 16);
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
  const head = (await stores.changes.head()).seq;
  let mark = await stores.summary.mark();
  let folded = 0;
  while (mark < head) {
    const to = Math.min(head, mark + FOLD_PAGE);
    const rows = await stores.history.keysBetween(mark, to);
    const deltas = new Map<string, { origin: string; bucket: number; n: number; fp: number }>();
    for (const row of rows) {
      const bucket = bucketOf(row.originSeq);
      const key = `${row.origin}\u0000${bucket}`;
      const delta = deltas.get(key) ?? { origin: row.origin, bucket, n: 0, fp: 0 };
      delta.n += 1;
      delta.fp = (delta.fp + fingerprintOf(row.id)) % FP_MODULUS;
      deltas.set(key, delta);
    }
    await stores.summary.fold([...deltas.values()], to);
    folded += rows.length;
    mark = to;
  }
  return folded;
}


/** Per-origin totals (after folding); with `withRoots`, each origin's root children too, in the same read. */
export async function originSummaries(stores: Stores, options: { withRoots?: boolean } = {}): Promise<OriginSummary[]> {
  const rows = await stores.summary.origins();
  const summaries: OriginSummary[] = rows.map((r) => ({ origin: r.origin, n: r.cell.n, fp: r.cell.fp, maxBucket: r.maxBucket }));
  if (!options.withRoots) return summaries;
  const rooted = summaries.filter((o) => ownRoot(o));
  const contents = await nodeContents(stores, rooted.map((o) => ownRoot(o)!));
  for (const [i, o] of rooted.entries()) o.rootChildren = contents[i]!.children!;
  return summaries;
}

/** The root of an origin's tree on this side's own size, when it has children (more than one bucket). */
export function ownRoot(origin: OriginSummary): SummaryNode | null {
  return origin.n > 0 && origin.maxBucket > 0 ? { origin: origin.origin, level: rootLevel(origin.maxBucket), index: 0 } : null;
}

/** Origin sequences of a bucket's bitmap. */
export function decodeMembers(bitmap: string, bucket: number): number[] {
  const bits = Buffer.from(bitmap, 'base64url');
  const from = bucket * BUCKET_SPAN;
  const seqs: number[] = [];
  for (let i = 0; i < BUCKET_SPAN; i += 1) if ((bits[i >> 3] ?? 0) & (1 << (i & 7))) seqs.push(from + i);
  return seqs;
}

/** Indexes of the items grouped by a key, in order. */
function groupIndexes<T, K>(items: T[], keyOf: (item: T) => K): Map<K, number[]> {
  const groups = new Map<K, number[]>();
  for (const [i, item] of items.entries()) {
    const key = keyOf(item);
    let list = groups.get(key);
    if (!list) groups.set(key, (list = []));
    list.push(i);
  }
  return groups;
}

/** The content of each node: children cells for inner nodes, member bitmaps for buckets; a few statements per level. */
export async function nodeContents(stores: Stores, nodes: SummaryNode[]): Promise<NodeContent[]> {
  const out = new Array<NodeContent>(nodes.length);
  const byLevel = groupIndexes(nodes, (node) => node.level);
  for (const [level, indexes] of byLevel) {
    if (level > 0) {
      const ranges = indexes.map((i): [string, number, number] => [nodes[i]!.origin, bucketRange(nodes[i]!).from, bucketRange(nodes[i]!).to]);
      const cells = new Map((await stores.summary.groupsIn(FANOUT ** (level - 1), ranges)).map((g) => [`${g.origin}\u0000${g.group}`, g.cell]));
      for (const i of indexes) {
        const node = nodes[i]!;
        const children = Array.from({ length: FANOUT }, (_, k): [number, number] => {
          const cell = cells.get(`${node.origin}\u0000${node.index * FANOUT + k}`);
          return cell ? [cell.n, cell.fp] : [0, 0];
        });
        out[i] = { node, children };
      }
      continue;
    }
    const bitmaps = new Map<string, Buffer>();
    const ranges = indexes.map((i): [string, number, number] => [nodes[i]!.origin, seqRange(nodes[i]!).from, seqRange(nodes[i]!).to]);
    for (const { origin, word, bits } of await stores.history.memberWordsIn(ranges)) {
      const bucket = bucketOf(word * WORD_BITS);
      const key = `${origin}\u0000${bucket}`;
      let bitmap = bitmaps.get(key);
      if (!bitmap) bitmaps.set(key, (bitmap = Buffer.alloc(BUCKET_SPAN / 8)));
      // Bit j of the word is bit (j & 7) of byte j >> 3 of its four: little-endian.
      bitmap.writeUInt32LE(bits, (word * WORD_BITS - bucket * BUCKET_SPAN) / 8);
    }
    for (const i of indexes) {
      const node = nodes[i]!;
      out[i] = { node, members: (bitmaps.get(`${node.origin}\u0000${node.index}`) ?? Buffer.alloc(BUCKET_SPAN / 8)).toString('base64url') };
    }
  }
  return out;
}

/** A node of the asking side's tree with the cells of its children, so that the other side answers only where it differs. */
export interface DescendRequest {
  node: SummaryNode;
  children: [number, number][];
}

/** A child whose cell differs from the one sent; with its content (grandchildren cells or bitmap) when both sides hold changes there. */
export interface ChildDifference {
  index: number;
  n: number;
  fp: number;
  children?: [number, number][];
  members?: string;
}

export interface DescendAnswer {
  node: SummaryNode;
  differing: ChildDifference[];
}

/** The child of an inner node at position `k`. */
export function childOf(node: SummaryNode, k: number): SummaryNode {
  return { origin: node.origin, level: node.level - 1, index: node.index * FANOUT + k };
}

/**
 * Two levels of a reconciliation in one exchange: compares this side's children cells of each node with the asker's,
 * and answers the differing children, with their contents where both sides hold changes under them.
 */
export async function descendContents(stores: Stores, requests: DescendRequest[]): Promise<DescendAnswer[]> {
  const own = await nodeContents(stores, requests.map((r) => r.node));
  const wanted: SummaryNode[] = [];
  const filled: ChildDifference[] = [];
  const answers = requests.map((request, r) => {
    const differing: ChildDifference[] = [];
    for (let k = 0; k < FANOUT; k += 1) {
      const [n, fp] = own[r]!.children?.[k] ?? [0, 0];
      const [theirN, theirFp] = request.children[k] ?? [0, 0];
      if (n === theirN && fp === theirFp) continue;
      const difference: ChildDifference = { index: k, n, fp };
      differing.push(difference);
      if (n > 0 && theirN > 0) {
        wanted.push(childOf(request.node, k));
        filled.push(difference);
      }
    }
    return { node: request.node, differing };
  });
  for (const [i, content] of (await nodeContents(stores, wanted)).entries()) {
    if (content.children) filled[i]!.children = content.children;
    else filled[i]!.members = content.members!;
  }
  return answers;
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
