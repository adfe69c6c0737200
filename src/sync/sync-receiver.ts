import type { AuditLog } from '../access/audit-log.js';
import type { Catalog } from '../catalog/catalog.js';
import type { Clock } from '../shared/clock.js';
import { DomainError } from '../shared/errors.js';
import type { WriteContext } from '../shared/actor.js';
import type { RecordKind } from '../shared/records.js';
import type { ChangeRecord, EntityRecord, InstanceIdentity, RecordLink, Stores, Transactor } from '../store/ports.js';
import type { WriteGuard } from '../tracking/change-writer.js';
import type { SecretBox } from '../tracking/secret-box.js';
import { readSettings } from '../tracking/settings-service.js';
import { applyBatch } from './apply-batch.js';
import { chooseOutgoing, readChosen, selectOutgoing, type Selection } from './outgoing.js';
import { createRecordDescriber, describeRecords } from './record-descriptions.js';
import type {
  EntityDigest,
  OutgoingTransfer,
  PeerExchange,
  PeerExchangeAnswer,
  PeerHello,
  PeerRecordKinds,
  HeldRequest,
  ReceiveRequest,
  ReceiveResult,
  StreamedOutgoing,
  TypeDigest,
} from './peer-client.js';
import type { SeqSpan } from './reconcile.js';
import {
  exchangeContents,
  foldSummary,
  membersOf,
  SUMMARY_FORMAT,
  rangesOf,
  type KeyRanges,
} from './summary.js';
import { comparableEntities, entityDigests, trackableTypes, typeDigests } from './state.js';
import { createReceivedChecks } from './received-change.js';
import { toTransfer, type BatchOutcome, type SenderInfo, type SyncProblem, type TransferChange } from './transfer.js';

/** The serving side of the sync protocol: what an instance answers its peers. */
export interface SyncReceiver {
  hello(): Promise<PeerHello>;
  /** A round of a reconciliation; `hello` adds what `hello()` says, read with it (a peer's first round asks for both). */
  exchange(request: PeerExchange): Promise<PeerExchangeAnswer>;
  members(spans: SeqSpan[]): Promise<KeyRanges>;
  keysAfter(afterSeq: number): Promise<{ keys: KeyRanges; headSeq: number }>;
  outgoing(lacking: KeyRanges, selection: Selection): Promise<OutgoingTransfer>;
  /** `outgoing`, chosen by the changes' links and read as it is sent. */
  outgoingStream(lacking: KeyRanges, selection: Selection): Promise<StreamedOutgoing>;
  /** Checks and (unless a dry run or refused) applies a batch in one transaction; never throws for sync problems. */
  receive(ctx: WriteContext, request: ReceiveRequest): Promise<ReceiveResult>;
  /** The checks of one change that need nothing but the change, made as it arrives; their answers are remembered with it. */
  precheck(change: TransferChange): void;
  registerDownstream(ctx: WriteContext, downstream: { instanceId: string; name: string }): Promise<void>;
  unregisterDownstream(ctx: WriteContext, instanceId: string): Promise<void>;
  log(afterSeq: number, limit: number): Promise<ChangeRecord[]>;
  entities(type: string, afterId: string | null, limit: number): Promise<EntityRecord[]>;
  records<K extends RecordKind>(kind: K, afterId: string | null, limit: number): Promise<PeerRecordKinds[K][]>;
  recordLinks(kind: RecordKind, afterForeignId: string | null, limit: number): Promise<RecordLink[]>;
  stateDigests(): Promise<TypeDigest[]>;
  stateEntities(types: string[]): Promise<EntityDigest[]>;
  entitiesById(ids: string[]): Promise<EntityRecord[]>;
}

export interface PipelinePosition {
  source: { instanceId: string; name: string } | null;
  downstream: { instanceId: string; name: string }[];
  inPipeline: boolean;
}

export async function pipelinePosition(stores: Stores): Promise<PipelinePosition> {
  const peers = await stores.peers.list();
  const source = peers.find((p) => p.isSource);
  const downstream = (await stores.downstream.list()).map((d) => ({ instanceId: d.instanceId, name: d.name }));
  return {
    source: source ? { instanceId: source.instanceId ?? '', name: source.name } : null,
    downstream,
    inPipeline: source !== undefined || downstream.length > 0,
  };
}

