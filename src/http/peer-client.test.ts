import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DomainError } from '../shared/errors.js';
import { createHttpPeerConnector } from './peer-client.js';

type Handler = (request: IncomingMessage, body: string, response: ServerResponse) => void;

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A peer on loopback: `/auth/token` issues tokens `t1`, `t2`, …; every other request goes to `handle`. */
async function peer(handle: Handler): Promise<{ url: string; requests: { path: string; authorization: string | undefined; body: string }[] }> {
  const requests: { path: string; authorization: string | undefined; body: string }[] = [];
  let issued = 0;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({ path: request.url ?? '', authorization: request.headers.authorization, body });
      if (request.url === '/auth/token') {
        issued += 1;
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: `t${issued}`, token_type: 'Bearer', expires_in: 3600 }));
      } else handle(request, body, response);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

const pick = (c: { id: string; origin: string; originSeq: number; type: string; entityId: string; entityName: string; op: string; at: number; actor: unknown; changeSet: string | null }) => ({
  id: c.id,
  origin: c.origin,
  originSeq: c.originSeq,
  type: c.type,
  entityId: c.entityId,
  entityName: c.entityName,
  op: c.op,
  at: c.at,
  actor: c.actor,
  changeSet: c.changeSet,
});

const connect = (url: string, call = 300) => createHttpPeerConnector({ timeouts: { call, batch: call } }).connect({ url, clientId: 'app_1', clientSecret: 'secret' });

async function refusal(promise: Promise<unknown>): Promise<DomainError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DomainError);
  return error as DomainError;
}

