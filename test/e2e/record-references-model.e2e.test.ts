import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../support/databases.js';
import { ok, startPipeline, type Answer, type LiveInstance, type Pipeline } from '../support/pipeline.js';

// Random pipelines of instances that each keep their own customers, users and agents (with and without third-party
// ids), random configuration naming them, and random pushes, pulls, imports and rollbacks. Whatever happens:
// - no tracked entity on any instance names a record that instance lacks (Invariant 10);
// - every sync that goes through names, on the receiver, the record with the third-party id the sender's record has;
// - every record a refusal names is one the receiver indeed cannot resolve;
// - a restore from production goes through exactly when its plan lists no unresolved reference.

type Name = 'dev' | 'staging' | 'production';
type Kind = 'customer' | 'user' | 'agent';
type Body = Record<string, unknown>;

const names: Name[] = ['dev', 'staging', 'production'];
const types = ['ticket-rules', 'approval-groups', 'assets', 'roles'] as const;
type Type = (typeof types)[number];

/** What the runs exercised: a property that held only because nothing travelled would prove nothing. */
const seen = { resolved: 0, refusedForRecords: 0, refused: 0, applied: 0, restored: 0, restoreRefused: 0 };

/** Every record ever made on any instance, by id: third-party ids never change here, so this is what each id stood for. */
const made = new Map<string, { on: Name; kind: Kind; thirdPartyId: string | null }>();

interface Ref {
  path: string;
  kind: Kind | 'agent-or-user';
  by: 'id' | 'third-party-id';
  value: string;
}

/** The record references of a body, written out per type, independently of the catalog. */
function refsOf(type: string, body: Body): Ref[] {
  const refs: Ref[] = [];
  const add = (path: string, kind: Ref['kind'], by: Ref['by'], value: unknown) => {
    if (typeof value === 'string') refs.push({ path, kind, by, value });
  };
  const each = (path: string, kind: Ref['kind'], by: Ref['by'], values: unknown) => (Array.isArray(values) ? values : []).forEach((v, i) => add(`${path}[${i}]`, kind, by, v));
  const items = (value: unknown) => (Array.isArray(value) ? (value as Body[]) : []);
  if (type === 'ticket-rules') {
    items(body.criteria).forEach((c, i) => each(`criteria[${i}].customerIds`, 'customer', 'id', c.customerIds));
    items(body.outcomes).forEach((o, i) => {
      add(`outcomes[${i}].agentId`, 'agent', 'id', o.agentId);
      add(`outcomes[${i}].agentThirdPartyId`, 'agent', 'third-party-id', o.agentThirdPartyId);
    });
  }
  if (type === 'approval-groups') {
    each('memberAgentIds', 'agent', 'id', body.memberAgentIds);
    each('memberThirdPartyIds', 'agent', 'third-party-id', body.memberThirdPartyIds);
  }
  if (type === 'assets') {
    add('customerId', 'customer', 'id', body.customerId);
    each('userIds', 'user', 'id', body.userIds);
    add('businessOwnerId', 'agent-or-user', 'id', body.businessOwnerId);
    add('businessOwnerThirdPartyId', 'agent-or-user', 'third-party-id', body.businessOwnerThirdPartyId);
  }
  if (type === 'roles') {
    each('customerRestrictions.customerIds', 'customer', 'id', (body.customerRestrictions as Body | undefined)?.customerIds);
    each('agentIds', 'agent', 'id', body.agentIds);
    each('agentThirdPartyIds', 'agent', 'third-party-id', body.agentThirdPartyIds);
  }
  return refs;
}

interface LiveRecord {
  kind: Kind;
  id: string;
  thirdPartyId: string | null;
  customerId?: string;
}

