import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sameJson } from '../../src/shared/canonical-json.js';
import type { ChangeOp, ChangeRecord } from '../../src/store/ports.js';
import { engines } from '../support/databases.js';
import { startPipeline, type Answer, type LiveInstance, type Pipeline } from '../support/pipeline.js';
import { entityStates, logOf } from '../support/sync.js';

// A model of the pipeline (which changes each instance holds, in its order, and its entities) that the live
// instances must agree with after every command; refusals must come exactly when the model's rules say.

type Name = 'dev' | 'staging' | 'production';
type Kind = 'teams' | 'statuses' | 'ticket-types' | 'workflows';
type Body = Record<string, unknown>;

const names: Name[] = ['dev', 'staging', 'production'];
const kinds: Kind[] = ['teams', 'statuses', 'ticket-types', 'workflows'];
/** As test/support/pipeline.ts links them. */
const sourceOf: Record<Name, Name | null> = { dev: null, staging: 'dev', production: 'staging' };
const linksOf: Record<Name, Name[]> = { dev: ['staging', 'production'], staging: ['dev', 'production'], production: ['staging'] };

interface ModelChange {
  id: string;
  type: Kind;
  entityId: string;
  op: ChangeOp;
  before: Body | null;
  after: Body | null;
  parent: string | null;
  requires: string[];
  revertOf: string | null;
}

interface ModelEntity {
  type: Kind;
  body: Body;
  head: string;
}

interface ModelInstance {
  log: string[];
  entities: Map<string, ModelEntity>;
}

interface Model {
  changes: Map<string, ModelChange>;
  at: Record<Name, ModelInstance>;
}

/** The references a body holds, written out per type (independently of the catalog). */
function refsOf(type: Kind, body: Body): { toId: string; target: Kind }[] {
  const refs: { toId: string; target: Kind }[] = [];
  const add = (value: unknown, target: Kind) => {
    if (typeof value === 'string') refs.push({ toId: value, target });
  };
  if (type === 'ticket-types') {
    add(body.defaultTeamId, 'teams');
    add(body.defaultStatusId, 'statuses');
    add(body.workflowId, 'workflows');
  }
  if (type === 'workflows') {
    for (const step of (body.steps ?? []) as { statusId?: unknown; actions?: { restrictToTeamIds?: unknown[] }[] }[]) {
      add(step.statusId, 'statuses');
      for (const action of step.actions ?? []) for (const team of action.restrictToTeamIds ?? []) add(team, 'teams');
    }
  }
  return refs;
}

const referrersIn = (entities: Map<string, ModelEntity>, id: string) =>
  [...entities].filter(([from, e]) => from !== id && refsOf(e.type, e.body).some((r) => r.toId === id)).map(([from]) => from);

const refsResolve = (entities: Map<string, ModelEntity>, type: Kind, body: Body) => refsOf(type, body).every((r) => entities.get(r.toId)?.type === r.target);

/** Heads of the entities a body references, as a tracked write records them in `requires`. */
const requiresOf = (entities: Map<string, ModelEntity>, type: Kind, body: Body | null, ownHead: string | null) =>
  [...new Set(body ? refsOf(type, body).map((r) => entities.get(r.toId)!.head) : [])].filter((h) => h !== ownHead).sort();

function applyTo(instance: ModelInstance, change: ModelChange): void {
  instance.log.push(change.id);
  if (change.after) instance.entities.set(change.entityId, { type: change.type, body: change.after, head: change.id });
  else instance.entities.delete(change.entityId);
}

function toModelChange(record: ChangeRecord): ModelChange {
  const { id, type, entityId, op, before, after, parent, requires, revertOf } = record;
  return { id, type: type as Kind, entityId, op, before, after, parent, requires, revertOf };
}

/** What a batch does on `target`, by the rules of Invariant 4, checked against the model's state alone. */
function simulate(m: Model, target: Name, batch: string[], gate: string[]): { problems: string[]; applied: ModelChange[] } {
  const here = m.at[target];
  const present = new Set(here.log);
  const done = new Set<string>();
  const state = new Map(here.entities);
  const problems = [...gate];
  const applied: ModelChange[] = [];
  const known = (id: string) => present.has(id) || done.has(id);
  for (const id of batch) {
    if (known(id)) continue;
    const c = m.changes.get(id)!;
    const before = problems.length;
    const current = state.get(c.entityId);
    const fits = c.op === 'create' ? !current && c.parent === null : current !== undefined && current.head === c.parent;
    if (!fits) problems.push(c.parent !== null && !known(c.parent) ? `missing-dependency:${id}` : `conflict:${id}`);
    if (c.requires.some((r) => !known(r))) problems.push(`missing-dependency:${id}`);
    else if (c.after && !refsResolve(state, c.type, c.after)) problems.push(`reference-missing:${id}`);
    if (c.op === 'delete' && referrersIn(state, c.entityId).length > 0) problems.push(`still-referenced:${id}`);
    if (problems.length > before) continue;
    done.add(id);
    applied.push(c);
    if (c.after) state.set(c.entityId, { type: c.type, body: c.after, head: id });
    else state.delete(c.entityId);
  }
  return { problems: problems.sort(), applied };
}

