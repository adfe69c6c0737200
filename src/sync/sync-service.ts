import { z } from 'zod';
import { everyCustomer, seesChange, type CustomerScope } from '../access/customer-scope.js';
import type { WriteContext } from '../shared/actor.js';
import { DomainError, isDomainError } from '../shared/errors.js';
import { isoTime } from '../shared/iso-time.js';
import { parseOrThrow } from '../shared/validation.js';
import type { ChangeRecord, ChangeSummary, PeerRecord } from '../store/ports.js';
import { withoutInstanceLocal } from '../catalog/entity-type.js';
import { diffBodies, type FieldDiff } from '../tracking/body-diff.js';
import { historyKeysOf } from '../tracking/history-keys.js';
import { readSettings } from '../tracking/settings-service.js';
import { buildDocument, parseDocument, type ExportDocument } from './export-document.js';
import { chooseOutgoing, readChosen, selectOutgoing, type Selection } from './outgoing.js';
import type { HeldRequest, OutgoingTransfer, PeerConnection, PeerConnector, PeerHello, ReceiveRequest, ReceiveResult } from './peer-client.js';
import { reconcile, type Reconciliation, type SummarySource } from './reconcile.js';
import { createRestore, type DeskDataReset, type RestoreOptions, type RestorePlan } from './restore.js';
import { createRecordDescriber, describeRecords } from './record-descriptions.js';
import { countOf, SUMMARY_FORMAT, type KeyRanges } from './summary.js';
import { comparableEntities, entityDigests, typeDigests } from './state.js';
import { pipelinePosition, type SyncDeps, type SyncReceiver } from './sync-receiver.js';
import { plannedOf, refuse, toTransfer, type AddedChange, type BatchOutcome, type SenderInfo, type SyncProblem } from './transfer.js';

const peerNameSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes');
const urlSchema = z.url({ protocol: /^https?$/ }).max(500);

export const linkPeerSchema = z.strictObject({
  name: peerNameSchema,
  url: urlSchema,
  clientId: z.string().min(1).max(200),
  clientSecret: z.string().min(1).max(500),
  source: z.boolean().optional().describe('Make this peer the source of this instance (turns on pipeline mode)'),
});

export const updatePeerSchema = z.strictObject({
  url: urlSchema.optional(),
  clientId: z.string().min(1).max(200).optional(),
  clientSecret: z.string().min(1).max(500).optional(),
  source: z.boolean().optional(),
});

/** A linked instance as the API shows it: never its secret. */
export interface PeerView {
  name: string;
  url: string;
  clientId: string;
  instanceId: string | null;
  isSource: boolean;
  lastSyncAt: string | null;
  createdAt: string;
}

export interface PeerStatus extends PeerView {
  reachable: boolean;
  kind: string | null;
  version: string | null;
  versionMatches: boolean | null;
  /** The peer's own source. */
  source: { instanceId: string; name: string } | null;
  /** How this instance and the peer stand in the pipeline. */
  relation: 'source' | 'downstream' | 'none';
  /** exact: reconciled change sets; since-last-sync: counts since the last sync ("don't check diffs"). */
  mode: 'exact' | 'since-last-sync';
  behind: number | null;
  ahead: number | null;
  inSync: boolean;
  reasons: string[];
  behindChanges?: ChangeBrief[];
  aheadChanges?: ChangeBrief[];
  reconciliation?: { rounds: number };
}

export interface ChangeBrief {
  id: string;
  type: string;
  entityId: string;
  entityName: string;
  op: string;
  at: string;
  changeSet: string | null;
  origin: string;
}

export interface SyncOptions extends Selection {
  dryRun?: boolean | undefined;
  idempotencyKey?: string | undefined;
  /** Who asks, shown on the promotion request where the receiver holds the batch for approval. */
  requester?: ReceiveRequest['requester'];
  description?: string | undefined;
}

/** What a push, pull or import did (or, in a dry run, would do). */
export interface SyncPlan extends Omit<BatchOutcome, 'changes'> {
  operation: 'push' | 'pull' | 'import';
  dryRun: boolean;
  from: { instanceId: string; name: string };
  to: { instanceId: string; name: string };
  mode: 'exact' | 'since-last-sync';
  cutoff: string | null;
  changes: (BatchOutcome['changes'][number] & { senderSeq?: number; addedBecause?: { reason: AddedChange['reason']; of: string } })[];
  added: AddedChange[];
  leftOut: string[];
  heldBackByCutoff: number;
  replayed: boolean;
  /** How many approvals the receiver asks before a batch applies there; absent when none. */
  approvalsRequired?: number;
  /** The promotion request the batch became, where the receiver asks for approvals: nothing was applied yet. */
  request?: HeldRequest;
}