/** An instance's records and tracked entities, read from its store. */
async function stateOf(on: LiveInstance): Promise<{ records: LiveRecord[]; entities: { type: string; id: string; body: Body; head: string | null }[] }> {
  return on.db.read(async (stores) => {
    const records: LiveRecord[] = [];
    for (const c of await stores.desk.listCustomers({ limit: 10_000 })) records.push({ kind: 'customer', id: c.id, thirdPartyId: c.thirdPartyId });
    for (const u of await stores.desk.listUsers({ limit: 10_000 })) records.push({ kind: 'user', id: u.id, thirdPartyId: u.thirdPartyId, customerId: u.customerId });
    for (const a of await stores.agents.list({ limit: 10_000 })) records.push({ kind: 'agent', id: a.id, thirdPartyId: a.thirdPartyId });
    const entities = [];
    for (const type of types) for (const e of await stores.entities.listAll(type)) entities.push({ type, id: e.id, body: e.body, head: e.head });
    return { records, entities };
  });
}

const kindsOf = (kind: Ref['kind']): Kind[] => (kind === 'agent-or-user' ? ['agent', 'user'] : [kind]);
const resolves = (records: LiveRecord[], ref: Pick<Ref, 'kind' | 'by' | 'value'>) =>
  records.some((r) => kindsOf(ref.kind).includes(r.kind) && (ref.by === 'id' ? r.id === ref.value : r.thirdPartyId === ref.value));

/** Invariant 10: every reference of every tracked entity names a record of its instance. */
async function expectNothingDangles(real: Pipeline): Promise<void> {
  for (const name of names) {
    const { records, entities } = await stateOf(real[name]);
    const dangling = entities.flatMap((e) => refsOf(e.type, e.body).filter((ref) => !resolves(records, ref)).map((ref) => `${e.type} ${e.id} ${ref.path}=${ref.value}`));
    expect(dangling, `${name} names records it lacks`).toEqual([]);
  }
}

/** After a sync `receiver` took: each entity it wrote names, where the change named a record, the receiver's record with that record's third-party id. */
async function expectResolvedByThirdPartyId(receiver: LiveInstance, plan: Answer): Promise<void> {
  const applied: Answer[] = plan.changes.filter((c: Answer) => c.action === 'apply');
  const last = new Map<string, string>(applied.map((c) => [c.entityId, c.id]));
  const { records, entities } = await stateOf(receiver);
  for (const [entityId, changeId] of last) {
    const entity = entities.find((e) => e.id === entityId);
    if (!entity) continue;
    const change = (await receiver.db.read((stores) => stores.changes.findById(changeId)))!;
    const local = refsOf(entity.type, entity.body).filter((r) => r.by === 'id' && !r.path.startsWith('agentIds'));
    const sent = refsOf(entity.type, change.after!).filter((r) => r.by === 'id' && !r.path.startsWith('agentIds'));
    expect(local.map((r) => r.path)).toEqual(sent.map((r) => r.path));
    seen.resolved += sent.length;
    sent.forEach((ref, i) => {
      const origin = made.get(ref.value)!;
      const here = records.find((r) => r.id === local[i]!.value);
      if (!here) throw new Error(`${receiver.name}: ${entity.type} ${entityId} ${ref.path} names ${local[i]!.value}, which it lacks`);
      if (origin.thirdPartyId === null) expect(here.id, `${entity.type} ${entityId} ${ref.path}`).toBe(ref.value);
      else expect({ kind: here.kind, thirdPartyId: here.thirdPartyId }, `${entity.type} ${entityId} ${ref.path}`).toEqual({ kind: origin.kind, thirdPartyId: origin.thirdPartyId });
    });
  }
}

/** A refusal's record-missing problems name only records the receiver indeed cannot resolve. */
async function expectHonestRefusal(receiver: LiveInstance, problems: Answer[]): Promise<void> {
  const { records } = await stateOf(receiver);
  for (const problem of problems.filter((p) => p.kind === 'record-missing')) {
    for (const r of problem.records as Answer[]) {
      const byThirdParty = r.thirdPartyId !== null && resolves(records, { kind: r.kind, by: 'third-party-id', value: r.thirdPartyId });
      const byId = r.id !== null && r.thirdPartyId === null && resolves(records, { kind: r.kind, by: 'id', value: r.id });
      expect(byThirdParty || byId, JSON.stringify(r)).toBe(false);
    }
  }
}

