import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { exited, killRunning, removeTempDirs, spawnCli, tempDir, waitForOutput, type Spawned } from '../support/cli.js';
import { createTestDatabase, engines, type TestDatabase } from '../support/databases.js';
import { repeated, sendOnce, startWebhookReceiver, type WebhookReceiver } from '../support/load.js';
import { startLiveInstance, type LiveInstance } from '../support/pipeline.js';
import { startLoadBalancer, type LoadBalancer } from '../support/proxy.js';
import { shiplogVersion } from '../../src/version.js';

afterEach(killRunning);
afterAll(removeTempDirs);

const TOKEN = `scale-out-admin-${'t'.repeat(24)}`;
const auth = { authorization: `Bearer ${TOKEN}` };
const WORKERS = 6;
const ROUNDS = 12;
const PUSHES = 4;
const TEAMS_PER_PUSH = 5;

async function serve(args: string[]): Promise<Spawned & { url: string }> {
  const served = spawnCli(['serve', ...args], { SHIPLOG_ADMIN_TOKEN: TOKEN });
  await waitForOutput(served, (stdout) => /is serving http:\/\/\S+/.test(stdout), 'banner', 60_000);
  return { ...served, url: /is serving (http:\/\/\S+)/.exec(served.output().stdout)![1]! };
}