export interface StateDiff {
  peer: string;
  inSync: boolean;
  types: { type: string; here: number; there: number }[];
  onlyHere: { type: string; id: string; name: string }[];
  onlyThere: { type: string; id: string; name: string }[];
  different: { type: string; id: string; name: string; headHere: string | null; headThere: string | null; fields: FieldDiff[] }[];
}

export interface SyncService {
  link(ctx: WriteContext, input: unknown): Promise<PeerView>;
  list(): Promise<PeerView[]>;
  get(name: string): Promise<PeerView>;
  update(ctx: WriteContext, name: string, patch: unknown): Promise<PeerView>;
  remove(ctx: WriteContext, name: string): Promise<void>;
  status(name: string, options: { list: boolean }): Promise<PeerStatus>;
  push(ctx: WriteContext, name: string, options: SyncOptions): Promise<SyncPlan>;
  pull(ctx: WriteContext, name: string, options: SyncOptions): Promise<SyncPlan>;
  diffState(name: string): Promise<StateDiff>;
  /**
   * The selected changes as an export document. A caller confined to some customers (`scope`) exports only the changes
   * it sees: one it names that it does not see is not found, others are left out; the closure a peer lacks is not its to
   * compute.
   */
  exportChanges(input: { changeIds?: string[]; changeSet?: string; from?: number; to?: number; peer?: string; scope?: CustomerScope }): Promise<ExportDocument>;
  importChanges(
    ctx: WriteContext,
    document: unknown,
    options: { dryRun: boolean; allowMissing: string[]; idempotencyKey?: string; requester?: ReceiveRequest['requester']; description?: string },
  ): Promise<SyncPlan>;
  restore(ctx: WriteContext, options: RestoreOptions): Promise<RestorePlan>;
}


const EXPORT_MAX_CHANGES = 50_000;
const LIST_CAP = 500;

function brief(c: Pick<ChangeSummary, 'id' | 'type' | 'entityId' | 'entityName' | 'op' | 'at' | 'changeSet' | 'origin'>): ChangeBrief {
  return { id: c.id, type: c.type, entityId: c.entityId, entityName: c.entityName, op: c.op, at: isoTime(c.at), changeSet: c.changeSet, origin: c.origin };
}

function viewOf(peer: PeerRecord): PeerView {
  return {
    name: peer.name,
    url: peer.url,
    clientId: peer.clientId,
    instanceId: peer.instanceId,
    isSource: peer.isSource,
    lastSyncAt: peer.lastSyncAt === null ? null : isoTime(peer.lastSyncAt),
    createdAt: isoTime(peer.createdAt),
  };
}

