import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the CLI runs from here, as shipped in dist/ (built once by test/support/build-dist.ts). */
export const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** How long a CLI process may take to start, answer or stop. */
export const WAIT_MS = 20_000;

export interface Spawned {
  child: ChildProcess;
  output(): { stdout: string; stderr: string };
}

const running = new Set<ChildProcess>();
const tempDirs: string[] = [];

export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'shiplog-e2e-'));
  tempDirs.push(dir);
  return dir;
}

/** The environment a user would have, without the variables these tests set on purpose. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of ['SHIPLOG_ADMIN_TOKEN', 'SHIPLOG_ADMIN_PASSWORD', 'SHIPLOG_SECRET_KEY', 'SHIPLOG_URL', 'SHIPLOG_TOKEN', 'SHIPLOG_PROGRESS', 'SHIPLOG_RATE_LIMIT']) delete env[name];
  return { ...env, ...extra };
}

export function spawnCli(args: string[], env: Record<string, string> = {}): Spawned {
  const child = spawn(process.execPath, ['bin/shiplog.js', ...args], { cwd: root, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return { child, output: () => ({ stdout, stderr }) };
}

export function exited(child: ChildProcess, ms: number = WAIT_MS): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`process ${child.pid} did not exit within ${ms} ms`)), ms);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolvePromise(code);
    });
  });
}

/** Waits (bounded) until the output holds what `ready` looks for; fails if the process exits first. */
export async function waitForOutput(spawned: Spawned, ready: (stdout: string) => boolean, what: string, ms: number = WAIT_MS): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const { stdout, stderr } = spawned.output();
    if (ready(stdout)) return;
    if (spawned.child.exitCode !== null) throw new Error(`shiplog exited with ${spawned.child.exitCode} before ${what}:\n${stdout}\n${stderr}`);
    if (Date.now() > deadline) throw new Error(`shiplog printed no ${what} within ${ms} ms:\n${stdout}\n${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function stop(spawned: Spawned): Promise<number | null> {
  spawned.child.kill('SIGTERM');
  return exited(spawned.child);
}

/** Runs the CLI to completion (bounded) and returns its exit code and output. */
export async function runCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const spawned = spawnCli(args, env);
  const code = await exited(spawned.child);
  return { code, ...spawned.output() };
}

/** For afterEach: kills whatever a test left running. */
export async function killRunning(): Promise<void> {
  for (const child of [...running]) {
    child.kill('SIGKILL');
    await exited(child).catch(() => undefined);
  }
}

/** For afterAll: removes the temporary directories. */
export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export async function api(url: string, path: string, token?: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (token) headers.set('authorization', `Bearer ${token}`);
  if (init.body) headers.set('content-type', 'application/json');
  return fetch(`${url}${path}`, { ...init, headers });
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const server = createServer();
    server.once('error', () => resolvePromise(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolvePromise(true)));
  });
}

/** A base port with `count` free ports from it, below the ephemeral range that port-0 listeners draw from. */
export async function freePortRun(count: number): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const base = 20_000 + Math.floor(Math.random() * 10_000);
    const free = await Promise.all(Array.from({ length: count }, (_, i) => portIsFree(base + i)));
    if (free.every(Boolean)) return base;
  }
  throw new Error(`no run of ${count} free ports found`);
}