const codes: Record<string, string> = { conflict: 'SYNC_CONFLICT', 'missing-dependency': 'MISSING_DEPENDENCY', 'not-a-pipeline-edge': 'NOT_A_PIPELINE_EDGE' };
function codeOf(problems: string[]): string {
  const kinds = new Set(problems.map((p) => p.split(':')[0]!));
  return kinds.size === 1 ? (codes[[...kinds][0]!] ?? 'SYNC_REFUSED') : 'SYNC_REFUSED';
}

const problemKeys = (problems: Answer[]) => problems.map((p: Answer) => `${p.kind}:${p.changeId ?? ''}`).sort();

type Real = Pipeline;

async function recordOf(on: LiveInstance, id: string): Promise<ChangeRecord> {
  const record = await on.db.read((stores) => stores.changes.findById(id));
  if (!record) throw new Error(`change ${id} is not on ${on.name}`);
  return record;
}

/** Runs a batch operation on the real system and checks it against the model's simulation; applies it to the model when it went through. */
async function expectBatch(
  m: Model,
  target: Name,
  batch: string[],
  gate: string[],
  call: (dryRun: boolean) => Promise<{ status: number; body: Answer }>,
  dryRunFirst: boolean,
): Promise<void> {
  const expected = simulate(m, target, batch, gate);
  const refused = expected.problems.length > 0;
  if (dryRunFirst) {
    const dry = await call(true);
    expect(dry.status, JSON.stringify(dry.body)).toBe(200);
    expect(problemKeys(dry.body.problems)).toEqual(expected.problems);
    expect(dry.body.counts.toApply).toBe(expected.applied.length);
  }
  const real = await call(false);
  if (refused) {
    expect(real.status, JSON.stringify(real.body)).toBe(409);
    expect(real.body.code).toBe(codeOf(expected.problems));
    expect(problemKeys(real.body.problems)).toEqual(expected.problems);
    return;
  }
  expect(real.status, JSON.stringify(real.body)).toBe(200);
  expect(real.body).toMatchObject({ applied: true, counts: { toApply: expected.applied.length } });
  expect(real.body.changes.filter((c: Answer) => c.action === 'apply').map((c: Answer) => c.id)).toEqual(expected.applied.map((c) => c.id));
  for (const change of expected.applied) applyTo(m.at[target], change);
}

const lacking = (m: Model, from: Name, to: Name) => {
  const has = new Set(m.at[to].log);
  return m.at[from].log.filter((id) => !has.has(id));
};

const gateOf = (receiver: Name, sender: Name) => (sourceOf[receiver] === sender ? [] : ['not-a-pipeline-edge:']);

const pick = <T>(list: T[], k: number): T | undefined => (k % (list.length + 1) === 0 ? undefined : list[(k - 1) % list.length]);
const ofKind = (entities: Map<string, ModelEntity>, kind: Kind) => [...entities].filter(([, e]) => e.type === kind).map(([id]) => id);

let counter = 0;

/** A body for `type` whose references point at entities the instance holds (per the model). */
function bodyFor(type: Kind, seed: number[], entities: Map<string, ModelEntity>): Body {
  counter += 1;
  const [a = 0, b = 0, c = 0] = seed;
  const teams = ofKind(entities, 'teams');
  const statuses = ofKind(entities, 'statuses');
  switch (type) {
    case 'teams':
      return { name: `Team ${counter}` };
    case 'statuses':
      return { name: `Status ${counter}`, kind: 'ticket' };
    case 'ticket-types': {
      const team = pick(teams, a);
      const status = pick(statuses, b);
      const workflow = pick(ofKind(entities, 'workflows'), c);
      return { name: `Type ${counter}`, ...(team ? { defaultTeamId: team } : {}), ...(status ? { defaultStatusId: status } : {}), ...(workflow ? { workflowId: workflow } : {}) };
    }
    case 'workflows': {
      const status = pick(statuses, a);
      const team = pick(teams, b);
      const actions = team ? [{ id: 'go', name: 'Go', restrictAccess: true, restrictToTeamIds: [team] }] : [];
      return { name: `Workflow ${counter}`, steps: [{ id: 'start', name: 'Start', ...(status ? { statusId: status } : {}), actions }], startStepId: 'start' };
    }
  }
}

