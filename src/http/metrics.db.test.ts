import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../../test/support/databases.js';
import { createTestApp, type TestApp } from '../../test/support/instance.js';
import { createMetrics, type Metrics } from './metrics.js';
import { startMetricsServer, type MetricsServer } from './metrics-server.js';

/** The value of one series in a scrape, or undefined when it is absent. */
function valueOf(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe.each(engines)('metrics on %s', (engine) => {
  const token = 'scrape-token-0123456789abcdef';
  let metrics: Metrics;
  let dev: TestApp;
  let staging: TestApp;
  let server: MetricsServer;
  const scrape = async () => {
    const res = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    return res.text();
  };
  const post = (t: TestApp, url: string, payload: unknown, headers: Record<string, string> = t.auth) => t.app.inject({ method: 'POST', url, headers, payload: payload as object });

  beforeAll(async () => {
    metrics = createMetrics();
    dev = await createTestApp(engine, { name: 'dev' });
    staging = await createTestApp(engine, { name: 'staging', kind: 'staging', observer: metrics.observer, metrics });
    server = await startMetricsServer(metrics, { host: '127.0.0.1', port: 0, token });
  });
  afterAll(async () => {
    await server?.close();
    await staging?.close();
    await dev?.close();
  });

  it('answers a scrape only with the token, in the Prometheus text format, and nothing but /metrics', async () => {
    expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${token}x` } })).status).toBe(401);
    expect((await fetch(`${server.url}/other`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(404);
    const res = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text).toContain('# TYPE shiplog_http_requests_total counter');
    expect(valueOf(text, 'shiplog_info{instance="staging",kind="staging",version="0.0.0-test"}')).toBe(1);
    expect(valueOf(text, 'shiplog_database_up')).toBe(1);
  });

  it('counts requests by route pattern and status, never by the URL asked', async () => {
    const created = await post(staging, '/v1/config/teams', { name: 'Network' });
    expect(created.statusCode).toBe(201);
    await fc.assert(
      // A prefix no metric's name or help text holds, so that finding the id means the URL leaked into a label.
      fc.asyncProperty(fc.stringMatching(/^[A-Za-z0-9]{6,20}$/).map((s) => `zq${s}`), async (id) => {
        const res = await staging.app.inject({ method: 'GET', url: `/v1/config/teams/${id}?probe=${id}`, headers: staging.auth });
        expect(res.statusCode).toBe(404);
        expect(await scrape()).not.toContain(id);
      }),
      { numRuns: 15 },
    );
    const text = await scrape();
    expect(valueOf(text, 'shiplog_http_requests_total{method="POST",route="/v1/config/:type",status="201"}')).toBe(1);
    expect(valueOf(text, 'shiplog_http_requests_total{method="GET",route="/v1/config/:type/:id",status="404"}')).toBe(15);
    expect(valueOf(text, 'shiplog_http_request_duration_seconds_count{method="POST",route="/v1/config/:type",status="201"}')).toBe(1);
    await staging.app.inject({ method: 'GET', url: '/no/such/route/abc123' });
    expect(await scrape()).toContain('route="(unmatched)",status="404"');
    expect(await scrape()).not.toContain('abc123');
  });

  it('counts refused bearer tokens, sign-ins and token requests by reason', async () => {
    expect((await staging.app.inject({ method: 'GET', url: '/v1/instance', headers: { authorization: 'Bearer shp_not_a_token' } })).statusCode).toBe(401);
    expect((await post(staging, '/v1/session', { email: 'admin@shiplog.local', password: 'not the password at all' }, {})).statusCode).toBe(401);
    const token = await staging.app.inject({
      method: 'POST',
      url: '/auth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'grant_type=client_credentials&client_id=nobody&client_secret=nothing-at-all',
    });
    expect(token.statusCode).toBe(401);
    const text = await scrape();
    expect(valueOf(text, 'shiplog_auth_refusals_total{kind="bearer-token",reason="not-valid"}')).toBe(1);
    expect(text).toMatch(/shiplog_auth_refusals_total\{kind="sign-in",reason="[a-z-]+"\} 1/);
    expect(text).toMatch(/shiplog_auth_refusals_total\{kind="token-request",reason="[a-z-]+"\} 1/);
  });

  it('counts imports and rollbacks with their outcome and size, and reads the change log’s length', async () => {
    for (const name of ['Alpha', 'Beta', 'Gamma']) expect((await post(dev, '/v1/config/teams', { name })).statusCode).toBe(201);
    const teams = (await dev.app.inject({ method: 'GET', url: '/v1/changes?type=teams', headers: dev.auth })).json() as { items: { id: string }[] };
    const document = await post(dev, '/v1/changes/export', { changeIds: teams.items.map((c) => c.id) });
    expect(document.statusCode).toBe(200);
    expect((await post(staging, '/v1/changes/import', document.json())).statusCode).toBe(200);
    // The same document again: every change is already present, so a success that applied none.
    expect((await post(staging, '/v1/changes/import', document.json())).statusCode).toBe(200);
    const imported = document.json() as { changes: { id: string }[] };
    const first = imported.changes[0]!.id;
    const rollback = await post(staging, `/v1/changes/${first}/rollback-before`, {});
    expect(rollback.statusCode).toBe(200);
    const reverted = (rollback.json() as { counts: { changes: number } }).counts.changes;
    expect(reverted).toBeGreaterThan(0);
    expect((await post(staging, '/v1/changes/01NOSUCHCHANGE0000000000000/rollback-before', {})).statusCode).toBe(404);

    const text = await scrape();
    expect(valueOf(text, 'shiplog_operations_total{operation="import",outcome="success"}')).toBe(2);
    expect(valueOf(text, 'shiplog_operations_total{operation="import-received",outcome="success"}')).toBe(2);
    expect(valueOf(text, 'shiplog_operation_changes_sum{operation="import"}')).toBe(imported.changes.length);
    expect(valueOf(text, 'shiplog_operation_changes_bucket{le="0",operation="import"}')).toBe(1);
    expect(valueOf(text, 'shiplog_operations_total{operation="rollback",outcome="success"}')).toBe(1);
    expect(valueOf(text, 'shiplog_operations_total{operation="rollback",outcome="failure"}')).toBe(1);
    expect(valueOf(text, 'shiplog_operation_changes_sum{operation="rollback"}')).toBe(reverted);
    const head = (await staging.services.backlog()).changeLogLength;
    expect(head).toBeGreaterThan(imported.changes.length);
    expect(valueOf(text, 'shiplog_change_log_length')).toBe(head);
  });

  it('shows the outbox’s depth and counts delivery attempts', async () => {
    const now = Date.now();
    const delivery = {
      id: '01OUTBOXPROBE0000000000000',
      kind: 'webhook' as const,
      progress: 0,
      webhookId: '01NOSUCHWEBHOOK00000000000',
      webhookName: 'gone',
      event: 'ticket.created',
      subjectId: '01NOSUCHTICKET000000000000',
      payload: '{}',
      status: 'pending' as const,
      attempts: 0,
      maxAttempts: 3,
      nextAt: now,
      leaseUntil: null,
      responseStatus: null,
      lastError: null,
      createdAt: now,
      updatedAt: now,
    };
    await staging.db.write((stores) => stores.deliveries.insertMany([delivery, { ...delivery, id: '01OUTBOXPROBE0000000000001', nextAt: now + 3_600_000 }]));
    let text = await scrape();
    expect(valueOf(text, 'shiplog_outbox_deliveries{status="pending"}')).toBe(2);
    expect(valueOf(text, 'shiplog_outbox_deliveries{status="failed"}')).toBe(0);
    // The webhook it names does not exist: the due delivery fails at once; the other waits.
    expect(await staging.services.webhooks.runOnce()).toBe(1);
    text = await scrape();
    expect(valueOf(text, 'shiplog_outbox_deliveries{status="pending"}')).toBe(1);
    expect(valueOf(text, 'shiplog_outbox_deliveries{status="failed"}')).toBe(1);
    expect(valueOf(text, 'shiplog_outbox_attempts_total{kind="webhook",outcome="failed"}')).toBe(1);
  });
});
