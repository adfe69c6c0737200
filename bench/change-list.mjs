// Figure 2: first page of the change list (type filter + time range) over 1,000,000 changes on SQLite, beside raw SQL.
import { loadavg } from 'node:os';
import { configureSqliteConnection } from '../dist/store/dialects/sqlite.js';
import { msSince, note, now, openInstance, report, round, seedChangeLog, summarise, tempSqlite, timeLoop } from './support.mjs';

const TOTAL = Number(process.env.SHIPLOG_BENCH_CHANGES ?? 1_000_000);
const TYPES = 50;
const ENTITIES_PER_TYPE = 200;
const BATCH = 50_000;
const PAGE = 50;
const WARMUP = 200;
const BLOCK = { maxCount: 3000, maxMs: 4000 };
const ROUNDS = 2;
const TARGET = { p50Ms: 0.5, p99Ms: 1.5, ratio: 2.5 };
const DAY = 86_400_000;
const START = Date.parse('2025-11-23T00:00:00Z');
const SPAN = 365 * DAY;


/**
 * Runs `fn`; returns what it resolved to and the reading statements run meanwhile on any connection but `raw`
 * (SQL text and bound parameters, in order). better-sqlite3 is patched for the duration of the call only.
 */
async function recordStatements(raw, fn) {
  const proto = Object.getPrototypeOf(raw.prepare('select 1'));
  const all = proto.all;
  const statements = [];
  proto.all = function (...args) {
    if (this.database !== raw) statements.push({ source: this.source, params: args.length === 1 && Array.isArray(args[0]) ? [...args[0]] : args });
    return all.apply(this, args);
  };
  try {
    return { result: await fn(), statements };
  } finally {
    proto.all = all;
  }
}