const thirdPartyPool: Record<Kind, string[]> = { customer: ['CRM-1', 'CRM-2', 'CRM-3'], user: ['USR-1', 'USR-2'], agent: ['EMP-1', 'EMP-2'] };
const pick = <T>(list: T[], k: number): T | undefined => (list.length === 0 ? undefined : list[k % list.length]);
let counter = 0;

type Real = Pipeline;

/** Adds a record to one instance, with one of a few third-party ids or none. */
class AddRecord implements fc.AsyncCommand<object, Real> {
  constructor(
    readonly on: Name,
    readonly kind: Kind,
    readonly thirdParty: number,
  ) {}
  check = () => true;
  async run(_m: object, real: Real): Promise<void> {
    await addRecord(real[this.on], this.on, this.kind, pick([null, ...thirdPartyPool[this.kind]], this.thirdParty) ?? null, this.thirdParty);
  }
  toString = () => `${this.on}: add ${this.kind} #${this.thirdParty}`;
}

/** Adds a record with a third-party id to every instance (each its own, as an organisation keeps one customer on each). */
class AddEverywhere implements fc.AsyncCommand<object, Real> {
  constructor(
    readonly kind: Kind,
    readonly thirdParty: number,
  ) {}
  check = () => true;
  async run(_m: object, real: Real): Promise<void> {
    const thirdPartyId = pick(thirdPartyPool[this.kind], this.thirdParty)!;
    for (const on of names) await addRecord(real[on], on, this.kind, thirdPartyId, this.thirdParty);
  }
  toString = () => `everywhere: add ${this.kind} #${this.thirdParty}`;
}

async function addRecord(live: LiveInstance, on: Name, kind: Kind, thirdPartyId: string | null, seed: number): Promise<void> {
  counter += 1;
  const { records } = await stateOf(live);
  const taken = thirdPartyId !== null && records.some((r) => r.kind === kind && r.thirdPartyId === thirdPartyId);
  let answer;
  if (kind === 'customer') answer = await live.call('POST', '/v1/customers', { name: `Customer ${counter}`, thirdPartyId });
  else if (kind === 'user') {
    const customer = pick(records.filter((r) => r.kind === 'customer'), seed);
    if (!customer) return;
    answer = await live.call('POST', '/v1/users', { customerId: customer.id, name: `User ${counter}`, thirdPartyId });
  } else answer = await live.call('POST', '/v1/agents', { name: `Agent ${counter}`, email: `agent${counter}@${on}.test`, thirdPartyId });
  expect(answer.status, JSON.stringify(answer.body)).toBe(taken ? 409 : 201);
  if (!taken) made.set(answer.body.id, { on, kind, thirdPartyId });
}


class RemoveRecord implements fc.AsyncCommand<object, Real> {
  constructor(
    readonly on: Name,
    readonly kind: Kind,
    readonly which: number,
  ) {}
  check = () => true;
  async run(_m: object, real: Real): Promise<void> {
    const live = real[this.on];
    const { records, entities } = await stateOf(live);
    const record = pick(records.filter((r) => r.kind === this.kind && made.has(r.id)), this.which);
    if (!record) return;
    const path = { customer: 'customers', user: 'users', agent: 'agents' }[this.kind];
    const answer = await live.call('DELETE', `/v1/${path}/${record.id}`);
    const named = entities.some((e) => refsOf(e.type, e.body).some((ref) => resolves([record], ref)));
    const holds = this.kind === 'customer' && records.some((r) => r.customerId === record.id);
    if (named || holds) expect(answer.status, JSON.stringify(answer.body)).toBe(409);
    else expect(answer.status, JSON.stringify(answer.body)).toBe(204);
  }
  toString = () => `${this.on}: remove ${this.kind} #${this.which}`;
}

