import {
  BUCKET_SPAN,
  childOf,
  ownRoot,
  rootLevel,
  sameCell,
  seqRange,
  type ChildDifference,
  type DescendAnswer,
  type DescendRequest,
  type KeyRanges,
  type NodeContent,
  type SummaryExchange,
  type SummaryExchangeAnswer,
  type SummaryNode,
} from './summary.js';

/** A range of one origin's sequences: `[from, to)`. */
export interface SeqSpan {
  origin: string;
  from: number;
  to: number;
}

/** One side of a reconciliation: this instance's summary, or a peer's over the sync protocol. */
export interface SummarySource {
  /**
   * One round, read at once: per-origin totals (`withRoots` adds each origin's root children on this side's own size,
   * see ownRoot), the contents of nodes, and descents (two levels each: the children that differ from the cells sent,
   * with their contents).
   */
  exchange(request: SummaryExchange): Promise<SummaryExchangeAnswer>;
  /** The origin sequences each span holds. */
  members(spans: SeqSpan[]): Promise<KeyRanges>;
}

export interface Reconciliation {
  /** Changes the peer has and this instance lacks. */
  behind: number;
  /** Changes this instance has and the peer lacks. */
  ahead: number;
  behindKeys?: KeyRanges;
  aheadKeys?: KeyRanges;
  /** Round trips to the peer. */
  rounds: number;
}

function addKeys(target: KeyRanges, origin: string, seqs: number[]): void {
  const list = (target[origin] ??= []);
  for (const seq of seqs) list.push([seq, seq + 1]);
}

function mergeRanges(into: KeyRanges, from: KeyRanges): void {
  for (const [origin, list] of Object.entries(from)) (into[origin] ??= []).push(...list);
}

function normalise(ranges: KeyRanges): KeyRanges {
  const out: KeyRanges = {};
  for (const [origin, list] of Object.entries(ranges)) {
    const sorted = [...list].sort((a, b) => a[0] - b[0]);
    const merged: [number, number][] = [];
    for (const [from, to] of sorted) {
      const last = merged[merged.length - 1];
      if (last && last[1] >= from) last[1] = Math.max(last[1], to);
      else merged.push([from, to]);
    }
    if (merged.length > 0) out[origin] = merged;
  }
  return out;
}

/** Counts and spans found so far; `compare` adds what one node's two contents say and answers the nodes to look into. */
class Tally {
  behind = 0;
  ahead = 0;
  readonly onlyLocal: SeqSpan[] = [];
  readonly onlyRemote: SeqSpan[] = [];
  readonly behindKeys: KeyRanges = {};
  readonly aheadKeys: KeyRanges = {};

  /** A node (or origin) held on one side only. */
  one(side: 'local' | 'remote', origin: string, n: number, span: { from: number; to: number }): void {
    if (side === 'local') {
      this.ahead += n;
      this.onlyLocal.push({ origin, ...span });
    } else {
      this.behind += n;
      this.onlyRemote.push({ origin, ...span });
    }
  }

  /** Both sides' bitmaps of one bucket. */
  compareBucket(node: SummaryNode, local: Pick<NodeContent, 'members'>, remote: Pick<NodeContent, 'members'>): void {
    const ls = Buffer.from(local.members ?? '', 'base64url');
    const rs = Buffer.from(remote.members ?? '', 'base64url');
    const onlyHere: number[] = [];
    const onlyThere: number[] = [];
    const first = node.index * BUCKET_SPAN;
    // Only bytes that differ are looked into: bit j of byte i is origin sequence first + 8i + j.
    for (let i = 0; i < BUCKET_SPAN / 8; i += 1) {
      const l = ls[i] ?? 0;
      const r = rs[i] ?? 0;
      if (l === r) continue;
      for (let j = 0; j < 8; j += 1) {
        const bit = 1 << j;
        if ((l & bit) && !(r & bit)) onlyHere.push(first + i * 8 + j);
        else if ((r & bit) && !(l & bit)) onlyThere.push(first + i * 8 + j);
      }
    }
    this.ahead += onlyHere.length;
    this.behind += onlyThere.length;
    addKeys(this.aheadKeys, node.origin, onlyHere);
    addKeys(this.behindKeys, node.origin, onlyThere);
  }
}

/** A node whose two sides both hold changes and differ; `here` is this side's content of it, once read. */
interface FrontierNode {
  node: SummaryNode;
  here?: Pick<NodeContent, 'children' | 'members'>;
}

/**
 * Exact behind/ahead between two change sets by descending both summary trees only where they differ:
 * the work and the bytes grow with the number of differences (times the tree's depth), not with the logs.
 * Each exchange with the remote side covers two levels: this side sends its children cells of the differing
 * nodes, the remote answers the children that differ with their own contents. This side then descends two levels
 * of its own in one read: from the remote's contents of those children to its own contents of the grandchildren
 * that differ, which are what it sends in the next exchange.
 */
