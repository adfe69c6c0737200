import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, engines, type TestDatabase } from '../support/databases.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const WAIT_MS = 20_000;

interface Served {
  child: ChildProcess;
  output(): { stdout: string; stderr: string };
}

const running = new Set<ChildProcess>();
const tempDirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'shiplog-e2e-'));
  tempDirs.push(dir);
  return dir;
}

/** The environment a user would have, without the variables these tests set on purpose. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.SHIPLOG_ADMIN_TOKEN;
  delete env.SHIPLOG_SECRET_KEY;
  return { ...env, ...extra };
}

function spawnCli(args: string[], env: Record<string, string> = {}): Served {
  const child = spawn(process.execPath, ['bin/shiplog.js', ...args], { cwd: root, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return { child, output: () => ({ stdout, stderr }) };
}

function exited(child: ChildProcess, ms: number): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`process ${child.pid} did not exit within ${ms} ms`)), ms);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolvePromise(code);
    });
  });
}

/** Starts `shiplog serve` and waits (bounded) for the line naming the URL it serves. */
async function serve(args: string[], env: Record<string, string> = {}): Promise<Served & { url: string }> {
  const served = spawnCli(['serve', ...args], env);
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const { stdout, stderr } = served.output();
    const match = /is serving (http:\/\/\S+)/.exec(stdout);
    // The whole banner is written at once; wait for its last line.
    if (match && /\n {2}(Try|Administrator: created)[^\n]*\n/.test(stdout)) return { ...served, url: match[1]! };
    if (served.child.exitCode !== null) throw new Error(`shiplog serve exited with ${served.child.exitCode}:\n${stdout}\n${stderr}`);
    if (Date.now() > deadline) throw new Error(`shiplog serve printed no URL within ${WAIT_MS} ms:\n${stdout}\n${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function stop(served: Served): Promise<number | null> {
  served.child.kill('SIGTERM');
  return exited(served.child, WAIT_MS);
}

/** Runs the CLI to completion (bounded) and returns its exit code and output. */
async function runCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const served = spawnCli(args, env);
  const code = await exited(served.child, WAIT_MS);
  return { code, ...served.output() };
}

function tokenIn(stdout: string): string | undefined {
  return /API token \(shown once, keep it safe\): (shp_\S+)/.exec(stdout)?.[1];
}

async function api(url: string, path: string, token?: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (token) headers.set('authorization', `Bearer ${token}`);
  if (init.body) headers.set('content-type', 'application/json');
  return fetch(`${url}${path}`, { ...init, headers });
}

beforeAll(() => {
  // Always build: the e2e tests run the CLI exactly as shipped, from dist/.
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  expect(existsSync(join(root, 'dist/cli/main.js'))).toBe(true);
}, 120_000);

afterEach(async () => {
  for (const child of [...running]) {
    child.kill('SIGKILL');
    await exited(child, WAIT_MS).catch(() => undefined);
  }
});

afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

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
    expect(await verify.json()).toEqual({ ok: true, checked: 2, headSeq: 2, failure: null });
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

describe('shiplog serve arguments', () => {
  it('exits non-zero with usage for a bad --kind', async () => {
    const result = await runCli(['serve', '--name', 'dev', '--kind', 'qa', '--port', '0', '--database', join(tempDir(), 'x.sqlite')]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('--kind must be one of development, staging, production, sandbox, beta, release-candidate');
    expect(result.stderr).toContain('Usage: shiplog');
    expect(result.stdout).not.toContain('is serving');
  });

  it('exits non-zero with usage for a missing --name or an unknown option', async () => {
    const missing = await runCli(['serve', '--kind', 'development', '--port', '0']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('--name is required');
    expect(missing.stderr).toContain('Usage: shiplog');
    const unknown = await runCli(['serve', '--name', 'dev', '--colour', 'red']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/Unknown option '--colour'/);
    expect(unknown.stderr).toContain('Usage: shiplog');
  });
});