/** A body of `type` naming records of the instance: the seed picks which (and whether one is a record it lacks). */
function bodyFor(type: Type, seed: number[], records: LiveRecord[], assetTypeId: string): { body: Body; valid: boolean } {
  counter += 1;
  const [a = 0, b = 0, c = 0, bogus = 1] = seed;
  // Mostly records with third-party ids (those can travel); sometimes any; sometimes one the instance lacks.
  const of = (kind: Kind) => records.filter((r) => r.kind === kind && made.has(r.id) && (bogus === 1 || r.thirdPartyId !== null));
  const some = (kind: Kind, k: number) => of(kind).filter((_, i) => (k >> i) & 1);
  const invalid = bogus === 0;
  const missing = '01JX0000000000000000000000';
  const customers = some('customer', a).map((r) => r.id);
  const agent = pick(of('agent'), b);
  const agentWithThirdParty = pick(of('agent').filter((r) => r.thirdPartyId !== null), c);
  switch (type) {
    case 'ticket-rules':
      return {
        body: {
          name: `Rule ${counter}`,
          criteria: [{ field: 'customer', operator: 'includes', customerIds: invalid ? [...customers, missing] : customers.length > 0 ? customers : [missing] }],
          outcomes: agent ? [{ field: 'agent', agentId: agent.id, ...(agent.thirdPartyId ? { agentThirdPartyId: agent.thirdPartyId } : {}) }] : [{ field: 'priority', level: 3 }],
        },
        valid: !invalid && customers.length > 0,
      };
    case 'approval-groups':
      return {
        body: {
          name: `CAB ${counter}`,
          memberAgentIds: some('agent', b).map((r) => r.id),
          memberThirdPartyIds: invalid ? ['EMP-NOBODY'] : agentWithThirdParty ? [agentWithThirdParty.thirdPartyId] : [],
        },
        valid: !invalid,
      };
    case 'assets': {
      const customer = pick(of('customer'), a);
      const users = some('user', b).filter((u) => u.customerId === customer?.id);
      // An owner is an agent or, where the asset has a customer, one of that customer's users.
      const owner = pick([...of('agent'), ...of('user').filter((u) => !customer || u.customerId === customer.id)], c);
      return {
        body: {
          name: `Service ${counter}`,
          assetTypeId,
          serviceClass: 'service',
          ...(customer ? { customerId: invalid ? missing : customer.id } : {}),
          userIds: users.map((u) => u.id),
          ...(owner ? { businessOwnerId: owner.id, ...(owner.thirdPartyId ? { businessOwnerThirdPartyId: owner.thirdPartyId } : {}) } : {}),
        },
        valid: !(invalid && customer),
      };
    }
    case 'roles':
      return {
        body: { name: `Role ${counter}`, customerRestrictions: { allowAllCustomers: false, customerIds: invalid ? [missing] : customers } },
        valid: !invalid,
      };
  }
}

class Edit implements fc.AsyncCommand<object, Real> {
  constructor(
    readonly on: Name,
    readonly type: Type,
    readonly update: boolean,
    readonly target: number,
    readonly seed: number[],
  ) {}
  check = () => true;
  async run(_m: object, real: Real): Promise<void> {
    const live = real[this.on];
    const { records, entities } = await stateOf(live);
    // A rollback may have taken the asset type away here.
    const [assetType] = await live.db.read((stores) => stores.entities.listAll('asset-types'));
    if (this.type === 'assets' && !assetType) return;
    const { body, valid } = bodyFor(this.type, this.seed, records, assetType?.id ?? '');
    const existing = pick(entities.filter((e) => e.type === this.type && e.id !== '01J0000000000000000000ADMN' && !(this.type === 'roles' && e.body.name === 'Administrator')), this.target);
    const answer =
      this.update && existing
        ? await live.call('PUT', `/v1/config/${this.type}/${existing.id}`, { ...body, ...(this.type === 'roles' ? { agentIds: existing.body.agentIds } : {}) })
        : await live.call('POST', `/v1/config/${this.type}`, body);
    if (valid) expect(answer.status, JSON.stringify(answer.body)).toBeLessThan(300);
    else expect(answer.body.code, JSON.stringify(answer.body)).toBe('REFERENCE_NOT_FOUND');
  }
  toString = () => `${this.on}: ${this.update ? `update #${this.target}` : 'create'} ${this.type} [${this.seed.join(',')}]`;
}

