import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs, runCli, tempDir } from '../support/cli.js';
import { engines } from '../support/databases.js';
import { applicationFor, startLiveInstance, startPipeline, type LiveInstance, type Pipeline } from '../support/pipeline.js';

afterAll(removeTempDirs);

/** Runs `shiplog …` against `on`'s API as its administrator, from the environment as a user would. */
function shiplog(on: LiveInstance, ...args: string[]) {
  return runCli(args, { SHIPLOG_URL: on.url, SHIPLOG_TOKEN: on.token });
}

/** The same, showing progress on standard error as a terminal would (one line per step off a terminal). */
function shiplogWithProgress(on: LiveInstance, ...args: string[]) {
  return runCli(args, { SHIPLOG_URL: on.url, SHIPLOG_TOKEN: on.token, SHIPLOG_PROGRESS: 'always' });
}

async function create(on: LiveInstance, type: string, body: Record<string, unknown>, changeSet?: string): Promise<{ id: string; changeId: string }> {
  const answer = await on.call('POST', `/v1/config/${type}`, body, changeSet ? { 'x-change-set': changeSet } : {});
  if (answer.status !== 201) throw new Error(`create ${type}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return { id: answer.body.entity.id, changeId: answer.body.changeId };
}

describe.each(engines)('shiplog sync commands against live instances on %s', (engine) => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline(engine);
  }, 60_000);
  afterAll(async () => p?.close());

  it('lists instances, shows status, plans and pushes along the pipeline, and refuses a push past a stage', async () => {
    const before = new Date(Date.now() - 60_000).toISOString();
    const network = await create(p.dev, 'teams', { name: 'Network' }, 'team-a');
    const apps = await create(p.dev, 'teams', { name: 'Applications' }, 'team-b');

    const instances = await shiplog(p.dev, 'instances');
    expect(instances.code, instances.stderr).toBe(0);
    expect(instances.stdout).toMatch(/^NAME\s+KIND\s+VERSION\s+RELATION\s+URL\s+BEHIND\s+AHEAD\s+IN SYNC$/m);
    // From staging's side, as the demo's banner says it: staging is 2 changes behind dev.
    expect(instances.stdout).toMatch(new RegExp(`^staging\\s+staging\\s+\\S+\\s+downstream\\s+${p.staging.url}\\s+2\\s+0\\s+no — 2 changes ahead of staging\\.$`, 'm'));
    const fromStaging = await shiplog(p.staging, 'instances');
    expect(fromStaging.stdout).toMatch(new RegExp(`^dev\\s+development\\s+\\S+\\s+source\\s+${p.dev.url}\\s+0\\s+2\\s+no — 2 changes behind dev\\.$`, 'm'));

    const status = await shiplog(p.dev, 'status', 'staging');
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain('Behind:    2 (staging lacks them, this instance has them)');
    expect(status.stdout).toContain('Ahead:     0 (staging has them, this instance lacks them)');
    expect(status.stdout).toContain('staging is behind by (this instance has them):');
    expect(status.stdout).toMatch(new RegExp(`^${network.changeId}\\s.*\\steams\\s+Network\\s+create\\s+team-a$`, 'm'));

    const held = await shiplog(p.dev, 'push', 'staging', '--cutoff', before, '--dry-run');
    expect(held.code, held.stderr).toBe(0);
    expect(held.stdout).toContain('No changes to send.');
    expect(held.stdout).toContain('Held back by the cut-off: 2 changes.');

    const teamB = await shiplog(p.dev, 'push', 'staging', '--change-set', 'team-b', '--dry-run');
    expect(teamB.code, teamB.stderr).toBe(0);
    expect(teamB.stdout).toContain('Push dev → staging — dry run, nothing written');
    expect(teamB.stdout).toMatch(new RegExp(`^1\\s+apply\\s+teams\\s+Applications\\s+create\\s+team-b\\s+${apps.changeId}$`, 'm'));
    expect(teamB.stdout).not.toContain('Network');
    expect(teamB.stdout).toContain('The real run would apply 1 change to staging.');
    expect((await p.staging.call('GET', `/v1/config/teams/${apps.id}`)).status).toBe(404);

    const pushed = await shiplogWithProgress(p.dev, 'push', 'staging');
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(pushed.stdout).toContain('Applied 2 changes to staging.');
    expect(pushed.stderr).toMatch(/^Pushing to staging…\n(Pushing to staging… \d+\.\d s\n)*Pushing to staging: done in \d+\.\d s\n$/);
    expect((await p.staging.call('GET', `/v1/config/teams/${apps.id}`)).status).toBe(200);

    const pastStage = await shiplog(p.dev, 'push', 'production');
    expect(pastStage.code).toBe(2);
    expect(pastStage.stdout).toContain('✗ not-a-pipeline-edge');
    expect(pastStage.stdout).toContain('Refused: nothing was written.');
    expect(pastStage.stderr).toContain('shiplog: refused — NOT_A_PIPELINE_EDGE: Nothing was written.');

    const pulled = await shiplog(p.production, 'pull', 'staging', '--json');
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(JSON.parse(pulled.stdout)).toMatchObject({ operation: 'pull', applied: true, counts: { toApply: 2 } });
    const inSync = await shiplog(p.production, 'status', 'staging', '--counts-only');
    expect(inSync.stdout).toContain('In sync:   yes');
  });

  it('shows a direct production change as a conflict with both versions, and a cherry-pick without its dependency as missing', async () => {
    const team = await create(p.dev, 'teams', { name: 'Service Desk' });
    expect((await shiplog(p.dev, 'push', 'staging')).code).toBe(0);
    expect((await shiplog(p.staging, 'push', 'production')).code).toBe(0);
    expect((await p.production.call('PUT', `/v1/config/teams/${team.id}`, { name: 'Service Desk', description: 'hotfix in production' })).status).toBe(200);
    expect((await p.dev.call('PUT', `/v1/config/teams/${team.id}`, { name: 'Service Desk', description: 'planned in dev' })).status).toBe(200);
    const unrelated = await create(p.dev, 'teams', { name: 'Unrelated' });
    expect((await shiplog(p.dev, 'push', 'staging')).code).toBe(0);

    const conflict = await shiplog(p.staging, 'push', 'production');
    expect(conflict.code).toBe(2);
    // Nothing of a refused plan is applied, and no row says so: the change without a problem of its own is held.
    expect(conflict.stdout).not.toMatch(/^\d+\s+apply\s/m);
    expect(conflict.stdout).toMatch(new RegExp(`^\\d+\\s+held\\s+teams\\s+Unrelated\\s+create\\s+${unrelated.changeId}$`, 'm'));
    expect(conflict.stdout).toContain('held: would apply once every problem below is resolved');
    expect(conflict.stdout).toMatch(/Entities: \d+ · held: 1 · /);
    expect(conflict.stdout).toMatch(/✗ conflict teams "Service Desk"/);
    expect(conflict.stdout).toMatch(/here: +head \S+ +\{.*"description":"hotfix in production"/);
    expect(conflict.stdout).toMatch(/incoming: after \S+ +\{.*"description":"planned in dev"/);
    expect(conflict.stderr).toContain('SYNC_CONFLICT');

    const status = await create(p.dev, 'statuses', { name: 'Waiting', kind: 'ticket' }, 'picked');
    const type = await create(p.dev, 'ticket-types', { name: 'Request', defaultStatusId: status.id }, 'picked');
    const bare = await shiplog(p.dev, 'push', 'staging', '--change', type.changeId, '--no-dependencies', '--dry-run');
    expect(bare.code).toBe(2);
    expect(bare.stdout).toContain('✗ missing-dependency');
    expect(bare.stdout).toContain(`missing: ${status.changeId}`);
    expect(bare.stdout).toContain('The real run would be refused: nothing would be written.');
    const closure = await shiplog(p.dev, 'push', 'staging', '--change', type.changeId);
    expect(closure.code, closure.stdout).toBe(0);
    expect(closure.stdout).toMatch(new RegExp(`^1\\s+apply\\s+statuses\\s+Waiting\\s+create\\s+picked\\s+${status.changeId}\\s+added: requires of ${type.changeId}$`, 'm'));
    expect(closure.stdout).toContain('Applied 2 changes to staging.');
  });

  it('exports to a file, imports it with a plan, refuses a tampered one, and restores from production only when confirmed', async () => {
    const dir = tempDir();
    const team = await create(p.dev, 'teams', { name: 'Exported' }, 'export-me');
    const exported = await shiplogWithProgress(p.dev, 'export', '--change-set', 'export-me');
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stderr).toMatch(/^Exporting \[#{24}\] 100% ([\d,]+)\/\1 bytes$/m);
    expect(exported.stderr).toMatch(/Exported 1 change\(s\) from dev \(shiplog\.changes v2, hmac:[0-9a-f]{12}:[0-9a-f]{64}\)/);
    const file = join(dir, 'changes.json');
    writeFileSync(file, exported.stdout);

    const plan = await shiplogWithProgress(p.staging, 'import', file, '--dry-run');
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stderr).toContain(`Planning the import of ${file}: done in`);
    expect(plan.stdout).toContain('Import dev → staging — dry run, nothing written');
    expect(plan.stdout).toContain('The real run would apply 1 change to staging.');
    const imported = await shiplog(p.staging, 'import', file);
    expect(imported.code, imported.stderr).toBe(0);
    expect((await p.staging.call('GET', `/v1/config/teams/${team.id}`)).body).toMatchObject({ name: 'Exported' });
    const again = await shiplog(p.staging, 'import', file);
    expect(again.stdout).toContain('Applied 0 changes to staging (1 already there).');
    const tampered = join(dir, 'tampered.json');
    writeFileSync(tampered, readFileSync(file, 'utf8').replace('"Exported"', '"Altered"'));
    const refused = await shiplog(p.staging, 'import', tampered);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('IMPORT_INVALID: The document does not match its checksum');

    const unconfirmed = await shiplog(p.staging, 'restore', 'production');
    expect(unconfirmed.code).toBe(2);
    const fingerprint = /^Plan fingerprint: (\S+)$/m.exec(unconfirmed.stdout)?.[1];
    expect(unconfirmed.stdout).toContain(`Not restored. To restore exactly this plan, confirm it: --confirm --fingerprint ${fingerprint}`);
    expect(unconfirmed.stdout).toMatch(/^staging$/m);
    expect(unconfirmed.stdout).toMatch(new RegExp(`^  \\S+\\s.*\\steams\\s+Exported\\s+create\\s+export-me$`, 'm'));
    expect(unconfirmed.stderr).toContain('RESTORE_NOT_CONFIRMED');
    expect((await p.staging.call('GET', `/v1/config/teams/${team.id}`)).status).toBe(200);
    // A change made after the plan was shown: that plan is refused, nothing written.
    const later = await create(p.staging, 'departments', { name: 'Made after the plan' });
    const stale = await shiplog(p.staging, 'restore', 'production', '--confirm', '--fingerprint', fingerprint!);
    expect(stale.code).toBe(2);
    expect(stale.stderr).toContain('RESTORE_PLAN_CHANGED: Nothing was written: staging changed since the plan was made');
    expect(stale.stdout).toContain(later.changeId);
    expect((await p.staging.call('GET', `/v1/config/departments/${later.id}`)).status).toBe(200);
    const restored = await shiplog(p.staging, 'restore', 'production', '--confirm');
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toContain('Restored: staging now match production.');
    expect((await p.staging.call('GET', `/v1/config/teams/${team.id}`)).status).toBe(404);
    expect((await shiplog(p.staging, 'status', 'production', '--counts-only')).stdout).toContain('In sync:   yes');
  });

  it('links an instance from a credentials file, shows, changes, diffs and unlinks it', async () => {
    const sandbox = await startLiveInstance(engine, { name: 'sandbox', kind: 'sandbox' });
    try {
      const credentials = await applicationFor(sandbox, 'dev');
      const file = join(tempDir(), 'sandbox-link.json');
      writeFileSync(file, JSON.stringify({ name: 'sandbox', url: sandbox.url, ...credentials }));
      const linked = await shiplog(p.dev, 'instances', 'link', file);
      expect(linked.code, linked.stderr).toBe(0);
      expect(linked.stdout).not.toContain(credentials.clientSecret);
      const shown = JSON.parse((await shiplog(p.dev, 'instances', 'show', 'sandbox')).stdout) as Record<string, unknown>;
      expect(shown).toMatchObject({ name: 'sandbox', url: sandbox.url, clientId: credentials.clientId, isSource: false });
      expect(JSON.stringify(shown)).not.toContain(credentials.clientSecret);

      // Linked one way, with its own secret key: listed, and not in sync for a reason it names.
      const listed = await shiplog(p.dev, 'instances');
      expect(listed.stdout).toMatch(new RegExp(`^sandbox\\s+sandbox\\s+\\S+\\s+none\\s+${sandbox.url}\\s+\\d+\\s+\\d+\\s+no — sandbox holds none of this instance's secret keys`, 'm'));
      const updated = await shiplog(p.dev, 'instances', 'update', 'sandbox', '--data', JSON.stringify({ url: `${sandbox.url}/` }));
      expect(updated.code, updated.stderr).toBe(0);
      const diff = await shiplog(p.dev, 'instances', 'diff', 'sandbox');
      expect(diff.code, diff.stderr).toBe(0);
      expect(JSON.parse(diff.stdout)).toBeTypeOf('object');

      const unlinked = await shiplog(p.dev, 'instances', 'unlink', 'sandbox');
      expect(unlinked.code, unlinked.stderr).toBe(0);
      const gone = await shiplog(p.dev, 'instances', 'show', 'sandbox');
      expect(gone.code).toBe(1);
      expect(gone.stderr).toContain('PEER_NOT_FOUND');
    } finally {
      await sandbox.close();
    }
  });

  it('says what is wrong with the call itself and exits 1', async () => {
    const unknown = await shiplog(p.dev, 'status', 'nowhere');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('PEER_NOT_FOUND: No linked instance is named "nowhere".');
    const noToken = await runCli(['instances'], { SHIPLOG_URL: p.dev.url });
    expect(noToken.code).toBe(1);
    expect(noToken.stderr).toContain('give an API token with --token or SHIPLOG_TOKEN');
    const badToken = await runCli(['instances', '--url', p.dev.url, '--token', 'shp_not-a-real-token-at-all']);
    expect(badToken.code).toBe(1);
    expect(badToken.stderr).toContain('UNAUTHENTICATED');
    const unknownOption = await shiplog(p.dev, 'push', 'staging', '--dry-rn');
    expect(unknownOption.code).toBe(1);
    expect(unknownOption.stderr).toBe("shiplog: unknown option '--dry-rn' (Did you mean --dry-run?) (shiplog push --help shows how to call it)\n");
    const missing = await shiplog(p.dev, 'restore');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe("shiplog: missing required argument 'PRODUCTION' (shiplog restore --help shows how to call it)\n");
  });
});
