import {
  BUCKET_SPAN,
  FANOUT,
  decodeMembers,
  rootLevel,
  sameCell,
  seqRange,
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
  origins(): Promise<OriginSummary[]>;
  nodes(nodes: SummaryNode[]): Promise<NodeContent[]>;
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

/**
 * Exact behind/ahead between two change sets by descending both summary trees only where they differ:
 * the work and the bytes grow with the number of differences (times the tree's depth), not with the logs.
 */
export async function reconcile(local: SummarySource, remote: SummarySource, options: { list: boolean }): Promise<Reconciliation> {
  const [mine, theirs] = await Promise.all([local.origins(), remote.origins()]);
  let rounds = 1;
  const localByOrigin = new Map(mine.map((o) => [o.origin, o]));
  const remoteByOrigin = new Map(theirs.map((o) => [o.origin, o]));
  let behind = 0;
  let ahead = 0;
  const onlyLocal: SeqSpan[] = [];
  const onlyRemote: SeqSpan[] = [];
  const behindKeys: KeyRanges = {};
  const aheadKeys: KeyRanges = {};
  let frontier: SummaryNode[] = [];

  for (const origin of new Set([...localByOrigin.keys(), ...remoteByOrigin.keys()])) {
    const a = localByOrigin.get(origin);
    const b = remoteByOrigin.get(origin);
    if (sameCell(a, b)) continue;
    if (!b || b.n === 0) {
      ahead += a!.n;
      onlyLocal.push({ origin, from: 0, to: (a!.maxBucket + 1) * BUCKET_SPAN });
    } else if (!a || a.n === 0) {
      behind += b.n;
      onlyRemote.push({ origin, from: 0, to: (b.maxBucket + 1) * BUCKET_SPAN });
    } else {
      frontier.push({ origin, level: rootLevel(Math.max(a.maxBucket, b.maxBucket)), index: 0 });
    }
  }

  while (frontier.length > 0) {
    const [lc, rc] = await Promise.all([local.nodes(frontier), remote.nodes(frontier)]);
    rounds += 1;
    const next: SummaryNode[] = [];
    for (const [i, node] of frontier.entries()) {
      const l = lc[i]!;
      const r = rc[i]!;
      if (node.level === 0) {
        const ls = new Set(decodeMembers(l.members ?? '', node.index));
        const rs = new Set(decodeMembers(r.members ?? '', node.index));
        const onlyHere = [...ls].filter((s) => !rs.has(s));
        const onlyThere = [...rs].filter((s) => !ls.has(s));
        ahead += onlyHere.length;
        behind += onlyThere.length;
        addKeys(aheadKeys, node.origin, onlyHere);
        addKeys(behindKeys, node.origin, onlyThere);
        continue;
      }
      for (let k = 0; k < FANOUT; k += 1) {
        const [ln, lfp] = l.children?.[k] ?? [0, 0];
        const [rn, rfp] = r.children?.[k] ?? [0, 0];
        if (ln === rn && lfp === rfp) continue;
        const child: SummaryNode = { origin: node.origin, level: node.level - 1, index: node.index * FANOUT + k };
        if (rn === 0) {
          ahead += ln;
          onlyLocal.push({ origin: node.origin, ...seqRange(child) });
        } else if (ln === 0) {
          behind += rn;
          onlyRemote.push({ origin: node.origin, ...seqRange(child) });
        } else next.push(child);
      }
    }
    frontier = next;
  }

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
