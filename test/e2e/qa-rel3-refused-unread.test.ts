// A body refused before any of it is read (the OTLP receiver's 415 on /v1/traces and /v1/logs, an unknown /v1 route's
// 404, a gateway route's 405) has its rest dropped as other refusals' are (dropRest, src/http/body.ts): at most the
// body limit (1 MiB at least) more, then the answer and a lingering close bounded at 128 MiB. Before, node read and
// dropped it without end (req.resume(), or node's own drain after the answer): a client that sent for ever was read
// for ever on one connection.
// So is a body nobody read when its answer finished, on any route that answers in place without reading or throwing
// (createListener's one hook in place of node's own drain, which read it without end; and the handlers that called
// req.resume() themselves: sign-out, a pass-through GET, a gateway worker's relayed GET).
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { killServe, rawConnection, type ServeProcess, startServeWithConfig, statusesIn, until } from './helpers.js';

const MIB = 1 << 20;
const LIMIT = MIB;
/** src/http/linger.ts LINGER.bytes: read and dropped at most, per connection, once lingering. */
const LINGER_BYTES = 128 * MIB;
/** What the two sockets' buffers may hold on top of what llmscope read: tcp_rmem's max (32 MiB on the CI machine) and
 * tcp_wmem's (4 MiB), with room. */
const BUFFERS = 64 * MIB;

let sim: Simulator;
let serve: ServeProcess;
let workers: ServeProcess;

beforeAll(async () => {
  sim = await startSimulator({ port: 0, ttftMs: 0, tpotMs: 0, outputTokens: 2 });
  // each in a folder of its own (its config and SQLite file), on a port of its own
  const config = (dir: string) => ({
    server: { host: '127.0.0.1', port: 0, bodyLimit: LIMIT },
    providers: [{ name: 'sim', baseUrl: sim.url }],
    storage: { url: `sqlite:${join(dir, 'calls.db')}` },
    telemetry: { logLevel: 'warn' },
    gpu: { collector: 'none' },
  });
  serve = await startServeWithConfig({ config, prefix: 'llmscope-rel3-' });
  workers = await startServeWithConfig({ config, workers: 2, prefix: 'llmscope-rel3-' });
}, 90_000);

afterAll(async () => {
  if (serve) await killServe(serve.proc);
  if (workers) await killServe(workers.proc);
  await sim?.close();
});

const port = (s = serve) => Number(new URL(s.base).port);

/** A client that reads what comes but never stops sending of itself (it ignores the server's FIN). */
function floodClient(p = port()) {
  const socket = connect({ port: p, host: '127.0.0.1', allowHalfOpen: true });
  let got = '';
  let closed = false;
  socket.on('error', () => {});
  socket.on('data', (d: Buffer) => {
    got += d.toString('latin1');
  });
  socket.on('close', () => {
    closed = true;
  });
  return { socket, got: () => got, closed: () => closed };
}

const chunkOf = (b: Buffer) => Buffer.concat([Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from('\r\n')]);

/** Writes up to `bytes` in 1 MiB writes as fast as the socket takes them; resolves with what was written. */
async function sendAll(socket: Socket, bytes: number, framed: (c: Buffer) => Buffer = (c) => c): Promise<number> {
  const chunk = Buffer.alloc(MIB, 120);
  let sent = 0;
  while (sent < bytes && !socket.destroyed) {
    const ok = socket.write(framed(chunk));
    sent += chunk.length;
    if (!ok)
      await new Promise<void>((r) => {
        const done = () => {
          socket.off('drain', done).off('close', done);
          r();
        };
        socket.once('drain', done).once('close', done);
      });
  }
  return socket.destroyed ? sent - chunk.length : sent;
}

const head = (method: string, path: string, ct: string, framing: string) =>
  `${method} ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: ${ct}\r\n${framing}\r\n\r\n`;

describe('a body refused before it is read, from a client that never stops sending', () => {
  const cases = [
    {
      name: 'POST /v1/traces, text/plain (415)',
      head: head('POST', '/v1/traces', 'text/plain', 'content-length: 1000000000000'),
      chunked: false,
      status: 415,
    },
    {
      name: 'POST /v1/logs, text/plain, chunked (415)',
      head: head('POST', '/v1/logs', 'text/plain', 'transfer-encoding: chunked'),
      chunked: true,
      status: 415,
    },
    {
      name: 'POST /v1/no-such-route (404)',
      head: head('POST', '/v1/no-such-route', 'application/json', 'content-length: 1000000000000'),
      chunked: false,
      status: 404,
    },
    {
      name: 'POST /api/no-such-route (404)',
      head: head('POST', '/api/no-such-route', 'application/json', 'content-length: 1000000000000'),
      chunked: false,
      status: 404,
    },
    {
      name: 'PUT /v1/chat/completions (405)',
      head: head('PUT', '/v1/chat/completions', 'application/json', 'content-length: 1000000000000'),
      chunked: false,
      status: 405,
    },
  ];
  for (const k of cases)
    it(`${k.name}: gets its answer and is cut within the bound`, async () => {
      const c = floodClient();
      c.socket.write(k.head);
      // more than the bound: before, all of it was taken and the connection stayed open, still reading
      const sent = await sendAll(c.socket, LIMIT + LINGER_BYTES + 3 * BUFFERS, k.chunked ? chunkOf : undefined);
      await until(() => c.closed(), 15_000);
      expect(statusesIn(c.got())).toEqual([k.status]);
      expect(sent).toBeLessThan(LIMIT + LINGER_BYTES + BUFFERS);
    }, 60_000);
});

