// Issue 19: a promotion request for a push of 10,000 changes, timed against the same push without one, on SQLite,
// in process through the receiver (what a push's receiving side runs). Creating the request (check as a dry run,
// keep the batch with its plan and heads) against the dry run of the same batch; applying the approved request
// (digest, heads, apply in one transaction) against applying the same batch directly. Each timed run starts from a
// copy of the same target database, warmed by one dry run, and receives fresh copies of the changes, as a push over
// HTTP does.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { toTransfer } from '../dist/sync/transfer.js';
import { msSince, note, now, prepareInstance, report, round, teamBody, tempSqlite } from './support.mjs';

const CHANGES = 10_000;
const ENTITIES = 300;
const TRIALS = Number(process.env.SHIPLOG_BENCH_TRIALS ?? 3);
const TARGET = { createRatio: 1.5, applyRatio: 1.2 };
const approver = { agentId: 'bench-approver', name: 'Bench Approver', email: 'approver@bench.test' };

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

async function main() {
  const secretKey = randomBytes(32).toString('base64');
  const sourceDb = tempSqlite('promotion-source');
  const source = await prepareInstance(sourceDb.url, { name: 'staging', kind: 'staging', secretKey, adminToken: `shp_bench_${randomBytes(24).toString('base64url')}` });
  note(`promotion-requests: writing ${CHANGES} changes on the source (${ENTITIES} teams, then updates)`);
  const ids = [];
  for (let k = 0; k < ENTITIES; k += 1) ids.push((await source.services.config.create(source.ctx, 'teams', teamBody(k, 0))).entity.id);
  for (let i = ENTITIES; i < CHANGES; i += 1) await source.services.config.replace(source.ctx, 'teams', ids[i % ENTITIES], teamBody(i % ENTITIES, i));
  const log = await source.db.read((stores) => stores.changes.scan(0, CHANGES + 10));
  const batchText = JSON.stringify(log.filter((c) => c.type === 'teams').map(toTransfer));
  const sender = { instanceId: source.identity.id, name: 'staging', kind: 'staging', version: '0.0.0-bench', inPipeline: false };
  await source.dialect.close();

  // The target as every timed run starts: its own administrator, no teams.
  const dir = mkdtempSync(join(tmpdir(), 'shiplog-bench-promotion-'));
  const base = join(dir, 'base.sqlite');
  const first = await prepareInstance(base, { name: 'production', kind: 'production', secretKey, adminToken: `shp_bench_${randomBytes(24).toString('base64url')}` });
  const actor = first.actor;
  await first.dialect.close();
  let copies = 0;
  const target = async () => {
    copies += 1;
    const file = join(dir, `copy-${copies}.sqlite`);
    copyFileSync(base, file);
    return prepareInstance(file, { name: 'production', kind: 'production', secretKey, knownActor: actor });
  };
  const receive = (instance, dryRun) =>
    instance.services.syncReceiver.receive(instance.ctx, { sender, operation: 'push', changes: JSON.parse(batchText), dryRun, allowMissing: [], requester: { name: 'Bench', email: null } });

  const rows = [];
  for (let trial = 1; trial <= TRIALS; trial += 1) {
    note(`promotion-requests: trial ${trial} of ${TRIALS}`);
    const held = await target();
    await held.services.promotions.updatePolicy(held.ctx, { approvalsRequired: 1 });
    // Warmed on each copy alike: the first batch a fresh connection checks pays for its cold caches.
    await receive(held, true);
    let t = now();
    const dry = await receive(held, true);
    const dryRunMs = msSince(t);
    if (dry.problems.length > 0 || dry.counts.toApply !== CHANGES) throw new Error(`dry run: ${JSON.stringify(dry.counts)}`);
    t = now();
    const created = await receive(held, false);
    const createMs = msSince(t);
    if (!created.request) throw new Error('no request was created');
    await held.services.promotions.approve(held.ctx, approver, created.request.id, 'bench');
    t = now();
    const applied = await held.services.promotions.apply(held.ctx, approver, created.request.id, {});
    const applyMs = msSince(t);
    if (applied.status !== 'applied') throw new Error(`request ${applied.status}`);
    const count = await held.db.read(async (stores) => (await stores.changes.head()).seq);
    await held.dialect.close();

    const direct = await target();
    await receive(direct, true);
    t = now();
    const pushed = await receive(direct, false);
    const directMs = msSince(t);
    if (!pushed.applied) throw new Error('the direct push did not apply');
    const directCount = await direct.db.read(async (stores) => (await stores.changes.head()).seq);
    await direct.dialect.close();
    if (count !== directCount) throw new Error(`the request left ${count} changes, the direct push ${directCount}`);
    rows.push({
      trial,
      dryRunMs: round(dryRunMs, 1),
      createMs: round(createMs, 1),
      createRatio: round(createMs / dryRunMs, 3),
      applyMs: round(applyMs, 1),
      directMs: round(directMs, 1),
      applyRatio: round(applyMs / directMs, 3),
    });
  }
  rmSync(dir, { recursive: true, force: true });
  sourceDb.drop();

  const med = (key) => round(median(rows.map((r) => r[key])), 1);
  // Each trial times both sides back to back on the same copy of the target: the ratio of a trial's pair stands less
  // exposed to a load that moves between trials than the ratio of the medians, which is printed beside it.
  const createRatio = round(median(rows.map((r) => r.createMs / r.dryRunMs)), 3);
  const applyRatio = round(median(rows.map((r) => r.applyMs / r.directMs)), 3);
  const ofMedians = { create: round(med('createMs') / med('dryRunMs'), 3), apply: round(med('applyMs') / med('directMs'), 3) };
  report(
    {
      figure: 'promotion-requests',
      engine: 'sqlite',
      changes: CHANGES,
      trials: TRIALS,
      medians: { dryRunMs: med('dryRunMs'), createMs: med('createMs'), applyMs: med('applyMs'), directMs: med('directMs') },
      createRatio,
      applyRatio,
      ratiosOfMedians: ofMedians,
      target: TARGET,
      pass: { create: createRatio <= TARGET.createRatio, apply: applyRatio <= TARGET.applyRatio },
      loadAverage: loadavg().map((l) => round(l, 2)),
    },
    rows,
  );
}

await main();
