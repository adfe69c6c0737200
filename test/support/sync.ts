import { defaultSettings } from '../../src/shared/settings.js';
import { newId } from '../../src/shared/ids.js';
import type { ChangeRecord, EntityRecord, StoredChange, Transactor } from '../../src/store/ports.js';
import { streamedBatchLines } from '../../src/http/batch-stream.js';
import { createChangeWriter } from '../../src/tracking/change-writer.js';
import { historyKeysOf } from '../../src/tracking/history-keys.js';
import type { ReceiveRequest, ReceiveResult } from '../../src/sync/peer-client.js';
import { toTransfer, type SenderInfo, type TransferChange } from '../../src/sync/transfer.js';
import type { TestDatabase } from './databases.js';
import type { TestInstance } from './instance.js';

/** The whole change log of an instance, in its order. */
export async function logOf(db: Transactor): Promise<ChangeRecord[]> {
  return db.read(async (stores) => {
    const out: ChangeRecord[] = [];
    for (let after = 0; ; ) {
      const page = await stores.changes.scan(after, 5_000);
      if (page.length === 0) return out;
      out.push(...page);
      after = page[page.length - 1]!.seq;
    }
  });
}

/** The changes of an instance's log after `afterSeq`, as they travel. */
export async function transferOf(instance: Pick<TestInstance, 'db'>, afterSeq = 0): Promise<TransferChange[]> {
  return (await logOf(instance.db)).filter((c) => c.seq > afterSeq).map(toTransfer);
}

/** How `from` introduces itself to a receiver (outside any pipeline). */
export function senderOf(from: Pick<TestInstance, 'services'>, overrides: Partial<SenderInfo> = {}): SenderInfo {
  const { id, name, kind, version } = from.services.instance;
  return { instanceId: id, name, kind, version, inPipeline: false, ...overrides };
}

/** Sends `changes` from `from` to `to`'s receiver, as a push unless told otherwise. */
export async function receive(
  to: TestInstance,
  from: Pick<TestInstance, 'services'>,
  changes: TransferChange[],
  options: Partial<Omit<ReceiveRequest, 'changes'>> = {},
): Promise<ReceiveResult> {
  return to.services.syncReceiver.receive(to.ctx, {
    sender: senderOf(from),
    operation: 'push',
    dryRun: false,
    allowMissing: [],
    ...options,
    changes,
  });
}

/** Raw rows of the tables sync writes: the log (with its head), entities, references and idempotency records. */
export interface Tables {
  head: { seq: number; hash: string } | null;
  changes: { seq: number; id: string; appliedFrom: string | null }[];
  entities: { id: string; type: string; name: string; body: string; head: string | null }[];
  refs: { from_id: string; to_id: string; from_type: string; path: string }[];
  syncRequests: string[];
}

export async function tablesOf(database: Pick<TestDatabase, 'dialect'>): Promise<Tables> {
  const db = database.dialect.db;
  const head = await db.selectFrom('change_log_head').select(['seq', 'hash']).executeTakeFirst();
  const changes = await db.selectFrom('changes').select(['seq', 'id', 'applied_from']).orderBy('seq').execute();
  const entities = await db.selectFrom('entities').select(['id', 'type', 'name', 'body', 'head']).orderBy('id').execute();
  const refs = await db.selectFrom('entity_refs').selectAll().orderBy('from_id').orderBy('path').execute();
  const syncRequests = await db.selectFrom('sync_requests').select('key').orderBy('key').execute();
  return {
    head: head ? { seq: Number(head.seq), hash: head.hash } : null,
    changes: changes.map((c) => ({ seq: Number(c.seq), id: c.id, appliedFrom: c.applied_from })),
    entities,
    refs,
    syncRequests: syncRequests.map((r) => r.key),
  };
}

/** Tracked entities of the given types as id → { body, head }, for comparing instances. */
export async function entityStates(db: Transactor, types: readonly string[]): Promise<Map<string, { type: string; body: Record<string, unknown>; head: string | null }>> {
  return db.read(async (stores) => {
    const out = new Map<string, { type: string; body: Record<string, unknown>; head: string | null }>();
    for (const type of types) for (const e of await stores.entities.listAll(type)) out.set(e.id, { type, body: e.body, head: e.head });
    return out;
  });
}