describe('under serve --workers 2', () => {
  it('POST /v1/models (405 thrown in a worker): gets its answer and is cut within the bound', async () => {
    const c = floodClient(port(workers));
    c.socket.write(head('POST', '/v1/models', 'application/json', 'content-length: 1000000000000'));
    const sent = await sendAll(c.socket, LIMIT + LINGER_BYTES + 3 * BUFFERS);
    await until(() => c.closed(), 15_000);
    expect(statusesIn(c.got())).toEqual([405]);
    expect(sent).toBeLessThan(LIMIT + LINGER_BYTES + BUFFERS);
  }, 60_000);
});

describe('a small refused body on a keep-alive connection', () => {
  it('is answered and the connection serves the next request, as before', async () => {
    const c = rawConnection(port());
    try {
      c.socket.write(`${head('POST', '/v1/traces', 'text/plain', 'content-length: 5')}hello`);
      c.socket.write(`${head('POST', '/v1/logs', 'text/plain', 'content-length: 5')}hello`);
      c.socket.write(`${head('POST', '/v1/no-such-route', 'application/json', 'content-length: 2')}{}`);
      c.socket.write(`${head('POST', '/v1/traces', 'application/json', 'content-length: 2')}{}`);
      await until(() => statusesIn(c.got()).length === 4);
      expect(statusesIn(c.got())).toEqual([415, 415, 404, 200]);
      expect(c.closed()).toBe(false);
    } finally {
      c.socket.destroy();
    }
  }, 30_000);
});

describe('a body nobody read, answered in place without throwing, from a client that never stops sending', () => {
  const get = (path: string) => head('GET', path, 'application/json', 'content-length: 1000000000000');
  const cases = [
    { name: 'GET /healthz', head: get('/healthz'), on: () => serve },
    { name: 'GET /metrics', head: get('/metrics'), on: () => serve },
    { name: 'GET / (the dashboard page)', head: get('/'), on: () => serve },
    { name: 'GET /api/requests', head: get('/api/requests'), on: () => serve },
    {
      name: 'POST /logout (303)',
      head: head('POST', '/logout', 'application/x-www-form-urlencoded', 'content-length: 1000000000000'),
      on: () => serve,
    },
    { name: 'GET /v1/responses/resp_x (passed through)', head: get('/v1/responses/resp_x'), on: () => serve },
    { name: 'GET /healthz on serve --workers 2 (relayed)', head: get('/healthz'), on: () => workers },
    {
      name: 'GET /v1/responses/resp_x on serve --workers 2',
      head: get('/v1/responses/resp_x'),
      on: () => workers,
    },
  ];
  for (const k of cases)
    it(`${k.name}: gets its answer and is cut within the bound`, async () => {
      const c = floodClient(port(k.on()));
      c.socket.write(k.head);
      // before, node (or the handler's req.resume()) read all of it and the connection stayed open, still reading
      const sent = await sendAll(c.socket, LIMIT + LINGER_BYTES + 3 * BUFFERS);
      await until(() => c.closed(), 15_000);
      expect(statusesIn(c.got())).toHaveLength(1);
      expect(sent).toBeLessThan(LIMIT + LINGER_BYTES + BUFFERS);
    }, 60_000);

  it('a small such body leaves the keep-alive connection serving the next request', async () => {
    const c = rawConnection(port());
    try {
      c.socket.write(`${head('GET', '/healthz', 'text/plain', 'content-length: 5')}hello`);
      // the rest of this one's body comes after its answer went: dropped, then the next request served
      c.socket.write(`${head('GET', '/metrics', 'text/plain', 'content-length: 5')}hel`);
      await until(() => statusesIn(c.got()).length === 2);
      c.socket.write(`lo${head('POST', '/v1/traces', 'application/json', 'content-length: 2')}{}`);
      await until(() => statusesIn(c.got()).length === 3);
      expect(statusesIn(c.got())).toEqual([200, 200, 200]);
      expect(c.closed()).toBe(false);
    } finally {
      c.socket.destroy();
    }
  }, 30_000);

  it('a body a worker relays to the primary, refused there early, still gets its answer (3 MiB to POST /healthz)', async () => {
    const c = rawConnection(port(workers));
    try {
      c.socket.write(head('POST', '/healthz', 'application/json', `content-length: ${3 * MIB}`));
      await sendAll(c.socket, 3 * MIB);
      await until(() => statusesIn(c.got()).length === 1 || c.closed());
      expect(statusesIn(c.got())).toEqual([405]);
    } finally {
      c.socket.destroy();
    }
  }, 30_000);
});
