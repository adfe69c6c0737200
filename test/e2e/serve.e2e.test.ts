import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { api, killRunning, removeTempDirs, runCli, spawnCli, stop, tempDir, waitForOutput, type Spawned } from '../support/cli.js';
import { SERVER_NODE_OPTIONS } from '../../src/cli/server-process.js';
import { createTestDatabase, engines, type TestDatabase } from '../support/databases.js';

/** Starts `shiplog serve` and waits (bounded) for its whole banner: the URL line and the last line. */
async function serve(args: string[], env: Record<string, string> = {}): Promise<Spawned & { url: string }> {
  const served = spawnCli(['serve', ...args], env);
  await waitForOutput(served, (stdout) => /is serving http:\/\/\S+/.test(stdout) && /\n {2}(Try|Administrator: created)[^\n]*\n/.test(stdout), 'banner');
  return { ...served, url: /is serving (http:\/\/\S+)/.exec(served.output().stdout)![1]! };
}

function tokenIn(stdout: string): string | undefined {
  return /API token \(shown once, keep it safe\): (shp_\S+)/.exec(stdout)?.[1];
}

afterEach(killRunning);
afterAll(removeTempDirs);

describe.each(engines)('shiplog serve on %s', (engine) => {
  let database: TestDatabase | undefined;
  afterEach(async () => {
    await database?.drop();
    database = undefined;
  });

  async function databaseArgs(): Promise<string[]> {
    const dir = tempDir();
    if (engine === 'sqlite') return ['--database', join(dir, 'dev.sqlite')];
    database = await createTestDatabase(engine, { migrate: false });
    return ['--database', database.url, '--key-file', join(dir, 'dev.key')];
  }

  it('prints the URL, the administrator and a token at first start; a restart keeps the token and the data', async () => {
    const dbArgs = await databaseArgs();
    const args = ['--name', 'dev', '--kind', 'development', '--port', '0', ...dbArgs];
    const first = await serve(args);
    const banner = first.output().stdout;
    expect(first.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(banner).toContain('Administrator: admin@shiplog.local');
    const token = tokenIn(banner);
    expect(token).toMatch(/^shp_[A-Za-z0-9_-]{40,}$/);

    const instance = await api(first.url, '/v1/instance', token);
    expect(instance.status).toBe(200);
    expect(await instance.json()).toMatchObject({ name: 'dev', kind: 'development', you: { name: 'Administrator', isAdministrator: true } });
    const anonymous = await api(first.url, '/v1/instance');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await api(first.url, '/v1/instance', 'shp_wrong-token-wrong-token-wrong')).status).toBe(401);

    const created = await api(first.url, '/v1/config/teams', token, { method: 'POST', body: JSON.stringify({ name: 'Service Desk' }), headers: { 'x-change-set': 'e2e' } });
    expect(created.status).toBe(201);
    const changeId = created.headers.get('x-change-id');
    const teamId = ((await created.json()) as { entity: { id: string } }).entity.id;
    const secret = await api(first.url, '/v1/config/webhooks', token, {
      method: 'POST',
      body: JSON.stringify({ name: 'Hook', url: 'https://example.com/hook', events: ['ticket.created'], signingSecret: 'do-not-print-this-secret' }),
    });
    expect(secret.status, await secret.clone().text()).toBe(201);

    expect(await stop(first)).toBe(0);

    const second = await serve(args);
    const again = second.output().stdout;
    expect(again).not.toMatch(/shp_/);
    expect(again).toContain('Administrator: created at first start');
    expect(`${again}${second.output().stderr}`).not.toContain('do-not-print-this-secret');
    const team = await api(second.url, `/v1/config/teams/${teamId}`, token);
    expect(team.status).toBe(200);
    expect(await team.json()).toMatchObject({ name: 'Service Desk', head: changeId });
    const changes = (await (await api(second.url, '/v1/changes', token)).json()) as { items: { id: string; changeSet: string | null; type: string }[] };
    expect(changes.items.map((c) => c.type)).toEqual(['webhooks', 'teams']);
    expect(changes.items[1]).toMatchObject({ id: changeId, changeSet: 'e2e' });
    const verify = await api(second.url, '/v1/changes/verify', token);
    expect(await verify.json()).toMatchObject({ ok: true, checked: 2, headSeq: 2, failure: null, failures: [], failureCount: 0 });
    const hooks = (await (await api(second.url, '/v1/config/webhooks', token)).json()) as { items: { body: Record<string, unknown> }[] };
    expect(hooks.items[0]!.body.signingSecret).toEqual({ set: true });
    expect(await stop(second)).toBe(0);
  });

  it('uses SHIPLOG_ADMIN_TOKEN at first start as the token, without printing it', async () => {
    const dbArgs = await databaseArgs();
    const chosen = `automation-${'x'.repeat(20)}-${engine}`;
    const served = await serve(['--name', 'dev', '--kind', 'staging', '--port', '0', ...dbArgs], { SHIPLOG_ADMIN_TOKEN: chosen });
    const { stdout, stderr } = served.output();
    expect(stdout).toContain('the one given in SHIPLOG_ADMIN_TOKEN');
    expect(stdout).not.toMatch(/shp_/);
    expect(`${stdout}${stderr}`).not.toContain(chosen);
    const instance = await api(served.url, '/v1/instance', chosen);
    expect(instance.status).toBe(200);
    expect(await instance.json()).toMatchObject({ kind: 'staging' });
    expect(await stop(served)).toBe(0);
  });

  it('refuses to serve an existing database under another name', async () => {
    const dbArgs = await databaseArgs();
    const first = await serve(['--name', 'dev', '--kind', 'development', '--port', '0', '--quiet', ...dbArgs]);
    expect(await stop(first)).toBe(0);
    const other = await runCli(['serve', '--name', 'prod', '--kind', 'development', '--port', '0', '--quiet', ...dbArgs]);
    expect(other.code).not.toBe(0);
    expect(other.stderr).toContain('this database belongs to instance "dev" (development)');
    expect(other.stderr).toContain('"prod"');
    expect(other.stdout).not.toContain('is serving');
  });
});

