import { withInstanceLocal } from '../catalog/entity-type.js';
import type { WriteContext } from '../shared/actor.js';
import { DomainError } from '../shared/errors.js';
import type { ChangeRecord, EntityRecord, PeerRecord, Stores } from '../store/ports.js';
import { chainHash } from '../tracking/change-chain.js';
import { referencesIn } from '../tracking/change-writer.js';
import type { PeerConnection, PeerConnector, PeerHello } from './peer-client.js';
import { reconcile } from './reconcile.js';
import type { KeyRanges } from './summary.js';
import { trackableTypes } from './state.js';
import { pipelinePosition, type SyncDeps, type SyncReceiver } from './sync-receiver.js';
import type { ChangeBrief } from './sync-service.js';
import { refuse } from './transfer.js';

export interface RestorePlan {
  dryRun: boolean;
  scope: 'instance' | 'pipeline';
  from: { name: string; instanceId: string };
  /** Instances restored, upstream first. */
  instances: string[];
  /** Changes this instance has that production lacks: they are lost. */
  lost: { count: number; changes: ChangeBrief[] };
  copied: { changes: number; entities: number };
  replaced: { entities: number; changes: number };
  /** Whether desk records (tickets and the like) are cleared: true wherever the desk keeps any. */
  deskDataCleared: boolean;
  restored: boolean;
}

