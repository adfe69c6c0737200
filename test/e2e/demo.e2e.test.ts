import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { api, freePortRun, killRunning, removeTempDirs, spawnCli, stop, tempDir, waitForOutput } from '../support/cli.js';
import { createTestDatabase, engines, type TestDatabase } from '../support/databases.js';
import type { Answer } from '../support/pipeline.js';

afterEach(killRunning);
afterAll(removeTempDirs);

const stageNames = ['dev', 'staging', 'production'] as const;

/** Starts `shiplog demo` as `npm start` does and waits (bounded) for its whole banner. */
async function startDemo(args: string[]) {
  const demo = spawnCli(['demo', ...args]);
  await waitForOutput(demo, (stdout) => /shiplog push staging\n/.test(stdout), 'demo banner');
  const stdout = demo.output().stdout;
  const urls = Object.fromEntries(stageNames.map((name) => [name, new RegExp(`^${name} \\(\\S+\\) is serving (http://\\S+)$`, 'm').exec(stdout)?.[1]]));
  const tokens = [...stdout.matchAll(/API token \(shown once, keep it safe\): (shp_\S+)/g)].map((m) => m[1]!);
  return { demo, stdout, urls: urls as Record<(typeof stageNames)[number], string>, tokens };
}

async function json(url: string, path: string, token: string): Promise<{ status: number; body: Answer }> {
  const response = await api(url, path, token);
  return { status: response.status, body: await response.json() };
}

describe.each(engines)('npm start: the demo pipeline on %s', (engine) => {
  const databases: TestDatabase[] = [];
  afterEach(async () => {
    await Promise.all(databases.splice(0).map((d) => d.drop()));
  });

  async function databaseArgs(): Promise<string[]> {
    if (engine === 'sqlite') return [];
    const prefix = `shiplog_t_${randomBytes(5).toString('hex')}`;
    for (const name of stageNames) databases.push(await createTestDatabase(engine, { migrate: false, name: `${prefix}_${name}` }));
    return ['--database', databases[0]!.url.replace(/_dev$/, '_{name}')];
  }

  it('brings up dev, staging and production linked and in sync but for one change on dev; a restart re-creates nothing', async () => {
    const dir = tempDir();
    const base = await freePortRun(3);
    const args = ['--dir', dir, '--base-port', String(base), ...(await databaseArgs())];
    const first = await startDemo(args);
    expect(first.urls).toEqual({ dev: `http://127.0.0.1:${base}`, staging: `http://127.0.0.1:${base + 1}`, production: `http://127.0.0.1:${base + 2}` });
    expect(first.tokens).toHaveLength(3);
    // The console URLs come first, one per instance.
    expect(first.stdout.indexOf('Open the console')).toBeLessThan(first.stdout.indexOf('is serving'));
    for (const name of stageNames) expect(first.stdout).toMatch(new RegExp(`^  ${name} \\(\\w+\\)\\s+${first.urls[name]}/$`, 'm'));
    const page = await fetch(`${first.urls.dev}/changes`, { headers: { accept: 'text/html' } });
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(await page.text()).toContain('<div id="root">');
    expect(first.stdout.match(/Console password \(shown once\): \S+/g)).toHaveLength(3);
    expect(first.stdout).toContain('staging is not in sync with dev: 1 change behind dev.');
    expect(first.stdout).toContain('production is in sync with staging.');
    const token = { dev: first.tokens[0]!, staging: first.tokens[1]!, production: first.tokens[2]! };

    const kinds = { dev: 'development', staging: 'staging', production: 'production' };
    for (const name of stageNames) {
      const me = await json(first.urls[name], '/v1/instance', token[name]);
      expect(me).toMatchObject({ status: 200, body: { name, kind: kinds[name], you: { isAdministrator: true } } });
    }
    const fromStaging = await json(first.urls.staging, '/v1/instances/dev/status?list=true', token.staging);
    expect(fromStaging.body).toMatchObject({ reachable: true, relation: 'source', behind: 1, ahead: 0, inSync: false });
    expect(fromStaging.body.behindChanges).toMatchObject([{ type: 'teams', entityName: 'Problem Management', changeSet: 'next' }]);
    expect((await json(first.urls.production, '/v1/instances/staging/status', token.production)).body).toMatchObject({ relation: 'source', behind: 0, ahead: 0, inSync: true });
    const linked = await json(first.urls.dev, '/v1/instances', token.dev);
    expect(linked.body.items.map((i: Answer) => [i.name, i.relation, i.ahead])).toEqual([
      ['production', 'none', 1],
      ['staging', 'downstream', 1],
    ]);
    const rules = await json(first.urls.production, '/v1/config/ticket-rules', token.production);
    expect(rules.body.items.map((r: Answer) => r.name)).toEqual(['VPN incidents go to Network']);
    const devChanges = await json(first.urls.dev, '/v1/changes?limit=200', token.dev);
    const stagingApplications = await json(first.urls.staging, '/v1/applications', token.staging);
    expect(stagingApplications.body.items.map((a: Answer) => a.name).sort()).toEqual(['Sync from dev', 'Sync from production']);
    expect(await stop(first.demo)).toBe(0);

    const second = await startDemo(args);
    expect(second.urls).toEqual(first.urls);
    expect(second.stdout).not.toMatch(/shp_|Console password/);
    expect(second.stdout.match(/credentials were shown at first start\. New token: npx shiplog admin-token --database \S+/g)).toHaveLength(3);
    expect(second.stdout).toContain('staging is not in sync with dev: 1 change behind dev.');
    expect((await json(second.urls.dev, '/v1/changes?limit=200', token.dev)).body.items).toEqual(devChanges.body.items);
    expect((await json(second.urls.staging, '/v1/applications', token.staging)).body.items).toEqual(stagingApplications.body.items);
    expect((await json(second.urls.production, '/v1/instances/staging/status', token.production)).body).toMatchObject({ inSync: true });
    expect(await stop(second.demo)).toBe(0);
  });
});