/** Checks a change the real system just wrote against the model's expectation, then records it in the model. */
async function learn(m: Model, real: Real, on: Name, id: string, expected: Omit<ModelChange, 'id' | 'before' | 'after'>): Promise<void> {
  const record = toModelChange(await recordOf(real[on], id));
  expect({ ...record, requires: [...record.requires].sort() }).toMatchObject(expected);
  m.changes.set(id, record);
  applyTo(m.at[on], record);
}

class Edit implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly on: Name,
    readonly op: ChangeOp,
    readonly type: Kind,
    readonly target: number,
    readonly seed: number[],
  ) {}
  check = () => true;
  async run(m: Model, real: Real): Promise<void> {
    const here = m.at[this.on];
    const live = real[this.on];
    if (this.op === 'create') {
      const body = bodyFor(this.type, this.seed, here.entities);
      const answer = await live.call('POST', `/v1/config/${this.type}`, body);
      expect(answer.status, JSON.stringify(answer.body)).toBe(201);
      const entityId = answer.body.entity.id as string;
      await learn(m, real, this.on, answer.body.changeId, { type: this.type, entityId, op: 'create', parent: null, requires: requiresOf(here.entities, this.type, body, null), revertOf: null });
      return;
    }
    const ids = [...here.entities.keys()];
    if (ids.length === 0) return;
    const entityId = ids[this.target % ids.length]!;
    const current = here.entities.get(entityId)!;
    if (this.op === 'update') {
      const body = bodyFor(current.type, this.seed, here.entities);
      const answer = await live.call('PUT', `/v1/config/${current.type}/${entityId}`, body);
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      await learn(m, real, this.on, answer.body.changeId, {
        type: current.type,
        entityId,
        op: 'update',
        parent: current.head,
        requires: requiresOf(here.entities, current.type, body, current.head),
        revertOf: null,
      });
      return;
    }
    const answer = await live.call('DELETE', `/v1/config/${current.type}/${entityId}`);
    if (referrersIn(here.entities, entityId).length > 0) {
      expect(answer.body?.code, JSON.stringify(answer.body)).toBe('ENTITY_REFERENCED');
      return;
    }
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    await learn(m, real, this.on, answer.body.changeId, { type: current.type, entityId, op: 'delete', parent: current.head, requires: [], revertOf: null });
  }
  toString = () => `${this.on}: ${this.op} ${this.op === 'create' ? this.type : `#${this.target}`} [${this.seed.join(',')}]`;
}

class Transfer implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly operation: 'push' | 'pull',
    readonly on: Name,
    readonly peer: Name,
    readonly dryRunFirst: boolean,
    /** Cherry-pick: a selection of the sender's log (the closure is added); null sends everything the receiver lacks. */
    readonly picks: number[] | null,
  ) {}
  check = () => true;
  async run(m: Model, real: Real): Promise<void> {
    const [sender, receiver] = this.operation === 'push' ? [this.on, this.peer] : [this.peer, this.on];
    const missing = lacking(m, sender, receiver);
    let body: Record<string, unknown> = {};
    let batch = missing;
    if (this.picks) {
      const log = m.at[sender].log;
      const selected = log.length === 0 ? [] : [...new Set(this.picks.map((k) => log[k % log.length]!))];
      body = { changeIds: selected };
      batch = closure(m, selected, new Set(missing), log);
      if (selected.length === 0) return;
    }
    await expectBatch(m, receiver, batch, gateOf(receiver, sender), (dryRun) => real[this.on].call('POST', `/v1/instances/${this.peer}/${this.operation}${dryRun ? '?dryRun=true' : ''}`, body), this.dryRunFirst);
  }
  toString = () => `${this.on}: ${this.operation} ${this.operation === 'push' ? 'to' : 'from'} ${this.peer}${this.picks ? ` picking [${this.picks.join(',')}]` : ''}${this.dryRunFirst ? ' (dry run first)' : ''}`;
}

/** The selection and the parents and requirements the receiver lacks, in the sender's log order. */
function closure(m: Model, selected: string[], missing: Set<string>, senderLog: string[]): string[] {
  const chosen = new Set(selected.filter((id) => missing.has(id)));
  let frontier = [...chosen];
  while (frontier.length > 0) {
    const next: string[] = [];
    for (const id of frontier) {
      const c = m.changes.get(id)!;
      for (const dep of [...(c.parent ? [c.parent] : []), ...c.requires]) {
        if (missing.has(dep) && !chosen.has(dep)) {
          chosen.add(dep);
          next.push(dep);
        }
      }
    }
    frontier = next;
  }
  return senderLog.filter((id) => chosen.has(id));
}

