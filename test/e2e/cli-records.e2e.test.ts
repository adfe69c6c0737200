import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs, runCli, tempDir } from '../support/cli.js';
import { engines } from '../support/databases.js';
import { ok, startLiveInstance, type Answer, type LiveInstance } from '../support/pipeline.js';

afterAll(removeTempDirs);

describe.each(engines)('shiplog record commands against a live instance on %s', (engine) => {
  let dev: LiveInstance;
  let dir: string;

  /** Runs `shiplog …` against dev as its administrator, from the environment as a user would. */
  const shiplog = (...args: string[]) => runCli(args, { SHIPLOG_URL: dev.url, SHIPLOG_TOKEN: dev.token });
  /** Runs it and parses what it printed as JSON, failing with its output if it did not exit 0. */
  async function answer(...args: string[]): Promise<Answer> {
    const run = await shiplog(...args);
    expect(run.code, `${args.join(' ')}\n${run.stdout}\n${run.stderr}`).toBe(0);
    return JSON.parse(run.stdout) as Answer;
  }
  const file = (name: string, body: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, typeof body === 'string' ? body : JSON.stringify(body));
    return path;
  };

  beforeAll(async () => {
    dir = tempDir();
    dev = await startLiveInstance(engine, { name: 'dev', kind: 'development' });
  });
  afterAll(async () => dev?.close());

  it('creates, lists, replaces and deletes configuration, with change sets and versions', async () => {
    const created = await answer('config', 'create', 'teams', '--data', '{"name":"Network"}', '--change-set', 'onboarding');
    expect(created).toMatchObject({ entity: { type: 'teams', name: 'Network' }, changeId: expect.any(String) });
    const id = created.entity.id as string;
    await answer('config', 'create', 'teams', file('apps.json', { name: 'Applications' }));

    const listed = await shiplog('config', 'list', 'teams');
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/^ID\s+NAME\s+VERSION\s+UPDATED$/m);
    expect(listed.stdout).toMatch(new RegExp(`^${id}\\s+Network\\s+${created.entity.version}\\s`, 'm'));

    const stale = await shiplog('config', 'replace', 'teams', id, file('network.json', { name: 'Networks' }), '--if-match', 'not-the-version');
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain('PRECONDITION_FAILED');
    const replaced = await answer('config', 'replace', 'teams', id, file('network.json', { name: 'Networks' }), '--if-match', created.entity.version);
    expect(replaced.entity.name).toBe('Networks');
    expect((await answer('config', 'show', 'teams', id)).name).toBe('Networks');

    const wrong = await shiplog('config', 'create', 'teams', '--data', '{"name":""}');
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('VALIDATION_FAILED');
    expect(wrong.stderr).toMatch(/name: /);

    await answer('config', 'delete', 'teams', id);
    expect((await dev.call('GET', `/v1/config/teams/${id}`)).status).toBe(404);
  });

  it('lists, shows, verifies and rolls back changes', async () => {
    const team = (await ok(dev, 'POST', '/v1/config/teams', { name: 'Service desk' }, { 'x-change-set': 'desk' })).entity;
    const changes = await shiplog('changes', 'list', '--filter', 'changeSet=desk');
    expect(changes.code, changes.stderr).toBe(0);
    expect(changes.stdout).toMatch(/^CHANGE\s+AT\s+TYPE\s+NAME\s+OP\s+ACTOR\s+CHANGE SET$/m);
    const row = changes.stdout.split('\n').find((line) => line.includes('Service desk'))!;
    expect(row).toMatch(/\steams\s+Service desk\s+create\s+.+\s+desk$/);
    const changeId = row.split(/\s+/)[0]!;
    expect(await answer('changes', 'show', changeId)).toMatchObject({ id: changeId, op: 'create', after: { name: 'Service desk' } });
    const verified = await shiplog('changes', 'verify');
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(/^The history verifies\. \d+ change\(s\) checked up to \d+;/);
    expect(await answer('changes', 'verify', '--json')).toMatchObject({ ok: true, failureCount: 0 });

    const preview = await answer('changes', 'rollback', changeId, '--dry-run');
    expect(preview.reverted.map((r: Answer) => r.revertedBy)).toEqual([null]);
    expect((await dev.call('GET', `/v1/config/teams/${team.id}`)).status).toBe(200);
    await answer('changes', 'rollback', changeId);
    expect((await dev.call('GET', `/v1/config/teams/${team.id}`)).status).toBe(404);
  });

  it('pages a list, or follows every page with --all', async () => {
    for (const name of ['Alpha', 'Beta', 'Gamma']) await ok(dev, 'POST', '/v1/config/departments', { name });
    const first = await shiplog('config', 'list', 'departments', '--limit', '2');
    expect(first.stdout.trim().split('\n')).toHaveLength(3);
    const cursor = /More: --cursor (\S+)/.exec(first.stderr)?.[1];
    expect(cursor).toBeDefined();
    const rest = await shiplog('config', 'list', 'departments', '--limit', '2', '--cursor', cursor!);
    expect(rest.stdout).toContain('Gamma');
    expect(rest.stderr).toBe('');
    const all = await answer('config', 'list', 'departments', '--limit', '1', '--all', '--json');
    expect(all.items.map((d: Answer) => d.name)).toEqual(['Alpha', 'Beta', 'Gamma']);
    expect(all.nextCursor).toBeNull();
    const counted = await runCli(['config', 'list', 'departments', '--limit', '1', '--all'], { SHIPLOG_URL: dev.url, SHIPLOG_TOKEN: dev.token, SHIPLOG_PROGRESS: 'always' });
    expect(counted.stdout).toContain('Gamma');
    expect(counted.stderr.trim().split('\n').at(-1)).toBe('Fetched: 3 records');
  });

  it('runs the desk: a customer, a ticket, a note, its history, the CSV export', async () => {
    await ok(dev, 'POST', '/v1/config/statuses', { name: 'New', kind: 'ticket', isDefault: true });
    const typeId = (await ok(dev, 'POST', '/v1/config/ticket-types', { name: 'Incident' })).entity.id;
    const customer = await answer('customers', 'create', '--data', '{"name":"Acme"}');
    const logged = await answer('tickets', 'create', file('ticket.json', { customerId: customer.id, ticketTypeId: typeId, summary: 'Printer on fire' }));
    const ticket = logged.ticket;
    const listed = await shiplog('tickets', 'list', '--filter', `customerId=${customer.id}`);
    expect(listed.stdout).toMatch(new RegExp(`^${ticket.number}\\s+${ticket.id}\\s+Printer on fire\\s+open`, 'm'));
    await answer('tickets', 'update', ticket.id, '--data', '{"priority":2}');
    await answer('tickets', 'act', ticket.id, '--data', '{"kind":"note","note":"Called the customer"}');
    const history = await shiplog('tickets', 'actions', ticket.id);
    expect(history.stdout).toMatch(/^AT\s+KIND\s+NAME\s+ACTOR\s+NOTE$/m);
    expect(history.stdout).toMatch(/\snote\s.*Called the customer$/m);
    const csv = await shiplog('tickets', 'export', '--filter', `customerId=${customer.id}`);
    expect(csv.code, csv.stderr).toBe(0);
    expect(csv.stdout.split('\n')[0]).toMatch(/^"?number"?,/);
    expect(csv.stdout).toContain('Printer on fire');
    const saved = await answer('ticket-lists', 'create', '--data', JSON.stringify({ name: 'Printers', filters: { customerId: customer.id, q: 'printer' } }));
    expect((await shiplog('ticket-lists')).stdout).toMatch(new RegExp(`^${saved.id}\\s+Printers\\s+no\\s`, 'm'));
    expect((await shiplog('ticket-lists', 'tickets', saved.id)).stdout).toMatch(new RegExp(`^${ticket.number}\\s+${ticket.id}\\s+Printer on fire`, 'm'));
    const view = await answer('config', 'create', 'view-lists', '--data', JSON.stringify({ name: 'Open tickets', closed: false }));
    expect((await shiplog('view-lists')).stdout).toMatch(new RegExp(`^${view.entity.id}\\s+Open tickets\\s+every agent$`, 'm'));
    expect((await shiplog('view-lists', 'tickets', view.entity.id)).stdout).toContain('Printer on fire');
    expect((await shiplog('deliveries')).stdout.trim()).toBe('None.');
  });

  it('manages applications, settings and the instance, and reads the audit log', async () => {
    const me = await answer('agents', 'me');
    const created = await answer('applications', 'create', '--data', JSON.stringify({ name: 'Reporting', agentId: me.id, permissions: ['config:read'] }));
    expect(created.clientSecret).toEqual(expect.any(String));
    const rotated = await answer('applications', 'rotate-secret', created.application.id);
    expect(rotated.clientSecret).not.toBe(created.clientSecret);
    const apps = await shiplog('applications', 'list');
    expect(apps.stdout).toMatch(new RegExp(`^${created.application.id}\\s+Reporting\\s+${created.application.clientId}\\s+yes\\s+config:read$`, 'm'));
    expect(apps.stdout).not.toContain(rotated.clientSecret);

    expect(await answer('settings', 'set', 'skipDiffCheck=true', 'refusePushes=false')).toMatchObject({ skipDiffCheck: true, refusePushes: false });
    expect(await answer('settings')).toMatchObject({ skipDiffCheck: true });
    expect(await answer('instance')).toMatchObject({ name: 'dev', kind: 'development' });
    const catalog = await shiplog('catalog');
    expect(catalog.stdout).toMatch(/^notifications\s+Notifications\s+notifications\s+tracked$/m);
    expect((await answer('catalog', 'show', 'notifications')).sensitive).toEqual(['webhookUrl', 'signingSecret']);

    const audit = await shiplog('audit', '--filter', 'kind=settings.changed');
    expect(audit.code, audit.stderr).toBe(0);
    expect(audit.stdout).toMatch(/^AT\s+KIND\s+OUTCOME\s+ACTOR\s+SUBJECT$/m);
  });

  it('refuses wrong calls in one line that points to the help, before calling the instance', async () => {
    const cases: [string[], string, string][] = [
      [['config', 'list'], "missing required argument 'TYPE'", 'shiplog config list --help'],
      [['config', 'show', 'teams', 'a', 'b'], "too many arguments for 'show'", 'shiplog config show --help'],
      [['config', 'frobnicate', 'teams'], "unknown command 'frobnicate'", 'shiplog config --help'],
      [['config', 'list', 'teams', '--limit', 'many'], '--limit must be a positive whole number', 'shiplog config list --help'],
      [['config', 'create', 'teams', join(dir, 'missing.json')], 'cannot read', 'shiplog config create --help'],
      [['config', 'create', 'teams', file('bad.json', '{ nope')], 'bad.json is not JSON', 'shiplog config create --help'],
      [['config', 'create', 'teams', file('ok.json', {}), '--data', '{}'], 'not both', 'shiplog config create --help'],
      [['changes', 'list', '--filter', 'type'], '--filter takes NAME=VALUE', 'shiplog changes list --help'],
      [['settings', 'set', 'skipDiffCheck'], 'settings set takes NAME=VALUE', 'shiplog settings set --help'],
      [['tickets', 'list', '--colour', 'red'], "unknown option '--colour'", 'shiplog tickets list --help'],
      [['frobnicate'], "unknown command 'frobnicate'", 'shiplog help'],
    ];
    for (const [args, message, pointer] of cases) {
      const run = await shiplog(...args);
      expect(run.code, args.join(' ')).toBe(1);
      expect(run.stdout, args.join(' ')).toBe('');
      expect(run.stderr, args.join(' ')).toMatch(/^shiplog: [^\n]+\n$/);
      expect(run.stderr, args.join(' ')).toContain(message);
      expect(run.stderr, args.join(' ')).toContain(`(${pointer} shows how to call it)`);
    }
    // Without a verb, a command with no default one shows its verbs.
    const bare = await shiplog('config');
    expect(bare.code).toBe(1);
    expect(bare.stderr).toContain('Usage: shiplog config <verb> [options]');
    const help = await runCli(['help', 'tickets']);
    expect(help.stdout).toContain('shiplog tickets act ID [FILE | - | --data JSON]');
  });
});