/** Whether `sender` may send changes to this instance under the pipeline rules. */
export function edgeProblem(position: PipelinePosition, sender: SenderInfo, self: string): SyncProblem | null {
  if (position.source) {
    if (position.source.instanceId === sender.instanceId) return null;
    return {
      kind: 'not-a-pipeline-edge',
      message: `${self} receives changes only from its source ${position.source.name}, not from ${sender.name}.`,
    };
  }
  if (!position.inPipeline && !sender.inPipeline) return null;
  return {
    kind: 'not-a-pipeline-edge',
    message: `${self} has no source, and pipeline mode is on: changes move only from an instance to the instances that name it as their source.`,
  };
}

class BatchRefused extends Error {
  constructor(readonly outcome: BatchOutcome) {
    super('batch refused');
  }
}

/** A batch that would apply, rolled back to be kept as a promotion request instead. */
class BatchHeld extends Error {
  constructor(
    readonly outcome: BatchOutcome,
    readonly heads: Record<string, string | null>,
  ) {
    super('batch held for approval');
  }
}

/** How batches are held for approval where this instance's promotion policy asks for it (src/promotion). */
export interface PromotionHold {
  /** Approvals the policy asks before a batch applies here (0: none), read in the receiving transaction. */
  approvalsRequired(stores: Stores): Promise<number>;
  /** The head here of every entity the changes write or reference (null: absent), read before the batch is checked. */
  heads(stores: Stores, changes: readonly TransferChange[]): Promise<Record<string, string | null>>;
  /** Keeps the checked batch as a request, with its plan and the heads it was made against; `replayKey` answers retries. */
  hold(ctx: WriteContext, request: ReceiveRequest, outcome: BatchOutcome, heads: Record<string, string | null>, replayKey: string | undefined): Promise<HeldRequest>;
}

const LOG_PAGE_MAX = 5_000;

/** What both sides of sync are built from. */
export interface SyncDeps {
  db: Transactor;
  catalog: Catalog;
  box: SecretBox;
  clock: Clock;
  instance: InstanceIdentity;
  version: string;
  audit: AuditLog;
  /** Rules of local writes that received changes must pass as well, judged by the authority of who applies them. */
  guards?: readonly WriteGuard[];
  /** Holds batches as promotion requests where the policy asks for approvals; without it, batches apply at once. */
  promotions?: PromotionHold;
}

