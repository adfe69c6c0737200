import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { engines } from '../../test/support/databases.js';
import { createTestInstance, type TestInstance } from '../../test/support/instance.js';
import { DomainError } from '../shared/errors.js';
import { newId } from '../shared/ids.js';

async function refusal(promise: Promise<unknown>): Promise<DomainError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected the call to be refused');
}

/** Every row the write path touches, read straight from the database. */
async function tables(instance: TestInstance) {
  const db = instance.database.dialect.db;
  return {
    entities: await db.selectFrom('entities').selectAll().orderBy('id').execute(),
    refs: await db.selectFrom('entity_refs').selectAll().orderBy('from_id').orderBy('path').execute(),
    changes: await db.selectFrom('changes').selectAll().orderBy('seq').execute(),
    head: await db.selectFrom('change_log_head').selectAll().execute(),
  };
}

/** A clean slate for each test without the cost of a new database: no entities, no changes, default settings. */
async function clearConfiguration(instance: TestInstance): Promise<void> {
  await instance.database.dialect.db.transaction().execute(async (trx) => {
    for (const table of ['entity_refs', 'entities', 'changes', 'change_log_head', 'settings'] as const) await trx.deleteFrom(table).execute();
  });
}

const rule = (name: string, outcomes: Record<string, unknown>[]) => ({
  name,
  criteria: [{ field: 'summary', operator: 'contains', value: 'printer' }],
  outcomes,
});