/** The pids of `pid`'s children, from /proc. */
function childrenOf(pid: number): number[] {
  const tasks = readdirSync(`/proc/${pid}/task`);
  return tasks.flatMap((task) => readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean).map(Number));
}

const isRunning = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('shiplog serve as a server process', () => {
  it('serves from a child process with the server’s Node options, which stops when its launcher is killed', async () => {
    const served = await serve(['--name', 'dev', '--kind', 'development', '--port', '0', '--database', join(tempDir(), 'dev.sqlite')]);
    const [server] = childrenOf(served.child.pid!);
    expect(server).toBeDefined();
    const cmdline = readFileSync(`/proc/${server}/cmdline`, 'utf8').split('\0');
    for (const option of SERVER_NODE_OPTIONS) expect(cmdline).toContain(option);
    expect((await api(served.url, '/v1/instance')).status).toBe(401);

    // Killed without a chance to pass anything on, the launcher still takes the server with it.
    served.child.kill('SIGKILL');
    const deadline = Date.now() + 10_000;
    while (isRunning(server!) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(isRunning(server!)).toBe(false);
    await expect(api(served.url, '/v1/instance')).rejects.toThrow();
  });

  it('passes TERM on to the server, which stops cleanly, and exits with its code', async () => {
    const served = await serve(['--name', 'dev', '--kind', 'development', '--port', '0', '--database', join(tempDir(), 'dev.sqlite')]);
    const [server] = childrenOf(served.child.pid!);
    expect(await stop(served)).toBe(0);
    expect(isRunning(server!)).toBe(false);
  });
});

describe('shiplog serve arguments', () => {
  it('exits non-zero for a bad --kind, in one line pointing to the usage', async () => {
    const result = await runCli(['serve', '--name', 'dev', '--kind', 'qa', '--port', '0', '--database', join(tempDir(), 'x.sqlite')]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toBe('shiplog: --kind must be one of development, staging, production, sandbox, beta, release-candidate (shiplog serve --help shows how to call it)\n');
    expect(result.stdout).not.toContain('is serving');
  });

  it('exits non-zero for a missing --name or an unknown option, in one line pointing to the usage', async () => {
    const missing = await runCli(['serve', '--kind', 'development', '--port', '0']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toBe('shiplog: --name is required: lowercase letters, digits and dashes (shiplog serve --help shows how to call it)\n');
    const unknown = await runCli(['serve', '--name', 'dev', '--colour', 'red']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe("shiplog: unknown option '--colour' (shiplog serve --help shows how to call it)\n");
  });

  it('exits non-zero, saying what is wrong, for a public URL that is not an absolute http(s) URL without query', async () => {
    const base = ['serve', '--name', 'dev', '--kind', 'development', '--port', '0', '--database', join(tempDir(), 'x.sqlite')];
    const query = await runCli([...base, '--public-url', 'https://desk.example.test/?next=1']);
    expect(query.code).not.toBe(0);
    expect(query.stderr).toContain('--public-url: The public URL must have no query or fragment');
    const relative = await runCli(base, { SHIPLOG_PUBLIC_URL: 'desk.example.test' });
    expect(relative.code).not.toBe(0);
    expect(relative.stderr).toContain('SHIPLOG_PUBLIC_URL: The public URL is not an absolute URL');
    expect(`${query.stdout}${relative.stdout}`).not.toContain('is serving');
  });
});
