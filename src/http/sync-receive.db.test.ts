import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../../test/support/databases.js';
import type { ReceiveRequest } from '../sync/peer-client.js';
import { packBatch, toTransfer, unpackBatch, type PackedChange } from '../sync/transfer.js';
import { batchText } from '../../test/support/sync.js';
import { BATCH_STREAM_TYPE, readBatchStream } from './batch-stream.js';
import { MAX_BATCH_JSON_DEPTH } from './plugins/json-body.js';
import { createTestApp, type TestApp } from '../../test/support/instance.js';

describe.each(engines)('POST /v1/sync/receive on %s', (engine) => {
  let sender: TestApp;
  let receiver: TestApp;
  let body: Record<string, unknown> & { changes: Record<string, unknown>[] };
  /** A batch of a create and two updates of one team, as a sender packs it. */
  let chain: Record<string, unknown> & { changes: Record<string, unknown>[] };

  beforeAll(async () => {
    const secretKey = randomBytes(32);
    [sender, receiver] = await Promise.all([createTestApp(engine, { name: 'dev', secretKey }), createTestApp(engine, { name: 'staging', secretKey })]);
    for (const name of ['Network', 'Service desk', 'Field']) await sender.services.config.create(sender.ctx, 'teams', { name });
    const out = await sender.services.syncReceiver.outgoing({ [sender.services.instance.id]: [[1, 4]] }, {});
    body = {
      sender: { instanceId: sender.services.instance.id, name: 'dev', kind: 'development', version: sender.services.instance.version, inPipeline: false },
      operation: 'push',
      changes: out.changes.map(({ seq: _seq, ...change }) => change),
      dryRun: true,
      allowMissing: [],
    };
    const team = await sender.services.config.create(sender.ctx, 'teams', { name: 'Chained' });
    await sender.services.config.replace(sender.ctx, 'teams', team.entity!.id, { name: 'Chained', description: 'once' });
    await sender.services.config.replace(sender.ctx, 'teams', team.entity!.id, { name: 'Chained', description: 'twice' });
    const more = await sender.services.syncReceiver.outgoing({ [sender.services.instance.id]: [[4, 7]] }, {});
    chain = { ...body, changes: JSON.parse(JSON.stringify(packBatch(more.changes.map(toTransfer)))) as Record<string, unknown>[] };
  });

  afterAll(async () => {
    await Promise.all([sender?.close(), receiver?.close()]);
  });

  const post = (payload: unknown) => receiver.app.inject({ method: 'POST', url: '/v1/sync/receive', headers: receiver.auth, payload: payload as object });
  const withChange = (index: number, edit: (change: Record<string, unknown>) => Record<string, unknown>) => ({
    ...body,
    changes: body.changes.map((c, i) => (i === index ? edit({ ...c }) : c)),
  });

  it('takes a well-formed batch', async () => {
    const answer = await post(body);
    expect(answer.statusCode).toBe(200);
    expect(answer.json()).toMatchObject({ counts: { toApply: 3, problems: 0 } });
  });

  it('takes a packed batch: the befores its changes leave out come from their parents, and the answer is a letter a change', async () => {
    expect(chain.changes.map((c) => 'before' in c)).toEqual([true, false, false]);
    const answer = await post(chain);
    expect(answer.statusCode).toBe(200);
    expect(answer.json()).toMatchObject({ actions: 'aaa', counts: { toApply: 3, problems: 0 } });
    expect(answer.json()).not.toHaveProperty('changes');
  });

  it('refuses a packed change whose parent does not give its before, and one whose parent gives another before', async () => {
    const orphan = { ...chain, changes: chain.changes.slice(1) };
    const refused = await post(orphan);
    expect(refused.statusCode).toBe(400);
    expect(refused.json()).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ path: 'changes[0].before', code: 'missing-before' }] });

    // The second update claims to follow the create directly: its before, put back from the create, fails its digest.
    const skipped = { ...chain, changes: [chain.changes[0]!, { ...chain.changes[2]!, parent: chain.changes[0]!.id }] };
    const answer = await post(skipped);
    expect(answer.statusCode).toBe(200);
    expect(answer.json()).toMatchObject({ actions: 'ar', problems: [{ kind: 'tampered', changeId: chain.changes[2]!.id }] });
  });

  it('takes a batch streamed as a push sends it, and refuses it cut off, or sent to a route that does not take it', async () => {
    const changes = (await sender.services.syncReceiver.outgoing({ [sender.services.instance.id]: [[4, 7]] }, {})).changes.map(toTransfer);
    const text = await batchText({ ...(body as unknown as ReceiveRequest), changes });
    const stream = (payload: string, url = '/v1/sync/receive') =>
      receiver.app.inject({ method: 'POST', url, headers: { ...receiver.auth, 'content-type': BATCH_STREAM_TYPE }, payload });

    const answer = await stream(text);
    expect(answer.statusCode).toBe(200);
    expect(answer.json()).toMatchObject({ actions: 'aaa', counts: { toApply: 3, problems: 0 } });

    const cutOff = await stream(text.split('\n').slice(0, 3).join('\n'));
    expect(cutOff.statusCode).toBe(400);
    expect(cutOff.json()).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ path: 'changes', code: 'count-mismatch' }] });

    const elsewhere = await stream(text, '/v1/sync/exchange');
    expect(elsewhere.statusCode).toBe(415);
    expect(elsewhere.json()).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });

    // A streamed change is validated as a JSON one is, at its place in the batch.
    const lines = text.split('\n');
    lines[2] = lines[2]!.replace('"op":"update"', '"op":"rename"');
    const wrong = await stream(lines.join('\n'));
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json()).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ path: 'changes[1].op' }] });
  });

  it('applies nothing of a stream its sender abandons half way, and serves on', async () => {
    const changes = (await sender.services.syncReceiver.outgoing({ [sender.services.instance.id]: [[1, 7]] }, {})).changes.map(toTransfer);
    const lines = (await batchText({ ...(body as unknown as ReceiveRequest), dryRun: false, changes })).split('\n');
    const headBefore = await receiver.db.read((stores) => stores.changes.head());
    const address = await receiver.app.listen({ port: 0, host: '127.0.0.1' });
    const request = httpRequest(`${address}/v1/sync/receive`, { method: 'POST', headers: { ...receiver.auth, 'content-type': BATCH_STREAM_TYPE } });
    const ended = new Promise<unknown>((done) => {
      request.once('error', done);
      request.once('response', (response) => done(response.statusCode));
    });
    request.write(`${lines.slice(0, 4).join('\n')}\n`);
    await new Promise((wait) => setTimeout(wait, 100));
    request.destroy();
    expect(await ended).toBeInstanceOf(Error);
    // The receiver read what came, found the stream cut off, and wrote nothing; it answers the next request as ever.
    await new Promise((wait) => setTimeout(wait, 100));
    expect(await receiver.db.read((stores) => stores.changes.head())).toEqual(headBefore);
    const whole = await receiver.app.inject({ method: 'POST', url: '/v1/sync/receive', headers: { ...receiver.auth, 'content-type': BATCH_STREAM_TYPE }, payload: lines.join('\n') });
    expect(whole.statusCode).toBe(200);
    expect(whole.json()).toMatchObject({ applied: true, counts: { received: 6 } });
  });

  it('streams what a receiver lacks when asked for NDJSON, the same changes as the JSON answer, with the sender seqs in the header', async () => {
    const ask = (accept: string) =>
      sender.app.inject({ method: 'POST', url: '/v1/sync/outgoing', headers: { ...sender.auth, accept }, payload: { lacking: { [sender.services.instance.id]: [[1, 7]] }, selection: {} } });
    const whole = await ask('application/json');
    expect(whole.headers['content-type']).toMatch(/^application\/json/);
    const streamed = await ask(`${BATCH_STREAM_TYPE}, application/json`);
    expect(streamed.statusCode).toBe(200);
    expect(streamed.headers['content-type']).toBe(BATCH_STREAM_TYPE);
    expect(streamed.body.match(/"before":/g)).toHaveLength(4);
    const read = (await readBatchStream(Readable.from([streamed.rawPayload]), 1 << 30, MAX_BATCH_JSON_DEPTH)) as { seqs: number[]; changes: object[] };
    const json = whole.json() as { changes: (Record<string, unknown> & { seq: number })[] };
    const { changes: wholeChanges, ...wholeRest } = json;
    expect({ ...read, changes: undefined, seqs: undefined }).toEqual({ ...wholeRest, changes: undefined, seqs: undefined });
    expect(read.seqs).toEqual(wholeChanges.map((c) => c.seq));
    expect(read.changes).toEqual(unpackBatch(wholeChanges.map(({ seq: _seq, ...c }) => c as unknown as PackedChange)));
  });

  it('answers a malformed batch with the schema own problems, wherever the fault is', async () => {
    const cases: [unknown, string, string][] = [
      [withChange(1, (c) => ({ ...c, originSeq: '2' })), 'changes[1].originSeq', 'invalid-type'],
      [withChange(2, (c) => ({ ...c, smuggled: true })), 'changes[2].smuggled', 'unknown-field'],
      [withChange(0, (c) => ({ ...c, digest: 'not a digest' })), 'changes[0].digest', 'invalid-format'],
      [withChange(0, ({ actor: _actor, ...c }) => c), 'changes[0].actor', 'invalid-type'],
      [withChange(1, (c) => ({ ...c, after: ['a list'] })), 'changes[1].after', 'invalid-type'],
      [{ ...body, sender: { ...(body.sender as object), inPipeline: 'no' } }, 'sender.inPipeline', 'invalid-type'],
      [{ ...body, idempotencyKey: '' }, 'idempotencyKey', 'too-small'],
      [{ ...body, extra: 1 }, 'extra', 'unknown-field'],
    ];
    for (const [payload, path, code] of cases) {
      const answer = await post(payload);
      expect(answer.statusCode, path).toBe(400);
      expect(answer.json(), path).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ path, code }] });
    }
  });
});