describe.each(engines)('config service on %s', (engine) => {
  let instance: TestInstance;
  beforeAll(async () => {
    instance = await createTestInstance(engine);
  });
  afterAll(async () => instance?.close());
  beforeEach(async () => clearConfiguration(instance));

  it('refuses a name that is not well-formed Unicode, writing nothing: its digest could not match what is stored', async () => {
    const before = await tables(instance);
    const refused = await refusal(instance.services.config.create(instance.ctx, 'teams', { name: 'Lone \ud800 surrogate' }));
    expect(refused).toMatchObject({ code: 'VALIDATION_FAILED', details: { errors: [{ code: 'invalid-unicode' }] } });
    expect(await tables(instance)).toEqual(before);
    expect(await instance.services.changeLog.verify()).toMatchObject({ ok: true });
  });

  it('records one change per tracked write and none for a save that changes nothing', async () => {
    const { services, ctx } = instance;
    const created = await services.config.create(ctx, 'teams', { name: 'Service Desk' });
    expect(created.changeId).not.toBeNull();
    const again = await services.config.replace(ctx, 'teams', created.entity!.id, { name: 'Service Desk' });
    expect(again.changeId).toBeNull();
    const renamed = await services.config.replace(ctx, 'teams', created.entity!.id, { name: '1st Line' });
    const page = await services.changeLog.list({ limit: 10 });
    expect(page.items.map((c) => c.id)).toEqual([renamed.changeId, created.changeId]);
    expect(page.items[0]).toMatchObject({ op: 'update', parent: created.changeId, entityName: '1st Line' });
  });

  it('creates, reads, lists by cursor and name, replaces and deletes', async () => {
    const { services, ctx } = instance;
    const names = ['Service Desk', 'Network', 'Desktop Support', 'Security', 'Field Service'];
    const ids: string[] = [];
    for (const name of names) ids.push((await services.config.create(ctx, 'teams', { name })).entity!.id);

    const first = await services.config.get('teams', ids[0]!);
    expect(first).toMatchObject({ id: ids[0], type: 'teams', name: 'Service Desk', body: { name: 'Service Desk', isCoManaged: false } });
    expect(first.head).not.toBeNull();

    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await services.config.list('teams', { limit: 2, ...(cursor ? { cursor } : {}) });
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((e) => e.id));
      cursor = page.nextCursor ?? undefined;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...ids].sort());

    const named = async (q: string, limit = 10) => (await services.config.list('teams', { limit, q })).items.map((e) => e.name).sort();
    expect(await named('serv')).toEqual(['Field Service', 'Service Desk']);
    expect(await named('DESK')).toEqual(['Desktop Support', 'Service Desk']);
    expect(await named('%')).toEqual([]);
    const narrow = await services.config.list('teams', { limit: 1, q: 'desk' });
    expect(narrow.items).toHaveLength(1);
    const rest = await services.config.list('teams', { limit: 1, q: 'desk', cursor: narrow.nextCursor! });
    expect([narrow.items[0]!.name, rest.items[0]!.name].sort()).toEqual(['Desktop Support', 'Service Desk']);
    expect(rest.nextCursor).toBeNull();
    expect((await services.config.list('statuses', { limit: 10 })).items).toEqual([]);
    expect((await refusal(services.config.list('teams', { limit: 2, cursor: 'not-a-cursor' }))).code).toBe('INVALID_CURSOR');

    const replaced = await services.config.replace(ctx, 'teams', ids[1]!, { name: 'Networks', email: 'net@example.test' });
    expect(replaced.entity).toMatchObject({ name: 'Networks', body: { name: 'Networks', email: 'net@example.test', isCoManaged: false } });
    expect((await services.config.get('teams', ids[1]!)).body).toEqual(replaced.entity!.body);

    const removed = await services.config.remove(ctx, 'teams', ids[1]!);
    expect(removed.entity).toBeNull();
    expect((await refusal(services.config.get('teams', ids[1]!))).code).toBe('ENTITY_NOT_FOUND');
    expect((await services.config.list('teams', { limit: 10 })).items).toHaveLength(4);

    const deletion = await services.changeLog.detail(removed.changeId!);
    expect(deletion).toMatchObject({ op: 'delete', entityId: ids[1], parent: replaced.changeId, after: null, entityName: 'Networks' });
    expect(deletion.before).toEqual(replaced.entity!.body);
    const update = await services.changeLog.detail(replaced.changeId!);
    expect(update).toMatchObject({ op: 'update', before: { name: 'Network', isCoManaged: false }, after: replaced.entity!.body });
    expect((await services.changeLog.list({ limit: 20 })).items).toHaveLength(7);
  });

  it('records parent and requires: the heads of the entities the body references', async () => {
    const { services, ctx } = instance;
    const team = await services.config.create(ctx, 'teams', { name: 'Hardware' });
    const status = await services.config.create(ctx, 'statuses', { name: 'Waiting', kind: 'ticket' });
    const created = await services.config.create(
      ctx,
      'ticket-rules',
      rule('Printers to hardware', [
        { field: 'team', teamId: team.entity!.id },
        { field: 'status', statusId: status.entity!.id },
      ]),
    );
    const first = await services.changeLog.detail(created.changeId!);
    expect(first).toMatchObject({ op: 'create', type: 'ticket-rules', entityId: created.entity!.id, parent: null, before: null });
    expect(first.after).toEqual((await services.config.get('ticket-rules', created.entity!.id)).body);
    expect([...first.requires].sort()).toEqual([team.changeId!, status.changeId!].sort());

    const teamDetail = await services.changeLog.detail(team.changeId!);
    expect(teamDetail.dependents.items.map((d) => d.id)).toEqual([created.changeId]);

    const renamedTeam = await services.config.replace(ctx, 'teams', team.entity!.id, { name: 'Hardware & Printers' });
    const renamedRule = await services.config.replace(
      ctx,
      'ticket-rules',
      created.entity!.id,
      rule('Printers to hardware (v2)', [
        { field: 'team', teamId: team.entity!.id },
        { field: 'status', statusId: status.entity!.id },
      ]),
    );
    const second = await services.changeLog.detail(renamedRule.changeId!);
    expect(second).toMatchObject({ op: 'update', parent: created.changeId });
    expect(second.before).toEqual(first.after);
    expect([...second.requires].sort()).toEqual([renamedTeam.changeId!, status.changeId!].sort());
    expect(second.requires).not.toContain(team.changeId);
    expect((await services.config.get('ticket-rules', created.entity!.id)).head).toBe(renamedRule.changeId);
  });

  it('labels a change with the change set of its write context and records the actor', async () => {
    const { services, ctx } = instance;
    const labelled = await services.config.create({ ...ctx, changeSet: 'REL-42' }, 'teams', { name: 'Release team' });
    const plain = await services.config.create(ctx, 'teams', { name: 'Other team' });
    const inSet = await services.changeLog.list({ limit: 10, changeSet: 'REL-42' });
    expect(inSet.items.map((c) => c.id)).toEqual([labelled.changeId]);
    expect(inSet.items[0]).toMatchObject({ changeSet: 'REL-42', actor: ctx.actor });
    expect((await services.changeLog.detail(plain.changeId!)).changeSet).toBeNull();
  });

  it('refuses a write that references a missing entity, naming the field, and changes nothing', async () => {
    const { services, ctx } = instance;
    const team = await services.config.create(ctx, 'teams', { name: 'Hardware' });
    const status = await services.config.create(ctx, 'statuses', { name: 'Open', kind: 'ticket' });
    const before = await tables(instance);

    const missing = newId();
    const error = await refusal(
      services.config.create(
        ctx,
        'ticket-rules',
        rule('Broken', [
          { field: 'team', teamId: missing },
          { field: 'status', statusId: status.entity!.id },
          { field: 'team', teamId: status.entity!.id },
        ]),
      ),
    );
    expect(error.code).toBe('REFERENCE_NOT_FOUND');
    expect(error.details.errors?.map((e) => [e.path, e.code])).toEqual([
      ['outcomes[0].teamId', 'reference-not-found'],
      ['outcomes[2].teamId', 'reference-not-found'],
    ]);
    expect(await tables(instance)).toEqual(before);

    const valid = await services.config.create(ctx, 'ticket-rules', rule('Valid', [{ field: 'team', teamId: team.entity!.id }]));
    const afterValid = await tables(instance);
    const retarget = await refusal(services.config.replace(ctx, 'ticket-rules', valid.entity!.id, rule('Valid', [{ field: 'team', teamId: missing }])));
    expect(retarget.code).toBe('REFERENCE_NOT_FOUND');
    expect(retarget.details.errors?.[0]?.path).toBe('outcomes[0].teamId');
    expect(await tables(instance)).toEqual(afterValid);
  });

  it('refuses to delete an entity that is still referenced, naming the referrer', async () => {
    const { services, ctx } = instance;
    const team = await services.config.create(ctx, 'teams', { name: 'Hardware' });
    const referrer = await services.config.create(ctx, 'ticket-rules', rule('Route printers', [{ field: 'team', teamId: team.entity!.id }]));
    const before = await tables(instance);

    const error = await refusal(services.config.remove(ctx, 'teams', team.entity!.id));
    expect(error.code).toBe('ENTITY_REFERENCED');
    expect(error.details.referencedBy).toEqual([{ type: 'ticket-rules', id: referrer.entity!.id, name: 'Route printers', path: 'outcomes[0].teamId' }]);
    expect(await tables(instance)).toEqual(before);

    // Once the rule no longer points at the team, the team can go.
    await services.config.replace(ctx, 'ticket-rules', referrer.entity!.id, rule('Route printers', [{ field: 'priority', level: 2 }]));
    const removed = await services.config.remove(ctx, 'teams', team.entity!.id);
    expect(removed.changeId).not.toBeNull();
  });

  it('stores local types without recording changes', async () => {
    const { services, ctx } = instance;
    const created = await services.config.create(ctx, 'tax-rates', { name: 'VAT 20%', properties: { rate: 20 } });
    expect(created.changeId).toBeNull();
    expect(created.entity).toMatchObject({ type: 'tax-rates', head: null, body: { name: 'VAT 20%', properties: { rate: 20 } } });
    const replaced = await services.config.replace(ctx, 'tax-rates', created.entity!.id, { name: 'VAT 21%', properties: { rate: 21 } });
    expect(replaced.changeId).toBeNull();
    expect((await services.config.get('tax-rates', created.entity!.id)).name).toBe('VAT 21%');
    expect((await services.config.list('tax-rates', { limit: 10 })).items).toHaveLength(1);
    expect((await services.config.remove(ctx, 'tax-rates', created.entity!.id)).changeId).toBeNull();
    expect((await refusal(services.config.get('tax-rates', created.entity!.id))).code).toBe('ENTITY_NOT_FOUND');
    expect((await tables(instance)).changes).toEqual([]);
  });

  it('turns capture off and on with the tracking setting', async () => {
    const { services, ctx } = instance;
    const tracked = await services.config.create(ctx, 'teams', { name: 'Tracked' });
    expect((await services.settings.update(ctx, { configTracking: false }, { isAdministrator: true })).changed).toEqual(['configTracking']);

    const untracked = await services.config.create(ctx, 'teams', { name: 'Untracked' });
    expect(untracked.changeId).toBeNull();
    expect(untracked.entity!.head).toBeNull();
    const renamed = await services.config.replace(ctx, 'teams', tracked.entity!.id, { name: 'Tracked, renamed while off' });
    expect(renamed.changeId).toBeNull();
    expect((await services.config.list('teams', { limit: 10 })).items.map((e) => e.name).sort()).toEqual(['Tracked, renamed while off', 'Untracked']);
    expect((await services.changeLog.list({ limit: 10 })).items.map((c) => c.id)).toEqual([tracked.changeId]);

    await services.settings.update(ctx, { configTracking: true }, { isAdministrator: true });
    const back = await services.config.replace(ctx, 'teams', untracked.entity!.id, { name: 'Untracked, now tracked' });
    expect(back.changeId).not.toBeNull();
    expect((await services.changeLog.list({ limit: 10 })).items.map((c) => c.id)).toEqual([back.changeId, tracked.changeId]);
    expect((await services.changeLog.verify()).ok).toBe(true);
  });

  it('tracks mailboxes only while trackMailboxes is on', async () => {
    const { services, ctx } = instance;
    const mailbox = (name: string, address: string) => ({ name, address, type: 'imap' });
    const off = await services.config.create(ctx, 'mailboxes', mailbox('Support', 'support@example.test'));
    expect(off.changeId).toBeNull();
    expect((await services.config.replace(ctx, 'mailboxes', off.entity!.id, mailbox('Support desk', 'support@example.test'))).changeId).toBeNull();

    await services.settings.update(ctx, { trackMailboxes: true }, { isAdministrator: true });
    const on = await services.config.create(ctx, 'mailboxes', mailbox('Sales', 'sales@example.test'));
    expect(on.changeId).not.toBeNull();
    const edited = await services.config.replace(ctx, 'mailboxes', off.entity!.id, mailbox('Support', 'support@example.test'));
    expect(edited.changeId).not.toBeNull();
    expect((await services.changeLog.list({ limit: 10, type: 'mailboxes' })).items.map((c) => c.id)).toEqual([edited.changeId, on.changeId]);
  });

  it('tracks assets only when marked as a service and trackServices is on', async () => {
    const { services, ctx } = instance;
    const assetType = await services.config.create(ctx, 'asset-types', { name: 'Application' });
    const asset = (name: string, serviceClass: string) => ({ name, assetTypeId: assetType.entity!.id, serviceClass });

    expect((await services.config.create(ctx, 'assets', asset('CRM', 'service'))).changeId).toBeNull();
    await services.settings.update(ctx, { trackServices: true }, { isAdministrator: true });
    const laptop = await services.config.create(ctx, 'assets', asset('Laptop 42', 'none'));
    expect(laptop.changeId).toBeNull();
    const email = await services.config.create(ctx, 'assets', asset('Email', 'service'));
    expect(email.changeId).not.toBeNull();
    expect((await services.config.create(ctx, 'assets', asset('ERP', 'business-application'))).changeId).not.toBeNull();
    expect((await services.config.replace(ctx, 'assets', laptop.entity!.id, asset('Laptop 42', 'service'))).changeId).not.toBeNull();
    // Leaving the tracked set is itself a tracked change.
    expect((await services.config.replace(ctx, 'assets', email.entity!.id, asset('Email', 'none'))).changeId).not.toBeNull();
    expect((await services.config.replace(ctx, 'assets', email.entity!.id, asset('Email (legacy)', 'none'))).changeId).toBeNull();
  });

  it('refuses tracked writes under the production lock, writing nothing, while local types still write', async () => {
    const { services, ctx } = instance;
    const team = await services.config.create(ctx, 'teams', { name: 'Before the lock' });
    await services.settings.update(ctx, { disableConfigEditing: true }, { isAdministrator: true });
    const before = await tables(instance);

    expect((await refusal(services.config.create(ctx, 'teams', { name: 'New' }))).code).toBe('CONFIG_LOCKED');
    expect((await refusal(services.config.replace(ctx, 'teams', team.entity!.id, { name: 'Renamed' }))).code).toBe('CONFIG_LOCKED');
    expect((await refusal(services.config.remove(ctx, 'teams', team.entity!.id))).code).toBe('CONFIG_LOCKED');
    // The lock covers config-tracked types even while capture is off.
    await services.settings.update(ctx, { configTracking: false }, { isAdministrator: true });
    expect((await refusal(services.config.create(ctx, 'teams', { name: 'New' }))).code).toBe('CONFIG_LOCKED');
    expect(await tables(instance)).toEqual(before);

    expect((await services.config.create(ctx, 'tax-rates', { name: 'VAT' })).entity).not.toBeNull();
    await services.settings.update(ctx, { configTracking: true, disableConfigEditing: false }, { isAdministrator: true });
    expect((await services.config.replace(ctx, 'teams', team.entity!.id, { name: 'After the lock' })).changeId).not.toBeNull();
  });

  it('refuses a replace or delete whose If-Match version is stale', async () => {
    const { services, ctx } = instance;
    const created = await services.config.create(ctx, 'teams', { name: 'One' });
    const staleVersion = created.entity!.version;
    const current = await services.config.replace(ctx, 'teams', created.entity!.id, { name: 'Two' }, { ifMatch: staleVersion });
    expect(current.entity!.version).not.toBe(staleVersion);
    const before = await tables(instance);

    const stale = await refusal(services.config.replace(ctx, 'teams', created.entity!.id, { name: 'Three' }, { ifMatch: `"${staleVersion}"` }));
    expect(stale.code).toBe('PRECONDITION_FAILED');
    expect(stale.details.currentVersion).toBe(current.entity!.version);
    expect((await refusal(services.config.remove(ctx, 'teams', created.entity!.id, { ifMatch: staleVersion }))).code).toBe('PRECONDITION_FAILED');
    expect(await tables(instance)).toEqual(before);

    const fresh = await services.config.replace(ctx, 'teams', created.entity!.id, { name: 'Three' }, { ifMatch: `W/"${current.entity!.version}"` });
    expect(fresh.changeId).not.toBeNull();
    expect((await services.config.remove(ctx, 'teams', created.entity!.id, { ifMatch: fresh.entity!.version })).changeId).not.toBeNull();
  });

  it('answers UNKNOWN_TYPE, ENTITY_NOT_FOUND and VALIDATION_FAILED with the field path', async () => {
    const { services, ctx } = instance;
    const team = await services.config.create(ctx, 'teams', { name: 'Exists' });
    const before = await tables(instance);

    expect((await refusal(services.config.create(ctx, 'no-such-type', { name: 'x' }))).code).toBe('UNKNOWN_TYPE');
    expect((await refusal(services.config.list('no-such-type', { limit: 1 }))).code).toBe('UNKNOWN_TYPE');
    expect((await refusal(services.config.get('no-such-type', team.entity!.id))).code).toBe('UNKNOWN_TYPE');

    const missing = newId();
    expect((await refusal(services.config.get('teams', missing))).code).toBe('ENTITY_NOT_FOUND');
    expect((await refusal(services.config.replace(ctx, 'teams', missing, { name: 'x' }))).code).toBe('ENTITY_NOT_FOUND');
    expect((await refusal(services.config.remove(ctx, 'teams', missing))).code).toBe('ENTITY_NOT_FOUND');
    expect((await refusal(services.config.get('statuses', team.entity!.id))).code).toBe('ENTITY_NOT_FOUND');
    expect((await refusal(services.config.remove(ctx, 'statuses', team.entity!.id))).code).toBe('ENTITY_NOT_FOUND');

    const unknownField = await refusal(services.config.create(ctx, 'teams', { name: 'x', colour: 'red' }));
    expect(unknownField.code).toBe('VALIDATION_FAILED');
    expect(unknownField.details.errors).toEqual([expect.objectContaining({ path: 'colour', code: 'unknown-field' })]);
    const nested = await refusal(
      services.config.create(ctx, 'ticket-rules', rule('x', [{ field: 'team', teamId: team.entity!.id, isAdmin: true }])),
    );
    expect(nested.details.errors).toEqual([expect.objectContaining({ path: 'outcomes[0].isAdmin', code: 'unknown-field' })]);
    const onReplace = await refusal(services.config.replace(ctx, 'teams', team.entity!.id, { name: 'Exists', head: 'forged' }));
    expect(onReplace.details.errors?.map((e) => e.path)).toEqual(['head']);
    expect((await refusal(services.config.create(ctx, 'teams', ['not', 'an', 'object']))).code).toBe('VALIDATION_FAILED');
    expect(await tables(instance)).toEqual(before);
  });
});
