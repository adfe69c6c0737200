import { hasLocalFields, withInstanceLocal } from '../catalog/entity-type.js';
import type { WriteContext } from '../shared/actor.js';
import { canonicalJson, sha256Hex } from '../shared/canonical-json.js';
import { DomainError, isDomainError } from '../shared/errors.js';
import type { ChangeReceipt, ChangeRecord, EntityRecord, LogHead, PeerRecord, Stores } from '../store/ports.js';
import { chainHash, GENESIS_HASH } from '../tracking/change-chain.js';
import { historyKeysOf } from '../tracking/history-keys.js';
import { storedReferencesIn } from '../tracking/change-writer.js';
import type { PeerConnection, PeerHello, TypeDigest } from './peer-client.js';
import { reconcile } from './reconcile.js';
import type { KeyRanges } from './summary.js';
import { trackableTypes, typeDigests } from './state.js';
import { pipelinePosition, type SyncDeps, type SyncReceiver } from './sync-receiver.js';
import type { ChangeBrief } from './sync-service.js';
import { copiedHistoryProblems } from './received-change.js';
import { fetchProductionRecords, planRecords, typesNamingRecords, type ProductionRecords, type RecordsRestore, type RecordsRestorePlan, type RestoreRecordReference } from './restore-records.js';
import { fromTransfer, refuse, toTransfer } from './transfer.js';

/** One instance's part of a restore: what it loses, what it gets, and the state the part was planned on. */
export interface InstanceRestore {
  name: string;
  instanceId: string;
  /** Its log head and configuration, and production's, when this part was planned: it is carried out only on those. */
  fingerprint: string;
  /** Changes this instance has that production lacks: they are lost. */
  lost: { count: number; changes: ChangeBrief[] };
  copied: { changes: number; entities: number };
  replaced: { changes: number; entities: number };
  /** Production's customers and users replace this instance's; its agents stay, and what names them is resolved here. */
  records: RecordsRestorePlan;
  /** Whether desk records (tickets and the like) are cleared: true wherever the desk keeps any. */
  deskDataCleared: boolean;
  restored: boolean;
}

export interface RestorePlan {
  dryRun: boolean;
  scope: 'instance' | 'pipeline';
  from: { name: string; instanceId: string };
  /** The instances' fingerprints in order, joined by "-": a confirmed restore presents it. */
  fingerprint: string;
  /** This instance first, then those between it and production. */
  instances: InstanceRestore[];
  restored: boolean;
}

export interface RestoreOptions {
  scope: 'instance' | 'pipeline';
  confirm: boolean;
  dryRun: boolean;
  /** The fingerprint of the plan being confirmed. */
  fingerprint?: string | undefined;
  /** The linked production instance by name (a person's request) … */
  from?: string | undefined;
  /** … or by instance id (the instance upstream passing a pipeline restore on). */
  productionId?: string | undefined;
}

/** Clears data of the desk (tickets and the like) when an instance is restored from production. */
export type DeskDataReset = (stores: Stores) => Promise<void>;

/** What the restore borrows from the sync service: its peers, its audit wrapper and its change briefs. */
export interface RestoreTools {
  connect(peer: PeerRecord): PeerConnection;
  findPeer(name: string): Promise<PeerRecord>;
  audited<T>(ctx: WriteContext, kind: string, subject: string, run: () => Promise<T>, details: (result: T) => Record<string, unknown>): Promise<T>;
  briefsOfLocal(keys: KeyRanges, cap: number): Promise<ChangeBrief[]>;
}

/** Production as a restore sees it: its log length and the digests of its configuration. */
interface Production {
  peer: PeerRecord;
  conn: PeerConnection;
  hello: PeerHello;
  types: TypeDigest[];
}

const LIST_CAP = 500;
const PAGE = 2_000;

const countOf = (types: TypeDigest[]) => types.reduce((n, t) => n + t.count, 0);

/** A part's fingerprint: 64 bits of a digest over both sides' logs, configurations and records, to tell a moved side. */
function fingerprintOf(
  instanceId: string,
  head: LogHead,
  types: TypeDigest[],
  records: RecordsRestore,
  production: { instanceId: string; headSeq: number; types: TypeDigest[] },
): string {
  return sha256Hex(canonicalJson({ instanceId, log: { seq: head.seq, hash: head.hash }, types, records: records.digest, production })).slice(0, 16);
}

