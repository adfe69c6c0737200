// Shared helpers for the benchmarks: timing, statistics, output, temporary databases, the composition root.
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { createBuiltinCatalog } from '../dist/catalog/builtin/index.js';
import { SERVER_NODE_OPTIONS } from '../dist/cli/server-process.js';
import { createServices } from '../dist/services.js';
import { administratorAuthority } from '../dist/shared/actor.js';
import { systemClock } from '../dist/shared/clock.js';
import { migrateToLatest, openDialect } from '../dist/store/open-database.js';
import { createTransactor } from '../dist/store/sql/create-stores.js';
import { ensureInstanceIdentity } from '../dist/tracking/instance-identity.js';
import { historyKeysOf } from '../dist/tracking/history-keys.js';
import { chainHash, contentTextOf } from '../dist/tracking/change-chain.js';
import { canonicalJson } from '../dist/shared/canonical-json.js';
import { createSecretBox } from '../dist/tracking/secret-box.js';

export const adminUrl = process.env.SHIPLOG_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export const now = () => process.hrtime.bigint();
export const msSince = (start) => Number(process.hrtime.bigint() - start) / 1e6;

/** Percentiles (nearest rank), mean and count of latencies in milliseconds. */
export function summarise(latenciesMs, elapsedMs) {
  const sorted = Float64Array.from(latenciesMs).sort();
  const rank = (p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
  const total = elapsedMs ?? sorted.reduce((a, b) => a + b, 0);
  return {
    count: sorted.length,
    p50Ms: round(rank(50)),
    p95Ms: round(rank(95)),
    p99Ms: round(rank(99)),
    meanMs: round(mean),
    maxMs: round(sorted[sorted.length - 1]),
    opsPerSec: Math.round((sorted.length / total) * 1000),
  };
}

export function round(value, digits = 4) {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/**
 * Runs `fn` until `maxCount` calls or `maxMs` elapsed, whichever comes first; returns per-call latencies and wall time.
 * `fn(i)` may be sync or async.
 */
export async function timeLoop(fn, { maxCount, maxMs, startAt = 0 }) {
  const latencies = [];
  const begin = now();
  const deadline = begin + BigInt(Math.round(maxMs * 1e6));
  for (let i = 0; i < maxCount; i += 1) {
    const t = now();
    await fn(startAt + i);
    const end = now();
    latencies.push(Number(end - t) / 1e6);
    if (end > deadline) break;
  }
  return { latencies, elapsedMs: msSince(begin) };
}

/** Prints the result as one line of JSON (machine-readable; run-all picks it out) and a small table. */
export function report(result, rows) {
  console.log(JSON.stringify(result));
  if (rows && rows.length > 0) console.table(rows);
}

export function note(text) {
  console.error(`[${new Date().toISOString().slice(11, 19)}] ${text}`);
}

export async function postgresAnswers() {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Runs `runEngine` on SQLite and, where it answers, PostgreSQL; `SHIPLOG_BENCH_ENGINES` (`sqlite,postgres`) narrows
 * the engines. Returns the results and the engines skipped, with why.
 */
export async function runOnEngines(runEngine) {
  const engines = (process.env.SHIPLOG_BENCH_ENGINES ?? 'sqlite,postgres').split(',');
  const results = [];
  const skipped = [];
  if (engines.includes('sqlite')) results.push(await runEngine('sqlite'));
  if (!engines.includes('postgres')) skipped.push({ engine: 'postgres', reason: 'not in SHIPLOG_BENCH_ENGINES' });
  else if (await postgresAnswers()) results.push(await runEngine('postgres'));
  else skipped.push({ engine: 'postgres', reason: 'PostgreSQL at the admin URL does not answer; skipped' });
  return { results, skipped };
}

/** Every change id of a database's log, in log order (the naive comparison's side of the work). */
export async function changeIdsOf(database) {
  if (/^postgres(ql)?:\/\//.test(database)) {
    const client = new pg.Client({ connectionString: database });
    await client.connect();
    try {
      return (await client.query({ text: 'select id from changes order by seq', rowMode: 'array' })).rows.map((r) => r[0]);
    } finally {
      await client.end();
    }
  }
  const db = new BetterSqlite3(database, { readonly: true });
  try {
    return db.prepare('select id from changes order by seq').pluck().all();
  } finally {
    db.close();
  }
}

/** A temporary SQLite file path; `drop` removes its directory. */
export function tempSqlite(label) {
  const dir = mkdtempSync(join(tmpdir(), `shiplog-bench-${label}-`));
  return { url: join(dir, 'instance.sqlite'), drop: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A fresh PostgreSQL database; `drop` removes it (force). */
export async function tempPostgres(label) {
  const name = `shiplog_bench_${label}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}

export async function pgVersion() {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return (await client.query('show server_version')).rows[0].server_version;
  } finally {
    await client.end();
  }
}

/**
 * Opens, migrates and bootstraps an instance's database as `shiplog serve` does on first start, with a known secret key
 * (base64) and administrator token. On a database bootstrapped before, `knownActor` stands for the administrator.
 */
export async function prepareInstance(url, { name, kind, secretKey, adminToken, adminPassword = randomBytes(18).toString('base64url'), knownActor = null }) {
  const dialect = openDialect(url);
  await migrateToLatest(dialect);
  const db = createTransactor(dialect);
  const identity = await ensureInstanceIdentity(db, systemClock, { name, kind });
  const box = createSecretBox([Buffer.from(secretKey, 'base64')]);
  const services = createServices(db, {
    instance: identity,
    version: '0.0.0-bench',
    catalog: createBuiltinCatalog(),
    box,
    clock: systemClock,
  });
  const boot = await services.bootstrapper.bootstrap({ adminToken, adminPassword });
  const actor = boot ? { kind: 'agent', id: boot.agent.id, name: boot.agent.name } : knownActor;
  return { dialect, db, identity, services, keys: historyKeysOf(box), actor, ctx: { actor, request: null, changeSet: null, authority: administratorAuthority } };
}

/** The composition root as src/main.ts builds it: dialect → migrations → transactor → identity → services. */
export async function openInstance(url) {
  const dialect = openDialect(url);
  await migrateToLatest(dialect);
  const db = createTransactor(dialect);
  const identity = await ensureInstanceIdentity(db, systemClock, { name: 'bench', kind: 'development' });
  const box = createSecretBox([randomBytes(32)]);
  const services = createServices(db, {
    instance: identity,
    version: '0.0.0-bench',
    catalog: createBuiltinCatalog(),
    box,
    clock: systemClock,
  });
  const boot = await services.bootstrapper.bootstrap({
    adminToken: `shp_bench_${randomBytes(24).toString('base64url')}`,
    adminPassword: randomBytes(18).toString('base64url'),
  });
  const agent = boot.agent;
  const ctx = { actor: { kind: 'agent', id: agent.id, name: agent.name }, request: null, changeSet: null, authority: administratorAuthority };
  return { dialect, db, identity, services, keys: historyKeysOf(box), ctx, close: () => dialect.close() };
}

const LOREM =
  'Handles first-line requests for the service desk: triage, assignment, follow-up with customers and hand-over to second line. ';

/** A ~1.9 KB description that differs by `variant`, so consecutive saves always change something. */
export function longDescription(variant) {
  const base = LOREM.repeat(15).slice(0, 1880);
  return `${base} rev ${variant}`;
}

/** A realistic `teams` body of about 2 KB. */
export function teamBody(index, variant) {
  return { name: `Team ${String(index).padStart(4, '0')}`, description: longDescription(variant), email: `team${index}@example.com`, isCoManaged: false };
}

const here = dirname(fileURLToPath(import.meta.url));

/**
 * Starts a Shiplog instance in a child process (bench/instance-process.mjs); resolves once it listens.
 * `options`: name, kind, database, secretKey, adminToken, ids (also serve the naive id list).
 */
export function startInstanceProcess(options) {
  // The instances run with the Node options `shiplog serve` runs with; SHIPLOG_BENCH_CHILD_ARGS adds more, e.g.
  // "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const execArgv = [...SERVER_NODE_OPTIONS, ...(process.env.SHIPLOG_BENCH_CHILD_ARGS ?? '').split(' ').filter(Boolean)];
  const child = fork(join(here, 'instance-process.mjs'), [JSON.stringify(options)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${options.name} exited with ${code} before it listened`)));
    child.once('message', ({ url, idsUrl }) => {
      child.removeAllListeners('exit');
      resolve({
        url,
        idsUrl,
        pid: child.pid,
        /** Bytes this instance's sockets carried so far, both ways, HTTP headers included: `{ instance, ids }`. */
        bytes: () =>
          new Promise((done) => {
            const answer = (message) => {
              if (!message?.bytes) return;
              child.off('message', answer);
              done(message.bytes);
            };
            child.on('message', answer);
            child.send({ bytes: true });
          }),
        stop: () =>
          new Promise((done) => {
            child.once('exit', () => done());
            child.send('stop');
          }),
      });
    });
  });
}

