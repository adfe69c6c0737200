import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { openSecret } from '../../src/tracking/secrets.js';
import { engines } from '../support/databases.js';
import {
  applicationFor,
  changeLog,
  clockPast,
  create,
  ok,
  pipelineForEachTest,
  replace,
  startDownstreamOf,
  trackedState,
  type Answer,
  type LiveInstance,
} from '../support/pipeline.js';

const portable = (c: Answer) => ({ id: c.id, origin: c.origin, originSeq: c.originSeq, type: c.type, entityId: c.entityId, op: c.op, parent: c.parent, actor: c.actor, at: c.at, changeSet: c.changeSet });

describe.each(engines)('pipeline dev → staging → production on %s', (engine) => {
  const p = pipelineForEachTest(engine);

  const idOf = (i: LiveInstance) => i.services.instance.id;
  const status = (from: LiveInstance, peer: string, list = false) => ok(from, 'GET', `/v1/instances/${peer}/status${list ? '?list=true' : ''}`);

  async function expectVerified(...instances: LiveInstance[]): Promise<void> {
    for (const i of instances) expect((await ok(i, 'GET', '/v1/changes/verify')).ok, `${i.name} verifies`).toBe(true);
  }

  /** `caller` pushes to or pulls from `peer` and is refused: the problem, the same in a dry run, and nothing written on the receiver. */
  async function expectRefused(caller: LiveInstance, operation: 'push' | 'pull', peer: LiveInstance, expected: { code: string; kind: string; status?: number }): Promise<void> {
    const receiver = operation === 'push' ? peer : caller;
    const what = `${caller.name} ${operation} ${peer.name}`;
    const path = `/v1/instances/${peer.name}/${operation}`;
    const before = await trackedState(receiver);
    const refused = await caller.call('POST', path, {});
    expect(refused.status, what).toBe(expected.status ?? 409);
    expect(refused.body, what).toMatchObject({ code: expected.code, problems: [{ kind: expected.kind }] });
    expect(refused.body.problems, what).toHaveLength(1);
    const planned = await ok(caller, 'POST', `${path}?dryRun=true`, {});
    expect(planned.problems, what).toEqual(refused.body.problems);
    expect(await trackedState(receiver), what).toEqual(before);
  }

  async function expectAllInSync(): Promise<void> {
    for (const [from, peer] of [
      [p.dev, 'staging'],
      [p.staging, 'dev'],
      [p.staging, 'production'],
      [p.production, 'staging'],
      [p.dev, 'production'],
    ] as const) {
      expect(await status(from, peer), `${from.name} → ${peer}`).toMatchObject({ inSync: true, behind: 0, ahead: 0, reasons: [] });
    }
  }

  it('carries changes dev → staging by push and staging → production by push and by pull, keeping ids, origin, actor and bodies', async () => {
    const department = await create(p.dev, 'departments', { name: 'Service desk' });
    const team = await create(p.dev, 'teams', { name: 'Network', departmentId: department.id });
    const renamed = await replace(p.dev, 'teams', team.id, { name: 'Network operations', departmentId: department.id });
    const devLog = await changeLog(p.dev);
    expect(devLog.map((c: Answer) => c.id)).toEqual([department.changeId, team.changeId, renamed]);

    const before = await status(p.dev, 'staging', true);
    expect(before).toMatchObject({ mode: 'exact', inSync: false, ahead: 3, behind: 0, relation: 'downstream', reachable: true, versionMatches: true });
    expect(before.aheadChanges.map((c: Answer) => c.id).sort()).toEqual(devLog.map((c: Answer) => c.id).sort());
    const fromStaging = await status(p.staging, 'dev', true);
    expect(fromStaging).toMatchObject({ inSync: false, behind: 3, ahead: 0, relation: 'source' });
    expect(fromStaging.behindChanges.map((c: Answer) => c.id).sort()).toEqual(devLog.map((c: Answer) => c.id).sort());
    expect(fromStaging.reasons).toContain('3 changes behind dev.');

    const pushed = await ok(p.dev, 'POST', '/v1/instances/staging/push', {});
    expect(pushed).toMatchObject({ operation: 'push', applied: true, dryRun: false, replayed: false, counts: { received: 3, toApply: 3, alreadyPresent: 0, problems: 0 } });
    expect(pushed.changes.map((c: Answer) => [c.id, c.action])).toEqual(devLog.map((c: Answer) => [c.id, 'apply']));

    const stagingLog = await changeLog(p.staging);
    expect(stagingLog.map(portable)).toEqual(devLog.map(portable));
    expect(stagingLog.every((c: Answer) => c.appliedFrom === idOf(p.dev))).toBe(true);
    expect(devLog.every((c: Answer) => c.origin === idOf(p.dev) && c.appliedFrom === null && c.actor.kind === 'agent')).toBe(true);
    for (const c of devLog) {
      const there = await ok(p.staging, 'GET', `/v1/changes/${c.id}`);
      const here = await ok(p.dev, 'GET', `/v1/changes/${c.id}`);
      expect({ before: there.before, after: there.after, requires: there.requires, digest: there.digest }).toEqual({ before: here.before, after: here.after, requires: here.requires, digest: here.digest });
    }
    expect((await ok(p.staging, 'GET', `/v1/config/teams/${team.id}`)).body).toEqual((await ok(p.dev, 'GET', `/v1/config/teams/${team.id}`)).body);

    expect(await status(p.staging, 'production', true)).toMatchObject({ ahead: 3, behind: 0, inSync: false, relation: 'downstream' });
    const fromProduction = await status(p.production, 'staging', true);
    expect(fromProduction).toMatchObject({ behind: 3, ahead: 0, inSync: false, relation: 'source' });
    expect(fromProduction.behindChanges.map((c: Answer) => c.id).sort()).toEqual(devLog.map((c: Answer) => c.id).sort());
    expect(await status(p.dev, 'production')).toMatchObject({ ahead: 3, behind: 0 });

    await ok(p.staging, 'POST', '/v1/instances/production/push', {});
    const productionLog = await changeLog(p.production);
    expect(productionLog.map(portable)).toEqual(devLog.map(portable));
    expect(productionLog.every((c: Answer) => c.appliedFrom === idOf(p.staging))).toBe(true);
    await expectVerified(...p.all);
    await expectAllInSync();

    // A second round reaches production by a pull from staging.
    const later = await replace(p.dev, 'departments', department.id, { name: 'Service desk (EMEA)' });
    await ok(p.dev, 'POST', '/v1/instances/staging/push', {});
    expect(await status(p.production, 'staging')).toMatchObject({ behind: 1, ahead: 0, inSync: false });
    const pulled = await ok(p.production, 'POST', '/v1/instances/staging/pull', {});
    expect(pulled).toMatchObject({ operation: 'pull', applied: true, from: { name: 'staging', instanceId: idOf(p.staging) }, to: { instanceId: idOf(p.production) }, counts: { toApply: 1 } });
    const pulledChange = (await changeLog(p.production)).at(-1);
    expect(pulledChange).toMatchObject({ id: later, origin: idOf(p.dev), originSeq: 4, appliedFrom: idOf(p.staging), actor: devLog[0].actor });
    expect((await ok(p.production, 'GET', `/v1/config/departments/${department.id}`)).body.name).toBe('Service desk (EMEA)');
    await expectVerified(...p.all);
    await expectAllInSync();
  });

  it('holds back changes made after the cut-off date', async () => {
    const early = await create(p.dev, 'teams', { name: 'Early' });
    const edited = await replace(p.dev, 'teams', early.id, { name: 'Early, edited' });
    const cutoffAt = (await ok(p.dev, 'GET', `/v1/changes/${edited}`)).at as string;
    await clockPast(Date.parse(cutoffAt));
    const late = await create(p.dev, 'teams', { name: 'Late' });
    const lateEdit = await replace(p.dev, 'teams', early.id, { name: 'Early, edited late' });

    const plan = await ok(p.dev, 'POST', '/v1/instances/staging/push?dryRun=true', { cutoff: cutoffAt });
    expect(plan).toMatchObject({ dryRun: true, cutoff: cutoffAt, heldBackByCutoff: 2, counts: { toApply: 2 } });
    const pushed = await ok(p.dev, 'POST', '/v1/instances/staging/push', { cutoff: cutoffAt });
    expect(pushed.changes.map((c: Answer) => c.id)).toEqual([early.changeId, edited]);
    expect(pushed.heldBackByCutoff).toBe(2);

    expect((await ok(p.staging, 'GET', `/v1/config/teams/${early.id}`)).body.name).toBe('Early, edited');
    expect((await p.staging.call('GET', `/v1/config/teams/${late.id}`)).status).toBe(404);
    const after = await status(p.dev, 'staging', true);
    expect(after).toMatchObject({ ahead: 2, behind: 0, inSync: false });
    expect(after.aheadChanges.map((c: Answer) => c.id).sort()).toEqual([late.changeId, lateEdit].sort());

    // Production pulls from staging with a cut-off before anything: nothing moves.
    const none = await ok(p.production, 'POST', '/v1/instances/staging/pull', { cutoff: new Date(Date.parse(cutoffAt) - 60_000).toISOString() });
    expect(none).toMatchObject({ counts: { toApply: 0 }, heldBackByCutoff: 2 });
    expect(await changeLog(p.production)).toEqual([]);

    await ok(p.dev, 'POST', '/v1/instances/staging/push', {});
    expect(await status(p.dev, 'staging')).toMatchObject({ inSync: true, ahead: 0 });
  });

  it('refuses pushes into a pull-only instance and lets it pull', async () => {
    const team = await create(p.dev, 'teams', { name: 'Pull only' });
    await ok(p.staging, 'PATCH', '/v1/settings', { refusePushes: true });
    await expectRefused(p.dev, 'push', p.staging, { code: 'PUSHES_REFUSED', kind: 'pushes-refused' });

    const pulled = await ok(p.staging, 'POST', '/v1/instances/dev/pull', {});
    expect(pulled).toMatchObject({ operation: 'pull', applied: true, counts: { toApply: 1 } });
    expect((await ok(p.staging, 'GET', `/v1/config/teams/${team.id}`)).name).toBe('Pull only');
    expect(await status(p.staging, 'dev')).toMatchObject({ inSync: true });
  });

  it('gives no behind/ahead counts against a peer whose reconciliation summary has another format, and says why', async () => {
    const rc = await startDownstreamOf(p.dev, { name: 'rc', kind: 'release-candidate', version: '9.9.9', secretKey: p.secretKey });
    // A peer of an earlier version: its hello names no summary format, and it has no exchange route. A real HTTP relay
    // in front of rc makes it so.
    const relay = createServer((request, response) => {
      if (request.url === '/v1/sync/exchange') {
        response.writeHead(404, { 'content-type': 'application/problem+json' });
        response.end(JSON.stringify({ type: 'about:blank', title: 'Not Found', status: 404, code: 'ROUTE_NOT_FOUND' }));
        return;
      }
      const chunks: Buffer[] = [];
      request.on('data', (c: Buffer) => chunks.push(c));
      request.on('end', () => {
        void (async () => {
          const body = Buffer.concat(chunks);
          const forwarded = await fetch(`${rc.url}${request.url}`, {
            method: request.method!,
            headers: Object.fromEntries(Object.entries(request.headers).filter(([k]) => !['host', 'connection', 'content-length'].includes(k))) as Record<string, string>,
            ...(body.length > 0 ? { body } : {}),
          });
          let text = await forwarded.text();
          if (request.url === '/v1/sync/hello' && forwarded.ok) {
            const { summaryFormat: _format, ...older } = JSON.parse(text) as Record<string, unknown>;
            text = JSON.stringify(older);
          }
          response.writeHead(forwarded.status, { 'content-type': forwarded.headers.get('content-type') ?? 'application/json' });
          response.end(text);
        })();
      });
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    try {
      await create(p.dev, 'teams', { name: 'Counted later' });
      await ok(p.dev, 'PATCH', '/v1/instances/rc', { url: `http://127.0.0.1:${(relay.address() as AddressInfo).port}` });
      const status = await ok(p.dev, 'GET', '/v1/instances/rc/status');
      expect(status).toMatchObject({ reachable: true, versionMatches: false, inSync: false, behind: null, ahead: null });
      expect(status.reasons.join(' ')).toMatch(/builds its reconciliation summary differently/);

      await ok(p.dev, 'PATCH', '/v1/instances/rc', { url: rc.url });
      expect(await ok(p.dev, 'GET', '/v1/instances/rc/status')).toMatchObject({ ahead: 1, behind: 0 });
    } finally {
      await new Promise((resolve) => relay.close(resolve));
      await rc.close();
    }
  });

  it('refuses to sync between different versions, writes nothing, and says why in the status', async () => {
    // A release candidate on the next version takes dev as its source, so the pipeline edge is right and only the version differs.
    const rc = await startDownstreamOf(p.dev, { name: 'rc', kind: 'release-candidate', version: '9.9.9', secretKey: p.secretKey });
    try {
      await create(p.dev, 'teams', { name: 'Versioned' });
      const status = await ok(p.dev, 'GET', '/v1/instances/rc/status');
      expect(status).toMatchObject({ reachable: true, version: '9.9.9', versionMatches: false, inSync: false, ahead: 1, relation: 'downstream' });
      expect(status.reasons.join(' ')).toMatch(/version 9\.9\.9/);

      await expectRefused(p.dev, 'push', rc, { code: 'VERSION_MISMATCH', kind: 'version-mismatch' });
      await expectRefused(rc, 'pull', p.dev, { code: 'VERSION_MISMATCH', kind: 'version-mismatch' });
      expect(await changeLog(rc)).toEqual([]);
      expect((await ok(rc, 'GET', '/v1/config/teams')).items).toEqual([]);
    } finally {
      await rc.close();
    }
  });

  it('says a peer that does not answer is unreachable, and why, with no counts', async () => {
    const rc = await startDownstreamOf(p.dev, { name: 'rc', kind: 'release-candidate', secretKey: p.secretKey });
    expect(await status(p.dev, 'rc')).toMatchObject({ reachable: true, inSync: true });
    await rc.close();
    for (const list of [false, true]) {
      const gone = await status(p.dev, 'rc', list);
      expect(gone).toMatchObject({ reachable: false, kind: null, version: null, behind: null, ahead: null, inSync: false });
      expect(gone.reasons).toEqual([expect.stringMatching(/^rc is unreachable: The instance at http:\/\/127\.0\.0\.1:\d+ cannot be reached/)]);
    }
  });

  it('moves changes only along pipeline edges, one way', async () => {
    await create(p.dev, 'teams', { name: 'Edges' });
    await ok(p.dev, 'POST', '/v1/instances/staging/push', {});
    await create(p.production, 'departments', { name: 'Only on production' });
    const edge = { code: 'NOT_A_PIPELINE_EDGE', kind: 'not-a-pipeline-edge' };

    await expectRefused(p.dev, 'push', p.production, edge);
    await expectRefused(p.production, 'push', p.staging, edge);
    await expectRefused(p.staging, 'pull', p.production, edge);
    await expectRefused(p.dev, 'pull', p.staging, edge);
  });

  it('refuses a push when the receiver’s application lacks config:push', async () => {
    await create(p.dev, 'teams', { name: 'Forbidden' });
    const readOnly = await applicationFor(p.staging, 'dev', ['config:read']);
    await ok(p.dev, 'PATCH', '/v1/instances/staging', readOnly);
    await expectRefused(p.dev, 'push', p.staging, { code: 'FORBIDDEN', kind: 'forbidden', status: 403 });
  });

  it('with "don\'t check diffs" on, counts and sends everything since the last sync', async () => {
    const first = await create(p.dev, 'teams', { name: 'Since one' });
    await ok(p.dev, 'POST', '/v1/instances/staging/push', {});
    const second = await create(p.dev, 'teams', { name: 'Since two' });
    const third = await create(p.dev, 'teams', { name: 'Since three' });
    // Cherry-picked ahead of the rest: the receiver has it, but the last-sync mark does not move.
    await ok(p.dev, 'POST', '/v1/instances/staging/push', { changeIds: [second.changeId] });
    await ok(p.dev, 'PATCH', '/v1/settings', { skipDiffCheck: true });

    const since = await status(p.dev, 'staging', true);
    expect(since).toMatchObject({ mode: 'since-last-sync', ahead: 2, inSync: false });
    expect(since.aheadChanges.map((c: Answer) => c.id)).toEqual([second.changeId, third.changeId]);
    expect(since.reasons.join(' ')).toMatch(/Don't check diffs/);

    const pushed = await ok(p.dev, 'POST', '/v1/instances/staging/push', {});
    expect(pushed.mode).toBe('since-last-sync');
    expect(pushed.changes.map((c: Answer) => [c.id, c.action])).toEqual([
      [second.changeId, 'present'],
      [third.changeId, 'apply'],
    ]);
    expect(pushed.changes.some((c: Answer) => c.id === first.changeId)).toBe(false);
    // Staging takes dev as its source: nothing can come back from it, so after the push the link is in sync.
    expect(await status(p.dev, 'staging')).toMatchObject({ mode: 'since-last-sync', ahead: 0, behind: 0, inSync: true });
    await ok(p.dev, 'PATCH', '/v1/settings', { skipDiffCheck: false });
    expect(await status(p.dev, 'staging')).toMatchObject({ mode: 'exact', ahead: 0, behind: 0, inSync: true });
  });

  it('carries secrets sealed: the receiver shows only that they are set, and no answer holds them in clear', async () => {
    const secret = 'whsec_live_7f3a9c-never-in-clear';
    const rotated = 'whsec_live_rotated-never-in-clear';
    const answers: string[] = [];
    const seen = async (i: LiveInstance, method: string, path: string, body?: unknown) => {
      const answer = await i.call(method, path, body);
      answers.push(JSON.stringify(answer.body));
      return answer;
    };
    const created = await seen(p.dev, 'POST', '/v1/config/webhooks', { name: 'Ticket hook', url: 'https://hooks.example.test/in', events: ['ticket.created'], signingSecret: secret });
    expect(created.status).toBe(201);
    const id = created.body.entity.id;
    await seen(p.dev, 'GET', '/v1/instances/staging/status?list=true');
    await seen(p.dev, 'POST', '/v1/instances/staging/push?dryRun=true', {});
    expect((await seen(p.dev, 'POST', '/v1/instances/staging/push', {})).status).toBe(200);
    await seen(p.staging, 'POST', '/v1/instances/production/push', {});

    for (const i of [p.staging, p.production]) {
      const there = await seen(i, 'GET', `/v1/config/webhooks/${id}`);
      expect(there.body.body.signingSecret).toEqual({ set: true });
      const change = await seen(i, 'GET', `/v1/changes/${created.body.changeId}`);
      expect(change.body.after.signingSecret).toEqual({ set: true });
      expect(change.body.secretsChanged).toEqual(['signingSecret']);
    }
    await seen(p.staging, 'GET', '/v1/changes');
    await seen(p.staging, 'GET', '/v1/instances/dev/diff');
    await seen(p.dev, 'POST', '/v1/changes/export', { changeIds: [created.body.changeId] });
    await seen(p.staging, 'GET', '/v1/audit?limit=200');

    // A conflict shows both versions of the webhook, its secrets masked.
    const hook = { name: 'Ticket hook', url: 'https://hooks.example.test/in', events: ['ticket.created'] };
    await seen(p.production, 'PUT', `/v1/config/webhooks/${id}`, { ...hook, name: 'Ticket hook (production)', signingSecret: { set: true } });
    await seen(p.dev, 'PUT', `/v1/config/webhooks/${id}`, { ...hook, signingSecret: rotated });
    await seen(p.dev, 'POST', '/v1/instances/staging/push', {});
    const conflict = await seen(p.staging, 'POST', '/v1/instances/production/push', {});
    expect(conflict.body).toMatchObject({
      code: 'SYNC_CONFLICT',
      problems: [{ receiver: { body: { signingSecret: { set: true } } }, incoming: { before: { signingSecret: { set: true } }, after: { signingSecret: { set: true } } } }],
    });
    await seen(p.staging, 'GET', '/v1/instances/production/diff');
    expect(answers.filter((text) => text.includes(secret) || text.includes(rotated))).toEqual([]);

    // Sealed, not lost: the receiver's secret opens to the value set on dev.
    const sealed = await p.staging.db.read((stores) => stores.entities.findMany([id]));
    expect(openSecret(p.staging.services.catalog.get('webhooks'), p.staging.box, id, sealed[0]!.body, 'signingSecret')).toBe(rotated);
  });

  it('refuses to carry secrets to an instance that lacks the key they are sealed with', async () => {
    const sandbox = await startDownstreamOf(p.dev, { name: 'sandbox', kind: 'sandbox' });
    try {
      await create(p.dev, 'webhooks', { name: 'Sealed hook', url: 'https://hooks.example.test/in', events: ['ticket.created'], signingSecret: 'whsec_other_key' });
      expect((await ok(p.dev, 'GET', '/v1/instances/sandbox/status')).reasons.join(' ')).toMatch(/secret keys/);
      const refused = await p.dev.call('POST', '/v1/instances/sandbox/push', {});
      expect(refused.status).toBe(409);
      expect(refused.body).toMatchObject({ code: 'SYNC_REFUSED', problems: [{ kind: 'secret-key-unknown' }] });
      expect(await changeLog(sandbox)).toEqual([]);
    } finally {
      await sandbox.close();
    }
  });
});

