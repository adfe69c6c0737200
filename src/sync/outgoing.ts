import type { ChangeLink, ChangeRecord, StoredChange, Stores, Transactor } from '../store/ports.js';
import type { KeyRanges } from './summary.js';
import type { AddedChange, SyncProblem } from './transfer.js';

/** Which changes to send: everything the receiver lacks, or a selection, up to a cut-off. */
export interface Selection {
  /** Only changes made on or before this time (ms). */
  cutoff?: number | undefined;
  changeIds?: string[] | undefined;
  changeSet?: string | undefined;
  /** Add the parents and requirements the receiver lacks (default true). */
  withDependencies?: boolean | undefined;
  /** Changes the caller accepts to leave out although the selection depends on them. */
  allowMissing?: string[] | undefined;
}

export interface Outgoing<T extends ChangeLink = ChangeRecord> {
  /** In this instance's log order. */
  changes: T[];
  added: AddedChange[];
  /** Selected or required changes left out by `allowMissing`. */
  leftOut: string[];
  /** Changes the receiver lacks that the cut-off holds back. */
  heldBackByCutoff: number;
  problems: SyncProblem[];
}

const LOAD_CHUNK = 2_000;
// Narrower ranges of lacking origin sequences are read by key, wider ones as a range of the (origin, origin_seq) index.
const RANGE_MIN = 32;

function seqsOf(ranges: [number, number][], narrowOnly: boolean): number[] {
  const seqs: number[] = [];
  for (const [from, to] of ranges) if (!narrowOnly || to - from < RANGE_MIN) for (let s = from; s < to; s += 1) seqs.push(s);
  return seqs;
}

async function lackingIds(stores: Stores, lacking: KeyRanges): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const [origin, ranges] of Object.entries(lacking)) {
    const seqs = seqsOf(ranges, false);
    for (let i = 0; i < seqs.length; i += LOAD_CHUNK) {
      for (const row of await stores.history.byKeys(origin, seqs.slice(i, i + LOAD_CHUNK))) ids.add(row.id);
    }
  }
  return ids;
}

/** How a selection reads changes: whole, or only their links. */
interface Reads<T extends ChangeLink> {
  byIds(ids: string[]): Promise<T[]>;
  byOriginRange(origin: string, from: number, to: number): Promise<T[]>;
  byKeys(origin: string, originSeqs: number[]): Promise<T[]>;
}

const wholeChanges = (stores: Stores): Reads<ChangeRecord> => ({
  byIds: (ids) => stores.history.findByIds(ids),
  byOriginRange: (origin, from, to) => stores.history.findByOriginRange(origin, from, to),
  byKeys: (origin, seqs) => stores.history.findByKeys(origin, seqs),
});

const changeLinks = (stores: Stores): Reads<ChangeLink> => ({
  byIds: (ids) => stores.history.linksByIds(ids),
  byOriginRange: (origin, from, to) => stores.history.linksByOriginRange(origin, from, to),
  byKeys: (origin, seqs) => stores.history.linksByKeys(origin, seqs),
});

/** The changes this instance holds of the lacking keys (ranges may overlap), by id, in log order. */
async function lackingChanges<T extends ChangeLink>(reads: Reads<T>, lacking: KeyRanges): Promise<Map<string, T>> {
  const found = new Map<string, T>();
  const add = (changes: T[]) => {
    for (const change of changes) found.set(change.id, change);
  };
  for (const [origin, ranges] of Object.entries(lacking)) {
    for (const [from, to] of ranges) if (to - from >= RANGE_MIN) add(await reads.byOriginRange(origin, from, to));
    const seqs = [...new Set(seqsOf(ranges, true))];
    for (let i = 0; i < seqs.length; i += LOAD_CHUNK) add(await reads.byKeys(origin, seqs.slice(i, i + LOAD_CHUNK)));
  }
  return new Map([...found.values()].sort((a, b) => a.seq - b.seq).map((c) => [c.id, c]));
}

/**
 * The changes to send to a receiver that lacks `lacking`: the selection (or all of it) within the cut-off,
 * plus the dependency closure the receiver lacks, in this instance's log order.
 */
export function selectOutgoing(stores: Stores, lacking: KeyRanges, selection: Selection): Promise<Outgoing> {
  return select(stores, wholeChanges(stores), lacking, selection);
}

