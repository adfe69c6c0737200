import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBuiltinCatalog } from '../../src/catalog/builtin/index.js';
import { BATCH_STREAM_TYPE } from '../../src/http/batch-stream.js';
import type { EngineName } from '../../src/store/dialects/dialect.js';
import { openDialect } from '../../src/store/open-database.js';
import { createTransactor } from '../../src/store/sql/create-stores.js';
import { createChangeLog } from '../../src/tracking/change-log.js';
import { historyKeysOf } from '../../src/tracking/history-keys.js';
import { createSecretBox, parseSecretKeys } from '../../src/tracking/secret-box.js';
import { shiplogVersion } from '../../src/version.js';
import { createTestDatabase, engines } from '../support/databases.js';
import { createTestInstance, type TestInstance } from '../support/instance.js';
import { batchText, entityStates, logOf, senderOf, tablesOf, transferOf, writeManyChanges, type Tables } from '../support/sync.js';
import { SERVER_NODE_OPTIONS } from '../../src/cli/server-process.js';

// Invariant 5: a receiver killed (SIGKILL) at a random point of a 10,000-change push is exactly before or exactly after.

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
// A build of its own, so that it never races another e2e file rebuilding dist/ (node resolves packages from the root).
const buildDir = join(root, '.shiplog-test', 'crash-dist');
const CHANGES = 10_000;
// 50 trials per engine, as Invariant 5's test asks; each takes a few seconds (a receiver started while the trial before
// runs, a push, a kill, an inspection). SHIPLOG_CRASH_TRIALS sets another count, for a quicker run while developing.
const defaultTrials: Record<EngineName, number> = { sqlite: 50, postgres: 50 };
const trialsOf = (engine: EngineName) => Number(process.env.SHIPLOG_CRASH_TRIALS ?? defaultTrials[engine]);
const WAIT_MS = 30_000;
/** src/store/dialects/postgres.ts: the advisory lock a write transaction holds. */
const CHANGE_LOG_LOCK = 0x5348_4c47;
const adminUrl = process.env.SHIPLOG_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const secretKey = randomBytes(32).toString('base64');
const adminToken = `crash-test-${randomBytes(16).toString('hex')}`;
const tracked = ['teams', 'ticket-types', 'roles'] as const;

interface Served {
  child: ChildProcess;
  url: string;
}

/** Starts a receiver process on `database` and waits (bounded) for the URL it serves. */
async function serve(database: string): Promise<Served> {
  // Started with the server's Node options, so that the process killed is the server itself, not a launcher.
  const child = spawn(process.execPath, [...SERVER_NODE_OPTIONS, join(buildDir, 'cli/main.js'), 'serve', '--name', 'staging', '--kind', 'staging', '--port', '0', '--quiet', '--database', database], {
    cwd: root,
    env: { ...process.env, SHIPLOG_SECRET_KEY: secretKey, SHIPLOG_ADMIN_TOKEN: adminToken },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  return new Promise((resolveServed, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL within ${WAIT_MS} ms:\n${output}`)), WAIT_MS);
    const look = () => {
      const url = /is serving (http:\/\/\S+)/.exec(output)?.[1];
      if (url && output.includes('\n  ')) {
        clearTimeout(timer);
        resolveServed({ child, url });
      }
    };
    child.stdout!.on('data', look);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the receiver exited with ${code}:\n${output}`));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => child.once('exit', () => done()));
}

/** Receiver databases in the state before the push: a file copied from a template, or a PostgreSQL database made from one. */
interface Templates {
  /** The template itself, set up by a first start of a receiver. */
  template: string;
  /** A fresh copy of the template; `database` is what `serve --database` takes. */
  copy(): Promise<{ database: string; drop(): Promise<void> }>;
  /** Whether a process holds the database's write transaction open (the change-log lock) right now. */
  writing(database: string): Promise<boolean>;
  drop(): Promise<void>;
}

async function adminQuery(query: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(query);
  } finally {
    await client.end();
  }
}