function recordsMissing(plan: RestorePlan): DomainError {
  const unresolved = plan.instances.flatMap((i) => i.records.unresolved.map((reference) => ({ instance: i.name, ...reference })));
  const named = unresolved.slice(0, 5).map((u) => `${u.instance}: ${u.in.type} "${u.in.name}" at ${u.path} names ${describe(u.record)}`);
  return new DomainError(
    'RESTORE_RECORD_MISSING',
    `Nothing was written: after the restore ${unresolved.length} reference(s) would name a record missing there (${named.join('; ')}${unresolved.length > 5 ? '; …' : ''}). Give the agent or customer the third-party id production's has, or change what names it, then plan again.`,
    { unresolved, plan },
  );
}

function describe(record: RestoreRecordReference['record']): string {
  const name = record.name === null ? '' : ` "${record.name}"`;
  const which = record.thirdPartyId === null ? `with id ${record.id}` : `with third-party id ${record.thirdPartyId}`;
  return `the ${record.kind}${name} ${which}, which no ${record.kind} there matches`;
}

function joined(instances: InstanceRestore[]): string {
  return instances.map((i) => i.fingerprint).join('-');
}

function planChanged(plan: RestorePlan, moved: string[]): DomainError {
  const which = moved.length > 0 ? moved.join(' and ') : 'the instances to restore';
  return new DomainError('RESTORE_PLAN_CHANGED', `Nothing was written: ${which} changed since the plan was made (a log, a configuration or production moved). Review the plan as it is now and confirm that.`, {
    moved,
    plan,
  });
}

/**
 * Restore from production: replaces this instance's tracked configuration and history with production's. A pipeline
 * restore plans every instance between this one and production over the peer protocol before anything is written, and
 * carries out exactly the plan confirmed: each instance checks, in the transaction that restores it, that its part of
 * the plan still holds.
 */