export async function reconcile(local: SummarySource, remote: SummarySource, options: { list: boolean }): Promise<Reconciliation> {
  const tally = new Tally();

  /** What the remote answered for inner nodes, given this side's children cells: the nodes to look into next. */
  async function afterDescent(inner: SummaryNode[], mineCells: Pick<NodeContent, 'children'>[], answers: DescendAnswer[]): Promise<FrontierNode[]> {
    // Children that differ and hold changes on both sides: buckets are compared here and now; inner children are
    // descended on this side with the remote's contents of them.
    const buckets: { node: SummaryNode; remote: ChildDifference }[] = [];
    const descents: DescendRequest[] = [];
    for (const [i, node] of inner.entries()) {
      for (const difference of answers[i]!.differing) {
        const child = childOf(node, difference.index);
        const [ln] = mineCells[i]!.children?.[difference.index] ?? [0, 0];
        if (difference.n === 0) tally.one('local', node.origin, ln, seqRange(child));
        else if (ln === 0) tally.one('remote', node.origin, difference.n, seqRange(child));
        else if (child.level === 0) buckets.push({ node: child, remote: difference });
        else descents.push({ node: child, children: difference.children ?? [] });
      }
    }
    const read = buckets.length + descents.length > 0 ? await local.exchange({ nodes: buckets.map((b) => b.node), descend: descents }) : {};
    const bitmaps = read.nodes ?? [];
    const descended = read.answers ?? [];
    for (const [j, { node, remote: difference }] of buckets.entries()) tally.compareBucket(node, bitmaps[j]!, difference);
    const next: FrontierNode[] = [];
    for (const [j, { node, children: theirs }] of descents.entries()) {
      // This side's answer: its own cells of the grandchildren that differ from the remote's, with contents where both hold changes.
      for (const mine of descended[j]!.differing) {
        const grandchild = childOf(node, mine.index);
        const [rn] = theirs[mine.index] ?? [0, 0];
        if (mine.n === 0) tally.one('remote', node.origin, rn, seqRange(grandchild));
        else if (rn === 0) tally.one('local', node.origin, mine.n, seqRange(grandchild));
        else next.push({ node: grandchild, here: mine.children ? { children: mine.children } : { members: mine.members ?? '' } });
      }
    }
    return next;
  }

  // The first descent goes out with the origins, guessing each root from this side's own size: where the remote's
  // root is on the same level (logs of like size), its answer is used and one round trip is saved.
  const mine = (await local.exchange({ origins: { withRoots: true } })).origins ?? [];
  const rooted = mine.filter((o) => o.rootChildren);
  const guessed = rooted.map((o) => ownRoot(o)!);
  const guessedCells: NodeContent[] = rooted.map((o, i) => ({ node: guessed[i]!, children: o.rootChildren! }));
  const opening = await remote.exchange({ origins: {}, descend: guessed.map((node, i) => ({ node, children: guessedCells[i]!.children! })) });
  const theirs = opening.origins ?? [];
  const guessedAnswers = opening.answers ?? [];
  let rounds = 1;
  const localByOrigin = new Map(mine.map((o) => [o.origin, o]));
  const remoteByOrigin = new Map(theirs.map((o) => [o.origin, o]));
  const guessedAt = new Map(guessed.map((node, i) => [node.origin, i]));
  let frontier: FrontierNode[] = [];
  const answered: number[] = [];

  for (const origin of new Set([...localByOrigin.keys(), ...remoteByOrigin.keys()])) {
    const a = localByOrigin.get(origin);
    const b = remoteByOrigin.get(origin);
    if (sameCell(a, b)) continue;
    if (!b || b.n === 0) tally.one('local', origin, a!.n, { from: 0, to: (a!.maxBucket + 1) * BUCKET_SPAN });
    else if (!a || a.n === 0) tally.one('remote', origin, b.n, { from: 0, to: (b.maxBucket + 1) * BUCKET_SPAN });
    else {
      const root: SummaryNode = { origin, level: rootLevel(Math.max(a.maxBucket, b.maxBucket)), index: 0 };
      const at = guessedAt.get(origin);
      if (at !== undefined && guessed[at]!.level === root.level) answered.push(at);
      else frontier.push({ node: root });
    }
  }
  frontier.push(
    ...(await afterDescent(
      answered.map((i) => guessed[i]!),
      answered.map((i) => guessedCells[i]!),
      answered.map((i) => guessedAnswers[i]!),
    )),
  );

  while (frontier.length > 0) {
    // Roots not guessed are read here first; every other node's content came with the descent that found it.
    const unread = frontier.filter((f) => !f.here);
    if (unread.length > 0) {
      const contents = (await local.exchange({ nodes: unread.map((f) => f.node) })).nodes ?? [];
      for (const [i, f] of unread.entries()) f.here = contents[i]!;
    }
    // A bucket (a root that is a single bucket, or a grandchild found by this side's descent) is compared by bitmaps.
    const buckets = frontier.filter((f) => f.node.level === 0);
    const inner = frontier.filter((f) => f.node.level > 0);
    // Bitmaps and descents go out in one exchange: one round trip.
    const round = await remote.exchange({ nodes: buckets.map((f) => f.node), descend: inner.map((f) => ({ node: f.node, children: f.here!.children ?? [] })) });
    const bitmaps = round.nodes ?? [];
    for (const [i, f] of buckets.entries()) tally.compareBucket(f.node, f.here!, bitmaps[i]!);
    const next = inner.length > 0 ? await afterDescent(inner.map((f) => f.node), inner.map((f) => f.here!), round.answers ?? []) : [];
    rounds += 1;
    frontier = next;
  }

  const { behind, ahead, onlyLocal, onlyRemote, behindKeys, aheadKeys } = tally;
  if (!options.list) return { behind, ahead, rounds };
  const [localOnly, remoteOnly] = await Promise.all([
    onlyLocal.length > 0 ? local.members(onlyLocal) : Promise.resolve({}),
    onlyRemote.length > 0 ? remote.members(onlyRemote) : Promise.resolve({}),
  ]);
  if (onlyRemote.length > 0) rounds += 1;
  mergeRanges(aheadKeys, localOnly);
  mergeRanges(behindKeys, remoteOnly);
  return { behind, ahead, behindKeys: normalise(behindKeys), aheadKeys: normalise(aheadKeys), rounds };
}