async function templates(engine: EngineName): Promise<Templates> {
  if (engine === 'sqlite') {
    const dir = mkdtempSync(join(root, '.shiplog-test', 'crash-'));
    const template = join(dir, 'template.sqlite');
    let n = 0;
    return {
      template,
      async copy() {
        const database = join(dir, `trial-${(n += 1)}.sqlite`);
        copyFileSync(template, database);
        if (existsSync(`${template}-wal`)) copyFileSync(`${template}-wal`, `${database}-wal`);
        return {
          database,
          async drop() {
            for (const suffix of ['', '-wal', '-shm']) rmSync(`${database}${suffix}`, { force: true });
          },
        };
      },
      async writing(database) {
        const probe = new BetterSqlite3(database, { fileMustExist: true, timeout: 0 });
        try {
          probe.exec('begin immediate');
          probe.exec('rollback');
          return false;
        } catch (error) {
          if ((error as { code?: string }).code === 'SQLITE_BUSY') return true;
          throw error;
        } finally {
          probe.close();
        }
      },
      async drop() {
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const base = await createTestDatabase(engine, { migrate: false });
  await base.dialect.close();
  const templateName = new URL(base.url).pathname.slice(1);
  let n = 0;
  return {
    template: base.url,
    async copy() {
      const name = `${templateName}_${(n += 1)}`;
      await adminQuery(`create database ${name} template ${templateName}`);
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      return { database: url.toString(), drop: () => adminQuery(`drop database if exists ${name} with (force)`) };
    },
    async writing(database) {
      const client = new pg.Client({ connectionString: database });
      await client.connect();
      try {
        // pg_advisory_xact_lock(bigint k) shows as classid k >> 32, objid k & 0xffffffff, objsubid 1.
        const { rows } = await client.query<{ n: string }>(
          `select count(*) as n from pg_locks where locktype = 'advisory' and granted and objsubid = 1 and objid = $1 and database = (select oid from pg_database where datname = current_database())`,
          [CHANGE_LOG_LOCK],
        );
        return Number(rows[0]!.n) > 0;
      } finally {
        await client.end();
      }
    },
    async drop() {
      await adminQuery(`drop database if exists ${templateName} with (force)`);
    },
  };
}

/** What the receiver's database holds, read directly after the process died. */
async function inspect(database: string): Promise<{ tables: Tables; log: string[]; entities: Awaited<ReturnType<typeof entityStates>>; verified: boolean }> {
  const dialect = openDialect(database);
  try {
    const db = createTransactor(dialect);
    const log = (await logOf(db)).map((c) => c.id);
    const keys = historyKeysOf(createSecretBox(parseSecretKeys(secretKey)));
    const verify = await createChangeLog({ db, catalog: createBuiltinCatalog(), keys }).verify();
    return { tables: await tablesOf({ dialect }), log, entities: await entityStates(db, tracked), verified: verify.ok && verify.checked === log.length };
  } finally {
    await dialect.close();
  }
}

let source: TestInstance;
let body: string;
let batchIds: string[];
let sourceEntities: Awaited<ReturnType<typeof entityStates>>;
let sourceRefs: Tables['refs'];
/** One order for references, whatever the engine's collation. */
const byReference = (a: Tables['refs'][number], b: Tables['refs'][number]) => (a.from_id < b.from_id ? -1 : a.from_id > b.from_id ? 1 : a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

beforeAll(async () => {
  mkdirSync(buildDir, { recursive: true });
  // The build reads its version from the package.json beside its folder, as dist/ does.
  copyFileSync(join(root, 'package.json'), join(dirname(buildDir), 'package.json'));
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const incremental = ['--incremental', '--tsBuildInfoFile', `${buildDir}.tsbuildinfo`];
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', buildDir, ...incremental], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  expect(existsSync(join(buildDir, 'cli/main.js'))).toBe(true);

  // One batch for both engines: what is under test is the receiver, whatever the sender's engine.
  // The receivers' key: instances of a pipeline share one, and it vouches for the history sent.
  source = await createTestInstance('sqlite', { name: 'dev', secretKey: Buffer.from(secretKey, 'base64') });
  await writeManyChanges(source, CHANGES);
  const changes = await transferOf(source);
  expect(changes).toHaveLength(CHANGES);
  batchIds = changes.map((c) => c.id);
  // As a push sends it: streamed, each change on a line of its own, packed.
  body = await batchText({ sender: senderOf(source, { version: shiplogVersion }), operation: 'push', changes, dryRun: false, allowMissing: [] });
  sourceEntities = await entityStates(source.db, ['teams', 'ticket-types']);
  // The batch's entities' references; each instance's roles (its own administrator) name its own agents.
  sourceRefs = (await tablesOf(source.database)).refs.filter((r) => r.from_type !== 'roles');
}, 180_000);

afterAll(async () => source?.close());

describe.each(engines)('a receiver killed during a 10,000-change push on %s (Invariant 5)', (engine) => {
  const trials = trialsOf(engine);
  let store: Templates;
  let before: Awaited<ReturnType<typeof inspect>>;

  beforeAll(async () => {
    // The template: a receiver started once (migrated, administrator bootstrapped), then stopped cleanly.
    store = await templates(engine);
    const first = await serve(store.template);
    first.child.kill('SIGTERM');
    await exited(first.child);
    before = await inspect(store.template);
    expect(before.log).toEqual([]);
  }, 60_000);

  afterAll(async () => store?.drop());

  const push = (url: string) =>
    fetch(`${url}/v1/sync/receive`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}`, 'content-type': BATCH_STREAM_TYPE }, body });

  /** Exactly before (nothing of the batch, tables untouched) or exactly after (all of it, entities as the sender's). */
  async function expectBeforeOrAfter(database: string): Promise<'before' | 'after'> {
    const now = await inspect(database);
    expect(now.verified).toBe(true);
    if (now.log.length === 0) {
      expect(now.tables).toEqual(before.tables);
      return 'before';
    }
    expect(now.log).toEqual(batchIds);
    const roles = new Map([...before.entities].filter(([, e]) => e.type === 'roles'));
    expect(now.entities).toEqual(new Map([...roles, ...sourceEntities]));
    expect([...now.tables.refs].sort(byReference)).toEqual([...before.tables.refs.filter((r) => r.from_type === 'roles'), ...sourceRefs].sort(byReference));
    return 'after';
  }

  it(`is exactly before or exactly after, in ${trials} trials killed at random points`, async () => {
    // Each trial's receiver starts while the trial before it runs: starting takes a process a few seconds.
    const prepare = async () => {
      const copy = await store.copy();
      return { copy, receiver: await serve(copy.database) };
    };
    const kill = async (receiver: Served) => {
      receiver.child.kill('SIGKILL');
      await exited(receiver.child);
    };

    // An undisturbed push (while the next receiver starts, as in every trial), to learn how long one takes.
    const calibration = await prepare();
    let next = prepare();
    const started = performance.now();
    const answer = await push(calibration.receiver.url);
    const fullMs = performance.now() - started;
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ applied: true, counts: { toApply: CHANGES } });
    await kill(calibration.receiver);
    expect(await expectBeforeOrAfter(calibration.copy.database)).toBe('after');
    await calibration.copy.drop();

    // Kills land anywhere from the first byte sent to past the answer (a trial may run slower than the calibration).
    const window = fullMs * 1.5;
    const outcomes = { before: 0, after: 0, midApply: 0 };
    for (let trial = 0; trial < trials; trial += 1) {
      const { copy, receiver } = await next;
      if (trial + 1 < trials) next = prepare();
      const sent = push(receiver.url).then(
        (r) => r.status,
        () => null,
      );
      await new Promise((r) => setTimeout(r, Math.random() * window));
      const midApply = await store.writing(copy.database);
      await kill(receiver);
      const status = await sent;
      const outcome = await expectBeforeOrAfter(copy.database);
      // An answer of 200 comes only after the commit.
      if (status === 200) expect(outcome).toBe('after');
      outcomes[outcome] += 1;
      if (midApply) outcomes.midApply += 1;
      await copy.drop();
    }
    console.info(`${engine}: ${trials} kills within ${Math.round(window)} ms of a push that takes ${Math.round(fullMs)} ms: ${outcomes.before} before, ${outcomes.after} after; ${outcomes.midApply} killed with the apply's transaction open`);
  }, 60_000 + trials * 30_000);
});
