import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { exited, freePortRun, killRunning, removeTempDirs, spawnCli, tempDir, waitForOutput, type Spawned } from '../support/cli.js';
import { createTestDatabase, engines, type TestDatabase } from '../support/databases.js';
import { repeated, sendOnce, sendRetryingUnreached, startWebhookReceiver, type Answered, type WebhookReceiver } from '../support/load.js';

afterEach(killRunning);
afterAll(removeTempDirs);

const TOKEN = `stop-under-load-${'t'.repeat(24)}`;
const auth = { authorization: `Bearer ${TOKEN}` };
const WORKERS = 6;
const REQUESTS_PER_WORKER = 24;

async function serve(args: string[]): Promise<Spawned> {
  const served = spawnCli(['serve', ...args], { SHIPLOG_ADMIN_TOKEN: TOKEN });
  await waitForOutput(served, (stdout) => /is serving http:\/\/\S+/.test(stdout), 'banner', 60_000);
  return served;
}

/** Every team name on the instance, page by page. */
async function teamNames(url: string): Promise<string[]> {
  const names: string[] = [];
  for (let cursor: string | null = ''; cursor !== null; ) {
    const page = JSON.parse((await sendOnce(url, 'GET', `/v1/config/teams?limit=200${cursor ? `&cursor=${cursor}` : ''}`, auth)).body) as { items: { name: string }[]; nextCursor: string | null };
    names.push(...page.items.map((t) => t.name));
    cursor = page.nextCursor;
  }
  return names;
}

describe.each(engines)('stopping shiplog serve under load on %s', (engine) => {
  let database: TestDatabase | undefined;
  let receiver: WebhookReceiver | undefined;
  afterEach(async () => {
    await receiver?.close();
    await database?.drop();
    database = receiver = undefined;
  });

  it('finishes the requests in flight and the deliveries under way, answers no 5xx, exits 0; a request that did not reach it, retried after a restart, is done once', async () => {
    const dir = tempDir();
    const port = await freePortRun(1);
    const url = `http://127.0.0.1:${port}`;
    if (engine === 'postgres') database = await createTestDatabase(engine, { migrate: false });
    const dbArgs = database ? ['--database', database.url, '--key-file', join(dir, 'dev.key')] : ['--database', join(dir, 'dev.sqlite')];
    const args = ['--name', 'dev', '--kind', 'development', '--port', String(port), '--rate-limit', '0', '--log-level', 'warn', '--stop-timeout', '20', ...dbArgs];
    let server = await serve(args);

    // Every ticket sets off a webhook delivery the receiver takes 150 ms to answer: some are always under way.
    receiver = await startWebhookReceiver(150);
    const setup = async (path: string, body: unknown) => {
      const res = await sendOnce(url, 'POST', path, auth, body);
      expect(res.status, res.body).toBe(201);
      return JSON.parse(res.body) as { entity?: { id: string }; id?: string };
    };
    await setup('/v1/config/statuses', { name: 'New', kind: 'ticket', isDefault: true });
    const ticketTypeId = (await setup('/v1/config/ticket-types', { name: 'Incident' })).entity!.id;
    await setup('/v1/config/webhooks', { name: 'Feed', url: receiver.url, events: ['ticket.created'], signingSecret: 'feed-signing-secret' });
    const customerId = (await setup('/v1/customers', { name: 'Acme' })).id!;

    const answers: (Answered & { what: string })[] = [];
    let stopSent = false;
    const worker = async (w: number) => {
      for (let n = 0; n < REQUESTS_PER_WORKER; n += 1) {
        const what = `w${w}-${n}`;
        const answer =
          n % 2 === 0
            ? await sendRetryingUnreached(url, 'POST', '/v1/config/teams', auth, { name: `Team ${what}` })
            : await sendRetryingUnreached(url, 'POST', '/v1/tickets', auth, { customerId, ticketTypeId, summary: `Ticket ${what}` });
        answers.push({ ...answer, what });
      }
    };
    // Settled into a value at once, so that a failure before it is awaited is not an unhandled rejection.
    const load = Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w))).then(
      () => null,
      (error: unknown) => error,
    );

    // Stop once the load is well under way; start a new process as soon as the old one has exited.
    while (answers.length < WORKERS * 4) await new Promise((r) => setTimeout(r, 20));
    const answeredBeforeStop = answers.length;
    server.child.kill('SIGTERM');
    stopSent = true;
    expect(await exited(server.child, 30_000)).toBe(0);
    const inFlightAtStop = answers.length - answeredBeforeStop;
    server = await serve(args);
    const failure = await load;
    if (failure) throw failure;

    expect(stopSent).toBe(true);
    expect(answers).toHaveLength(WORKERS * REQUESTS_PER_WORKER);
    const notCreated = answers.filter((a) => a.status !== 201);
    expect(notCreated.map((a) => `${a.what}: ${a.status} ${a.body.slice(0, 200)}`)).toEqual([]);
    // The stop was under load: requests were answered while it began, and some were refused (or reset unread) and retried.
    expect(inFlightAtStop).toBeGreaterThan(0);
    expect(answers.filter((a) => a.refused + a.reset > 0).length).toBeGreaterThan(0);

    const names = await teamNames(url);
    const expected = answers.filter((a) => Number(a.what.split('-')[1]) % 2 === 0).map((a) => `Team ${a.what}`);
    expect(repeated(names)).toEqual([]);
    expect(names.filter((n) => n.startsWith('Team w')).sort()).toEqual(expected.sort());
    const verify = JSON.parse((await sendOnce(url, 'GET', '/v1/changes/verify', auth)).body) as { ok: boolean };
    expect(verify.ok).toBe(true);

    // Every ticket's delivery arrives once: those under way at the stop were finished, not left to be sent again.
    const tickets = answers.length / 2;
    for (let i = 0; i < 400 && receiver.deliveries.length < tickets; i += 1) await new Promise((r) => setTimeout(r, 50));
    expect(repeated(receiver.deliveries)).toEqual([]);
    expect(receiver.deliveries).toHaveLength(tickets);

    server.child.kill('SIGTERM');
    expect(await exited(server.child, 30_000)).toBe(0);
  });
});