export function createRestore(
  deps: SyncDeps & { receiver: SyncReceiver; deskDataResets?: DeskDataReset[] },
  tools: RestoreTools,
): (ctx: WriteContext, options: RestoreOptions) => Promise<RestorePlan> {
  const { db, catalog, clock, instance, version, receiver } = deps;
  const { connect, findPeer, audited, briefsOfLocal } = tools;
  const deskDataCleared = (deps.deskDataResets ?? []).length > 0;
  const keys = historyKeysOf(deps.box);

  async function findProduction(options: RestoreOptions): Promise<Production> {
    const peers = options.from ? [await findPeer(options.from)] : await db.read((stores) => stores.peers.list());
    const found: Omit<Production, 'types'>[] = [];
    for (const peer of peers) {
      if (options.productionId && peer.instanceId !== options.productionId) continue;
      const conn = connect(peer);
      const hello = await conn.hello().catch((error: unknown) => {
        if (options.from || options.productionId) throw error;
        return null;
      });
      if (hello?.kind === 'production' && (!options.productionId || hello.instanceId === options.productionId)) found.push({ peer, conn, hello });
    }
    if (found.length !== 1) {
      throw new DomainError(
        'NO_PRODUCTION_PEER',
        options.productionId
          ? `${instance.name} has no reachable link to the production instance ${options.productionId}; link it to restore this pipeline.`
          : found.length === 0
            ? 'No reachable linked instance is a production instance; link production first.'
            : `Several linked instances are production (${found.map((f) => f.peer.name).join(', ')}); name one with "from".`,
      );
    }
    const production = found[0]!;
    if (production.hello.version !== version) {
      throw refuse([{ kind: 'version-mismatch', message: `${production.peer.name} runs version ${production.hello.version} and this instance ${version}.` }], null);
    }
    return { ...production, types: await production.conn.stateDigests() };
  }

  /** The instances between this one and production: those that take this one as their source. */
  async function downstreamPeers(production: Production): Promise<PeerRecord[]> {
    const [position, peers] = await db.read(async (stores) => [await pipelinePosition(stores), await stores.peers.list()] as const);
    return peers.filter((peer) => peer.instanceId !== production.hello.instanceId && position.downstream.some((d) => d.instanceId === peer.instanceId));
  }

  /** Passes the restore on to an instance downstream; its refusal of a changed plan stays that refusal. */
  async function passOn(peer: PeerRecord, production: Production, request: { confirm: boolean; dryRun: boolean; fingerprint?: string }): Promise<RestorePlan> {
    try {
      return (await connect(peer).restore({ ...request, productionId: production.hello.instanceId })) as RestorePlan;
    } catch (error) {
      const problem = isDomainError(error) ? (error.details.peerProblem as { code?: string; moved?: string[]; plan?: RestorePlan } | undefined) : undefined;
      if (problem?.code === 'RESTORE_PLAN_CHANGED' && problem.plan) throw planChanged(problem.plan, problem.moved ?? []);
      throw error;
    }
  }

  async function ownPart(production: Production): Promise<InstanceRestore> {
    const [records, entities] = await Promise.all([fetchProductionRecords(production.conn), entitiesOf(production, typesNamingRecords(catalog))]);
    const [here, rec] = await Promise.all([
      db.read(async (stores) => ({
        head: await stores.changes.head(),
        types: await typeDigests(stores, catalog),
        records: await planRecords(stores, catalog, records, entities),
      })),
      reconcile(receiver, production.conn, { list: true }),
    ]);
    const { hello, types } = production;
    return {
      name: instance.name,
      instanceId: instance.id,
      fingerprint: fingerprintOf(instance.id, here.head, here.types, here.records, { instanceId: hello.instanceId, headSeq: hello.headSeq, types }),
      lost: { count: rec.ahead, changes: await briefsOfLocal(rec.aheadKeys ?? {}, LIST_CAP) },
      copied: { changes: hello.headSeq, entities: countOf(types) },
      replaced: { changes: here.head.seq, entities: countOf(here.types) },
      records: here.records.plan,
      deskDataCleared,
      restored: false,
    };
  }

  async function entitiesOf(production: Production, types: string[]): Promise<EntityRecord[]> {
    const entities: EntityRecord[] = [];
    for (const type of types) {
      for (let afterId: string | null = null; ; ) {
        const page = await production.conn.entities(type, afterId, PAGE);
        entities.push(...page);
        if (page.length < PAGE) break;
        afterId = page[page.length - 1]!.id;
      }
    }
    return entities;
  }

  async function copyFrom(production: Production): Promise<{ changes: ChangeRecord[]; entities: EntityRecord[]; records: ProductionRecords }> {
    const { conn, hello } = production;
    const changes: ChangeRecord[] = [];
    for (let after = 0; ; ) {
      const page = await conn.log(after, PAGE);
      if (page.length === 0) break;
      changes.push(...page);
      after = page[page.length - 1]!.seq;
      if (after >= hello.headSeq && page.length < PAGE) break;
    }
    return { changes, entities: await entitiesOf(production, trackableTypes(catalog)), records: await fetchProductionRecords(conn) };
  }

  /** Restores this instance in one write transaction, only if its part of the plan still holds: else nothing is written. */
  async function restoreHere(ctx: WriteContext, production: Production, part: InstanceRestore, plan: RestorePlan): Promise<InstanceRestore> {
    const copy = await copyFrom(production);
    // Production's history is held to the pipeline's key before anything here is replaced.
    const forged = copiedHistoryProblems(copy, catalog, keys);
    if (forged.length > 0) throw refuse(forged, null);
    // Production's configuration as it describes it after the copy: had it moved since the plan, this differs.
    const copied = { instanceId: production.hello.instanceId, headSeq: copy.changes.at(-1)?.seq ?? 0, types: await production.conn.stateDigests() };
    const named = new Set(typesNamingRecords(catalog));
    await db.write(async (stores) => {
      const old = await stores.changes.head();
      const records = await planRecords(stores, catalog, copy.records, copy.entities.filter((e) => named.has(e.type)));
      if (fingerprintOf(instance.id, old, await typeDigests(stores, catalog), records, copied) !== part.fingerprint) throw planChanged(plan, [instance.name]);
      if (records.plan.unresolved.length > 0) throw recordsMissing({ ...plan, instances: [{ ...part, records: records.plan }] });
      // Instance-local fields (a role's agents) stay this instance's own through the restore.
      const kept = new Map<string, Record<string, unknown>>();
      for (const def of catalog.list().filter(hasLocalFields)) {
        for (const entity of await stores.entities.listAll(def.key)) kept.set(entity.id, entity.body);
      }
      // Origin sequences this instance gave out stay given out: changes lost here may live on elsewhere.
      await stores.changes.reset(Math.max(old.originOffset, old.seq + old.originOffset - copy.changes.length));
      await stores.history.clearEntities(trackableTypes(catalog));
      let head = { seq: 0, hash: GENESIS_HASH };
      const receipt: ChangeReceipt = { actor: ctx.actor, operation: 'restore', via: production.peer.name, at: clock.now() };
      for (const change of copy.changes) {
        const record = fromTransfer(toTransfer(change), head.seq + 1, production.hello.instanceId, receipt);
        record.hash = chainHash(keys, head.hash, record);
        await stores.changes.appendDeferred(record);
        head = record;
      }
      await stores.changes.saveHead();
      // Desk records go first: production's customers and users take the place of this instance's.
      for (const reset of deps.deskDataResets ?? []) await reset(stores);
      await records.apply(stores);
      for (const entity of copy.entities) {
        const def = catalog.find(entity.type);
        const restored = def ? { ...entity, body: records.bodyOf(def, withInstanceLocal(def, entity.id, entity.body, kept.get(entity.id) ?? null)!) } : entity;
        await stores.entities.insert(restored);
        if (def) await stores.entities.replaceReferences(restored.id, restored.type, storedReferencesIn(def, restored.body));
      }
      await stores.summary.reset();
      for (const p of await stores.peers.list()) await stores.peers.update({ ...p, lastPushSeq: 0, lastPullSeq: 0, updatedAt: clock.now() });
    });
    return { ...part, restored: true };
  }

  return async function restore(ctx, options) {
    if (instance.kind === 'production') throw new DomainError('RESTORE_NOT_ALLOWED', 'A production instance is restored from backups, not from itself.');
    const production = await findProduction(options);
    const downstream = options.scope === 'pipeline' ? await downstreamPeers(production) : [];
    // Every instance's part is planned before anything is written anywhere.
    const [mine, further] = await Promise.all([ownPart(production), Promise.all(downstream.map((peer) => passOn(peer, production, { confirm: false, dryRun: true })))]);
    const instances = [mine, ...further.flatMap((p) => p.instances)];
    const plan: RestorePlan = {
      dryRun: options.dryRun,
      scope: options.scope,
      from: { name: production.peer.name, instanceId: production.hello.instanceId },
      fingerprint: joined(instances),
      instances,
      restored: false,
    };
    if (options.dryRun) return plan;
    const lost = instances.reduce((n, i) => n + i.lost.count, 0);
    if (!options.confirm || options.fingerprint === undefined) {
      throw new DomainError(
        'RESTORE_NOT_CONFIRMED',
        `Restoring replaces the configuration and history of ${instances.map((i) => i.name).join(' and ')} and loses ${lost} change(s) production lacks; confirm this plan by its fingerprint to go ahead.`,
        { plan },
      );
    }
    const shown = options.fingerprint;
    return audited(
      ctx,
      'sync.restore',
      production.peer.name,
      async () => {
        if (shown !== plan.fingerprint) {
          const parts = new Set(shown.split('-'));
          throw planChanged(plan, instances.filter((i) => !parts.has(i.fingerprint)).map((i) => i.name));
        }
        // No instance is restored while any of them would be left naming a record it lacks.
        if (instances.some((i) => i.records.unresolved.length > 0)) throw recordsMissing(plan);
        // Those nearest production first, each passing it on, each checking its own part as it restores.
        const restored: InstanceRestore[] = [];
        for (const [i, peer] of downstream.entries()) restored.push(...(await passOn(peer, production, { confirm: true, dryRun: false, fingerprint: further[i]!.fingerprint })).instances);
        return { ...plan, instances: [await restoreHere(ctx, production, mine, plan), ...restored], restored: true };
      },
      (result) => ({ copied: { ...mine.copied, customers: mine.records.copied.customers, users: mine.records.copied.users }, lost: mine.lost.count, scope: result.scope, instances: result.instances.map((i) => i.name), fingerprint: result.fingerprint }),
    );
  };
}