export function createSyncService(
  deps: SyncDeps & {
  receiver: SyncReceiver;
  connector: PeerConnector;
  deskDataResets?: DeskDataReset[];
},
): SyncService {
  const { db, catalog, box, clock, instance, version, audit, receiver, connector } = deps;
  const keys = historyKeysOf(box);
  const secretSlot = (name: string) => `peer:${name}:clientSecret`;

  function known(peer: PeerRecord | undefined, name: string): PeerRecord {
    if (!peer) throw new DomainError('PEER_NOT_FOUND', `No linked instance is named "${name}".`);
    return peer;
  }

  async function findPeer(name: string): Promise<PeerRecord> {
    return known(await db.read((stores) => stores.peers.find(name)), name);
  }

  function connect(peer: Pick<PeerRecord, 'name' | 'url' | 'clientId' | 'clientSecret'>): PeerConnection {
    return connector.connect({ url: peer.url, clientId: peer.clientId, clientSecret: box.open(peer.clientSecret, secretSlot(peer.name)) });
  }

  async function senderInfo(): Promise<SenderInfo> {
    const position = await db.read(pipelinePosition);
    return { instanceId: instance.id, name: instance.name, kind: instance.kind, version, inPipeline: position.inPipeline };
  }

  async function audited<T>(ctx: WriteContext, kind: string, subject: string, run: () => Promise<T>, details: (result: T) => Record<string, unknown>): Promise<T> {
    try {
      const result = await run();
      await audit.record({ kind, outcome: 'success', actor: ctx.actor, request: ctx.request, subject, details: details(result) });
      return result;
    } catch (error) {
      const problems = isDomainError(error) ? (error.details.problems as SyncProblem[] | undefined)?.map((p) => p.kind) : undefined;
      await audit.record({
        kind,
        outcome: 'failure',
        actor: ctx.actor,
        request: ctx.request,
        subject,
        details: { code: isDomainError(error) ? error.code : 'INTERNAL', ...(problems ? { problems } : {}) },
      });
      throw error;
    }
  }

  async function helloOrThrow(peer: PeerRecord, conn: PeerConnection): Promise<PeerHello> {
    return noteHello(peer, await conn.hello());
  }

  /** Keeps the peer's instance id as its hello gives it (a peer re-created at the same address has a new one). */
  async function noteHello(peer: PeerRecord, hello: PeerHello): Promise<PeerHello> {
    if (peer.instanceId !== hello.instanceId) {
      await db.write(async (stores) => {
        const current = await stores.peers.find(peer.name);
        if (current) await stores.peers.update({ ...current, instanceId: hello.instanceId, updatedAt: clock.now() });
      });
      peer.instanceId = hello.instanceId;
    }
    return hello;
  }

  function planOf(
    operation: SyncPlan['operation'],
    from: { instanceId: string; name: string },
    to: { instanceId: string; name: string },
    outcome: ReceiveResult,
    extra: { options: SyncOptions; mode: SyncPlan['mode']; added: AddedChange[]; leftOut: string[]; heldBackByCutoff: number; selectionProblems: SyncProblem[]; senderSeqs: Map<string, number> },
  ): SyncPlan {
    const addedBy = new Map(extra.added.map((a) => [a.id, { reason: a.reason, of: a.of }]));
    const problems = [...extra.selectionProblems, ...outcome.problems];
    return {
      operation,
      dryRun: extra.options.dryRun === true,
      from,
      to,
      mode: extra.mode,
      cutoff: extra.options.cutoff === undefined ? null : isoTime(extra.options.cutoff),
      changes: outcome.changes.map((c) => {
        // Member by member: spreading each of 10,000 planned changes twice was a fifth of the sender's answer.
        const planned: SyncPlan['changes'][number] = plannedOf(c, c.action);
        const seq = extra.senderSeqs.get(c.id);
        if (seq !== undefined) planned.senderSeq = seq;
        const why = addedBy.get(c.id);
        if (why) planned.addedBecause = why;
        return planned;
      }),
      entities: outcome.entities,
      problems,
      skippedDependencies: outcome.skippedDependencies,
      counts: { ...outcome.counts, problems: problems.length },
      applied: outcome.applied && problems.length === 0,
      added: extra.added,
      leftOut: extra.leftOut,
      heldBackByCutoff: extra.heldBackByCutoff,
      replayed: outcome.replayed,
      ...(outcome.approvalsRequired ? { approvalsRequired: outcome.approvalsRequired } : {}),
      ...(outcome.request ? { request: outcome.request } : {}),
    };
  }

  async function localKeysAfter(afterSeq: number): Promise<KeyRanges> {
    return (await receiver.keysAfter(afterSeq)).keys;
  }

  const selectionOf = (o: SyncOptions): Selection => {
    const { dryRun: _dryRun, idempotencyKey: _key, requester: _requester, description: _description, ...selection } = o;
    return Object.fromEntries(Object.entries(selection).filter(([, v]) => v !== undefined));
  };
  const isSelection = (o: Selection) => Boolean((o.changeIds && o.changeIds.length > 0) || o.changeSet);

  async function setSource(ctx: WriteContext, peer: PeerRecord, hello: PeerHello, conn: PeerConnection): Promise<void> {
    if (hello.source?.instanceId === instance.id) {
      throw new DomainError('VALIDATION_FAILED', `${peer.name} names this instance as its source; a pipeline cannot run in a circle.`, {
        errors: [{ path: 'source', code: 'pipeline-cycle', message: `${peer.name} already receives changes from ${instance.name}.` }],
      });
    }
    await conn.registerDownstream({ instanceId: instance.id, name: instance.name });
    const previous = await db.write(async (stores) => {
      const peers = await stores.peers.list();
      const old = peers.find((p) => p.isSource && p.name !== peer.name);
      if (old) await stores.peers.update({ ...old, isSource: false, updatedAt: clock.now() });
      const current = (await stores.peers.find(peer.name))!;
      await stores.peers.update({ ...current, isSource: true, instanceId: hello.instanceId, updatedAt: clock.now() });
      await audit.recordIn(stores, { kind: 'sync.source-set', outcome: 'success', actor: ctx.actor, request: ctx.request, subject: peer.name, details: { previous: old?.name ?? null } });
      return old;
    });
    if (previous) await connect(previous).unregisterDownstream(instance.id).catch(() => undefined);
  }

  async function unsetSource(ctx: WriteContext, peer: PeerRecord): Promise<void> {
    await db.write(async (stores) => {
      const current = await stores.peers.find(peer.name);
      if (current) await stores.peers.update({ ...current, isSource: false, updatedAt: clock.now() });
      await audit.recordIn(stores, { kind: 'sync.source-cleared', outcome: 'success', actor: ctx.actor, request: ctx.request, subject: peer.name });
    });
    // The old source may be gone; it then keeps a stale registration until it is linked again.
    await connect(peer).unregisterDownstream(instance.id).catch(() => undefined);
  }

  /** The peer as a summary source whose first exchange also brings the peer's hello, handed to `opened`. */
  function withHello(conn: PeerConnection, opened: (hello: PeerHello) => void): SummarySource {
    let first = true;
    return {
      exchange: async (request) => {
        if (!first) return conn.exchange(request);
        first = false;
        const { hello, ...answer } = await conn.exchange({ ...request, hello: true });
        if (hello) opened(hello);
        return answer;
      },
      members: (spans) => conn.members(spans),
    };
  }

  async function exactReconcile(conn: SummarySource, list: boolean): Promise<Reconciliation> {
    return reconcile(receiver, conn, { list });
  }

  async function briefsOfLocal(keys: KeyRanges, cap: number): Promise<ChangeBrief[]> {
    return db.read(async (stores) => {
      const ids: string[] = [];
      for (const [origin, ranges] of Object.entries(keys)) {
        const seqs: number[] = [];
        for (const [from, to] of ranges) for (let s = from; s < to && seqs.length < cap; s += 1) seqs.push(s);
        ids.push(...(await stores.history.byKeys(origin, seqs)).map((r) => r.id));
        if (ids.length >= cap) break;
      }
      return (await stores.history.findByIds(ids.slice(0, cap))).map(brief);
    });
  }

  const forbiddenOutcome = (name: string): ReceiveResult => ({
    changes: [],
    entities: [],
    problems: [{ kind: 'forbidden', message: `${name} refused: its API application may not receive pushed changes (config:push).` }],
    skippedDependencies: [],
    counts: { received: 0, toApply: 0, alreadyPresent: 0, refused: 0, entities: 0, problems: 1 },
    applied: false,
    replayed: false,
  });

  /**
   * Push (this instance sends) or pull (the peer sends): reconcile, select with closure on the sender, apply as
   * one transaction on the receiver, and move the "last sync" mark only when everything the receiver lacked went.
   */
  async function transfer(ctx: WriteContext, operation: 'push' | 'pull', name: string, options: SyncOptions): Promise<SyncPlan> {
    const peer = await findPeer(name);
    return audited(
      ctx,
      options.dryRun ? `sync.${operation}-planned` : `sync.${operation}`,
      name,
      async () => {
        // The whole plan of a completed request is kept under its key, so a retry answers exactly what the first attempt did.
        const planKey = options.idempotencyKey && !options.dryRun ? `plan/${operation}/${name}/${options.idempotencyKey}` : undefined;
        const earlier = planKey ? await db.read((stores) => stores.syncRequests.find(planKey)) : undefined;
        if (earlier) return { ...(earlier.result as SyncPlan), replayed: true };
        const conn = connect(peer);
        const hello = await helloOrThrow(peer, conn);
        const settings = await db.read(readSettings);
        const sinceLastSync = settings.skipDiffCheck && !isSelection(options);
        const allowMissing = (leftOut: string[]) => [...new Set([...(options.allowMissing ?? []), ...leftOut])];
        const here = { instanceId: instance.id, name: instance.name };
        const there = { instanceId: hello.instanceId, name };
        let out: Pick<OutgoingTransfer, 'added' | 'leftOut' | 'heldBackByCutoff' | 'problems'> & { changes: { id: string; seq: number }[] };
        let outcome: ReceiveResult;
        let mark: number;
        if (operation === 'push') {
          mark = (await db.read((stores) => stores.changes.head())).seq;
          const lacking = sinceLastSync ? await localKeysAfter(peer.lastPushSeq) : ((await exactReconcile(conn, true)).aheadKeys ?? {});
          // Chosen by their links; read whole a page at a time as the batch streams, so the receiver starts on the first
          // changes while the rest are read.
          const chosen = await db.read((stores) => chooseOutgoing(stores, lacking, selectionOf(options)));
          out = chosen;
          // The records the changes name are noted as they stream out, and described after them.
          const describer = createRecordDescriber(catalog);
          try {
            outcome = await conn.receiveStreamed({
              sender: await senderInfo(),
              operation,
              changes: {
                count: chosen.changes.length,
                pages: () => describer.watch(readChosen(db, chosen.changes)),
                records: () => db.read((stores) => describer.describe(stores)),
              },
              dryRun: options.dryRun === true || chosen.problems.length > 0,
              idempotencyKey: options.idempotencyKey,
              allowMissing: allowMissing(chosen.leftOut),
              // The receiver knows its own agents only: the requester goes by name and address.
              ...(options.requester ? { requester: { name: options.requester.name, email: options.requester.email } } : {}),
              ...(options.description ? { description: options.description } : {}),
            });
          } catch (error) {
            if (!(isDomainError(error) && error.code === 'FORBIDDEN')) throw error;
            outcome = forbiddenOutcome(name);
          }
        } else {
          mark = hello.headSeq;
          const lacking = sinceLastSync ? (await conn.keysAfter(peer.lastPullSeq)).keys : ((await exactReconcile(conn, true)).behindKeys ?? {});
          const selected = await conn.outgoing(lacking, selectionOf(options));
          out = selected;
          outcome = await receiver.receive(ctx, {
            sender: { ...there, kind: hello.kind, version: hello.version, inPipeline: hello.inPipeline },
            operation,
            // As they arrived (their sender seqs are left out of digests and never stored): the digests checked as they
            // streamed in are remembered per change object.
            changes: selected.changes,
            records: selected.records ?? [],
            dryRun: options.dryRun === true || selected.problems.length > 0,
            idempotencyKey: options.idempotencyKey,
            allowMissing: allowMissing(selected.leftOut),
            requester: options.requester,
            description: options.description,
          });
        }
        const [from, to] = operation === 'push' ? [here, there] : [there, here];
        const plan = planOf(operation, from, to, outcome, {
          options,
          mode: sinceLastSync ? 'since-last-sync' : 'exact',
          added: out.added,
          leftOut: out.leftOut,
          heldBackByCutoff: out.heldBackByCutoff,
          selectionProblems: out.problems,
          senderSeqs: new Map(out.changes.map((c) => [c.id, c.seq])),
        });
        if (options.dryRun || plan.request) return plan;
        if (!plan.applied) throw refuse(plan.problems, plan);
        // A replayed answer is the first attempt's: it says nothing of the changes selected this time.
        const complete = !plan.replayed && !isSelection(options) && out.heldBackByCutoff === 0 && out.leftOut.length === 0;
        await db.write(async (stores) => {
          const current = await stores.peers.find(name);
          if (!current) return;
          const marks = operation === 'push' ? { lastPushSeq: complete ? mark : current.lastPushSeq } : { lastPullSeq: complete ? mark : current.lastPullSeq };
          await stores.peers.update({ ...current, ...marks, lastSyncAt: clock.now(), updatedAt: clock.now() });
          if (planKey && !plan.replayed) await stores.syncRequests.insert(planKey, instance.id, plan, clock.now());
        });
        return plan;
      },
      (plan) => ({ applied: plan.counts.toApply, dryRun: plan.dryRun, leftOut: plan.leftOut, skippedDependencies: plan.skippedDependencies, replayed: plan.replayed }),
    );
  }

  return {
    async link(ctx, input) {
      const values = parseOrThrow(linkPeerSchema, input, 'instance link');
      if (await db.read((stores) => stores.peers.find(values.name))) throw new DomainError('PEER_EXISTS', `An instance named "${values.name}" is already linked.`);
      const conn = connector.connect({ url: values.url, clientId: values.clientId, clientSecret: values.clientSecret });
      const hello = await conn.hello();
      if (hello.instanceId === instance.id) {
        throw new DomainError('VALIDATION_FAILED', 'That URL is this instance.', { errors: [{ path: 'url', code: 'self', message: 'An instance cannot link itself.' }] });
      }
      const now = clock.now();
      const peer: PeerRecord = {
        name: values.name,
        url: values.url.replace(/\/+$/, ''),
        clientId: values.clientId,
        clientSecret: box.seal(values.clientSecret, secretSlot(values.name)),
        instanceId: hello.instanceId,
        isSource: false,
        lastPushSeq: 0,
        lastPullSeq: 0,
        lastSyncAt: null,
        createdAt: now,
        updatedAt: now,
      };
      await db.write(async (stores) => {
        await stores.peers.insert(peer);
        await audit.recordIn(stores, {
          kind: 'sync.peer-linked',
          outcome: 'success',
          actor: ctx.actor,
          request: ctx.request,
          subject: peer.name,
          details: { url: peer.url, instanceId: hello.instanceId, kind: hello.kind },
        });
      });
      if (values.source) await setSource(ctx, peer, hello, conn);
      return viewOf((await db.read((stores) => stores.peers.find(peer.name)))!);
    },
    async list() {
      return (await db.read((stores) => stores.peers.list())).map(viewOf);
    },
    async get(name) {
      return viewOf(await findPeer(name));
    },
    async update(ctx, name, patch) {
      const values = parseOrThrow(updatePeerSchema, patch, 'instance update');
      const peer = await findPeer(name);
      const next: PeerRecord = {
        ...peer,
        ...(values.url ? { url: values.url.replace(/\/+$/, '') } : {}),
        ...(values.clientId ? { clientId: values.clientId } : {}),
        ...(values.clientSecret ? { clientSecret: box.seal(values.clientSecret, secretSlot(name)) } : {}),
        updatedAt: clock.now(),
      };
      const conn = connect(next);
      const hello = values.url || values.clientId || values.clientSecret || values.source ? await conn.hello() : null;
      if (hello && peer.instanceId && hello.instanceId !== peer.instanceId) {
        throw new DomainError('VALIDATION_FAILED', `That URL serves another instance (${hello.name}), not ${name}.`, {
          errors: [{ path: 'url', code: 'other-instance', message: 'Link the other instance under its own name.' }],
        });
      }
      await db.write(async (stores) => {
        await stores.peers.update(next);
        await audit.recordIn(stores, {
          kind: 'sync.peer-updated',
          outcome: 'success',
          actor: ctx.actor,
          request: ctx.request,
          subject: name,
          details: { fields: Object.keys(values).filter((k) => k !== 'clientSecret').concat(values.clientSecret ? ['clientSecret (changed)'] : []) },
        });
      });
      if (values.source === true && !peer.isSource) await setSource(ctx, next, hello!, conn);
      if (values.source === false && peer.isSource) await unsetSource(ctx, next);
      return viewOf(await findPeer(name));
    },
    async remove(ctx, name) {
      const peer = await findPeer(name);
      if (peer.isSource) await unsetSource(ctx, peer);
      await db.write(async (stores) => {
        await stores.peers.remove(name);
        await audit.recordIn(stores, { kind: 'sync.peer-removed', outcome: 'success', actor: ctx.actor, request: ctx.request, subject: name });
      });
    },

    async status(name, options) {
      const found = await db.read(async (stores) => ({ peer: await stores.peers.find(name), settings: await readSettings(stores) }));
      const peer = known(found.peer, name);
      const { settings } = found;
      const conn = connect(peer);
      const base = viewOf(peer);
      // The peer's hello comes with the reconciliation's first exchange: one request less. Where that exchange fails
      // (the peer is unreachable, or reconciles differently), hello is asked on its own, to say why.
      let opened: PeerHello | undefined;
      const exact = settings.skipDiffCheck ? null : exactReconcile(withHello(conn, (hello) => (opened = hello)), options.list);
      let hello: PeerHello;
      try {
        await exact?.catch((error: unknown) => {
          if (isDomainError(error) && error.code === 'PEER_UNREACHABLE') throw error;
        });
        hello = await (opened ? noteHello(peer, opened) : helloOrThrow(peer, conn));
      } catch (error) {
        const reason = isDomainError(error) ? error.message : 'it did not answer';
        return {
          ...base,
          reachable: false,
          kind: null,
          version: null,
          versionMatches: null,
          source: null,
          relation: peer.isSource ? 'source' : 'none',
          mode: 'exact',
          behind: null,
          ahead: null,
          inSync: false,
          reasons: [`${name} is unreachable: ${reason}`],
        };
      }
      const reasons: string[] = [];
      const versionMatches = hello.version === version;
      if (!versionMatches) reasons.push(`${name} runs version ${hello.version}, this instance ${version}: syncing is blocked until they match.`);
      const keysShared = hello.keyIds.some((k) => box.hasKey(k));
      if (!keysShared) reasons.push(`${name} holds none of this instance's secret keys: secrets synced between them cannot be read.`);
      const relation: PeerStatus['relation'] = peer.isSource ? 'source' : hello.source?.instanceId === instance.id ? 'downstream' : 'none';
      let behind: number | null;
      let ahead: number | null;
      let lists: Pick<PeerStatus, 'behindChanges' | 'aheadChanges' | 'reconciliation'> = {};
      const mode: PeerStatus['mode'] = settings.skipDiffCheck ? 'since-last-sync' : 'exact';
      if (settings.skipDiffCheck) {
        // Counted only in the directions changes can move: nothing comes back from a downstream peer, nothing goes up to the source.
        const mine = relation === 'source' ? {} : await localKeysAfter(peer.lastPushSeq);
        ahead = countOf(mine);
        behind = relation === 'downstream' ? 0 : Math.max(0, hello.headSeq - peer.lastPullSeq);
        reasons.push('"Don\'t check diffs" is on: counts are every change since the last sync and may include changes the other side already has.');
        if (options.list) lists = { aheadChanges: await briefsOfLocal(mine, LIST_CAP) };
      } else if (hello.summaryFormat !== SUMMARY_FORMAT) {
        behind = null;
        ahead = null;
        reasons.push(`${name} builds its reconciliation summary differently (version ${hello.version}): behind and ahead cannot be counted until the versions match.`);
      } else {
        const rec = await exact!;
        behind = rec.behind;
        ahead = rec.ahead;
        lists = { reconciliation: { rounds: rec.rounds } };
        if (options.list) {
          const theirs = rec.behindKeys && rec.behind > 0 ? await conn.outgoing(rec.behindKeys, { withDependencies: false }) : null;
          lists = {
            ...lists,
            aheadChanges: await briefsOfLocal(rec.aheadKeys ?? {}, LIST_CAP),
            behindChanges: (theirs?.changes ?? []).slice(0, LIST_CAP).map(brief),
          };
        }
      }
      if (behind !== null && behind > 0) reasons.push(`${behind} change${behind === 1 ? '' : 's'} behind ${name}.`);
      if (ahead !== null && ahead > 0) reasons.push(`${ahead} change${ahead === 1 ? '' : 's'} ahead of ${name}.`);
      const inSync = versionMatches && keysShared && behind === 0 && ahead === 0;
      return {
        ...viewOf(peer),
        reachable: true,
        kind: hello.kind,
        version: hello.version,
        versionMatches,
        source: hello.source,
        relation,
        mode,
        behind,
        ahead,
        inSync,
        reasons: inSync ? [] : reasons,
        ...lists,
      };
    },

    push: (ctx, name, options) => transfer(ctx, 'push', name, options),
    pull: (ctx, name, options) => transfer(ctx, 'pull', name, options),

    async diffState(name) {
      const peer = await findPeer(name);
      const conn = connect(peer);
      const [mine, theirs] = await Promise.all([db.read((stores) => typeDigests(stores, catalog)), conn.stateDigests()]);
      const theirsByType = new Map(theirs.map((t) => [t.type, t]));
      const mineByType = new Map(mine.map((t) => [t.type, t]));
      const differing = [...new Set([...mineByType.keys(), ...theirsByType.keys()])].filter(
        (type) => mineByType.get(type)?.digest !== theirsByType.get(type)?.digest,
      );
      const [here, there] = await Promise.all([db.read((stores) => entityDigests(stores, catalog, differing)), differing.length > 0 ? conn.stateEntities(differing) : Promise.resolve([])]);
      const thereById = new Map(there.map((e) => [e.id, e]));
      const hereById = new Map(here.map((e) => [e.id, e]));
      const changedIds = here.filter((e) => thereById.has(e.id) && thereById.get(e.id)!.digest !== e.digest).map((e) => e.id);
      const [localBodies, remoteBodies] = await Promise.all([
        db.read((stores) => comparableEntities(stores, catalog, changedIds)),
        changedIds.length > 0 ? conn.entitiesById(changedIds) : Promise.resolve([]),
      ]);
      const remoteById = new Map(remoteBodies.map((e) => [e.id, e]));
      return {
        peer: name,
        inSync: differing.length === 0,
        types: differing.map((type) => ({ type, here: mineByType.get(type)?.count ?? 0, there: theirsByType.get(type)?.count ?? 0 })),
        onlyHere: here.filter((e) => !thereById.has(e.id)).map((e) => ({ type: e.type, id: e.id, name: e.name })),
        onlyThere: there.filter((e) => !hereById.has(e.id)).map((e) => ({ type: e.type, id: e.id, name: e.name })),
        different: localBodies.map((e) => {
          const def = catalog.get(e.type);
          const remote = remoteById.get(e.id);
          return {
            type: e.type,
            id: e.id,
            name: e.name,
            headHere: e.head,
            headThere: thereById.get(e.id)?.head ?? null,
            fields: diffBodies(withoutInstanceLocal(def, e.id, e.body), remote ? withoutInstanceLocal(def, e.id, remote.body) : null),
          };
        }),
      };
    },

    async exportChanges(input) {
      const selection = { changeIds: input.changeIds, changeSet: input.changeSet, from: input.from, to: input.to, peer: input.peer };
      const scope = input.scope ?? everyCustomer;
      if (input.peer && scope.kind !== 'all') {
        throw new DomainError('FORBIDDEN', 'An agent restricted to some customers cannot export what a peer lacks: that spans every customer’s records.', {
          reason: 'client-restrictions',
        });
      }
      let changes: ChangeRecord[];
      let added: AddedChange[] = [];
      if (input.peer) {
        const conn = connect(await findPeer(input.peer));
        const lacking = (await exactReconcile(conn, true)).aheadKeys ?? {};
        const out = await db.read((stores) => selectOutgoing(stores, lacking, { changeIds: input.changeIds, changeSet: input.changeSet, cutoff: input.to }));
        if (out.problems.length > 0) throw refuse(out.problems, null);
        changes = out.changes.filter((c) => input.from === undefined || c.at >= input.from || out.added.some((a) => a.id === c.id));
        added = out.added;
      } else {
        changes = await db.read(async (stores) => {
          if (input.changeIds && input.changeIds.length > 0) {
            const found = (await stores.history.findByIds(input.changeIds)).filter((c) => seesChange(scope, catalog, c));
            const known = new Set(found.map((c) => c.id));
            const unknown = input.changeIds.filter((id) => !known.has(id));
            if (unknown.length > 0) throw new DomainError('CHANGE_NOT_FOUND', `No change has id ${unknown.join(', ')}.`, { missing: unknown });
            return found;
          }
          const ids: string[] = [];
          for (let beforeSeq: number | undefined; ; ) {
            const page = await stores.changes.list({
              ...(input.changeSet ? { changeSet: input.changeSet } : {}),
              ...(input.from !== undefined ? { from: input.from } : {}),
              ...(input.to !== undefined ? { to: input.to } : {}),
              ...(beforeSeq !== undefined ? { beforeSeq } : {}),
              limit: 1_000,
            });
            ids.push(...page.map((c) => c.id));
            if (page.length < 1_000) break;
            if (ids.length > EXPORT_MAX_CHANGES) break;
            beforeSeq = page[page.length - 1]!.seq;
          }
          if (ids.length > EXPORT_MAX_CHANGES) {
            throw new DomainError('PAYLOAD_TOO_LARGE', `An export may hold at most ${EXPORT_MAX_CHANGES} changes; narrow the selection.`);
          }
          return (await stores.history.findByIds(ids)).filter((c) => seesChange(scope, catalog, c));
        });
      }
      const included = new Set(changes.map((c) => c.id));
      const dependencies = [...new Set(changes.flatMap((c) => [...(c.parent ? [c.parent] : []), ...c.requires]))].filter((id) => !included.has(id));
      const records = await db.read((stores) => describeRecords(stores, catalog, changes));
      return buildDocument({
        exportedAt: isoTime(clock.now()),
        from: { instanceId: instance.id, name: instance.name, kind: instance.kind, version },
        selection: { ...Object.fromEntries(Object.entries(selection).filter(([, v]) => v !== undefined)), added },
        dependencies,
        changes: changes.map(toTransfer),
        ...(records.length > 0 ? { records } : {}),
      }, keys);
    },

    async importChanges(ctx, input, options) {
      const document = parseDocument(input, keys);
      return audited(
        ctx,
        options.dryRun ? 'sync.import-planned' : 'sync.import',
        document.from.name,
        async () => {
          const outcome = await receiver.receive(ctx, {
            sender: { ...document.from, inPipeline: false },
            operation: 'import',
            changes: document.changes,
            records: document.records ?? [],
            dryRun: options.dryRun,
            idempotencyKey: options.idempotencyKey,
            allowMissing: options.allowMissing,
            via: document.checksum,
            requester: options.requester,
            description: options.description,
          });
          const plan = planOf('import', { instanceId: document.from.instanceId, name: document.from.name }, { instanceId: instance.id, name: instance.name }, outcome, {
            options: { dryRun: options.dryRun },
            mode: 'exact',
            added: [],
            leftOut: [],
            heldBackByCutoff: 0,
            selectionProblems: [],
            senderSeqs: new Map(),
          });
          if (!options.dryRun && !plan.applied && !plan.request) throw refuse(plan.problems, plan);
          return plan;
        },
        (plan) => ({ applied: plan.counts.toApply, dryRun: plan.dryRun, checksum: document.checksum, skippedDependencies: plan.skippedDependencies }),
      );
    },

    restore: createRestore(deps, { connect, findPeer, audited, briefsOfLocal }),
  };
}


