import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { defaultSettings } from '../shared/settings.js';
import type { DomainError } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import type { AgentRecord } from '../store/ports.js';
import { engines } from '../../test/support/databases.js';
import { createTestInstance, type TestInstance } from '../../test/support/instance.js';
import { ADMINISTRATOR_ROLE_ID } from './administrator-role.js';
import type { AgentView } from './agent-service.js';
import { verifyPassword } from './passwords.js';
import { hashCredential } from './secrets.js';

async function failure(promise: Promise<unknown>): Promise<DomainError> {
  try {
    await promise;
  } catch (error) {
    return error as DomainError;
  }
  throw new Error('expected the call to fail');
}

describe.each(engines)('agent service on %s', (engine) => {
  let t: TestInstance;
  let admin: AgentRecord;
  let unique = 0;
  const email = (label: string) => `${label}-${++unique}@example.test`;

  beforeAll(async () => {
    t = await createTestInstance(engine);
    admin = (await t.db.read((s) => s.agents.find(t.ctx.actor.id)))!;
  });
  afterAll(async () => t?.close());
  afterEach(async () => {
    await t.services.settings.update(t.ctx, defaultSettings, { isAdministrator: true });
  });

  const agents = () => t.services.agents;
  const viewer = () => ({ agent: admin });
  const stored = (id: string) => t.db.read((s) => s.agents.find(id));
  const headSeq = () => t.db.read(async (s) => (await s.changes.head()).seq);

  /** A customer of this instance, for the fields of an agent that name one. */
  async function customer(name: string): Promise<string> {
    const id = newId();
    await t.db.write((s) => s.desk.insertCustomer({ id, name, thirdPartyId: null, createdAt: 0, updatedAt: 0 }));
    return id;
  }

  async function createRole(name: string): Promise<string> {
    return (await t.services.config.create(t.ctx, 'roles', { name, configAccess: 'read' })).entity!.id;
  }

  it('creates an agent with a hashed password that is never shown, and audits it without the password', async () => {
    const password = 'a quite long console password';
    const view = await agents().create(t.ctx, { name: 'Ada', email: 'Ada.Lovelace@Example.TEST', password });
    expect(view).toMatchObject({ name: 'Ada', email: 'ada.lovelace@example.test', apiOnly: false, disabled: false, hasPassword: true, roles: [], permissions: [] });
    expect(JSON.stringify(view)).not.toContain(password);
    expect(view).not.toHaveProperty('password');
    expect(view).not.toHaveProperty('passwordHash');

    const record = (await stored(view.id))!;
    expect(record.passwordHash).toMatch(/^scrypt\$/);
    expect(await verifyPassword(password, record.passwordHash!)).toBe(true);
    expect(await verifyPassword('another long password!', record.passwordHash!)).toBe(false);

    const [event] = await t.services.audit.list({ kind: 'agent.created', limit: 10 });
    expect(event).toMatchObject({ subject: view.id, actor: t.ctx.actor, outcome: 'success', details: { hasPassword: true } });
    expect(JSON.stringify(event)).not.toContain(password);
    expect(JSON.stringify(event)).not.toContain(record.passwordHash!);
  });

  it('refuses a password shorter than 12 characters without echoing it', async () => {
    const error = await failure(agents().create(t.ctx, { name: 'Short', email: email('short'), password: 'tiny-pw-1' }));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.details.errors).toEqual([expect.objectContaining({ path: 'password', code: 'too-small' })]);
    expect(JSON.stringify(error.details)).not.toContain('tiny-pw-1');
  });

  it('keeps email addresses unique regardless of case, on create and on update', async () => {
    const first = await agents().create(t.ctx, { name: 'One', email: 'same@example.test' });
    const clash = await failure(agents().create(t.ctx, { name: 'Two', email: 'SAME@example.test' }));
    expect(clash.code).toBe('EMAIL_TAKEN');
    expect(clash.details.errors).toEqual([expect.objectContaining({ path: 'email', code: 'email-taken' })]);

    const second = await agents().create(t.ctx, { name: 'Two', email: 'other@example.test' });
    expect((await failure(agents().update(t.ctx, viewer(), second.id, { email: 'Same@Example.test' }))).code).toBe('EMAIL_TAKEN');
    expect((await stored(second.id))!.email).toBe('other@example.test');
    // Changing only the case of one's own address is not a clash.
    expect((await agents().update(t.ctx, viewer(), first.id, { email: 'SAME@EXAMPLE.TEST' })).email).toBe('same@example.test');
  });

  it('keeps third-party ids unique when set', async () => {
    const a = await agents().create(t.ctx, { name: 'Linked', email: email('tp'), thirdPartyId: 'EXT-7' });
    expect(a.thirdPartyId).toBe('EXT-7');
    expect((await failure(agents().create(t.ctx, { name: 'Linked 2', email: email('tp'), thirdPartyId: 'EXT-7' }))).code).toBe('THIRD_PARTY_ID_TAKEN');
    const b = await agents().create(t.ctx, { name: 'Unlinked', email: email('tp') });
    const error = await failure(agents().update(t.ctx, viewer(), b.id, { thirdPartyId: 'EXT-7' }));
    expect(error.code).toBe('THIRD_PARTY_ID_TAKEN');
    expect(error.details.errors).toEqual([expect.objectContaining({ path: 'thirdPartyId' })]);
    await agents().update(t.ctx, viewer(), a.id, { thirdPartyId: null });
    expect((await agents().update(t.ctx, viewer(), b.id, { thirdPartyId: 'EXT-7' })).thirdPartyId).toBe('EXT-7');
  });

  it('gives API-only agents no password: refused on create, cleared when an agent becomes API-only', async () => {
    const refused = await failure(agents().create(t.ctx, { name: 'Bot', email: email('bot'), apiOnly: true, password: 'a long enough password' }));
    expect(refused.code).toBe('VALIDATION_FAILED');
    expect(refused.details.errors).toEqual([expect.objectContaining({ path: 'password', code: 'api-only-agent' })]);

    const human = await agents().create(t.ctx, { name: 'Soon a bot', email: email('bot'), password: 'a long enough password' });
    const now = Date.now();
    await t.db.write((s) =>
      s.sessions.insert({ tokenHash: hashCredential(`sss_${human.id}`), agentId: human.id, csrfHash: hashCredential('csrf'), createdAt: now, expiresAt: now + 3_600_000 }),
    );
    const bot = await agents().update(t.ctx, viewer(), human.id, { apiOnly: true });
    expect(bot).toMatchObject({ apiOnly: true, hasPassword: false });
    expect((await stored(human.id))!.passwordHash).toBeNull();
    expect(await t.db.read((s) => s.sessions.find(hashCredential(`sss_${human.id}`)))).toBeUndefined();
    const [cleared] = await t.services.audit.list({ kind: 'agent.password-cleared', limit: 1 });
    expect(cleared).toMatchObject({ subject: human.id, details: { reason: 'api-only' } });
    expect((await failure(agents().update(t.ctx, viewer(), human.id, { password: 'a long enough password' }))).code).toBe('VALIDATION_FAILED');
  });

  it('assigns roles by recording a change on each role, with the caller as actor, in the same transaction', async () => {
    const readers = await createRole('Service readers');
    const writers = await createRole('Service writers');
    const agent = await agents().create(t.ctx, { name: 'Grace', email: email('grace'), roleIds: [readers] });
    expect(agent.roles).toEqual([{ id: readers, name: 'Service readers' }]);
    expect(agent.permissions).toEqual(['config:read']);

    const before = await headSeq();
    const moved = await agents().update(t.ctx, viewer(), agent.id, { roleIds: [writers] });
    expect(moved.roles.map((r) => r.id)).toEqual([writers]);
    const recorded = await t.services.changeLog.list({ type: 'roles', limit: 10 });
    const fresh = recorded.items.filter((c) => c.seq > before);
    expect(fresh.map((c) => c.entityId).sort()).toEqual([readers, writers].sort());
    for (const change of fresh) expect(change).toMatchObject({ op: 'update', actor: t.ctx.actor });
    expect((await t.services.config.get('roles', writers)).body.agentIds).toEqual([agent.id]);
    expect((await t.services.config.get('roles', readers)).body.agentIds).toEqual([]);

    // An unknown role refuses the whole update: the agent's name is not changed and no role is touched.
    const seq = await headSeq();
    const error = await failure(agents().update(t.ctx, viewer(), agent.id, { name: 'Renamed', roleIds: [readers, '01JUNKNOWNROLE000000000000'] }));
    expect(error.code).toBe('REFERENCE_NOT_FOUND');
    expect(error.details.errors).toEqual([expect.objectContaining({ path: 'roleIds[1]', code: 'reference-not-found' })]);
    expect((await stored(agent.id))!.name).toBe('Grace');
    expect(await headSeq()).toBe(seq);

    const noAgent = await failure(agents().create(t.ctx, { name: 'Ghost', email: 'ghost@example.test', roleIds: ['nope'] }));
    expect(noAgent.code).toBe('REFERENCE_NOT_FOUND');
    expect(await t.db.read((s) => s.agents.findByEmail('ghost@example.test'))).toBeUndefined();
  });

  describe('customers an agent names', () => {
    const fields = [
      ['coManagedCustomerId', (id: string) => ({ coManagedCustomerId: id })],
      ['customerGroupOverrideId', (id: string) => ({ customerGroupOverrideId: id })],
      ['clientRestrictions.customerIds[1]', (id: string, other: string) => ({ clientRestrictions: { allowAllCustomers: false, customerIds: [other, id] } })],
    ] as const;
    let acme: string;
    beforeAll(async () => {
      acme = await customer('Named Acme');
    });

    it.each(fields)('refuses a missing customer at %s on create and on update, writing nothing', async (path, naming) => {
      const missing = newId();
      const seq = await headSeq();
      const address = email('dangling');
      const created = await failure(agents().create(t.ctx, { name: 'Dangling', email: address, ...naming(missing, acme) }));
      expect(created.code).toBe('REFERENCE_NOT_FOUND');
      expect(created.details.errors).toEqual([{ path, code: 'reference-not-found', message: `No customer has id ${missing}.` }]);
      expect(await t.db.read((s) => s.agents.findByEmail(address))).toBeUndefined();

      const agent = await agents().create(t.ctx, { name: 'Well named', email: email('named'), ...naming(acme, acme) });
      const before = await stored(agent.id);
      const updated = await failure(agents().update(t.ctx, viewer(), agent.id, { name: 'Renamed', ...naming(missing, acme) }));
      expect(updated.code).toBe('REFERENCE_NOT_FOUND');
      expect(updated.details.errors).toEqual([expect.objectContaining({ path, code: 'reference-not-found' })]);
      expect(await stored(agent.id)).toEqual(before);
      expect(await headSeq()).toBe(seq);
      expect((await t.services.audit.list({ kind: 'agent.updated', limit: 1 }))[0]?.subject).not.toBe(agent.id);
    });

    it('refuses a customer outside the caller’s client restrictions as one that does not exist', async () => {
      const globex = await customer('Named Globex');
      const restricted = { agent: admin, access: { customers: { kind: 'only' as const, customerIds: new Set([acme]) } } };
      const outside = await failure(agents().create(t.ctx, { name: 'Globex partner', email: email('outside'), coManagedCustomerId: globex }, restricted));
      expect(outside).toMatchObject({ code: 'REFERENCE_NOT_FOUND', details: { errors: [{ path: 'coManagedCustomerId', message: `No customer has id ${globex}.` }] } });
      const inside = await agents().create(t.ctx, { name: 'Acme partner', email: email('inside'), coManagedCustomerId: acme }, restricted);
      const moved = await failure(agents().update(t.ctx, restricted, inside.id, { customerGroupOverrideId: globex }));
      expect(moved).toMatchObject({ code: 'REFERENCE_NOT_FOUND', details: { errors: [{ path: 'customerGroupOverrideId' }] } });
      expect((await stored(inside.id))!.customerGroupOverrideId).toBeNull();
    });

    it('still disables an agent whose customer was named before it was checked', async () => {
      const gone = newId();
      const legacy = (await agents().create(t.ctx, { name: 'Legacy partner', email: email('legacy') })).id;
      // Agents saved before customers were checked may name one this instance lacks.
      await t.db.write(async (s) => s.agents.update({ ...(await s.agents.find(legacy))!, coManagedCustomerId: gone }));
      expect(await agents().update(t.ctx, viewer(), legacy, { disabled: true })).toMatchObject({ disabled: true, coManagedCustomerId: gone });
      expect((await failure(agents().update(t.ctx, viewer(), legacy, { customerGroupOverrideId: newId() }))).code).toBe('REFERENCE_NOT_FOUND');
      expect((await agents().update(t.ctx, viewer(), legacy, { coManagedCustomerId: acme })).coManagedCustomerId).toBe(acme);
    });

    it('refuses a save exactly when it names a missing customer, listing each such field', async () => {
      const missing = [newId(), newId()];
      const id = fc.constantFrom(acme, ...missing);
      await fc.assert(
        fc.asyncProperty(fc.option(id), fc.option(id), fc.array(id, { maxLength: 4 }), async (coManaged, override, restricted) => {
          const body = { coManagedCustomerId: coManaged, customerGroupOverrideId: override, clientRestrictions: { allowAllCustomers: restricted.length === 0, customerIds: restricted } };
          const expected = [
            ...(coManaged !== null && coManaged !== acme ? ['coManagedCustomerId'] : []),
            ...(override !== null && override !== acme ? ['customerGroupOverrideId'] : []),
            ...restricted.flatMap((c, i) => (c === acme ? [] : [`clientRestrictions.customerIds[${i}]`])),
          ];
          const address = email('prop');
          const outcome = await agents()
            .create(t.ctx, { name: 'Property agent', email: address, ...body })
            .then(
              () => [] as string[],
              (error: DomainError) => (error.details.errors as { path: string }[]).map((e) => e.path),
            );
          expect(outcome).toEqual(expected);
          expect(await t.db.read((s) => s.agents.findByEmail(address))).toEqual(expected.length === 0 ? expect.objectContaining(body) : undefined);
        }),
        { numRuns: 30 },
      );
    });
  });

  it('refuses role changes under the production lock and changes nothing', async () => {
    const role = await createRole('Locked role');
    const agent = await agents().create(t.ctx, { name: 'Locked out', email: email('lock') });
    await t.services.settings.update(t.ctx, { disableConfigEditing: true }, { isAdministrator: true });
    const seq = await headSeq();
    const error = await failure(agents().update(t.ctx, viewer(), agent.id, { name: 'Changed', roleIds: [role] }));
    expect(error.code).toBe('CONFIG_LOCKED');
    expect(await headSeq()).toBe(seq);
    expect((await stored(agent.id))!.name).toBe('Locked out');
    // Fields that are not tracked configuration may still change.
    expect((await agents().update(t.ctx, viewer(), agent.id, { name: 'Changed' })).name).toBe('Changed');
  });

  it('protects the last enabled administrator from being disabled, deleted or losing the role', async () => {
    const disable = await failure(agents().update(t.ctx, viewer(), admin.id, { disabled: true }));
    expect(disable.code).toBe('ADMINISTRATOR_PROTECTED');
    expect((await failure(agents().remove(t.ctx, viewer(), admin.id))).code).toBe('ADMINISTRATOR_PROTECTED');
    expect((await failure(agents().update(t.ctx, viewer(), admin.id, { roleIds: [] }))).code).toBe('ADMINISTRATOR_PROTECTED');
    expect((await stored(admin.id))!.disabled).toBe(false);
    expect((await t.services.config.get('roles', ADMINISTRATOR_ROLE_ID)).body.agentIds).toContain(admin.id);

    const deputy = await agents().create(t.ctx, { name: 'Deputy', email: email('deputy'), roleIds: [ADMINISTRATOR_ROLE_ID] });
    expect(deputy.isAdministrator).toBe(true);
    expect((await agents().update(t.ctx, viewer(), deputy.id, { disabled: true })).disabled).toBe(true);
    // The deputy is disabled, so the bootstrap administrator is again the last enabled one.
    expect((await failure(agents().update(t.ctx, viewer(), admin.id, { disabled: true }))).code).toBe('ADMINISTRATOR_PROTECTED');
    await agents().update(t.ctx, viewer(), deputy.id, { disabled: false });
    await agents().remove(t.ctx, viewer(), deputy.id);
    expect((await t.services.config.get('roles', ADMINISTRATOR_ROLE_ID)).body.agentIds).toEqual([admin.id]);
  });

  it('refuses to delete an agent an API application logs in as; a deletion removes it from every role', async () => {
    const role = await createRole('Integration role');
    const agent = await agents().create(t.ctx, { name: 'Integration', email: email('int'), apiOnly: true, roleIds: [role] });
    const appId = newId();
    await t.db.write((s) =>
      s.applications.insert({ id: appId, name: 'Scanner', clientId: `client-${appId}`, secretHash: hashCredential('x'), agentId: agent.id, permissions: [], enabled: true, createdAt: 0, updatedAt: 0, secretRotatedAt: 0 }),
    );
    const error = await failure(agents().remove(t.ctx, viewer(), agent.id));
    expect(error.code).toBe('AGENT_IN_USE');
    expect(await stored(agent.id)).toBeDefined();
    expect((await t.services.config.get('roles', role)).body.agentIds).toEqual([agent.id]);

    await t.db.write((s) => s.applications.remove(appId));
    const seq = await headSeq();
    await agents().remove(t.ctx, viewer(), agent.id);
    expect(await stored(agent.id)).toBeUndefined();
    expect((await t.services.config.get('roles', role)).body.agentIds).toEqual([]);
    const [change] = (await t.services.changeLog.list({ entityId: role, limit: 1 })).items;
    expect(change).toMatchObject({ op: 'update', actor: t.ctx.actor });
    expect(change!.seq).toBeGreaterThan(seq);
    expect((await t.services.audit.list({ kind: 'agent.deleted', limit: 1 }))[0]).toMatchObject({ subject: agent.id, details: { rolesRemoved: [role] } });
  });

  describe('co-managed visibility', () => {
    const views: Record<string, AgentView> = {};
    beforeAll(async () => {
      const make = async (key: string, extra: Record<string, unknown>) => {
        views[key] = await agents().create(t.ctx, { name: `Visibility ${key}`, email: email(`vis-${key}`), ...extra });
      };
      const [one, two] = [await customer('Visibility customer 1'), await customer('Visibility customer 2')];
      await make('a1', { customerGroupOverrideId: one });
      await make('a2', { customerGroupOverrideId: one });
      await make('c1', { coManagedCustomerId: one });
      await make('mixed', { coManagedCustomerId: one, customerGroupOverrideId: two });
      await make('b1', { customerGroupOverrideId: two });
      await make('plain', {});
    });
    const as = async (key: string) => ({ agent: (await stored(views[key]!.id))! });
    const visibleTo = async (key: string, limit = 200) => {
      const names: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await agents().list(await as(key), { limit, q: 'Visibility', ...(cursor ? { cursor } : {}) });
        expect(page.items.length).toBeLessThanOrEqual(limit);
        names.push(...page.items.map((a) => a.name.replace('Visibility ', '')));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      return names;
    };

    it('shows an agent with a customer group only the agents of the same group, page by page', async () => {
      expect(await visibleTo('a1')).toEqual(['a1', 'a2', 'c1']);
      expect(await visibleTo('a1', 1)).toEqual(['a1', 'a2', 'c1']);
      expect(await visibleTo('c1', 2)).toEqual(['a1', 'a2', 'c1']);
      // The override wins over the co-managed customer.
      expect(await visibleTo('mixed')).toEqual(['mixed', 'b1']);
      expect(await visibleTo('plain', 2)).toEqual(['a1', 'a2', 'c1', 'mixed', 'b1', 'plain']);
      expect((await agents().list(viewer(), { limit: 200 })).items.map((a) => a.id)).toContain(views.b1!.id);
    });

    it('answers not found for agents outside the group, on read, update and delete', async () => {
      const a1 = await as('a1');
      expect((await agents().get(a1, views.a2!.id)).id).toBe(views.a2!.id);
      for (const hidden of [views.b1!, views.plain!]) {
        expect((await failure(agents().get(a1, hidden.id))).code).toBe('AGENT_NOT_FOUND');
        expect((await failure(agents().update(t.ctx, a1, hidden.id, { name: 'Taken over' }))).code).toBe('AGENT_NOT_FOUND');
        expect((await failure(agents().remove(t.ctx, a1, hidden.id))).code).toBe('AGENT_NOT_FOUND');
        expect((await stored(hidden.id))!.name).toBe(hidden.name);
      }
      expect((await failure(agents().get(a1, 'no-such-agent'))).code).toBe('AGENT_NOT_FOUND');
    });
  });
});
