// Figure 3: rollback of 10,000 changes on SQLite, timed alone (and its dry run), with ~2 KB and with ~300 B bodies.
import { msSince, note, now, openInstance, report, round, teamBody, tempSqlite } from './support.mjs';

const ENTITIES = 300;
const UPDATES = 10_000;
const SETUP_LIMIT_MS = 45_000;
const TARGET = { ms: 1500 };

/** A ~300-byte `teams` body: the same shape with a short description. */
const smallTeamBody = (index, variant) => ({ ...teamBody(index, variant), description: `Second-line team for region ${index % 7}, rev ${variant}. `.repeat(5) });

async function scenario(label, bodyOf) {
  const db = tempSqlite('rollback');
  const instance = await openInstance(db.url);
  try {
    const { services, ctx } = instance;
    note(`rollback (${label}): creating ${ENTITIES} teams, then ${UPDATES} updates`);
    const ids = [];
    for (let k = 0; k < ENTITIES; k += 1) ids.push((await services.config.create(ctx, 'teams', bodyOf(k, 0))).entity.id);
    const setupStart = now();
    let first = null;
    for (let i = 1; i <= UPDATES; i += 1) {
      const k = i % ENTITIES;
      const outcome = await services.config.replace(ctx, 'teams', ids[k], bodyOf(k, i));
      first ??= outcome.changeId;
      if (msSince(setupStart) > SETUP_LIMIT_MS) throw new Error(`setup took over ${SETUP_LIMIT_MS} ms; stopped after ${i} updates`);
    }
    note(`rollback (${label}): ${UPDATES} updates written in ${(msSince(setupStart) / 1000).toFixed(1)} s`);

    let t = now();
    const dry = await services.rollback.rollbackBefore(ctx, first, { dryRun: true });
    const dryMs = msSince(t);
    t = now();
    const real = await services.rollback.rollbackBefore(ctx, first, { dryRun: false });
    const realMs = msSince(t);

    // The rollback must have restored every entity to its body from before the first update.
    for (const [k, id] of ids.entries()) {
      const view = await services.config.get('teams', id);
      if (view.body.description !== bodyOf(k, 0).description) throw new Error(`entity ${k} was not restored`);
    }
    if (dry.counts.changes !== UPDATES || real.counts.written !== UPDATES) throw new Error(`unexpected counts ${JSON.stringify([dry.counts, real.counts])}`);
    return {
      bodies: label,
      bodyBytes: JSON.stringify(bodyOf(0, 0)).length,
      changes: real.counts.changes,
      entities: real.counts.entities,
      written: real.counts.written,
      rollbackMs: round(realMs, 1),
      dryRunMs: round(dryMs, 1),
      pass: realMs <= TARGET.ms,
    };
  } finally {
    await instance.close();
    db.drop();
  }
}

const results = [await scenario('~2 KB', teamBody), await scenario('~300 B', smallTeamBody)];
report(
  { figure: 'rollback', engine: 'sqlite', entities: ENTITIES, changes: UPDATES, target: TARGET, results },
  results.flatMap((r) => [
    { bodies: r.bodies, run: 'rollback (writes)', ms: r.rollbackMs, 'µs/change': round((r.rollbackMs * 1000) / UPDATES, 1), target: `≤ ${TARGET.ms} ms`, pass: r.pass ? 'yes' : 'NO' },
    { bodies: r.bodies, run: 'dry run (preview)', ms: r.dryRunMs, 'µs/change': round((r.dryRunMs * 1000) / UPDATES, 1), target: '—', pass: '—' },
  ]),
);