// Several processes on one database need a server that several can write to: PostgreSQL.
describe.runIf(engines.includes('postgres'))('three shiplog serve processes on one PostgreSQL database', () => {
  let database: TestDatabase | undefined;
  let receiver: WebhookReceiver | undefined;
  let balancer: LoadBalancer | undefined;
  let dev: LiveInstance | undefined;
  afterEach(async () => {
    await dev?.close();
    await balancer?.close();
    await receiver?.close();
    await database?.drop();
    database = receiver = balancer = dev = undefined;
  });

  it('behind a load balancer, under writes, pushes and ticket events: nothing lost, no change twice, every webhook delivered once, the chain verifying', async () => {
    database = await createTestDatabase('postgres', { migrate: false });
    const secretKey = randomBytes(32);
    const keyFile = join(tempDir(), 'staging.key');
    writeFileSync(keyFile, `${secretKey.toString('base64')}\n`, { mode: 0o600 });
    const args = ['--name', 'staging', '--kind', 'staging', '--port', '0', '--rate-limit', '0', '--log-level', 'warn', '--database', database.url, '--key-file', keyFile];
    // The first start migrates and creates the administrator; the others find both done.
    const first = await serve(args);
    const processes = [first, ...(await Promise.all([serve(args), serve(args)]))];
    balancer = await startLoadBalancer(processes.map((p) => p.url));
    const url = balancer.url;
    const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
      const res = await sendOnce(url, 'POST', path, { ...auth, ...headers }, body);
      expect(res.status, `${path}: ${res.body}`).toBeLessThan(300);
      return JSON.parse(res.body) as Record<string, unknown> & { entity?: { id: string } };
    };
    const get = async (path: string) => JSON.parse((await sendOnce(url, 'GET', path, auth)).body) as Record<string, unknown>;

    receiver = await startWebhookReceiver(20);
    await post('/v1/config/statuses', { name: 'New', kind: 'ticket', isDefault: true });
    const ticketTypeId = (await post('/v1/config/ticket-types', { name: 'Incident' })).entity!.id;
    await post('/v1/config/webhooks', { name: 'Feed', url: receiver.url, events: ['ticket.created'], signingSecret: 'feed-signing-secret' });
    const customerId = (await post('/v1/customers', { name: 'Acme' })).id as string;

    // Development pushes into the three through the balancer, as into any one instance.
    dev = await startLiveInstance('sqlite', { name: 'dev', kind: 'development', secretKey, version: shiplogVersion });
    const agentId = ((await get('/v1/instance')).you as { agentId: string }).agentId;
    const application = await post('/v1/applications', { name: 'Sync from dev', agentId, permissions: ['config:read', 'config:push'] });
    const linked = await dev.call('POST', '/v1/instances', { name: 'staging', url, clientId: (application.application as { clientId: string }).clientId, clientSecret: application.clientSecret });
    expect(linked.status, JSON.stringify(linked.body)).toBe(201);

    const written: string[] = [];
    const tickets: string[] = [];
    const worker = async (w: number) => {
      for (let n = 0; n < ROUNDS; n += 1) {
        await post('/v1/config/teams', { name: `Team w${w}-${n}` });
        written.push(`Team w${w}-${n}`);
        await post('/v1/tickets', { customerId, ticketTypeId, summary: `Ticket w${w}-${n}` });
        tickets.push(`w${w}-${n}`);
      }
    };
    const pushed: string[] = [];
    const pusher = async () => {
      for (let p = 0; p < PUSHES; p += 1) {
        for (let t = 0; t < TEAMS_PER_PUSH; t += 1) {
          const made = await dev!.call('POST', '/v1/config/teams', { name: `Pushed ${p}-${t}` }, { 'x-change-set': `push-${p}` });
          expect(made.status).toBe(201);
        }
        const made = await dev!.call('GET', `/v1/changes?changeSet=push-${p}`);
        pushed.push(...(made.body.items as { id: string }[]).map((c) => c.id));
        const push = await dev!.call('POST', '/v1/instances/staging/push', { changeSet: `push-${p}` });
        expect(push.status, JSON.stringify(push.body)).toBe(200);
        expect(push.body.counts.toApply).toBe(TEAMS_PER_PUSH);
      }
    };
    await Promise.all([...Array.from({ length: WORKERS }, (_, w) => worker(w)), pusher()]);
    // Every process answered part of the load.
    for (const p of processes) expect(balancer.sent.get(p.url)).toBeGreaterThan(10);

    // Nothing lost, nothing twice: every team once, every pushed change here, the log's sequence without gap or repeat.
    const names: string[] = [];
    for (let cursor: string | null = ''; cursor !== null; ) {
      const page = (await get(`/v1/config/teams?limit=200${cursor ? `&cursor=${cursor}` : ''}`)) as { items: { name: string }[]; nextCursor: string | null };
      names.push(...page.items.map((t) => t.name));
      cursor = page.nextCursor;
    }
    expect(repeated(names)).toEqual([]);
    expect(names.filter((n) => n.startsWith('Team w')).sort()).toEqual([...written].sort());
    expect(names.filter((n) => n.startsWith('Pushed ')).length).toBe(PUSHES * TEAMS_PER_PUSH);
    expect(pushed).toHaveLength(PUSHES * TEAMS_PER_PUSH);
    for (const id of pushed) expect((await sendOnce(url, 'GET', `/v1/changes/${id}`, auth)).status).toBe(200);
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ n: string; ids: string; top: string; seqs: string }>('select count(*) as n, count(distinct id) as ids, max(seq) as top, count(distinct seq) as seqs from changes');
      expect(Number(rows[0]!.ids)).toBe(Number(rows[0]!.n));
      expect(Number(rows[0]!.seqs)).toBe(Number(rows[0]!.n));
      expect(Number(rows[0]!.top)).toBe(Number(rows[0]!.n));
    } finally {
      await client.end();
    }
    expect((await get('/v1/changes/verify')).ok).toBe(true);

    // Every ticket's webhook delivered once, whichever process claimed it.
    for (let i = 0; i < 400 && receiver.deliveries.length < tickets.length; i += 1) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 500));
    expect(repeated(receiver.deliveries)).toEqual([]);
    expect(receiver.deliveries).toHaveLength(tickets.length);

    for (const p of processes) p.child.kill('SIGTERM');
    for (const p of processes) expect(await exited(p.child, 30_000)).toBe(0);
  });
});