describe('the peer client over HTTP', () => {
  it('signs in with client credentials, sends a JSON body whole, and reads the JSON answer', async () => {
    const big = 'x'.repeat(3_000_000);
    const p = await peer((request, body, response) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ echoed: body.length, path: request.url })));
    const answer = await connect(p.url).exchange({ origins: {}, nodes: [], descend: [], note: big } as never);
    expect(answer).toEqual({ echoed: JSON.stringify({ origins: {}, nodes: [], descend: [], note: big }).length, path: '/v1/sync/exchange' });
    expect(p.requests.map((r) => r.path)).toEqual(['/auth/token', '/v1/sync/exchange']);
    expect(p.requests[0]!.authorization).toBe(`Basic ${Buffer.from('app_1:secret').toString('base64')}`);
    expect(p.requests[1]!.authorization).toBe('Bearer t1');
  });

  it('streams a batch as NDJSON, a piece at a time as the peer reads it, and makes the planned changes again from the answer', async () => {
    const warnings: Error[] = [];
    const warn = (warning: Error) => warnings.push(warning);
    process.on('warning', warn);
    try {
      const p = await peer((request, body, response) => {
        const lines = body.split('\n').filter(Boolean);
        const header = JSON.parse(lines[0]!) as { count: number };
        response.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            actions: 'a'.repeat(header.count),
            entities: [],
            problems: [],
            skippedDependencies: [],
            counts: { received: header.count, toApply: header.count, alreadyPresent: 0, refused: 0, entities: 0, problems: 0 },
            applied: true,
            replayed: false,
            contentType: request.headers['content-type'],
            chunked: request.headers['transfer-encoding'],
            lines: lines.length,
          }),
        );
      });
      const stored = Array.from({ length: 3_000 }, (_, i) => ({
        seq: i + 1,
        id: `01CHANGE${String(i).padStart(18, '0')}`,
        origin: '01ORIGIN000000000000000000',
        originSeq: i + 1,
        type: 'teams',
        entityId: `01TEAM${String(i).padStart(20, '0')}`,
        entityName: `Team ${i}`,
        op: 'create' as const,
        beforeText: null,
        afterText: JSON.stringify({ name: `Team ${i}`, description: 'x'.repeat(2_000) }),
        parent: null,
        requires: [],
        actor: { kind: 'agent' as const, id: '01AGENT0000000000000000000', name: 'Administrator' },
        at: 1_700_000_000_000 + i,
        request: null,
        changeSet: null,
        revertOf: null,
        appliedFrom: null,
        received: null,
        digest: 'a'.repeat(64),
        hash: 'b'.repeat(64),
      }));
      const pages = async function* () {
        for (let i = 0; i < stored.length; i += 200) yield stored.slice(i, i + 200);
      };
      const sender = { instanceId: '01SENDER000000000000000000', name: 'dev', kind: 'development', version: '1.0.0', inPipeline: true };
      const answer = await connect(p.url, 5_000).receiveStreamed({ sender, operation: 'push', changes: { count: stored.length, pages }, dryRun: false, allowMissing: [] });
      expect(answer).toMatchObject({ contentType: 'application/x-ndjson', chunked: 'chunked', lines: 3_001, applied: true });
      expect(answer.sent).toEqual(stored);
      expect(answer.changes).toHaveLength(3_000);
      expect(answer.changes[2_999]).toEqual({ ...pick(stored[2_999]!), action: 'apply' });
      // Six megabytes went piece by piece, waiting for the socket each time, and left no listener behind.
      await new Promise((wait) => setImmediate(wait));
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', warn);
    }
  });

  it('reads a streamed pull as it arrives, with each change’s sender seq, and says so when the stream is cut off', async () => {
    const change = (i: number) => ({
      id: `01CHANGE${String(i).padStart(18, '0')}`,
      origin: '01ORIGIN000000000000000000',
      originSeq: i,
      type: 'teams',
      entityId: `01TEAM${String(i).padStart(20, '0')}`,
      entityName: `Team ${i}`,
      op: 'create',
      before: null,
      after: { name: `Team ${i}` },
      parent: null,
      requires: [],
      actor: { kind: 'agent', id: '01AGENT0000000000000000000', name: 'Administrator' },
      at: 1_700_000_000_000 + i,
      request: null,
      changeSet: null,
      revertOf: null,
      digest: 'a'.repeat(64),
    });
    const header = { added: [], leftOut: [], heldBackByCutoff: 0, problems: [], seqs: [11, 12, 13], count: 3 };
    let lines = [header, change(1), change(2), change(3)];
    const p = await peer((request, _body, response) => {
      expect(request.headers.accept).toBe('application/x-ndjson, application/json');
      response.writeHead(200, { 'content-type': 'application/x-ndjson' }).end(lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
    });
    const out = await connect(p.url).outgoing({}, {});
    expect(out).toEqual({ added: [], leftOut: [], heldBackByCutoff: 0, problems: [], changes: [1, 2, 3].map((i) => ({ ...change(i), seq: 10 + i })) });

    lines = lines.slice(0, 3);
    const cut = await refusal(connect(p.url).outgoing({}, {}));
    expect(cut.code).toBe('PEER_UNREACHABLE');
    expect(cut.message).toContain('the batch it sent could not be read (The header announced 3 changes and 2 came');
  });

  it('renews a token the peer no longer accepts, once', async () => {
    const p = await peer((request, _body, response) =>
      request.headers.authorization === 'Bearer t1' ? response.writeHead(401).end() : response.writeHead(200, { 'content-type': 'application/json' }).end('{"name":"staging"}'),
    );
    expect(await connect(p.url).hello()).toEqual({ name: 'staging' });
    expect(p.requests.map((r) => `${r.path} ${r.authorization ?? ''}`.replace(/Basic .*/, 'Basic'))).toEqual(['/auth/token Basic', '/v1/sync/hello Bearer t1', '/auth/token Basic', '/v1/sync/hello Bearer t2']);
  });

  it('says the peer is unreachable when nothing listens, when it never answers, and when its answer stalls or is cut off', async () => {
    const closed = await peer(() => undefined);
    const gone = closed.url;
    for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
    const refused = await refusal(connect(gone).hello());
    expect(refused.code).toBe('PEER_UNREACHABLE');
    expect(refused.message).toMatch(/cannot be reached: .*ECONNREFUSED/);

    const silent = await peer(() => undefined);
    expect((await refusal(connect(silent.url).hello())).message).toContain('cannot be reached: no answer within 300 ms');

    const stalling = await peer((_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      response.write('{"name":');
    });
    expect((await refusal(connect(stalling.url).hello())).message).toContain('no answer within 300 ms');

    const cut = await peer((_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      response.write('{"name":', () => response.socket?.destroy());
    });
    expect((await refusal(connect(cut.url).hello())).message).toMatch(/cannot be reached: (the answer was cut off|aborted)/);
  });

  it('passes on the peer’s refusal with its problem', async () => {
    const p = await peer((_request, _body, response) =>
      response.writeHead(409, { 'content-type': 'application/problem+json' }).end(JSON.stringify({ code: 'SYNC_CONFLICT', detail: 'Nothing was written.' })),
    );
    const error = await refusal(connect(p.url).hello());
    expect(error.code).toBe('PEER_REFUSED');
    expect(error.message).toContain('answered 409: Nothing was written.');
    expect(error.details).toMatchObject({ status: 409, peerCode: 'SYNC_CONFLICT' });
  });
});
