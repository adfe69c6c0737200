import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/shared/canonical-json.js';
import { EXPORT_MAX_BYTES } from '../../src/sync/export-document.js';
import { historyKeysOf } from '../../src/tracking/history-keys.js';
import { engines } from '../support/databases.js';
import { changeLog, create, ok, pipelineForEachTest, replace, trackedState, type Answer, type LiveInstance } from '../support/pipeline.js';

const ids = (changes: Answer[]) => changes.map((c) => c.id);
const text = { 'content-type': 'text/plain' };
/** A plan without the fields that only say whether it was a dry run. */
const planOnly = ({ dryRun: _dryRun, applied: _applied, ...plan }: Answer) => plan;
/** The document with its checksum made again under `by`'s key, as only a holder of the pipeline's key can. */
const resigned = (document: Answer, by: LiveInstance) => {
  const { checksum: _checksum, ...unsigned } = document;
  return { ...unsigned, checksum: historyKeysOf(by.box).document.sign(canonicalJson(unsigned)) };
};

describe.each(engines)('export, import, idempotency and plans on %s', (engine) => {
  const p = pipelineForEachTest(engine);

  const idOf = (i: LiveInstance) => i.services.instance.id;

  async function release(): Promise<{ department: { id: string; changeId: string }; team: { id: string; changeId: string }; document: Answer }> {
    const label = { 'x-change-set': 'release-7' };
    const department = await create(p.dev, 'departments', { name: 'Release seven' }, label);
    const team = await create(p.dev, 'teams', { name: 'Release seven team', departmentId: department.id }, label);
    const document = await ok(p.dev, 'POST', '/v1/changes/export', { changeSet: 'release-7' });
    return { department, team, document };
  }

  it('exports selected changes as a checksummed document that imports as one transaction, as JSON or pasted text', async () => {
    const { department, team, document } = await release();
    await create(p.dev, 'teams', { name: 'Not in the release' });
    expect(document).toMatchObject({ format: 'shiplog.changes', formatVersion: 2, from: { instanceId: idOf(p.dev), name: 'dev' }, dependencies: [] });
    expect(document.checksum).toMatch(/^hmac:[0-9a-f]{12}:[0-9a-f]{64}$/);
    expect(ids(document.changes)).toEqual([department.changeId, team.changeId]);

    const planned = await ok(p.staging, 'POST', '/v1/changes/import?dryRun=true', document);
    const imported = await ok(p.staging, 'POST', '/v1/changes/import', document);
    expect(imported).toMatchObject({ operation: 'import', applied: true, counts: { toApply: 2 } });
    expect(planOnly(imported)).toEqual(planOnly(planned));
    expect((await changeLog(p.staging)).map((c: Answer) => [c.id, c.origin, c.appliedFrom])).toEqual(
      ids(document.changes).map((id: string) => [id, idOf(p.dev), idOf(p.dev)]),
    );
    expect((await ok(p.staging, 'GET', `/v1/config/teams/${team.id}`)).body).toEqual((await ok(p.dev, 'GET', `/v1/config/teams/${team.id}`)).body);

    const pasted = await ok(p.production, 'POST', '/v1/changes/import', JSON.stringify(document, null, 2), text);
    expect(pasted).toMatchObject({ applied: true, counts: { toApply: 2 } });
    const again = await ok(p.production, 'POST', '/v1/changes/import', JSON.stringify(document), text);
    expect(again).toMatchObject({ applied: true, counts: { toApply: 0, alreadyPresent: 2 } });
    for (const i of p.all) expect((await ok(i, 'GET', '/v1/changes/verify')).ok, i.name).toBe(true);
  });

  it('exports a cherry-pick with the closure a peer lacks, or names the dependencies the importer must have', async () => {
    const { department, team } = await release();
    const bare = await ok(p.dev, 'POST', '/v1/changes/export', { changeIds: [team.changeId] });
    expect(bare.dependencies).toEqual([department.changeId]);
    const before = await trackedState(p.staging);
    const refused = await p.staging.call('POST', '/v1/changes/import', bare);
    expect(refused.body).toMatchObject({ code: 'MISSING_DEPENDENCY', problems: [{ kind: 'missing-dependency', missing: [department.changeId] }] });
    expect(await trackedState(p.staging)).toEqual(before);

    const closed = await ok(p.dev, 'POST', '/v1/changes/export', { changeIds: [team.changeId], peer: 'staging' });
    expect(ids(closed.changes)).toEqual([department.changeId, team.changeId]);
    expect(closed.selection.added).toEqual([{ id: department.changeId, reason: 'requires', of: team.changeId, changeSet: 'release-7' }]);
    expect(await ok(p.staging, 'POST', '/v1/changes/import', closed)).toMatchObject({ applied: true, counts: { toApply: 2 } });
  });

  it('refuses malformed, truncated, tampered, wrong-version and oversized documents with a clear problem, writing nothing', async () => {
    const { document } = await release();
    const before = await trackedState(p.staging);
    const whole = JSON.stringify(document);
    const tamperedBody = structuredClone(document);
    tamperedBody.changes[1].after.name = 'Renamed in transit';

    const refusals: [string, unknown, Record<string, string> | undefined, number, Answer][] = [
      ['malformed', '{ "format": "shiplog.changes", oops', text, 400, { code: 'IMPORT_INVALID', errors: [{ code: 'malformed' }] }],
      ['truncated text', whole.slice(0, Math.floor(whole.length / 2)), text, 400, { code: 'IMPORT_INVALID', errors: [{ code: 'malformed' }] }],
      ['truncated JSON', whole.slice(0, Math.floor(whole.length / 2)), undefined, 400, { code: 'MALFORMED_JSON' }],
      ['dropped change', { ...document, changes: document.changes.slice(0, 1) }, undefined, 400, { code: 'IMPORT_INVALID', errors: [{ code: 'checksum-mismatch' }] }],
      ['edited, old checksum', tamperedBody, undefined, 400, { code: 'IMPORT_INVALID', errors: [{ code: 'checksum-mismatch' }] }],
      ['edited, new checksum', resigned(tamperedBody, p.dev), undefined, 409, { code: 'SYNC_REFUSED', problems: [{ kind: 'tampered', changeId: document.changes[1].id }] }],
      ['wrong version', { ...document, formatVersion: 3 }, undefined, 400, { code: 'IMPORT_INVALID', errors: [{ code: 'unsupported-version' }] }],
      ['not an export', { ...document, format: 'other.tool' }, undefined, 400, { code: 'IMPORT_INVALID', errors: [{ code: 'wrong-format' }] }],
      ['oversized', `{"format":"shiplog.changes","padding":"${'x'.repeat(EXPORT_MAX_BYTES)}"}`, text, 413, { code: 'PAYLOAD_TOO_LARGE' }],
    ];
    for (const [what, body, headers, status, problem] of refusals) {
      const answer = await p.staging.call('POST', '/v1/changes/import', body, headers);
      expect(answer.status, what).toBe(status);
      expect(answer.body, what).toMatchObject(problem);
      expect(answer.body.detail, what).toEqual(expect.any(String));
    }
    expect(await trackedState(p.staging)).toEqual(before);
    expect(await ok(p.staging, 'POST', '/v1/changes/import', whole, text)).toMatchObject({ applied: true });
  });

  it('answers a retried push with the first result and writes nothing more; re-sending a batch is a no-op', async () => {
    const first = await create(p.dev, 'teams', { name: 'Idempotent' });
    const key = { 'idempotency-key': 'push-2024-11-01.1' };
    const pushed = await ok(p.dev, 'POST', '/v1/instances/staging/push', {}, key);
    expect(pushed).toMatchObject({ replayed: false, applied: true, changes: [{ id: first.changeId, action: 'apply' }] });

    const second = await create(p.dev, 'teams', { name: 'Made after the first push' });
    const before = await trackedState(p.staging);
    const retried = await ok(p.dev, 'POST', '/v1/instances/staging/push', {}, key);
    // The whole first plan comes back, sender-side details included.
    expect(retried).toEqual({ ...pushed, replayed: true });
    expect(await trackedState(p.staging)).toEqual(before);
    expect(await ok(p.dev, 'GET', '/v1/instances/staging/status')).toMatchObject({ ahead: 1 });

    // The peer protocol itself: the same batch sent twice applies once.
    const log = (await ok(p.dev, 'GET', '/v1/sync/log?afterSeq=0')).changes;
    const batch = {
      sender: { instanceId: idOf(p.dev), name: 'dev', kind: 'development', version: p.dev.services.instance.version, inPipeline: true },
      operation: 'push',
      changes: log.map(({ seq: _seq, appliedFrom: _from, received: _received, hash: _hash, ...change }: Answer) => change),
      dryRun: false,
      allowMissing: [],
    };
    expect(await ok(p.staging, 'POST', '/v1/sync/receive', batch)).toMatchObject({ applied: true, counts: { toApply: 1, alreadyPresent: 1 } });
    const applied = await trackedState(p.staging);
    const resent = await ok(p.staging, 'POST', '/v1/sync/receive', batch);
    expect(resent).toMatchObject({ applied: true, counts: { received: 2, toApply: 0, alreadyPresent: 2 } });
    // The answer to a batch names each of its changes by one letter, in the batch's order.
    expect(resent.actions).toBe('pp');
    expect(resent.changes).toBeUndefined();
    expect(await trackedState(p.staging)).toEqual(applied);
    expect(applied.log).toEqual([first.changeId, second.changeId]);
  });

  it('a replayed push does not count as sending changes it never carried', async () => {
    await ok(p.dev, 'PATCH', '/v1/settings', { skipDiffCheck: true });
    await create(p.dev, 'teams', { name: 'Sent' });
    const key = { 'idempotency-key': 'since-last-sync-1' };
    await ok(p.dev, 'POST', '/v1/instances/staging/push', {}, key);
    const later = await create(p.dev, 'teams', { name: 'Not sent yet' });
    expect((await ok(p.dev, 'POST', '/v1/instances/staging/push', {}, key)).replayed).toBe(true);

    expect(await ok(p.dev, 'GET', '/v1/instances/staging/status')).toMatchObject({ mode: 'since-last-sync', ahead: 1 });
    const pushed = await ok(p.dev, 'POST', '/v1/instances/staging/push', {});
    expect(pushed.changes).toMatchObject([{ id: later.changeId, action: 'apply' }]);
  });

  it('answers from an idempotency key only a retry of the same operation from the same sender', async () => {
    const key = { 'idempotency-key': 'release-2024-11' };
    await create(p.dev, 'teams', { name: 'Pushed with the key' });
    await ok(p.dev, 'POST', '/v1/instances/staging/push', {}, key);
    const department = await create(p.production, 'departments', { name: 'Imported with the same key' });
    const document = await ok(p.production, 'POST', '/v1/changes/export', { changeIds: [department.changeId] });

    const imported = await ok(p.staging, 'POST', '/v1/changes/import', document, key);
    expect(imported).toMatchObject({ replayed: false, applied: true, changes: [{ id: department.changeId, action: 'apply' }] });
    expect((await ok(p.staging, 'GET', `/v1/config/departments/${department.id}`)).name).toBe('Imported with the same key');
    expect(await ok(p.staging, 'POST', '/v1/changes/import', document, key)).toMatchObject({ replayed: true, changes: [{ id: department.changeId, action: 'apply' }] });
  });

  it('plans exactly what the real run does: changes, order, counts and problems', async () => {
    const department = await create(p.dev, 'departments', { name: 'Planned' });
    const team = await create(p.dev, 'teams', { name: 'Planned team', departmentId: department.id });
    const edit = await replace(p.dev, 'teams', team.id, { name: 'Planned team, edited', departmentId: department.id });
    await create(p.dev, 'teams', { name: 'Left for later' });

    const selection = { changeIds: [edit] };
    const before = await trackedState(p.staging);
    const planned = await ok(p.dev, 'POST', '/v1/instances/staging/push?dryRun=true', selection);
    expect(planned).toMatchObject({ dryRun: true, applied: false, counts: { received: 3, toApply: 3, problems: 0 } });
    expect(await trackedState(p.staging)).toEqual(before);
    const pushed = await ok(p.dev, 'POST', '/v1/instances/staging/push', selection);
    expect(pushed).toMatchObject({ dryRun: false, applied: true });
    expect(planOnly(pushed)).toEqual(planOnly(planned));

    await ok(p.staging, 'POST', '/v1/instances/production/push', {});
    const direct = await replace(p.production, 'teams', team.id, { name: 'Changed on production' });
    await replace(p.dev, 'teams', team.id, { name: 'Changed on dev', departmentId: department.id });
    await create(p.dev, 'departments', { name: 'Fine on its own' });
    await ok(p.dev, 'POST', '/v1/instances/staging/push', {});
    const refusedPlan = await ok(p.staging, 'POST', '/v1/instances/production/push?dryRun=true', {});
    expect(refusedPlan.problems).toMatchObject([{ kind: 'conflict', receiver: { head: direct } }]);
    expect(refusedPlan.changes.map((c: Answer) => c.action).sort()).toEqual(['apply', 'apply', 'refused']);
    const refused = await p.staging.call('POST', '/v1/instances/production/push', {});
    expect(refused.body.code).toBe('SYNC_CONFLICT');
    expect(refused.body.problems).toEqual(refusedPlan.problems);
    expect(planOnly(refused.body.plan)).toEqual(planOnly(refusedPlan));
  });
});
