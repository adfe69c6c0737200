import {
  BUCKET_SPAN,
  FANOUT,
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
  type OriginSummary,
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
  /** Per-origin totals; `withRoots` adds each origin's root children on this side's own size (see ownRoot). */
  origins(options?: { withRoots?: boolean }): Promise<OriginSummary[]>;
  nodes(nodes: SummaryNode[]): Promise<NodeContent[]>;
  /** Two levels at once: the children that differ from the cells sent, with their contents (see descendContents). */
  descend(requests: DescendRequest[]): Promise<DescendAnswer[]>;
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

  /** Both sides' contents of one node: its children cells, or its bucket bitmaps. */
  compare(node: SummaryNode, local: Pick<NodeContent, 'children' | 'members'>, remote: Pick<NodeContent, 'children' | 'members'>): SummaryNode[] {
    if (node.level === 0) {
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
      return [];
    }
    const next: SummaryNode[] = [];
    for (let k = 0; k < FANOUT; k += 1) {
      const [ln, lfp] = local.children?.[k] ?? [0, 0];
      const [rn, rfp] = remote.children?.[k] ?? [0, 0];
      if (ln === rn && lfp === rfp) continue;
      const child = childOf(node, k);
      if (rn === 0) this.one('local', node.origin, ln, seqRange(child));
      else if (ln === 0) this.one('remote', node.origin, rn, seqRange(child));
      else next.push(child);
    }
    return next;
  }
}

/**
 * Exact behind/ahead between two change sets by descending both summary trees only where they differ:
 * the work and the bytes grow with the number of differences (times the tree's depth), not with the logs.
 * Each exchange with the remote side covers two levels: this side sends its children cells of the differing
 * nodes, the remote answers the children that differ with their own contents.
 */
export async function reconcile(local: SummarySource, remote: SummarySource, options: { list: boolean }): Promise<Reconciliation> {
  const tally = new Tally();

  /** What the remote answered for inner nodes, given this side's children cells: the nodes to look into next. */
  async function afterDescent(inner: SummaryNode[], mineCells: NodeContent[], answers: DescendAnswer[]): Promise<SummaryNode[]> {
    // Children that differ and hold changes on both sides: their contents here, to compare with the remote's.
    const both: { node: SummaryNode; remote: ChildDifference }[] = [];
    for (const [i, node] of inner.entries()) {
      for (const difference of answers[i]!.differing) {
        const child = childOf(node, difference.index);
        const [ln] = mineCells[i]!.children?.[difference.index] ?? [0, 0];
        if (difference.n === 0) tally.one('local', node.origin, ln, seqRange(child));
        else if (ln === 0) tally.one('remote', node.origin, difference.n, seqRange(child));
        else both.push({ node: child, remote: difference });
      }
    }
    const here = await local.nodes(both.map((b) => b.node));
    return both.flatMap(({ node, remote: difference }, j) => tally.compare(node, here[j]!, difference));
  }

  // The first descent goes out with the origins, guessing each root from this side's own size: where the remote's
  // root is on the same level (logs of like size), its answer is used and one round trip is saved.
  const mine = await local.origins({ withRoots: true });
  const rooted = mine.filter((o) => o.rootChildren);
  const guessed = rooted.map((o) => ownRoot(o)!);
  const guessedCells: NodeContent[] = rooted.map((o, i) => ({ node: guessed[i]!, children: o.rootChildren! }));
  const [theirs, guessedAnswers] = await Promise.all([
    remote.origins(),
    guessed.length > 0 ? remote.descend(guessed.map((node, i) => ({ node, children: guessedCells[i]!.children! }))) : Promise.resolve([]),
  ]);
  let rounds = 1;
  const localByOrigin = new Map(mine.map((o) => [o.origin, o]));
  const remoteByOrigin = new Map(theirs.map((o) => [o.origin, o]));
  const guessedAt = new Map(guessed.map((node, i) => [node.origin, i]));
  let frontier: SummaryNode[] = [];
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
      else frontier.push(root);
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
    // A root that is a single bucket has no children to descend into: its bitmaps are compared as they are.
    const buckets = frontier.filter((node) => node.level === 0);
    const inner = frontier.filter((node) => node.level > 0);
    const next: SummaryNode[] = [];
    if (buckets.length > 0) {
      const [lc, rc] = await Promise.all([local.nodes(buckets), remote.nodes(buckets)]);
      for (const [i, node] of buckets.entries()) next.push(...tally.compare(node, lc[i]!, rc[i]!));
    }
    if (inner.length > 0) {
      const mineCells = await local.nodes(inner);
      const answers = await remote.descend(inner.map((node, i) => ({ node, children: mineCells[i]!.children ?? [] })));
      next.push(...(await afterDescent(inner, mineCells, answers)));
    }
    rounds += (buckets.length > 0 ? 1 : 0) + (inner.length > 0 ? 1 : 0);
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