class ExportImport implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly from: Name,
    readonly to: Name,
    readonly picks: number[],
    readonly dryRunFirst: boolean,
  ) {}
  check = (m: Readonly<Model>) => m.at[this.from].log.length > 0;
  async run(m: Model, real: Real): Promise<void> {
    const log = m.at[this.from].log;
    const selected = new Set(this.picks.map((k) => log[log.length - 1 - (k % log.length)]!));
    const exported = await real[this.from].call('POST', '/v1/changes/export', { changeIds: [...selected] });
    expect(exported.status, JSON.stringify(exported.body)).toBe(200);
    const batch = log.filter((id) => selected.has(id));
    expect(exported.body.changes.map((c: Answer) => c.id)).toEqual(batch);
    await expectBatch(m, this.to, batch, [], (dryRun) => real[this.to].call('POST', `/v1/changes/import${dryRun ? '?dryRun=true' : ''}`, exported.body), this.dryRunFirst);
  }
  toString = () => `export [${this.picks.join(',')}] from ${this.from}, import into ${this.to}${this.dryRunFirst ? ' (dry run first)' : ''}`;
}

class Rollback implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly on: Name,
    readonly back: number,
  ) {}
  check = (m: Readonly<Model>) => m.at[this.on].log.length > 0;
  async run(m: Model, real: Real): Promise<void> {
    const here = m.at[this.on];
    const index = here.log.length - 1 - (this.back % Math.min(here.log.length, 6));
    const target = here.log[index]!;
    // Reverting newest first; a reverting change's id is known only once written, so heads are placeholders until then.
    const state = new Map(here.entities);
    const steps: (Omit<ModelChange, 'id' | 'before' | 'after'> | null)[] = [];
    let blocked = false;
    for (const [k, id] of here.log.slice(index).reverse().entries()) {
      const c = m.changes.get(id)!;
      const current = state.get(c.entityId);
      const next = c.before;
      if (sameJson(current?.body ?? null, next)) {
        steps.push(null);
        continue;
      }
      if ((next && !refsResolve(state, c.type, next)) || (!next && referrersIn(state, c.entityId).length > 0)) blocked = true;
      const op: ChangeOp = !current ? 'create' : next === null ? 'delete' : 'update';
      steps.push({ type: c.type, entityId: c.entityId, op, parent: current?.head ?? null, requires: requiresOf(state, c.type, next, current?.head ?? null), revertOf: id });
      if (next) state.set(c.entityId, { type: c.type, body: next, head: `#${k}` });
      else state.delete(c.entityId);
    }
    const live = real[this.on];
    if (blocked) {
      await expect(live.services.rollback.rollbackBefore(live.ctx, target, { dryRun: false })).rejects.toMatchObject({ code: 'ROLLBACK_BLOCKED' });
      return;
    }
    const result = await live.services.rollback.rollbackBefore(live.ctx, target, { dryRun: false });
    const written = result.reverted.map((r) => r.revertedBy);
    expect(written.map((w) => w === null)).toEqual(steps.map((s) => s === null));
    const resolve = (id: string | null) => (id?.startsWith('#') ? written[Number(id.slice(1))]! : id);
    for (const [k, step] of steps.entries()) {
      if (!step) continue;
      await learn(m, real, this.on, written[k]!, { ...step, parent: resolve(step.parent), requires: step.requires.map((r) => resolve(r)!).sort() });
    }
  }
  toString = () => `${this.on}: roll back the last ${(this.back % 6) + 1} change(s) at most`;
}

class Status implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly on: Name,
    readonly peer: Name,
  ) {}
  check = () => true;
  async run(m: Model, real: Real): Promise<void> {
    const answer = await real[this.on].call('GET', `/v1/instances/${this.peer}/status`);
    expect(answer.status).toBe(200);
    const ahead = lacking(m, this.on, this.peer).length;
    const behind = lacking(m, this.peer, this.on).length;
    expect(answer.body).toMatchObject({ reachable: true, mode: 'exact', ahead, behind, inSync: ahead === 0 && behind === 0 });
  }
  toString = () => `${this.on}: status of ${this.peer}`;
}

const nameArb = (weights: Record<Name, number>) => fc.oneof(...names.map((n) => ({ arbitrary: fc.constant(n), weight: weights[n] })));
const seedArb = fc.array(fc.nat(6), { minLength: 3, maxLength: 3 });
const linkArb = fc.constantFrom(...names.flatMap((on) => linksOf[on].map((peer) => [on, peer] as const)));

