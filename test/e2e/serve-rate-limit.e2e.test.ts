import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { api, killRunning, removeTempDirs, runCli, spawnCli, tempDir, waitForOutput } from '../support/cli.js';

/** Starts `shiplog serve` on a fresh SQLite file (the limit is kept in the process, whatever the engine); its URL. */
async function serve(args: string[], env: Record<string, string> = {}): Promise<string> {
  const served = spawnCli(['serve', '--name', 'dev', '--kind', 'development', '--port', '0', '--quiet', '--database', join(tempDir(), 'dev.sqlite'), ...args], env);
  await waitForOutput(served, (stdout) => /is serving http:\/\/\S+/.test(stdout), 'banner');
  return /is serving (http:\/\/\S+)/.exec(served.output().stdout)![1]!;
}

async function statuses(url: string, n: number): Promise<(number | string)[]> {
  const out: (number | string)[] = [];
  for (let i = 0; i < n; i++) {
    const res = await api(url, '/healthz');
    out.push(res.status === 429 ? `429 after ${res.headers.get('retry-after')} s` : res.status);
  }
  return out;
}

afterEach(killRunning);
afterAll(removeTempDirs);

describe('shiplog serve --rate-limit and SHIPLOG_RATE_LIMIT', () => {
  it('limit each caller to the requests a minute given, the flag before the environment', async () => {
    expect(await statuses(await serve(['--rate-limit', '3']), 4)).toEqual([200, 200, 200, '429 after 20 s']);
    expect(await statuses(await serve([], { SHIPLOG_RATE_LIMIT: '2' }), 3)).toEqual([200, 200, '429 after 30 s']);
    expect(await statuses(await serve(['--rate-limit', '0'], { SHIPLOG_RATE_LIMIT: '2' }), 5)).toEqual([200, 200, 200, 200, 200]);
  });

  it('refuses a limit that is not a whole number', async () => {
    for (const [args, env] of [[['--rate-limit', 'many']], [[], { SHIPLOG_RATE_LIMIT: '-1' }]] as [string[], Record<string, string>?][]) {
      const result = await runCli(['serve', '--name', 'dev', '--kind', 'development', '--port', '0', '--database', join(tempDir(), 'x.sqlite'), ...args], env);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain('--rate-limit (or SHIPLOG_RATE_LIMIT) must be a whole number');
      expect(result.stdout).not.toContain('is serving');
    }
  });
});
