// Issue 4, figure 2: a push of 10,000 changes end to end (plan, transfer, apply) between two instances, each in its
// own process, over loopback HTTP along a pipeline edge (dev → staging); and the plan (dry run) of the same push.
// Beside them, for comparison (no target): the same changes pulled by a fresh staging from dev.
import { copyFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import pg from 'pg';
import {
  adminUrl,
  api,
  linkInstances,
  msSince,
  note,
  now,
  prepareInstance,
  report,
  runOnEngines,
  round,
  startInstanceProcess,
  teamBody,
  tempPostgres,
  tempSqlite,
} from './support.mjs';

const CHANGES = 10_000;
const TRIALS = Number(process.env.SHIPLOG_BENCH_TRIALS ?? 3);
const TARGET = { changesPerSec: { sqlite: 6_500, postgres: 4_000 } };
/** The configuration dev holds before the updates: teams (two thirds with ~2 KB bodies), statuses, workflows, ticket types. */
const LARGE_TEAMS = 200;
const SMALL_TEAMS = 100;
const STATUSES = 40;
const WORKFLOWS = 60;
const TICKET_TYPES = 200;
const SETUP_LIMIT_MS = 120_000;

const token = () => `shp_bench_${randomBytes(24).toString('base64url')}`;


/** A ~300-byte `teams` body. */
const smallTeamBody = (index, variant) => ({
  name: `Team ${String(index).padStart(4, '0')}`,
  description: `Second-line team for region ${index % 7}, rev ${variant}. `.repeat(5),
  email: `team${index}@example.com`,
  isCoManaged: false,
});
const colour = (n) => `#${((n * 2_654_435_761) % 0xffffff).toString(16).padStart(6, '0')}`;
const statusBody = (index, variant) => ({ name: `Status ${index}`, kind: 'ticket', colour: colour(index + variant), isClosed: index % 5 === 4, isDefault: false, sequence: index * 10 + (variant % 10) });
/** A workflow of three steps over three statuses; its first action is open to two teams. */
const workflowBody = (index, variant, statusIds, teamIds) => {
  const s = (k) => statusIds[(index + k * 7) % statusIds.length];
  const t = (k) => teamIds[(index * 3 + k + variant) % teamIds.length];
  return {
    name: `Workflow ${index}`,
    description: `Handling of requests of line ${index % 12}, revision ${variant}.`,
    steps: [
      { id: 'new', name: 'New', statusId: s(0), actions: [{ id: 'assign', name: 'Assign', nextStepId: 'work', setStatusId: s(1), restrictAccess: true, restrictToTeamIds: [t(0), t(1)], restrictToRoleIds: [] }] },
      { id: 'work', name: 'In progress', statusId: s(1), actions: [{ id: 'resolve', name: 'Resolve', nextStepId: 'done', setStatusId: s(2), restrictAccess: false, restrictToTeamIds: [], restrictToRoleIds: [] }] },
      { id: 'done', name: 'Resolved', statusId: s(2), actions: [] },
    ],
    startStepId: 'new',
    olas: [{ name: 'First response', minutes: 30 + (variant % 60) }],
  };
};
const ticketTypeBody = (index, variant, ids) => ({
  name: `Ticket type ${index}`,
  description: `Requests of kind ${index}, revision ${variant}: routed to the default team unless a rule says otherwise.`,
  defaultTeamId: ids.teams[(index + variant) % ids.teams.length],
  defaultStatusId: ids.statuses[(index + variant) % ids.statuses.length],
  workflowId: ids.workflows[index % ids.workflows.length],
  fieldGroupIds: [],
  maxPriorityLevel: 1 + ((index + variant) % 10),
  allowedForCoManaged: index % 3 !== 0,
});

/** Writes exactly CHANGES tracked changes on dev through the service layer; returns the mean `after` body size. */
async function writeConfiguration(instance) {
  const { services, ctx } = instance;
  const started = now();
  let written = 0;
  let bodyBytes = 0;
  const save = async (type, id, body) => {
    const outcome = id ? await services.config.replace(ctx, type, id, body) : await services.config.create(ctx, type, body);
    if (!outcome.changeId) throw new Error(`${type} ${id ?? 'create'} recorded no change`);
    written += 1;
    bodyBytes += JSON.stringify(body).length;
    if (msSince(started) > SETUP_LIMIT_MS) throw new Error(`setup took over ${SETUP_LIMIT_MS} ms; stopped after ${written} changes`);
    return outcome.entity.id;
  };
  const teamOf = (k, variant) => (k < LARGE_TEAMS ? teamBody(k, variant) : smallTeamBody(k, variant));
  const ids = { teams: [], statuses: [], workflows: [], ticketTypes: [] };
  for (let k = 0; k < LARGE_TEAMS + SMALL_TEAMS; k += 1) ids.teams.push(await save('teams', null, teamOf(k, 0)));
  for (let k = 0; k < STATUSES; k += 1) ids.statuses.push(await save('statuses', null, statusBody(k, 0)));
  for (let k = 0; k < WORKFLOWS; k += 1) ids.workflows.push(await save('workflows', null, workflowBody(k, 0, ids.statuses, ids.teams)));
  for (let k = 0; k < TICKET_TYPES; k += 1) ids.ticketTypes.push(await save('ticket-types', null, ticketTypeBody(k, 0, ids)));
  const creates = written;
  // Updates, interleaved: half of them teams, the rest ticket types (each moving its default team and status: new
  // requirements), workflows and statuses.
  for (let i = 1; written < CHANGES; i += 1) {
    const slot = i % 20;
    const variant = Math.ceil(i / 20);
    if (slot < 10) {
      const k = (i * 7) % ids.teams.length;
      await save('teams', ids.teams[k], teamOf(k, i));
    } else if (slot < 15) {
      const k = (i * 11) % ids.ticketTypes.length;
      await save('ticket-types', ids.ticketTypes[k], ticketTypeBody(k, variant + k, ids));
    } else if (slot < 18) {
      const k = (i * 13) % ids.workflows.length;
      await save('workflows', ids.workflows[k], workflowBody(k, variant + i, ids.statuses, ids.teams));
    } else {
      const k = (i * 17) % ids.statuses.length;
      await save('statuses', ids.statuses[k], statusBody(k, i));
    }
  }
  return { creates, updates: written - creates, meanBodyBytes: Math.round(bodyBytes / written), seconds: round(msSince(started) / 1000, 1) };
}

async function adminQuery(sql) {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

const databaseName = (db) => new URL(db.url).pathname.slice(1);

/** A pristine copy of staging's database (linked, holding nothing of dev's), and how to put it back. */
async function snapshot(engine, db) {
  if (engine === 'sqlite') {
    const copy = `${db.url}.pristine`;
    copyFileSync(db.url, copy);
    return {
      restore() {
        for (const suffix of ['-wal', '-shm']) rmSync(`${db.url}${suffix}`, { force: true });
        copyFileSync(copy, db.url);
      },
      drop: () => undefined,
    };
  }
  const name = databaseName(db);
  const template = `${name}_pristine`;
  await adminQuery(`create database ${template} template ${name}`);
  return {
    restore: async () => {
      await adminQuery(`drop database if exists ${name} with (force)`);
      await adminQuery(`create database ${name} template ${template}`);
    },
    drop: () => adminQuery(`drop database if exists ${template} with (force)`),
  };
}

async function runEngine(engine) {
  const secretKey = randomBytes(32).toString('base64');
  const dbs = engine === 'sqlite' ? [tempSqlite('push-dev'), tempSqlite('push-staging')] : [await tempPostgres('push_dev'), await tempPostgres('push_staging')];
  const tokens = [token(), token()];
  let dev = null;
  let staging = null;
  let pristine = null;
  try {
    note(`push ${engine}: writing ${CHANGES} changes on dev`);
    // The setup's commits need not wait for the disk; dev serves with the server's default again.
    if (engine === 'postgres') await adminQuery(`alter database ${databaseName(dbs[0])} set synchronous_commit = off`);
    const prepared = await prepareInstance(dbs[0].url, { name: 'dev', kind: 'development', secretKey, adminToken: tokens[0] });
    const setup = await writeConfiguration(prepared);
    await prepared.dialect.close();
    if (engine === 'postgres') await adminQuery(`alter database ${databaseName(dbs[0])} reset synchronous_commit`);
    note(`push ${engine}: ${setup.creates} creates + ${setup.updates} updates in ${setup.seconds} s, mean body ${setup.meanBodyBytes} B`);

    dev = await startInstanceProcess({ name: 'dev', kind: 'development', database: dbs[0].url, secretKey, adminToken: tokens[0] });
    const startStaging = async () => {
      staging = await startInstanceProcess({ name: 'staging', kind: 'staging', database: dbs[1].url, secretKey, adminToken: tokens[1] });
    };
    await startStaging();
    const D = { name: 'dev', url: dev.url, token: tokens[0] };
    const S = () => ({ name: 'staging', url: staging.url, token: tokens[1] });
    await linkInstances(D, S());
    await linkInstances(S(), D, { source: true });
    const before = await api(D.url, D.token, 'GET', '/v1/instances/staging/status');
    if (before.ahead !== CHANGES || before.behind !== 0) throw new Error(`before the push staging should lack ${CHANGES} changes; status says ahead ${before.ahead}, behind ${before.behind}`);
    await staging.stop();
    staging = null;
    pristine = await snapshot(engine, dbs[1]);

    const trials = [];
    for (let trial = 1; trial <= TRIALS; trial += 1) {
      await pristine.restore();
      await startStaging();
      await api(D.url, D.token, 'PATCH', '/v1/instances/staging', { url: staging.url });

      // Bytes are counted on staging's sockets: everything dev and staging exchanged, HTTP headers included.
      let mark = (await staging.bytes()).instance;
      let t = now();
      const plan = await api(D.url, D.token, 'POST', '/v1/instances/staging/push?dryRun=true', {});
      const planMs = msSince(t);
      const planBytes = (await staging.bytes()).instance - mark;
      if (plan.applied || plan.counts.toApply !== CHANGES || plan.counts.problems !== 0) throw new Error(`plan: ${JSON.stringify(plan.counts)}`);

      mark = (await staging.bytes()).instance;
      t = now();
      const pushed = await api(D.url, D.token, 'POST', '/v1/instances/staging/push', {});
      const pushMs = msSince(t);
      const pushBytes = (await staging.bytes()).instance - mark;
      if (!pushed.applied || pushed.counts.toApply !== CHANGES || pushed.counts.problems !== 0) throw new Error(`push: ${JSON.stringify(pushed.counts)}`);

      const fromDev = await api(D.url, D.token, 'GET', '/v1/instances/staging/status');
      const fromStaging = await api(staging.url, tokens[1], 'GET', '/v1/instances/dev/status');
      if (!fromDev.inSync || fromDev.ahead !== 0 || !fromStaging.inSync || fromStaging.behind !== 0) {
        throw new Error(`after the push: dev says ahead ${fromDev.ahead} (${fromDev.reasons}), staging says behind ${fromStaging.behind} (${fromStaging.reasons})`);
      }
      const changesPerSec = Math.round((CHANGES / pushMs) * 1000);
      await staging.stop();
      staging = null;

      // The same 10,000 changes the other way round: a fresh staging pulls them from its source.
      await pristine.restore();
      await startStaging();
      await api(D.url, D.token, 'PATCH', '/v1/instances/staging', { url: staging.url });
      t = now();
      const pulled = await api(staging.url, tokens[1], 'POST', '/v1/instances/dev/pull', {});
      const pullMs = msSince(t);
      if (!pulled.applied || pulled.counts.toApply !== CHANGES || pulled.counts.problems !== 0) throw new Error(`pull: ${JSON.stringify(pulled.counts)}`);
      const pullPerSec = Math.round((CHANGES / pullMs) * 1000);
      trials.push({ trial, planMs: round(planMs, 1), pushMs: round(pushMs, 1), changesPerSec, planBytes, pushBytes, pullMs: round(pullMs, 1), pullPerSec });
      note(`push ${engine} trial ${trial}: plan ${planMs.toFixed(0)} ms, push ${pushMs.toFixed(0)} ms = ${changesPerSec} changes/s, ${pushBytes} bytes; pull ${pullMs.toFixed(0)} ms = ${pullPerSec} changes/s`);
      await staging.stop();
      staging = null;
    }

    const rates = trials.map((r) => r.changesPerSec).sort((a, b) => a - b);
    const pulls = trials.map((r) => r.pullPerSec).sort((a, b) => a - b);
    const plans = trials.map((r) => r.planMs).sort((a, b) => a - b);
    const median = (sorted) => sorted[Math.floor(sorted.length / 2)];
    const best = rates[rates.length - 1];
    return {
      engine,
      changes: CHANGES,
      setup,
      trials,
      changesPerSec: { best, median: median(rates) },
      pullPerSec: { best: pulls[pulls.length - 1], median: median(pulls) },
      planMs: { best: plans[0], median: median(plans) },
      bytes: { push: Math.max(...trials.map((r) => r.pushBytes)), plan: Math.max(...trials.map((r) => r.planBytes)) },
      pass: { changesPerSec: median(rates) >= TARGET.changesPerSec[engine] },
    };
  } finally {
    await staging?.stop().catch(() => undefined);
    await dev?.stop().catch(() => undefined);
    await pristine?.drop();
    if (process.env.SHIPLOG_BENCH_KEEP) note(`kept ${dbs.map((d) => d.url).join(' ')}`);
    else for (const db of dbs) await db.drop();
  }
}

const loadAtStart = loadavg();
const { results, skipped } = await runOnEngines(runEngine);

report(
  { figure: 'push', target: TARGET, changes: CHANGES, trials: TRIALS, results, skipped, load: { atStart: loadAtStart, atEnd: loadavg() } },
  results.flatMap((r) => [
    { engine: r.engine, what: `push (best / median of ${r.trials.length})`, 'changes/s': `${r.changesPerSec.best} / ${r.changesPerSec.median}`, ms: `${Math.min(...r.trials.map((t) => t.pushMs))} / ${r.trials.map((t) => t.pushMs).sort((a, b) => a - b)[Math.floor(r.trials.length / 2)]}`, bytes: r.bytes.push, target: `≥ ${TARGET.changesPerSec[r.engine]}/s`, pass: r.pass.changesPerSec ? 'yes' : 'NO' },
    { engine: r.engine, what: 'plan (dry run)', 'changes/s': null, ms: `${r.planMs.best} / ${r.planMs.median}`, bytes: r.bytes.plan, target: '—', pass: '—' },
    { engine: r.engine, what: `pull, the other way (best / median of ${r.trials.length})`, 'changes/s': `${r.pullPerSec.best} / ${r.pullPerSec.median}`, ms: null, bytes: null, target: '—', pass: '—' },
  ]),
);
