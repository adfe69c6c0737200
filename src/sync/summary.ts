import type { ChangeKey, NodeDelta, Stores, SummaryCell } from '../store/ports.js';

/** The summary's format (fingerprint function, bucket span, fanout, kept levels): peers compare summaries of one format only. */
export const SUMMARY_FORMAT = 2;
/** Origin sequences per bucket: a leaf of the summary tree, exchanged as a 256-bit bitmap. */
export const BUCKET_SPAN = 256;
/** Origin sequences per word of a bucket's bitmap as the store keeps it. */
const WORD_BITS = 32;
const WORDS = BUCKET_SPAN / WORD_BITS;
/** Children per inner node of the summary tree. */
export const FANOUT = 16;
/** The level every origin's tree is kept up to: its node 0 covers 16^7 buckets, 2^36 origin sequences. */
export const TOP_LEVEL = 7;
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

/**
 * A 48-bit fingerprint of a change id: the same change gives the same fingerprint on every instance. Two 32-bit
 * multiply-xor lanes over the id's code units, finalised with cross mixing (cyrb53's construction); sums of these tell
 * sets apart with a chance of an accidental match of about 2^-48 a node. It detects differences between trusted
 * instances' logs; integrity is the hash chain's job. About 30 times cheaper than SHA-256, which dominated folding.
 */