/** Pushes and pulls along the pipeline's edges, which go through unless a change conflicts. */
const edgeArb = fc.constantFrom(
  ['push', 'dev', 'staging'] as const,
  ['push', 'staging', 'production'] as const,
  ['pull', 'staging', 'dev'] as const,
  ['pull', 'production', 'staging'] as const,
);
const anyLinkArb = fc.tuple(fc.constantFrom('push' as const, 'pull' as const), linkArb).map(([operation, [on, peer]]) => [operation, on, peer] as const);
const picksArb = fc.option(fc.array(fc.nat(), { minLength: 1, maxLength: 3 }), { freq: 4 });

const editArb = fc
  .tuple(nameArb({ dev: 6, staging: 1, production: 1 }), fc.constantFrom<ChangeOp>('create', 'create', 'update', 'update', 'delete'), fc.constantFrom(...kinds), fc.nat(), seedArb)
  .map(([on, op, type, target, seed]) => new Edit(on, op, type, target, seed));
const transferArb = fc
  .tuple(fc.oneof({ arbitrary: edgeArb, weight: 3 }, { arbitrary: anyLinkArb, weight: 1 }), fc.boolean(), picksArb)
  .map(([[operation, on, peer], dry, picks]) => new Transfer(operation, on, peer, dry, picks));

// fc.commands picks among these evenly: edits and transfers are listed more than once to come up more often.
const commandArbs: fc.Arbitrary<fc.AsyncCommand<Model, Real>>[] = [
  editArb,
  editArb,
  editArb,
  transferArb,
  transferArb,
  fc
    .tuple(nameArb({ dev: 1, staging: 1, production: 2 }), nameArb({ dev: 2, staging: 1, production: 1 }), fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), fc.boolean())
    .filter(([from, to]) => from !== to)
    .map(([from, to, picks, dry]) => new ExportImport(from, to, picks, dry)),
  fc.tuple(fc.constantFrom(...names), fc.nat()).map(([on, back]) => new Rollback(on, back)),
  linkArb.map(([on, peer]) => new Status(on, peer)),
];

/** The model of what the instances hold now (runs share the instances, so each run starts where the last ended). */
async function modelOf(real: Real): Promise<Model> {
  const changes = new Map<string, ModelChange>();
  const at = {} as Record<Name, ModelInstance>;
  for (const name of names) {
    const log = await logOf(real[name].db);
    for (const record of log) changes.set(record.id, toModelChange(record));
    const entities = new Map<string, ModelEntity>();
    for (const [id, e] of await entityStates(real[name].db, kinds)) entities.set(id, { type: e.type as Kind, body: e.body, head: e.head! });
    at[name] = { log: log.map((c) => c.id), entities };
  }
  return { changes, at };
}

/** The real system agrees with the model, and no entity references one its instance lacks. */
async function expectAgreement(m: Model, real: Real): Promise<void> {
  for (const name of names) {
    const log = await logOf(real[name].db);
    expect(log.map((c) => c.id), `${name}'s log`).toEqual(m.at[name].log);
    const entities = await entityStates(real[name].db, kinds);
    expect(new Map([...entities].map(([id, e]) => [id, { type: e.type, body: e.body, head: e.head }])), `${name}'s entities`).toEqual(m.at[name].entities);
    for (const [id, e] of entities) {
      const dangling = refsOf(e.type as Kind, e.body).filter((r) => entities.get(r.toId)?.type !== r.target);
      expect(dangling, `${name}: ${e.type} ${id} references what ${name} lacks`).toEqual([]);
    }
  }
}

/** Runs after every command: the real state equals the model's. */
class Agreement implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  run = expectAgreement;
  toString = () => 'check';
}

describe.each(engines)('pipeline against a model on %s', (engine) => {
  let real: Pipeline;
  beforeAll(async () => {
    real = await startPipeline(engine);
  }, 60_000);
  afterAll(async () => real?.close());

  it('agrees with the model through random edits, pushes, pulls, cherry-picks, imports and rollbacks', async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(commandArbs, { maxCommands: 20, size: 'max' }), async (commands) => {
        await fc.asyncModelRun(
          async () => ({ model: await modelOf(real), real }),
          [...commands].flatMap((command) => [command, new Agreement()]),
        );
        for (const name of names) expect(await real[name].services.changeLog.verify(), `${name}'s chain`).toMatchObject({ ok: true });
      }),
      { numRuns: 20, endOnFailure: true },
    );
  }, 120_000);
});