/** Calls an instance's API with a bearer token; parses JSON; throws on a status other than `expect`. */
export async function api(url, token, method, path, body, expect = [200, 201, 204]) {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  const parsed = text ? JSON.parse(text) : null;
  if (!expect.includes(response.status)) throw new Error(`${method} ${path}: ${response.status} ${text.slice(0, 2000)}`);
  return parsed;
}

/** Links `from` to `to` with a new application on `to` (config:read + config:push); `source` makes `to` the source. */
export async function linkInstances(from, to, { source = false } = {}) {
  const agents = await api(to.url, to.token, 'GET', '/v1/agents?limit=1');
  const created = await api(to.url, to.token, 'POST', '/v1/applications', {
    name: `Sync from ${from.name}`,
    agentId: agents.items[0].id,
    permissions: ['config:read', 'config:push'],
  });
  return api(from.url, from.token, 'POST', '/v1/instances', {
    name: to.name,
    url: to.linkUrl ?? to.url,
    clientId: created.application.clientId,
    clientSecret: created.clientSecret,
    ...(source ? { source: true } : {}),
  });
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A ULID-shaped id: 10 characters of time, 16 of a counter (unique and increasing here, cheap to make). */
export function fakeUlid(time, counter) {
  let out = '';
  for (let t = time, i = 0; i < 10; i += 1, t = Math.floor(t / 32)) out = CROCKFORD[t % 32] + out;
  let tail = '';
  for (let c = counter, i = 0; i < 16; i += 1, c = Math.floor(c / 32)) tail = CROCKFORD[c % 32] + tail;
  return out + tail;
}

/** Deterministic pseudo-random numbers, so every run builds the same log. */
export function prng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Writes `total` changes straight into an instance's SQLite log: `types` × `entitiesPerType` entities, creates then
 * updates, spread evenly over `span` ms from `start`, keyed digests and chain as the instance computes them. Indexes
 * are dropped for the load and rebuilt after it. Returns the open connection and the index names.
 */
/**
 * With `verifiable`, each row's digest is the one verify recomputes (the keyed digest of its portable fields), so the log
 * passes GET /v1/changes/verify; without, a cheaper stand-in that only the figures reading the log need.
 */
export function seedChangeLog(file, { origin, types, actor, keys, total, batch = 50_000, start, span, entitiesPerType = 200, verifiable = false }) {
  const raw = new BetterSqlite3(file);
  raw.pragma('journal_mode = WAL');
  // Generation only: durability does not matter for set-up rows.
  raw.pragma('synchronous = OFF');
  const insert = raw.prepare(
    `insert into changes (seq, id, origin, origin_seq, type, entity_id, entity_name, op, before, after, parent, requires, actor_kind, actor_id, actor_name, at, request, change_set, revert_of, applied_from, digest, hash)
     values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '[]', ?, ?, ?, ?, null, null, null, null, ?, ?)`,
  );
  const random = prng(42);
  const entityIds = types.map((_, t) => Array.from({ length: entitiesPerType }, (_, e) => fakeUlid(start - 86_400_000, t * entitiesPerType + e)));
  // The migration's own index definitions, dropped for the bulk load and rebuilt after it (a sorted build is faster).
  const indexes = raw.prepare("select name, sql from sqlite_master where type = 'index' and tbl_name = 'changes' and sql is not null").all();
  for (const index of indexes) raw.exec(`drop index ${index.name}`);
  const lastChange = new Map();
  const filler = 'x'.repeat(90);
  let hash = '0'.repeat(64);
  const insertBatch = raw.transaction((from, to) => {
    for (let seq = from; seq <= to; seq += 1) {
      const t = Math.floor(random() * types.length);
      const e = Math.floor(random() * entitiesPerType);
      const entityId = entityIds[t][e];
      const at = start + Math.floor(((seq - 1) * span) / total) + Math.floor(random() * 1000);
      const id = fakeUlid(at, seq);
      const parent = lastChange.get(entityId) ?? null;
      const name = `${types[t]} ${e}`;
      const before = parent === null ? null : JSON.stringify({ name, description: `${filler} ${seq - 1}`, enabled: true });
      const after = JSON.stringify({ name, description: `${filler} ${seq}`, enabled: true });
      const digest = verifiable
        ? keys.digest.sign(
            contentTextOf(
              { id, origin, originSeq: seq, type: types[t], entityId, entityName: name, op: parent === null ? 'create' : 'update', before: before === null ? null : JSON.parse(before), after: JSON.parse(after), parent, requires: [], actor, at, request: null, changeSet: null, revertOf: null },
              canonicalJson,
            ),
          )
        : keys.digest.sign(`${id}|${after}`);
      hash = chainHash(keys, hash, { seq, digest, appliedFrom: null, received: null });
      insert.run(seq, id, origin, seq, types[t], entityId, name, parent === null ? 'create' : 'update', before, after, parent, actor.kind, actor.id, actor.name, at, digest, hash);
      lastChange.set(entityId, id);
    }
  });
  for (let from = 1; from <= total; from += batch) {
    insertBatch.immediate(from, Math.min(total, from + batch - 1));
    if ((from - 1) % 250_000 === 0 && from > 1) note(`seed: ${from - 1} rows`);
  }
  for (const index of indexes) raw.exec(index.sql);
  raw.prepare('insert into change_log_head (singleton, seq, hash) values (1, ?, ?) on conflict (singleton) do update set seq = excluded.seq, hash = excluded.hash').run(total, hash);
  raw.pragma('wal_checkpoint(TRUNCATE)');
  raw.pragma('synchronous = NORMAL');
  return { raw, indexNames: indexes.map((index) => index.name) };
}