/** Runs a sync and checks what it did or why it refused. */
async function expectSync(receiver: LiveInstance, answer: { status: number; body: Answer }): Promise<void> {
  if (answer.status === 200) {
    seen.applied += 1;
    await expectResolvedByThirdPartyId(receiver, answer.body);
    return;
  }
  expect(answer.status, JSON.stringify(answer.body)).toBe(409);
  seen.refused += 1;
  if (answer.body.problems.some((p: Answer) => p.kind === 'record-missing')) seen.refusedForRecords += 1;
  await expectHonestRefusal(receiver, answer.body.problems);
}

/** As test/support/pipeline.ts links them. */
const linked: Record<Name, Name[]> = { dev: ['staging', 'production'], staging: ['dev', 'production'], production: ['staging'] };

const edges = [
  ['push', 'dev', 'staging'],
  ['push', 'staging', 'production'],
  ['pull', 'staging', 'dev'],
  ['pull', 'production', 'staging'],
] as const;

class Transfer implements fc.AsyncCommand<object, Real> {
  constructor(readonly edge: (typeof edges)[number]) {}
  check = () => true;
  async run(_m: object, real: Real): Promise<void> {
    const [operation, on, peer] = this.edge;
    const receiver = operation === 'push' ? real[peer] : real[on];
    await expectSync(receiver, await real[on].call('POST', `/v1/instances/${peer}/${operation}`, {}));
  }
  toString = () => `${this.edge[1]}: ${this.edge[0]} ${this.edge[0] === 'push' ? 'to' : 'from'} ${this.edge[2]}`;
}

/** One of the last `n` changes of an instance's log. */
async function recentChange(on: LiveInstance, n: number, k: number): Promise<Answer | undefined> {
  return pick((await ok(on, 'GET', `/v1/changes?limit=${n}`)).items as Answer[], k);
}

class ExportImport implements fc.AsyncCommand<object, Real> {
  constructor(
    readonly from: Name,
    readonly to: Name,
    readonly back: number,
  ) {}
  check = () => true;
  async run(_m: object, real: Real): Promise<void> {
    const change = await recentChange(real[this.from], 8, this.back);
    if (!change) return;
    // With the closure the importer lacks, where the exporter is linked to it.
    const peer = linked[this.from].includes(this.to) ? { peer: this.to } : {};
    const exported = await ok(real[this.from], 'POST', '/v1/changes/export', { changeIds: [change.id], ...peer });
    await expectSync(real[this.to], await real[this.to].call('POST', '/v1/changes/import', exported));
  }
  toString = () => `export #${this.back} from ${this.from}, import into ${this.to}`;
}

class Rollback implements fc.AsyncCommand<object, Real> {
  constructor(
    readonly on: Name,
    readonly back: number,
  ) {}
  check = () => true;
  async run(_m: object, real: Real): Promise<void> {
    const change = await recentChange(real[this.on], 3, this.back);
    if (!change) return;
    const answer = await real[this.on].call('POST', `/v1/changes/${change.id}/rollback-before`, {});
    if (answer.status !== 200) expect(answer.body.code, JSON.stringify(answer.body)).toBe('ROLLBACK_BLOCKED');
  }
  toString = () => `${this.on}: roll back from #${this.back}`;
}

/** Restores dev or staging (or dev's pipeline) from production, as a person would: the plan, then its confirmation. */
class Restore implements fc.AsyncCommand<object, Real> {
  constructor(
    readonly on: 'dev' | 'staging',
    readonly scope: 'instance' | 'pipeline',
  ) {}
  check = () => true;
  async run(_m: object, real: Real): Promise<void> {
    const plan = await ok(real[this.on], 'POST', '/v1/instances/production/restore?dryRun=true', { scope: this.scope });
    const answer = await real[this.on].call('POST', '/v1/instances/production/restore', { scope: this.scope, confirm: true, fingerprint: plan.fingerprint });
    if (plan.instances.every((i: Answer) => i.records.unresolved.length === 0)) {
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      seen.restored += 1;
    } else {
      expect(answer.body.code, JSON.stringify(answer.body)).toBe('RESTORE_RECORD_MISSING');
      seen.restoreRefused += 1;
    }
  }
  toString = () => `${this.on}: restore from production (${this.scope})`;
}