/** Log seqs run 1..n without a gap or a repeat, and no change id appears twice. */
export function denseAndUnique(log: Pick<ChangeRecord, 'seq' | 'id'>[]): boolean {
  return log.every((c, i) => c.seq === i + 1) && new Set(log.map((c) => c.id)).size === log.length;
}

/** A change row that only its key and id matter for: what the reconciliation summary reads. */
export function keyRow(key: { origin: string; originSeq: number; id: string }, seq: number): ChangeRecord {
  return {
    seq,
    id: key.id,
    origin: key.origin,
    originSeq: key.originSeq,
    type: 'teams',
    entityId: key.id,
    entityName: key.id,
    op: 'create',
    before: null,
    after: { name: key.id },
    parent: null,
    requires: [],
    actor: { kind: 'system', id: 'test', name: 'test' },
    at: 0,
    request: null,
    changeSet: null,
    revertOf: null,
    appliedFrom: 'test',
    received: null,
    digest: '0'.repeat(64),
    hash: '0'.repeat(64),
  };
}

/** Appends rows with the given keys to the log, in order, in one transaction. */
export async function appendKeys(db: Transactor, keys: { origin: string; originSeq: number; id: string }[]): Promise<void> {
  await db.write(async (stores) => {
    let { seq } = await stores.changes.head();
    for (const key of keys) await stores.changes.appendDeferred(keyRow(key, (seq += 1)));
    await stores.changes.saveHead();
  });
}

/** Empties the log and the summary. */
export async function clearLog(db: Transactor): Promise<void> {
  await db.write(async (stores) => {
    await stores.changes.reset(0);
    await stores.summary.reset();
  });
}

/**
 * Writes `count` tracked changes quickly (a thousand per transaction, through the change writer): teams, ticket
 * types that reference them, and renames of both.
 */
export async function writeManyChanges(instance: TestInstance, count: number): Promise<void> {
  const { catalog, clock } = instance.services;
  const writer = createChangeWriter({ catalog, clock, instance: instance.services.instance, keys: historyKeysOf(instance.box) });
  const live: EntityRecord[] = [];
  const teams: string[] = [];
  let written = 0;
  while (written < count) {
    await instance.db.write(async (stores) => {
      for (let n = 0; n < 1_000 && written < count; n += 1, written += 1) {
        const k = written;
        let current: EntityRecord | undefined;
        let def = catalog.get('teams');
        let next: Record<string, unknown>;
        if (k % 4 === 0 || teams.length === 0) {
          next = { name: `Team ${k}`, description: `Second-line team number ${k}.`, isCoManaged: false };
        } else if (k % 4 === 1) {
          def = catalog.get('ticket-types');
          next = { name: `Type ${k}`, defaultTeamId: teams[(k * 7) % teams.length], fieldGroupIds: [], allowedForCoManaged: true };
        } else {
          const index = (k * 13) % live.length;
          current = live[index]!;
          def = catalog.get(current.type);
          next = { ...current.body, name: `${current.type === 'teams' ? 'Team' : 'Type'} ${k} (renamed)` };
        }
        const result = await writer.write(stores, { def, entityId: current?.id ?? newId(clock.now()), current, next, ctx: instance.ctx, settings: defaultSettings });
        const entity = result.entity!;
        if (current) live[live.indexOf(current)] = entity;
        else {
          live.push(entity);
          if (entity.type === 'teams') teams.push(entity.id);
        }
      }
    });
  }
}

/** Changes as the store reads them for a batch it streams (findBySeqs): bodies as their JSON texts. */
export function storedOf(changes: TransferChange[]): StoredChange[] {
  return changes.map(({ before, after, ...change }, i) => ({
    ...change,
    seq: i + 1,
    appliedFrom: null,
    received: null,
    hash: 'f'.repeat(64),
    beforeText: before === null ? null : JSON.stringify(before),
    afterText: after === null ? null : JSON.stringify(after),
  }));
}

/** The whole text a push streams for `request` (streamedBatchLines), as one string. */
export async function batchText(request: ReceiveRequest): Promise<string> {
  const { changes, records, ...header } = request;
  const stored = storedOf(changes);
  let text = '';
  const pages = async function* () {
    yield stored;
  };
  const described = records ? { records: async () => records } : {};
  for await (const piece of streamedBatchLines({ ...header, changes: { count: stored.length, pages, ...described } }, [])) text += piece;
  return text;
}