export interface RestoreOptions {
  scope: 'instance' | 'pipeline';
  confirm: boolean;
  dryRun: boolean;
  from?: string;
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

const LIST_CAP = 500;
const PAGE = 2_000;

/** Restore from production: replaces this instance's tracked configuration and history with production's. */
export function createRestore(
  deps: SyncDeps & { receiver: SyncReceiver; connector: PeerConnector; deskDataResets?: DeskDataReset[] },
  tools: RestoreTools,
): (ctx: WriteContext, options: RestoreOptions) => Promise<RestorePlan> {
  const { db, catalog, clock, instance, version, receiver } = deps;
  const { connect, findPeer, audited, briefsOfLocal } = tools;

  async function lostOnRestore(conn: PeerConnection): Promise<{ count: number; changes: ChangeBrief[] }> {
    const rec = await reconcile(receiver, conn, { list: true });
    return { count: rec.ahead, changes: await briefsOfLocal(rec.aheadKeys ?? {}, LIST_CAP) };
  }

  async function findProduction(from: string | undefined): Promise<{ peer: PeerRecord; conn: PeerConnection; hello: PeerHello }> {
    const peers = from ? [await findPeer(from)] : await db.read((stores) => stores.peers.list());
    const found: { peer: PeerRecord; conn: PeerConnection; hello: PeerHello }[] = [];
    for (const peer of peers) {
      const conn = connect(peer);
      const hello = await conn.hello().catch((error: unknown) => {
        if (from) throw error;
        return null;
      });
      if (hello?.kind === 'production') found.push({ peer, conn, hello });
    }
    if (found.length !== 1) {
      throw new DomainError(
        'NO_PRODUCTION_PEER',
        found.length === 0
          ? 'No reachable linked instance is a production instance; link production first.'
          : `Several linked instances are production (${found.map((f) => f.peer.name).join(', ')}); name one with "from".`,
      );
    }
    return found[0]!;
  }

  async function copyFrom(conn: PeerConnection, producer: PeerHello): Promise<{ changes: ChangeRecord[]; entities: EntityRecord[] }> {
    const changes: ChangeRecord[] = [];
    for (let after = 0; ; ) {
      const page = await conn.log(after, PAGE);
      if (page.length === 0) break;
      changes.push(...page);
      after = page[page.length - 1]!.seq;
      if (after >= producer.headSeq && page.length < PAGE) break;
    }
    const entities: EntityRecord[] = [];
    for (const type of trackableTypes(catalog)) {
      for (let afterId: string | null = null; ; ) {
        const page = await conn.entities(type, afterId, PAGE);
        entities.push(...page);
        if (page.length < PAGE) break;
        afterId = page[page.length - 1]!.id;
      }
    }
    return { changes, entities };
  }

  return async function restore(ctx, options) {
    if (instance.kind === 'production') throw new DomainError('RESTORE_NOT_ALLOWED', 'A production instance is restored from backups, not from itself.');
    const { peer, conn, hello } = await findProduction(options.from);
    if (hello.version !== version) {
      throw refuse([{ kind: 'version-mismatch', message: `${peer.name} runs version ${hello.version} and this instance ${version}.` }], null);
    }
    const position = await db.read(pipelinePosition);
    // The instances between this one and production are the ones that take this one as their source.
    const downstream =
      options.scope === 'pipeline'
        ? (await db.read((stores) => stores.peers.list())).filter(
            (peer) => peer.instanceId !== hello.instanceId && position.downstream.some((d) => d.instanceId === peer.instanceId),
          )
        : [];
    const further = await Promise.all(downstream.map(async (peer) => ((await connect(peer).restore({ confirm: false, dryRun: true })) as RestorePlan).instances));
    const lost = await lostOnRestore(conn);
    const current = await db.read(async (stores) => ({
      changes: (await stores.changes.head()).seq,
      entities: (await Promise.all(trackableTypes(catalog).map((t) => stores.entities.listAll(t)))).reduce((n, list) => n + list.length, 0),
    }));
    const plan: RestorePlan = {
      dryRun: options.dryRun,
      scope: options.scope,
      from: { name: peer.name, instanceId: hello.instanceId },
      instances: [instance.name, ...further.flat()],
      lost,
      copied: { changes: hello.headSeq, entities: 0 },
      replaced: current,
      deskDataCleared: (deps.deskDataResets ?? []).length > 0,
      restored: false,
    };
    if (options.dryRun) return plan;
    if (!options.confirm) {
      throw new DomainError('RESTORE_NOT_CONFIRMED', `Restoring replaces this instance's configuration and history and loses ${lost.count} change(s) production lacks; confirm to go ahead.`, { plan });
    }
    return audited(
      ctx,
      'sync.restore',
      peer.name,
      async () => {
        for (const peer of downstream) await connect(peer).restore({ confirm: true, dryRun: false });
        const copy = await copyFrom(conn, hello);
        await db.write(async (stores) => {
          // Instance-local fields (a role's agents) stay this instance's own through the restore.
          const kept = new Map<string, Record<string, unknown>>();
          for (const def of catalog.list().filter((d) => Object.keys(d.instanceLocal).length > 0)) {
            for (const entity of await stores.entities.listAll(def.key)) kept.set(entity.id, entity.body);
          }
          // Origin sequences this instance gave out stay given out: changes lost here may live on elsewhere.
          const old = await stores.changes.head();
          await stores.changes.reset(Math.max(old.originOffset, old.seq + old.originOffset - copy.changes.length));
          await stores.history.clearEntities(trackableTypes(catalog));
          let head = { seq: 0, hash: '0'.repeat(64) };
          for (const change of copy.changes) {
            const seq = head.seq + 1;
            const record: ChangeRecord = { ...change, seq, appliedFrom: hello.instanceId, hash: chainHash(head.hash, seq, change.digest, hello.instanceId) };
            await stores.changes.appendDeferred(record);
            head = { seq, hash: record.hash };
          }
          await stores.changes.saveHead();
          for (const copied of copy.entities) {
            const def = catalog.find(copied.type);
            const entity = def ? { ...copied, body: withInstanceLocal(def, copied.body, kept.get(copied.id) ?? null)! } : copied;
            await stores.entities.insert(entity);
            if (def) await stores.entities.replaceReferences(entity.id, entity.type, referencesIn(def, entity.body).map((r) => ({ toId: r.toId, path: r.path })));
          }
          await stores.summary.reset();
          for (const p of await stores.peers.list()) await stores.peers.update({ ...p, lastPushSeq: 0, lastPullSeq: 0, updatedAt: clock.now() });
          for (const reset of deps.deskDataResets ?? []) await reset(stores);
        });
        return { ...plan, copied: { changes: copy.changes.length, entities: copy.entities.length }, restored: true };
      },
      (result) => ({ copied: result.copied, lost: result.lost.count, scope: result.scope }),
    );
  };
}
