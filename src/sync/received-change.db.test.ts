import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../../test/support/databases.js';
import { applicationFor, startLiveInstance, type Answer, type LiveInstance } from '../../test/support/pipeline.js';
import { receive, senderOf, storedOf, tablesOf, transferOf } from '../../test/support/sync.js';
import { createHttpPeerConnector } from '../http/peer-client.js';
import { canonicalJson } from '../shared/canonical-json.js';
import { newId } from '../shared/ids.js';
import { legacyDigestOf } from '../tracking/change-chain.js';
import { historyKeysOf, type HistoryKeys } from '../tracking/history-keys.js';
import { createSecretBox } from '../tracking/secret-box.js';
import { buildDocument, EXPORT_FORMAT, legacyChecksumOf, type ExportDocument } from './export-document.js';
import { transferDigestOf, type TransferChange } from './transfer.js';

const field = (path: string, code: string): unknown => expect.objectContaining({ path, code });

/** The change with `edit` made and its digest made again under `keys`: what a holder of those keys could send. */
function forged(change: TransferChange, edit: Partial<TransferChange>, keys: HistoryKeys): TransferChange {
  const made = { ...structuredClone(change), ...edit };
  return { ...made, digest: transferDigestOf(made, keys) };
}

describe.each(engines)('received changes are held to what a write here could have recorded, on %s', (engine) => {
  let dev: LiveInstance;
  let staging: LiveInstance;
  let keys: HistoryKeys;
  let team: TransferChange;
  let hook: TransferChange;

  /** A document as dev exports it, signed under `signer` (the pipeline's key unless said). */
  const documentOf = (changes: TransferChange[], signer = keys): ExportDocument =>
    buildDocument({ exportedAt: new Date().toISOString(), from: { instanceId: dev.services.instance.id, name: 'dev', kind: 'development', version: dev.services.instance.version }, selection: {}, dependencies: [], changes }, signer);

  /** Imports over HTTP as a dry run and for real: both must name the same problems, and staging must not move. */
  async function refusedImport(document: unknown): Promise<Answer[]> {
    const before = await tablesOf(staging.database);
    const planned = await staging.call('POST', '/v1/changes/import?dryRun=true', document);
    const real = await staging.call('POST', '/v1/changes/import', document);
    expect(planned.status).toBe(200);
    expect(planned.body.applied).toBe(false);
    expect(real.status).toBe(409);
    expect(real.body.problems).toEqual(planned.body.problems);
    expect(await tablesOf(staging.database)).toEqual(before);
    return real.body.problems as Answer[];
  }

  beforeAll(async () => {
    [dev, staging] = await Promise.all([startLiveInstance(engine, { name: 'dev', kind: 'development' }), startLiveInstance(engine, { name: 'staging', kind: 'staging' })]);
    keys = historyKeysOf(dev.box);
    const head = (await dev.db.read((stores) => stores.changes.head())).seq;
    await dev.services.config.create(dev.ctx, 'teams', { name: 'Network' });
    await dev.services.config.create(dev.ctx, 'webhooks', { name: 'Notify', url: 'https://hooks.example.test/a', events: ['ticket.created'], signingSecret: 'sealed-on-dev' });
    [team, hook] = (await transferOf(dev, head)) as [TransferChange, TransferChange];
  });
  afterAll(async () => Promise.all([dev, staging].map((i) => i?.close())));

  it('refuses a change forged without the pipeline’s key, whatever file it comes in', async () => {
    const backdated = { at: Date.UTC(2020, 0, 1), actor: { kind: 'agent' as const, id: newId(), name: 'Chief Auditor' } };
    // Signed under another key: the file itself is refused.
    const stranger = historyKeysOf(createSecretBox([randomBytes(32)]));
    const foreign = await staging.call('POST', '/v1/changes/import', documentOf([forged(team, backdated, stranger)], stranger));
    expect(foreign).toMatchObject({ status: 400, body: { code: 'IMPORT_INVALID', errors: [{ code: 'key-unknown' }] } });
    // Unkeyed, in the format of earlier versions: nothing vouches for it.
    const change = { ...team, ...backdated };
    const { checksum: _checksum, ...current } = documentOf([]);
    const unsigned: Omit<ExportDocument, 'checksum'> = { ...current, format: EXPORT_FORMAT, formatVersion: 1, changes: [{ ...change, digest: legacyDigestOf(change, canonicalJson) }] };
    expect(await refusedImport({ ...unsigned, checksum: legacyChecksumOf(unsigned) })).toEqual([expect.objectContaining({ kind: 'unkeyed-digest', changeId: team.id })]);
    // Edited under its own digest, in a file re-signed by a holder of the key: the digest still fails.
    expect(await refusedImport(documentOf([{ ...team, ...backdated }]))).toEqual([expect.objectContaining({ kind: 'tampered', changeId: team.id })]);
  });

  it('refuses, even from a holder of the key, a change no write here could have made, naming the field', async () => {
    const cases: [string, TransferChange, Answer][] = [
      ['dated before any change could be made', forged(team, { at: Date.UTC(1999, 11, 31) }, keys), { kind: 'invalid', errors: [field('at', 'out-of-range')] }],
      ['dated beyond any date', forged(team, { at: 8.64e15 + 1 }, keys), { kind: 'invalid', errors: [field('at', 'in-the-future')] }],
      [
        'a body the schema refuses',
        forged(team, { after: { ...team.after, isCoManaged: 'yes', bogus: 1 } }, keys),
        { kind: 'invalid', errors: [expect.objectContaining({ path: 'after.isCoManaged' }), field('after.bogus', 'unknown-field')] },
      ],
      [
        'a body not as a write stores it',
        forged(team, { after: { name: ' Network ', isCoManaged: false }, entityName: ' Network ' }, keys),
        { kind: 'invalid', errors: [field('after.name', 'not-normalised')] },
      ],
      ['a secret in clear text', forged(hook, { after: { ...hook.after, signingSecret: 'clear-text-secret' } }, keys), { kind: 'invalid', errors: [field('after.signingSecret', 'secret-in-clear')] }],
      ['a create with a before', forged(team, { before: team.after }, keys), { kind: 'invalid', errors: [field('op', 'op-mismatch')] }],
      ['a name the body does not give', forged(team, { entityName: 'Somebody else' }, keys), { kind: 'invalid', errors: [field('entityName', 'name-mismatch')] }],
      ['a change set no request could carry', forged(team, { changeSet: ' spaced out' }, keys), { kind: 'invalid', errors: [field('changeSet', 'invalid-format')] }],
      ['this instance as its origin', forged(team, { origin: staging.services.instance.id, originSeq: 999 }, keys), { kind: 'own-origin' }],
    ];
    for (const [what, change, problem] of cases) {
      const problems = await refusedImport(documentOf([change]));
      expect(problems, what).toContainEqual(expect.objectContaining({ ...problem, changeId: change.id }));
      expect(JSON.stringify(problems), what).not.toContain('clear-text-secret');
    }
    // The change list answers as before: nothing out of range was stored.
    expect((await staging.call('GET', '/v1/changes?limit=5')).status).toBe(200);
  });

  it('refuses a known id with other content, an origin sequence held by another change, and a before that is not the state here', async () => {
    expect(await staging.call('POST', '/v1/changes/import', documentOf([team]))).toMatchObject({ status: 200, body: { applied: true } });
    const renamed = { name: 'Network (other)', isCoManaged: false };
    expect(await refusedImport(documentOf([forged(team, { after: renamed, entityName: renamed.name }, keys)]))).toEqual([
      expect.objectContaining({ kind: 'content-mismatch', changeId: team.id }),
    ]);
    const twin = forged(team, { id: newId(), entityId: newId() }, keys);
    expect(await refusedImport(documentOf([twin]))).toEqual([expect.objectContaining({ kind: 'invalid', changeId: twin.id, errors: [field('originSeq', 'key-taken')] })]);
    const update = forged(
      team,
      { id: newId(), originSeq: 5_000, op: 'update', parent: team.id, before: { name: 'Not what staging holds', isCoManaged: false }, after: { name: 'Network 2', isCoManaged: false }, entityName: 'Network 2' },
      keys,
    );
    expect(await refusedImport(documentOf([update]))).toEqual([expect.objectContaining({ kind: 'conflict', changeId: update.id, receiver: expect.objectContaining({ head: team.id }) })]);
  });

  it('records who brought a change and when, beside who made it and when, and filters the list by it', async () => {
    const byAuditor = forged(team, { id: newId(), entityId: newId(), originSeq: 6_000, after: { name: 'Audit', isCoManaged: false }, entityName: 'Audit', actor: { kind: 'agent', id: newId(), name: 'Chief Auditor' } }, keys);
    const document = documentOf([byAuditor]);
    const imported = await staging.call('POST', '/v1/changes/import', document);
    expect(imported).toMatchObject({ status: 200, body: { applied: true } });
    const detail = (await staging.call('GET', `/v1/changes/${byAuditor.id}`)).body;
    expect(detail).toMatchObject({
      actor: { name: 'Chief Auditor' },
      at: new Date(byAuditor.at).toISOString(),
      received: { actor: staging.ctx.actor, operation: 'import', via: document.checksum, at: expect.any(String) },
    });
    expect(Date.parse(detail.received.at)).toBeGreaterThanOrEqual(byAuditor.at);
    const listed = (await staging.call('GET', `/v1/changes?receivedBy=${encodeURIComponent(staging.ctx.actor.id)}&limit=100`)).body.items.map((c: Answer) => c.id);
    expect(listed).toContain(byAuditor.id);
    expect(listed).not.toContain(staging.ctx.actor.id);
    expect((await staging.call('GET', '/v1/changes/verify')).body).toMatchObject({ ok: true });
  });

  it('refuses over a real push the same: a body the schema refuses, a secret in clear, a forged digest — writing nothing', async () => {
    const credentials = await applicationFor(staging, 'dev');
    const peer = createHttpPeerConnector().connect({ url: staging.url, ...credentials });
    const push = async (changes: TransferChange[], dryRun = false) => {
      const stored = storedOf(changes);
      const pages = async function* () {
        yield stored;
      };
      return peer.receiveStreamed({ sender: senderOf(dev), operation: 'push', changes: { count: stored.length, pages }, dryRun, allowMissing: [] });
    };
    const fresh = forged(team, { id: newId(), entityId: newId(), originSeq: 7_000, after: { name: 'Pushed', isCoManaged: false }, entityName: 'Pushed' }, keys);
    const cases: [TransferChange, Answer][] = [
      [forged(fresh, { after: { name: 'Pushed', isCoManaged: 'yes', bogus: 1 } }, keys), { kind: 'invalid' }],
      [forged(hook, { id: newId(), entityId: newId(), originSeq: 7_001, after: { ...hook.after, signingSecret: 'pushed-in-clear' } }, keys), { kind: 'invalid', errors: [expect.objectContaining({ code: 'secret-in-clear' })] }],
      [{ ...fresh, at: Date.UTC(2020, 0, 1), actor: { kind: 'agent', id: newId(), name: 'Chief Auditor' } }, { kind: 'tampered' }],
    ];
    for (const [change, problem] of cases) {
      const before = await tablesOf(staging.database);
      for (const dryRun of [true, false]) {
        const answer = await push([change], dryRun);
        expect(answer.applied).toBe(false);
        expect(answer.problems).toEqual([expect.objectContaining({ ...problem, changeId: change.id })]);
      }
      expect(await tablesOf(staging.database)).toEqual(before);
    }
    expect(await push([fresh])).toMatchObject({ applied: true, problems: [] });
    expect((await staging.call('GET', `/v1/changes/${fresh.id}`)).body.received).toMatchObject({ operation: 'push', via: 'dev', actor: { kind: 'application' } });
  });

  it('refuses text that is not well-formed Unicode, naming where', async () => {
    const change = { ...team, id: newId(), entityId: newId(), originSeq: 8_000, entityName: 'Lone \ud800' };
    const outcome = await receive(staging, dev, [change], { dryRun: true });
    expect(outcome.problems).toEqual([expect.objectContaining({ kind: 'invalid', errors: [field('entityName', 'invalid-unicode')] })]);
  });

  it('accepts every valid change unaltered and refuses it altered in any portable field (property)', async () => {
    const alterations: Record<string, (c: TransferChange) => Partial<TransferChange>> = {
      id: () => ({ id: newId() }),
      origin: () => ({ origin: newId() }),
      originSeq: (c) => ({ originSeq: c.originSeq + 1 }),
      type: () => ({ type: 'departments' }),
      entityId: () => ({ entityId: newId() }),
      entityName: (c) => ({ entityName: `${c.entityName}!` }),
      op: () => ({ op: 'update' }),
      before: (c) => ({ before: c.after }),
      after: (c) => ({ after: { ...c.after, description: 'Altered in transit' } }),
      parent: () => ({ parent: newId() }),
      requires: () => ({ requires: [newId()] }),
      actor: (c) => ({ actor: { ...c.actor, name: 'Someone else' } }),
      at: (c) => ({ at: c.at - 1 }),
      request: () => ({ request: { method: 'PUT', path: '/v1/config/teams', requestId: 'req-1', remoteAddress: null, userAgent: null, clientApplication: null } }),
      changeSet: () => ({ changeSet: 'smuggled' }),
      revertOf: () => ({ revertOf: newId() }),
      digest: (c) => ({ digest: c.digest.replace(/.$/, (x) => (x === '0' ? '1' : '0')) }),
    };
    const body = fc.record(
      { name: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9 ]{0,38}[A-Za-z0-9]$/), description: fc.string({ maxLength: 60 }), isCoManaged: fc.boolean() },
      { requiredKeys: ['name', 'isCoManaged'] },
    );
    await fc.assert(
      fc.asyncProperty(body, fc.constantFrom(...Object.keys(alterations)), async (input, field) => {
        const head = (await dev.db.read((stores) => stores.changes.head())).seq;
        await dev.services.config.create(dev.ctx, 'teams', input);
        const [change] = (await transferOf(dev, head)) as [TransferChange];
        const accepted = await receive(staging, dev, [change], { dryRun: true });
        expect(accepted.problems).toEqual([]);
        expect(accepted.changes.map((c) => c.action)).toEqual(['apply']);
        const altered = { ...structuredClone(change), ...alterations[field]!(change) };
        const refused = await receive(staging, dev, [altered], { dryRun: true });
        expect(refused.changes.map((c) => c.action), field).toEqual(['refused']);
        expect(refused.problems.map((p) => p.kind), field).toContain('tampered');
      }),
      { numRuns: 40 },
    );
  });
});
