// One Shiplog instance served in its own process, for the sync benchmarks: `startInstance` from dist/main.js, as
// `shiplog serve` runs it. Started by `startInstanceProcess` (support.mjs) with its options as JSON in argv[2];
// reports `{ url, idsUrl }` over IPC once listening, answers `{ bytes: true }` with the bytes its sockets carried so far
// (`{ bytes: { instance, ids } }`: what crossed the wire to and from it), and stops on 'stop'.
//
// With `ids: true` it also serves GET / on a second port: every change id of its log as one JSON array, read
// straight from the database. That is the naive full comparison the reconciliation is measured against.
import { createServer } from 'node:http';
import { Server } from 'node:net';
import { startInstance } from '../dist/main.js';
import { changeIdsOf } from './support.mjs';

const options = JSON.parse(process.argv[2]);

// Bytes on the wire per local port (request and response, HTTP headers included), counted on every accepted socket.
const bytesByPort = new Map();
const live = new Set();
const emit = Server.prototype.emit;
Server.prototype.emit = function (event, socket, ...rest) {
  if (event === 'connection') {
    const port = socket.localPort;
    live.add(socket);
    socket.once('close', () => {
      live.delete(socket);
      bytesByPort.set(port, (bytesByPort.get(port) ?? 0) + socket.bytesRead + socket.bytesWritten);
    });
  }
  return emit.call(this, event, socket, ...rest);
};
function bytesOn(port) {
  let total = bytesByPort.get(port) ?? 0;
  for (const socket of live) if (socket.localPort === port) total += socket.bytesRead + socket.bytesWritten;
  return total;
}
const running = await startInstance({
  name: options.name,
  kind: options.kind,
  database: options.database,
  port: 0,
  host: '127.0.0.1',
  secretKey: options.secretKey,
  adminToken: options.adminToken,
  // A benchmark's client makes more than a person would: `rateLimit: 0` lifts the per-principal limit.
  ...(options.rateLimit === undefined ? {} : { rateLimit: options.rateLimit }),
  logger: false,
});


let idsServer = null;
let idsUrl = null;
if (options.ids) {
  idsServer = createServer((request, response) => {
    changeIdsOf(options.database).then(
      (ids) => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify(ids));
      },
      (error) => {
        response.writeHead(500);
        response.end(String(error));
      },
    );
  });
  await new Promise((resolve) => idsServer.listen(0, '127.0.0.1', resolve));
  idsUrl = `http://127.0.0.1:${idsServer.address().port}/`;
}

process.on('message', async (message) => {
  if (message?.bytes) {
    process.send({ bytes: { instance: bytesOn(Number(new URL(running.url).port)), ids: idsServer ? bytesOn(idsServer.address().port) : 0 } });
    return;
  }
  if (message === 'stop') {
    idsServer?.close();
    await running.close();
    process.exit(0);
  }
});
process.send({ url: running.url, idsUrl });