export function createSyncReceiver(deps: SyncDeps): SyncReceiver {
  const { db, catalog, box, instance, version, audit } = deps;
  const checks = createReceivedChecks({ catalog, box, instanceId: instance.id, clock: deps.clock });

  async function gateProblems(stores: Stores, request: ReceiveRequest): Promise<SyncProblem[]> {
    const problems: SyncProblem[] = [];
    if (request.sender.version !== version) {
      problems.push({
        kind: 'version-mismatch',
        message: `${request.sender.name} runs version ${request.sender.version} and ${instance.name} runs ${version}; instances sync only on the same version.`,
      });
    }
    const settings = await readSettings(stores);
    if (request.operation === 'import') {
      if (settings.disableConfigEditing) {
        problems.push({ kind: 'locked', message: `Editing of config-tracked entities is disabled on ${instance.name}; imports are refused while it is.` });
      }
      return problems;
    }
    const edge = edgeProblem(await pipelinePosition(stores), request.sender, instance.name);
    if (edge) problems.push(edge);
    if (request.operation === 'push' && settings.refusePushes) {
      problems.push({ kind: 'pushes-refused', message: `${instance.name} does not allow changes to be pushed in from other instances; pull them instead.` });
    }
    return problems;
  }

  /** Reads the summary with every change of the log folded in; folding takes the write lock, so it is skipped when it can be. */
  async function readSummary<T>(read: (stores: Stores) => Promise<T>): Promise<T> {
    const current = await db.read(async (stores) => ((await stores.summary.isCurrent()) ? { value: await read(stores) } : null));
    if (current) return current.value;
    return db.write(async (stores) => {
      await foldSummary(stores);
      return read(stores);
    });
  }

  async function helloIn(stores: Stores): Promise<PeerHello> {
    const settings = await readSettings(stores);
    const position = await pipelinePosition(stores);
    return {
      instanceId: instance.id,
      name: instance.name,
      kind: instance.kind,
      version,
      source: position.source,
      inPipeline: position.inPipeline,
      refusePushes: settings.refusePushes,
      skipDiffCheck: settings.skipDiffCheck,
      keyIds: box.keyIds,
      headSeq: (await stores.changes.head()).seq,
      summaryFormat: SUMMARY_FORMAT,
    };
  }

  return {
    hello: () => db.read(helloIn),
    exchange: ({ hello, ...request }) =>
      readSummary(async (stores) => ({ ...(hello ? { hello: await helloIn(stores) } : {}), ...(await exchangeContents(stores, request)) })),
    members: (spans) => readSummary((stores) => membersOf(stores, spans)),
    async keysAfter(afterSeq) {
      return db.read(async (stores) => {
        const keys = [];
        let mark = afterSeq;
        for (;;) {
          const rows = await stores.history.keysAfter(mark, LOG_PAGE_MAX);
          if (rows.length === 0) break;
          keys.push(...rows);
          mark = rows[rows.length - 1]!.seq;
        }
        return { keys: rangesOf(keys), headSeq: (await stores.changes.head()).seq };
      });
    },
    async outgoing(lacking, selection) {
      return db.read(async (stores) => {
        const out = await selectOutgoing(stores, lacking, selection);
        return { ...out, changes: out.changes.map((c) => ({ ...toTransfer(c), seq: c.seq })), records: await describeRecords(stores, catalog, out.changes) };
      });
    },
    async outgoingStream(lacking, selection) {
      const { changes, ...chosen } = await db.read((stores) => chooseOutgoing(stores, lacking, selection));
      // The records the changes name are noted as their pages go out, and described after the last.
      const describer = createRecordDescriber(catalog);
      return {
        ...chosen,
        seqs: changes.map((c) => c.seq),
        changes: { count: changes.length, pages: () => describer.watch(readChosen(db, changes)), records: () => db.read((stores) => describer.describe(stores)) },
      };
    },
    async receive(ctx, request) {
      // Keys are the sender's: two senders (or operations) never answer each other's retries.
      const key = request.idempotencyKey ? `${request.sender.instanceId}:${request.operation}:${request.idempotencyKey}` : undefined;
      let required = 0;
      const run = async (stores: Stores): Promise<ReceiveResult> => {
        if (key && !request.dryRun) {
          const prior = await stores.syncRequests.find(key);
          if (prior) return { ...(prior.result as BatchOutcome), replayed: true };
        }
        const gate = await gateProblems(stores, request);
        required = deps.promotions ? await deps.promotions.approvalsRequired(stores) : 0;
        const heads = required > 0 && !request.dryRun ? await deps.promotions!.heads(stores, request.changes) : null;
        const outcome = await applyBatch(stores, { catalog, checks, instanceId: instance.id, guards: deps.guards ?? [] }, request.changes, {
          appliedFrom: request.sender.instanceId,
          receipt: { actor: ctx.actor, operation: request.operation, via: request.via ?? request.sender.name, at: deps.clock.now() },
          allowMissing: new Set(request.allowMissing),
          ctx,
          records: request.records ?? [],
        });
        outcome.problems = [...gate, ...outcome.problems];
        outcome.counts.problems = outcome.problems.length;
        if (outcome.problems.length > 0 || request.dryRun) throw new BatchRefused(outcome);
        // Checked as a dry run is; what it wrote is rolled back and kept as a request instead.
        if (heads && outcome.counts.toApply > 0) throw new BatchHeld(outcome, heads);
        outcome.applied = true;
        await audit.recordIn(stores, {
          kind: `sync.${request.operation}-received`,
          outcome: 'success',
          actor: ctx.actor,
          request: ctx.request,
          subject: request.sender.name,
          details: {
            from: { instanceId: request.sender.instanceId, name: request.sender.name },
            applied: outcome.counts.toApply,
            alreadyPresent: outcome.counts.alreadyPresent,
            skippedDependencies: outcome.skippedDependencies,
          },
        });
        if (key) await stores.syncRequests.insert(key, request.sender.instanceId, outcome, deps.clock.now());
        return { ...outcome, replayed: false };
      };
      const withPolicy = <T extends BatchOutcome>(outcome: T): T & { approvalsRequired?: number } => (required > 0 ? { ...outcome, approvalsRequired: required } : outcome);
      try {
        return await db.write(run);
      } catch (error) {
        if (error instanceof BatchHeld) {
          const held = await deps.promotions!.hold(ctx, request, error.outcome, error.heads, key);
          return { ...withPolicy(error.outcome), replayed: false, request: held };
        }
        if (!(error instanceof BatchRefused)) throw error;
        if (!request.dryRun) {
          await audit.record({
            kind: `sync.${request.operation}-received`,
            outcome: 'failure',
            actor: ctx.actor,
            request: ctx.request,
            subject: request.sender.name,
            details: { from: { instanceId: request.sender.instanceId, name: request.sender.name }, problems: error.outcome.problems.map((p) => p.kind) },
          });
          // A change the caller had no authority to apply here is a permission denial as well.
          const denied = error.outcome.problems.filter((p) => p.kind === 'forbidden');
          if (denied.length > 0) {
            await audit.record({
              kind: 'access.denied',
              outcome: 'denied',
              actor: ctx.actor,
              request: ctx.request,
              subject: `sync.${request.operation} from ${request.sender.name}`,
              details: { problems: denied.map((p) => ({ changeId: p.changeId ?? null, entity: p.entity ?? null, message: p.message })) },
            });
          }
        }
        return { ...withPolicy(error.outcome), replayed: false };
      }
    },
    precheck(change) {
      checks.problemsOf(change);
    },
    async registerDownstream(ctx, downstream) {
      await db.write(async (stores) => {
        await stores.downstream.put({ ...downstream, registeredAt: deps.clock.now() });
        await audit.recordIn(stores, { kind: 'sync.downstream-registered', outcome: 'success', actor: ctx.actor, request: ctx.request, subject: downstream.name, details: downstream });
      });
    },
    async unregisterDownstream(ctx, instanceId) {
      await db.write(async (stores) => {
        await stores.downstream.remove(instanceId);
        await audit.recordIn(stores, { kind: 'sync.downstream-removed', outcome: 'success', actor: ctx.actor, request: ctx.request, subject: instanceId });
      });
    },
    async log(afterSeq, limit) {
      return db.read((stores) => stores.changes.scan(afterSeq, Math.min(limit, LOG_PAGE_MAX)));
    },
    async entities(type, afterId, limit) {
      if (!trackableTypes(catalog).includes(type)) throw new DomainError('UNKNOWN_TYPE', `"${type}" is not a tracked type.`);
      return db.read((stores) => stores.entities.list({ type, ...(afterId ? { afterId } : {}), limit: Math.min(limit, LOG_PAGE_MAX) }));
    },
    records: (kind, afterId, limit) => db.read((stores) => recordsPage(stores, kind, afterId, Math.min(limit, LOG_PAGE_MAX))),
    recordLinks: (kind, afterForeignId, limit) => db.read((stores) => stores.records.linksAfter(kind, afterForeignId, Math.min(limit, LOG_PAGE_MAX))),
    stateDigests: () => db.read((stores) => typeDigests(stores, catalog)),
    stateEntities: (types) => db.read((stores) => entityDigests(stores, catalog, types)),
    entitiesById: (ids) => db.read((stores) => comparableEntities(stores, catalog, ids.slice(0, LOG_PAGE_MAX))),
  };
}

/** A page of this instance's records of one kind, as a restore copies them (see PeerRecordKinds). */
async function recordsPage<K extends RecordKind>(stores: Stores, kind: K, afterId: string | null, limit: number): Promise<PeerRecordKinds[K][]> {
  const page = { limit, ...(afterId ? { afterId } : {}) };
  const records: PeerRecordKinds[RecordKind][] =
    kind === 'customer'
      ? await stores.desk.listCustomers(page)
      : kind === 'user'
        ? await stores.desk.listUsers(page)
        : (await stores.agents.list(page)).map((a) => ({ kind: 'agent' as const, id: a.id, name: a.name, thirdPartyId: a.thirdPartyId }));
  return records as PeerRecordKinds[K][];
}
