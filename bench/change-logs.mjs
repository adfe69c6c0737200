// Change logs written straight into an instance's database, for the benchmarks that need a million changes: rows a
// function of (origin, sequence), so several instances agree on the changes they share, chained as the server chains them.
import { createHash } from 'node:crypto';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { chainHash } from '../dist/tracking/change-chain.js';
import { fakeUlid } from './support.mjs';

const START = Date.parse('2025-11-23T00:00:00Z');
const ENTITIES = 2_000;
const BATCH = 20_000;

const sha256 = (text) => createHash('sha256').update(text).digest('hex');

/** A valid-looking change of `origin` at origin sequence `n` (a function of both, so two instances agree on it). */
export function changeRow(origin, tag, n, actor) {
  const at = START + n * 20;
  const id = fakeUlid(at, n * 4 + tag);
  const entity = n % ENTITIES;
  const entityId = fakeUlid(START - 1, 10_000_000 + tag * ENTITIES + entity);
  const name = `Team ${entity}`;
  const parentN = n - ENTITIES;
  const parent = parentN >= 1 ? fakeUlid(START + parentN * 20, parentN * 4 + tag) : null;
  const after = JSON.stringify({ name, description: `Revision ${n} of a team used by the reconciliation benchmark.`, isCoManaged: false });
  return {
    id,
    origin,
    originSeq: n,
    type: 'teams',
    entityId,
    name,
    op: parent ? 'update' : 'create',
    after,
    parent,
    at,
    actor,
    digest: sha256(`${id}|${after}`),
  };
}


const COLUMNS = ['seq', 'id', 'origin', 'origin_seq', 'type', 'entity_id', 'entity_name', 'op', 'before', 'after', 'parent', 'requires', 'actor_kind', 'actor_id', 'actor_name', 'at', 'request', 'change_set', 'revert_of', 'applied_from', 'digest', 'hash'];

/** Appends rows to a log, in order, with their chain hashes; indexes are rebuilt after the load. */
export class LogWriter {
  static async open(engine, url, keys) {
    const w = new LogWriter();
    w.engine = engine;
    w.keys = keys;
    w.pending = [];
    if (engine === 'sqlite') {
      w.raw = new BetterSqlite3(url);
      w.raw.pragma('journal_mode = WAL');
      w.raw.pragma('synchronous = OFF');
      w.indexes = w.raw.prepare("select name, sql from sqlite_master where type = 'index' and tbl_name = 'changes' and sql is not null").all();
      for (const index of w.indexes) w.raw.exec(`drop index ${index.name}`);
      w.insert = w.raw.prepare(`insert into changes (${COLUMNS.join(', ')}) values (${COLUMNS.map(() => '?').join(', ')})`);
      const head = w.raw.prepare('select seq, hash from change_log_head where singleton = 1').get();
      w.seq = Number(head?.seq ?? 0);
      w.hash = head?.hash ?? '0'.repeat(64);
      w.existing = w.raw.prepare('select * from changes order by seq').all();
    } else {
      w.client = new pg.Client({ connectionString: url });
      await w.client.connect();
      await w.client.query('set synchronous_commit = off');
      w.indexes = (
        await w.client.query(
          "select indexname as name, indexdef as sql from pg_indexes where tablename = 'changes' and indexname not in (select conname from pg_constraint where conrelid = 'changes'::regclass)",
        )
      ).rows;
      for (const index of w.indexes) await w.client.query(`drop index ${index.name}`);
      const head = (await w.client.query('select seq, hash from change_log_head where singleton = 1')).rows[0];
      w.seq = Number(head?.seq ?? 0);
      w.hash = head?.hash ?? '0'.repeat(64);
      w.existing = (await w.client.query('select * from changes order by seq')).rows;
    }
    return w;
  }

  async add(row) {
    this.seq += 1;
    this.hash = chainHash(this.keys, this.hash, { seq: this.seq, digest: row.digest, appliedFrom: null, received: null });
    this.pending.push([
      this.seq, row.id, row.origin, row.originSeq, row.type, row.entityId, row.name, row.op, null, row.after, row.parent, '[]',
      row.actor.kind, row.actor.id, row.actor.name, row.at, null, null, null, null, row.digest, this.hash,
    ]);
    if (this.pending.length >= BATCH) await this.flush();
  }

  /** Copies a stored row of another log (its own origin and sequence), as a sync would. */
  async copy(stored) {
    await this.add({
      id: stored.id, origin: stored.origin, originSeq: Number(stored.origin_seq), type: stored.type, entityId: stored.entity_id, name: stored.entity_name,
      op: stored.op, after: stored.after, parent: stored.parent, at: Number(stored.at), actor: { kind: stored.actor_kind, id: stored.actor_id, name: stored.actor_name }, digest: stored.digest,
    });
  }

  async flush() {
    const rows = this.pending;
    this.pending = [];
    if (rows.length === 0) return;
    if (this.engine === 'sqlite') {
      this.raw.transaction(() => {
        for (const row of rows) this.insert.run(row);
      })();
      return;
    }
    const columns = COLUMNS.map((_, c) => rows.map((r) => r[c]));
    const types = ['bigint', 'text', 'text', 'bigint', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'bigint', 'text', 'text', 'text', 'text', 'text', 'text'];
    await this.client.query(
      `insert into changes (${COLUMNS.join(', ')}) select * from unnest(${types.map((t, i) => `$${i + 1}::${t}[]`).join(', ')})`,
      columns,
    );
  }

  async close() {
    await this.flush();
    if (this.engine === 'sqlite') {
      for (const index of this.indexes) this.raw.exec(index.sql);
      this.raw.prepare('insert into change_log_head (singleton, seq, hash) values (1, ?, ?) on conflict (singleton) do update set seq = excluded.seq, hash = excluded.hash').run(this.seq, this.hash);
      this.raw.pragma('wal_checkpoint(TRUNCATE)');
      this.raw.close();
      return;
    }
    for (const index of this.indexes) await this.client.query(index.sql);
    await this.client.query('insert into change_log_head (singleton, seq, hash) values (1, $1, $2) on conflict (singleton) do update set seq = excluded.seq, hash = excluded.hash', [this.seq, this.hash]);
    await this.client.query('analyze changes');
    await this.client.end();
  }
}