export function fingerprintOf(changeId: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < changeId.length; i += 1) {
    const unit = changeId.charCodeAt(i);
    h1 = Math.imul(h1 ^ unit, 2654435761);
    h2 = Math.imul(h2 ^ unit, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (h2 & 0xffff) * 2 ** 32 + (h1 >>> 0);
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
 * Folds log rows written since the last fold into the summary, inside the caller's write transaction: each row adds to
 * its bucket (count, fingerprint, member bit) and to the bucket's ancestors up to the top level.
 * Upkeep is paid here, once per change, rather than on every tracked write.
 */
export async function foldSummary(stores: Stores): Promise<number> {
  const head = (await stores.changes.head()).seq;
  let mark = await stores.summary.mark();
  let folded = 0;
  while (mark < head) {
    const to = Math.min(head, mark + FOLD_PAGE);
    const rows = await stores.history.keysBetween(mark, to);
    const buckets = new Map<string, NodeDelta & { words: number[] }>();
    // Rows come in log order, where neighbours mostly share origin and bucket: the last delta is tried first.
    let last: (NodeDelta & { words: number[] }) | undefined;
    for (const row of rows) {
      const bucket = bucketOf(row.originSeq);
      if (!last || last.index !== bucket || last.origin !== row.origin) {
        const key = `${row.origin}\u0000${bucket}`;
        last = buckets.get(key);
        if (!last) {
          if (bucket >= FANOUT ** TOP_LEVEL) throw new Error(`origin sequence ${row.originSeq} is beyond the summary's range`);
          buckets.set(key, (last = { origin: row.origin, level: 0, index: bucket, n: 0, fp: 0, words: new Array<number>(WORDS).fill(0) }));
        }
      }
      const bit = row.originSeq - bucket * BUCKET_SPAN;
      last.n += 1;
      last.fp = (last.fp + fingerprintOf(row.id)) % FP_MODULUS;
      last.words[bit >>> 5] = (last.words[bit >>> 5]! | (1 << (bit & 31))) >>> 0;
    }
    const inner = new Map<string, NodeDelta>();
    for (const delta of buckets.values()) {
      for (let level = 1, index = Math.floor(delta.index / FANOUT); level <= TOP_LEVEL; level += 1, index = Math.floor(index / FANOUT)) {
        const key = `${delta.origin}\u0000${level}\u0000${index}`;
        const node = inner.get(key);
        if (node) {
          node.n += delta.n;
          node.fp = (node.fp + delta.fp) % FP_MODULUS;
        } else inner.set(key, { origin: delta.origin, level, index, n: delta.n, fp: delta.fp });
      }
    }
    await stores.summary.fold([...buckets.values(), ...inner.values()], to);
    folded += rows.length;
    mark = to;
  }
  return folded;
}

/** Per-origin totals (after folding); with `withRoots`, each origin's root children too, in the same read. */
export async function originSummaries(stores: Stores, options: { withRoots?: boolean } = {}): Promise<OriginSummary[]> {
  const rows = await stores.summary.origins(TOP_LEVEL);
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

/** A bucket's bitmap words as exchanged: 32 bytes, base64url; bit i of the bucket is bit (i & 7) of byte i >> 3. */
export function encodeMembers(words: number[] | undefined): string {
  const bitmap = Buffer.alloc(BUCKET_SPAN / 8);
  // Bit j of word w is bucket bit 32w + j: the word's four bytes, little-endian.
  if (words) for (const [w, bits] of words.entries()) bitmap.writeUInt32LE(bits, w * 4);
  return bitmap.toString('base64url');
}

/** The origin sequences each span (bucket-aligned or not) holds, read from the bucket bitmaps. */
export async function membersOf(stores: Stores, spans: { origin: string; from: number; to: number }[]): Promise<KeyRanges> {
  const ranges = spans.map((s): [string, number, number] => [s.origin, bucketOf(s.from), bucketOf(s.to - 1) + 1]);
  const keys: ChangeKey[] = [];
  for (const { range, bucket, words } of await stores.summary.bitmapsIn(ranges)) {
    const origin = ranges[range]![0];
    const first = bucket * BUCKET_SPAN;
    const covering = spans.filter((s) => s.origin === origin && s.from < first + BUCKET_SPAN && s.to > first);
    for (const [w, bits] of words.entries()) {
      for (let j = 0; j < WORD_BITS; j += 1) {
        if (!(bits & (1 << j))) continue;
        const originSeq = first + w * WORD_BITS + j;
        if (covering.some((s) => originSeq >= s.from && originSeq < s.to)) keys.push({ origin, originSeq });
      }
    }
  }
  return rangesOf(keys);
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
    if (level > TOP_LEVEL) throw new Error(`summary level ${level} is above the top level ${TOP_LEVEL}`);
    if (level > 0) {
      // A node's children are the nodes of the level below with indexes [16i, 16i + 16).
      const ranges = indexes.map((i): [string, number, number] => [nodes[i]!.origin, nodes[i]!.index * FANOUT, (nodes[i]!.index + 1) * FANOUT]);
      const children = indexes.map(() => Array.from({ length: FANOUT }, (): [number, number] => [0, 0]));
      for (const cell of await stores.summary.cellsIn(level - 1, ranges)) children[cell.range]![cell.index - ranges[cell.range]![1]] = [cell.n, cell.fp];
      for (const [j, i] of indexes.entries()) out[i] = { node: nodes[i]!, children: children[j]! };
      continue;
    }
    const ranges = indexes.map((i): [string, number, number] => [nodes[i]!.origin, nodes[i]!.index, nodes[i]!.index + 1]);
    const words = new Array<number[] | undefined>(indexes.length);
    for (const bitmap of await stores.summary.bitmapsIn(ranges)) words[bitmap.range] = bitmap.words;
    for (const [j, i] of indexes.entries()) out[i] = { node: nodes[i]!, members: encodeMembers(words[j]) };
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
 * and answers the differing children, with their contents where both sides hold changes under them. `own` is this
 * side's content of each requested node, in request order.
 */
async function descendFrom(stores: Stores, requests: DescendRequest[], own: NodeContent[]): Promise<DescendAnswer[]> {
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

/** One round of a reconciliation, asked of one side: any of its totals, node contents and descents. */
export interface SummaryExchange {
  origins?: { withRoots?: boolean };
  nodes?: SummaryNode[];
  descend?: DescendRequest[];
}

/** What a side answers an exchange: each part asked for, in the order asked. */
export interface SummaryExchangeAnswer {
  origins?: OriginSummary[];
  nodes?: NodeContent[];
  answers?: DescendAnswer[];
}

/**
 * Answers an exchange in one read: the nodes asked for and the nodes descended from are read together (one statement
 * per level), so a round that both compares buckets and descends costs what a descent alone does.
 */
export async function exchangeContents(stores: Stores, request: SummaryExchange): Promise<SummaryExchangeAnswer> {
  const answer: SummaryExchangeAnswer = {};
  if (request.origins) answer.origins = await originSummaries(stores, request.origins);
  const nodes = request.nodes ?? [];
  const descend = request.descend ?? [];
  if (nodes.length + descend.length === 0) return answer;
  const contents = await nodeContents(stores, [...nodes, ...descend.map((r) => r.node)]);
  if (request.nodes) answer.nodes = contents.slice(0, nodes.length);
  if (request.descend) answer.answers = await descendFrom(stores, descend, contents.slice(nodes.length));
  return answer;
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