const loadAtStart = loadavg();
const db = tempSqlite('changes');
const instance = await openInstance(db.url);
let raw;
try {
  const trackedTypes = instance.services.catalog
    .list()
    .filter((def) => def.tracking.kind !== 'local')
    .map((def) => def.key)
    .slice(0, TYPES);
  note(`change-list: inserting ${TOTAL} changes over ${trackedTypes.length} types (one year, ${BATCH} per transaction)`);
  const genStart = now();
  let indexNames;
  ({ raw, indexNames } = seedChangeLog(db.url, { origin: instance.identity.id, types: trackedTypes, actor: instance.ctx.actor, keys: instance.keys, total: TOTAL, batch: BATCH, start: START, span: SPAN, entitiesPerType: ENTITIES_PER_TYPE }));
  const generateMs = msSince(genStart);
  note(`change-list: generated in ${(generateMs / 1000).toFixed(1)} s`);

  // The raw side gets the serving connection's pragmas (page cache size above all), so only our code differs.
  configureSqliteConnection(raw);
  const rawStatements = new Map();
  const rawStatement = (source) => {
    if (!rawStatements.has(source)) rawStatements.set(source, raw.prepare(source));
    return rawStatements.get(source);
  };

  const end = START + SPAN;
  const ranges = [
    { label: 'last day', from: end - DAY, to: end },
    { label: 'a day 9 months back', from: START + 90 * DAY, to: START + 91 * DAY },
  ];
  const results = [];
  for (const range of ranges) {
    const fromIso = new Date(range.from).toISOString();
    const toIso = new Date(range.to).toISOString();
    const typeOf = (i) => trackedTypes[i % trackedTypes.length];
    const serviceCall = (i) => instance.services.changeLog.list({ type: typeOf(i), from: fromIso, to: toIso, limit: PAGE });

    // The raw side runs exactly the statements the service ran for each type: its plan probe, then the page.
    const perType = [];
    for (let t = 0; t < trackedTypes.length; t += 1) {
      const { result, statements } = await recordStatements(raw, () => serviceCall(t));
      const page = statements.at(-1);
      if (!page || !page.source.includes('"entity_name"')) throw new Error(`change-list: no page statement recorded (${range.label})`);
      const probes = statements.slice(0, -1).map((s) => ({ statement: rawStatement(s.source), params: s.params }));
      const rawRows = rawStatement(page.source).all(page.params);
      // Both sides must return the same page.
      if (result.items.length !== Math.min(PAGE, rawRows.length) || result.items.some((item, k) => item.id !== rawRows[k].id)) {
        throw new Error(`service and raw pages differ (${range.label}, ${typeOf(t)})`);
      }
      perType.push({ page: { statement: rawStatement(page.source), params: page.params, source: page.source }, probes, rows: result.items.length });
    }
    const rawCall = (i) => {
      const { page } = perType[i % perType.length];
      return page.statement.all(page.params);
    };
    const rawWithProbeCall = (i) => {
      const { page, probes } = perType[i % perType.length];
      for (const probe of probes) probe.statement.all(probe.params);
      return page.statement.all(page.params);
    };
    const statementsUsed = [...new Set(perType.map((t) => t.page.source))].map((source) => ({
      sql: source,
      plan: raw
        .prepare(`explain query plan ${source}`)
        .all(perType.find((t) => t.page.source === source).page.params)
        .map((r) => r.detail)
        .join('; '),
      types: perType.filter((t) => t.page.source === source).length,
    }));

    note(`change-list: ${range.label}: warming up`);
    await timeLoop(serviceCall, { maxCount: WARMUP, maxMs: 2000 });
    await timeLoop(rawCall, { maxCount: WARMUP, maxMs: 2000 });
    await timeLoop(rawWithProbeCall, { maxCount: WARMUP, maxMs: 2000 });
    const service = [];
    const rawLatencies = [];
    const rawWithProbe = [];
    for (let r = 0; r < ROUNDS; r += 1) {
      const s = await timeLoop(serviceCall, BLOCK);
      service.push(...s.latencies);
      const q = await timeLoop(rawCall, { maxCount: s.latencies.length, maxMs: BLOCK.maxMs });
      rawLatencies.push(...q.latencies);
      const w = await timeLoop(rawWithProbeCall, { maxCount: s.latencies.length, maxMs: BLOCK.maxMs });
      rawWithProbe.push(...w.latencies);
    }
    const serviceStats = summarise(service);
    const rawStats = summarise(rawLatencies);
    const ratioP50 = round(serviceStats.p50Ms / rawStats.p50Ms, 2);
    const ratioP99 = round(serviceStats.p99Ms / rawStats.p99Ms, 2);
    results.push({
      range: range.label,
      from: fromIso,
      to: toIso,
      rowsPerPage: round(perType.reduce((sum, t) => sum + t.rows, 0) / perType.length, 1),
      statements: statementsUsed,
      service: serviceStats,
      raw: rawStats,
      rawWithProbe: summarise(rawWithProbe),
      ratioP50,
      ratioP99,
      pass: { p50: serviceStats.p50Ms <= TARGET.p50Ms, p99: serviceStats.p99Ms <= TARGET.p99Ms, ratio: ratioP50 <= TARGET.ratio },
    });
  }
  report(
    { figure: 'change-list', engine: 'sqlite', changes: TOTAL, types: trackedTypes.length, page: PAGE, generateMs: Math.round(generateMs), indexes: indexNames, loadAverage: { start: loadAtStart.map((l) => round(l, 2)), end: loadavg().map((l) => round(l, 2)) }, target: TARGET, results },
    results.map((r) => ({
      range: r.range,
      'service p50 ms': r.service.p50Ms,
      'service p99 ms': r.service.p99Ms,
      'raw p50 ms': r.raw.p50Ms,
      'raw p99 ms': r.raw.p99Ms,
      'raw + probe p50 ms': r.rawWithProbe.p50Ms,
      'ratio p50': r.ratioP50,
      'ratio p99': r.ratioP99,
      pass: r.pass.p50 && r.pass.p99 && r.pass.ratio ? 'yes' : 'NO',
    })),
  );
} finally {
  raw?.close();
  await instance.close();
  db.drop();
}
