import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, killRunning, removeTempDirs, runCli, spawnCli, stop, tempDir, waitForOutput, type Spawned } from '../support/cli.js';

const TOKEN = 'shp_e2e_backup_token_0123456789abcdef';

/** Waits (bounded) until `check` holds. */
async function until(check: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`no ${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('backups from the command line, on a SQLite instance that serves', () => {
  const dir = tempDir();
  const database = join(dir, 'dev.sqlite');
  const backups = join(dir, 'backups');
  let served: Spawned;
  let url: string;

  beforeAll(async () => {
    served = spawnCli(['serve', '--name', 'dev', '--database', database, '--port', '0', '--backup-every', '1s', '--backup-keep', '2', '--backup-dir', backups], {
      SHIPLOG_ADMIN_TOKEN: TOKEN,
    });
    await waitForOutput(served, (out) => /is serving (http:\S+)/.test(out), 'serving line');
    url = /is serving (http:\S+)/.exec(served.output().stdout)![1]!;
  });
  afterAll(async () => {
    await killRunning();
    removeTempDirs();
  });

  it('serve --backup-every writes verified backups on time, keeps the newest and logs each', async () => {
    expect((await api(url, '/v1/config/teams', TOKEN, { method: 'POST', body: JSON.stringify({ name: 'Network' }) })).status).toBe(201);
    const logged = () =>
      served
        .output()
        .stdout.split('\n')
        .filter((line) => line.includes('"event":"backup"'))
        .map((line) => JSON.parse(line) as { outcome: string; file: string; changes: number; removed: string[] });
    await until(() => logged().length >= 3, 'three backups logged');
    const [first, second, third] = logged();
    expect([first, second, third].map((l) => l!.outcome)).toEqual(['success', 'success', 'success']);
    expect(third!.changes).toBeGreaterThan(0);
    // Kept: the newest two; the first was removed when the third was named.
    expect(third!.removed).toEqual([first!.file]);
    expect(existsSync(first!.file)).toBe(false);
    for (const kept of [second!, third!]) expect(kept.file.slice(backups.length + 1)).toMatch(/^dev-\d{8}T\d{9}Z\.sqlite$/);
    expect(readdirSync(backups)).toContain(third!.file.slice(backups.length + 1));
  });

  it('shiplog backup copies the serving instance and verifies the copy; restore-backup refuses the instance in use', async () => {
    const to = join(dir, 'manual.sqlite');
    const made = await runCli(['backup', '--database', database, '--to', to]);
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toMatch(/^Backup written and verified: .*manual\.sqlite \([\d.]+ MiB, sqlite\)\n {2}\d+ changes up to #\d+, \d+ tracked entities as their head change left them/);

    const again = await runCli(['backup', '--database', database, '--to', to]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^shiplog: .*manual\.sqlite exists: a backup never replaces a file/);

    const refused = await runCli(['restore-backup', to, '--database', database, '--replace']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^shiplog: .*dev\.sqlite is in use .*stop it before restoring/);
  });

  it('restore-backup brings an instance back from the file, which then serves the same history', async () => {
    const restored = join(dir, 'restored.sqlite');
    const done = await runCli(['restore-backup', join(dir, 'manual.sqlite'), '--database', restored, '--key-file', `${database}.key`]);
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toMatch(/^Restored .*restored\.sqlite from .*manual\.sqlite\n {2}\d+ changes up to #\d+, verified before restoring/);
    expect(existsSync(restored)).toBe(true);

    await stop(served);
    const second = spawnCli(['serve', '--name', 'dev', '--database', restored, '--port', '0', '--key-file', `${database}.key`, '--quiet']);
    await waitForOutput(second, (out) => /is serving (http:\S+)/.test(out), 'serving line');
    const restoredUrl = /is serving (http:\S+)/.exec(second.output().stdout)![1]!;
    const verify = (await (await api(restoredUrl, '/v1/changes/verify', TOKEN)).json()) as { ok: boolean; checked: number };
    expect(verify.ok).toBe(true);
    expect(verify.checked).toBeGreaterThan(0);
    const teams = (await (await api(restoredUrl, '/v1/config/teams', TOKEN)).json()) as { items: { name: string }[] };
    expect(teams.items.map((t) => t.name)).toContain('Network');
    await stop(second);
  });
});