/** `selectOutgoing`, reading only the links of the changes: the sender then reads them whole as it sends them. */
export function chooseOutgoing(stores: Stores, lacking: KeyRanges, selection: Selection): Promise<Outgoing<ChangeLink>> {
  return select(stores, changeLinks(stores), lacking, selection);
}

async function select<T extends ChangeLink>(stores: Stores, reads: Reads<T>, lacking: KeyRanges, selection: Selection): Promise<Outgoing<T>> {
  const allowMissing = new Set(selection.allowMissing ?? []);
  const problems: SyncProblem[] = [];
  const withinCutoff = (c: T) => selection.cutoff === undefined || c.at <= selection.cutoff;

  let base: T[];
  let heldBackByCutoff = 0;
  let missingHere: Set<string>;
  // Without a list of ids every lacking change is read whole up front, and the closure is found among them.
  let lackingById: Map<string, T> | undefined;
  if (selection.changeIds && selection.changeIds.length > 0) {
    missingHere = await lackingIds(stores, lacking);
    const found = await reads.byIds(selection.changeIds);
    const known = new Set(found.map((c) => c.id));
    for (const id of selection.changeIds) {
      if (!known.has(id)) problems.push({ kind: 'unknown-change', changeId: id, message: `Change ${id} does not exist on this instance.` });
    }
    // Named changes the receiver already has still go, so that the plan reports them as present.
    base = found;
  } else {
    lackingById = await lackingChanges(reads, lacking);
    missingHere = new Set(lackingById.keys());
    const all = [...lackingById.values()];
    const chosen = selection.changeSet === undefined ? all : all.filter((c) => c.changeSet === selection.changeSet);
    base = chosen.filter(withinCutoff);
    heldBackByCutoff = chosen.length - base.length;
  }
  const leftOut = new Set<string>();
  const chosen = new Map<string, T>();
  for (const change of base) {
    if (allowMissing.has(change.id)) leftOut.add(change.id);
    else chosen.set(change.id, change);
  }

  const added: AddedChange[] = [];
  if (selection.withDependencies !== false) {
    let frontier = [...chosen.values()];
    while (frontier.length > 0) {
      const wanted = new Map<string, { reason: AddedChange['reason']; of: string }>();
      for (const change of frontier) {
        const deps: [string, AddedChange['reason']][] = [];
        if (change.parent) deps.push([change.parent, 'parent']);
        for (const id of change.requires) deps.push([id, 'requires']);
        for (const [id, reason] of deps) {
          if (!missingHere.has(id) || chosen.has(id) || wanted.has(id)) continue;
          if (allowMissing.has(id)) {
            leftOut.add(id);
            continue;
          }
          wanted.set(id, { reason, of: change.id });
        }
      }
      const loaded = lackingById
        ? [...wanted.keys()].map((id) => lackingById.get(id)!).sort((a, b) => a.seq - b.seq)
        : await reads.byIds([...wanted.keys()]);
      for (const change of loaded) {
        chosen.set(change.id, change);
        const why = wanted.get(change.id)!;
        added.push({ id: change.id, reason: why.reason, of: why.of, changeSet: change.changeSet });
      }
      frontier = loaded;
    }
  }
  const changes = [...chosen.values()].sort((a, b) => a.seq - b.seq);
  return { changes, added, leftOut: [...leftOut], heldBackByCutoff, problems };
}

// Changes read at a time as a batch streams out.
const STREAM_PAGE = 500;

/**
 * The chosen changes read a page at a time, in order, each page only when the one before is on its way, bodies as
 * stored (see ChangeStream). Should the log have changed since they were chosen (a restore), a page that is not
 * exactly the changes chosen ends the stream in an error, and the receiver applies nothing.
 */
export async function* readChosen(db: Transactor, chosen: ChangeLink[]): AsyncGenerator<StoredChange[]> {
  for (let i = 0; i < chosen.length; i += STREAM_PAGE) {
    const part = chosen.slice(i, i + STREAM_PAGE);
    const page = await db.read((stores) => stores.history.findBySeqs(part.map((c) => c.seq)));
    if (page.length !== part.length || page.some((c, k) => c.id !== part[k]!.id)) throw new Error('the change log changed while the batch was read from it');
    yield page;
  }
}