/** Runs after every command. */
class Invariant implements fc.AsyncCommand<object, Real> {
  check = () => true;
  run = (_m: object, real: Real) => expectNothingDangles(real);
  toString = () => 'check';
}

const nameArb = fc.constantFrom(...names);
const kindArb = fc.constantFrom<Kind>('customer', 'user', 'agent');
const commandArbs: fc.Arbitrary<fc.AsyncCommand<object, Real>>[] = [
  fc.tuple(nameArb, kindArb, fc.nat(8)).map(([on, kind, tp]) => new AddRecord(on, kind, tp)),
  fc.tuple(kindArb, fc.nat(8)).map(([kind, tp]) => new AddEverywhere(kind, tp)),
  fc.tuple(kindArb, fc.nat(8)).map(([kind, tp]) => new AddEverywhere(kind, tp)),
  fc.tuple(nameArb, kindArb, fc.nat()).map(([on, kind, which]) => new RemoveRecord(on, kind, which)),
  // Updates on dev; staging and production only add entities of their own, so that the pipeline rarely conflicts.
  fc
    .tuple(fc.constantFrom(...types), fc.boolean(), fc.nat(), fc.array(fc.nat(7), { minLength: 4, maxLength: 4 }))
    .map(([type, update, target, seed]) => new Edit('dev', type, update, target, seed)),
  fc
    .tuple(fc.constantFrom(...types), fc.boolean(), fc.nat(), fc.array(fc.nat(7), { minLength: 4, maxLength: 4 }))
    .map(([type, update, target, seed]) => new Edit('dev', type, update, target, seed)),
  fc
    .tuple(fc.constantFrom<Name>('staging', 'production'), fc.constantFrom(...types), fc.array(fc.nat(7), { minLength: 4, maxLength: 4 }))
    .map(([on, type, seed]) => new Edit(on, type, false, 0, seed)),
  fc.constantFrom(...edges).map((edge) => new Transfer(edge)),
  fc.constantFrom(...edges).map((edge) => new Transfer(edge)),
  fc
    .tuple(nameArb, nameArb, fc.nat())
    .filter(([from, to]) => from !== to)
    .map(([from, to, back]) => new ExportImport(from, to, back)),
  fc.tuple(fc.constantFrom<Name>('dev', 'dev', 'staging', 'production'), fc.nat()).map(([on, back]) => new Rollback(on, back)),
  fc.tuple(fc.constantFrom<'dev' | 'staging'>('dev', 'staging'), fc.constantFrom<'instance' | 'pipeline'>('instance', 'pipeline')).map(([on, scope]) => new Restore(on, scope)),
];

describe.each(engines)('records named by configuration, along random pipelines on %s', (engine) => {
  let real: Real;
  beforeAll(async () => {
    const pipeline = await startPipeline(engine);
    for (const on of pipeline.all) await ok(on, 'PATCH', '/v1/settings', { trackServices: true });
    await ok(pipeline.dev, 'POST', '/v1/config/asset-types', { name: 'Business service' });
    await ok(pipeline.dev, 'POST', '/v1/instances/staging/push', {});
    await ok(pipeline.staging, 'POST', '/v1/instances/production/push', {});
    real = pipeline;
  }, 60_000);
  afterAll(async () => real?.close());

  it('never leaves configuration naming a record its instance lacks, and resolves what travels by third-party id', async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(commandArbs, { maxCommands: 30, size: 'max' }), async (commands) => {
        await fc.asyncModelRun(
          async () => ({ model: {}, real }),
          [...commands].flatMap((command) => [command, new Invariant()]),
        );
      }),
      { numRuns: 20, endOnFailure: true },
    );
    // References did travel and resolve, and refusals did name records.
    expect(seen.resolved, JSON.stringify(seen)).toBeGreaterThan(0);
  }, 240_000);
});
