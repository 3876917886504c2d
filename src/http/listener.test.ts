// The listener's guards: against clients that never finish a request's headers (slowloris), answered 408 in the error
// shape and closed once the header timeout passes (which `requestTimeout: 0` had turned off); and against a body
// nobody read, which node drained without end once its answer was sent.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { Pool } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { rawConnection, statusesIn, until } from '../../test/e2e/helpers.js';
import { createListener, HEADERS_TIMEOUT_MS } from './listener.js';

let server: Server | undefined;
afterEach(() => server?.close());

describe('createListener', () => {
  it('keeps a header timeout although request bodies have none', () => {
    server = createListener(undefined, (_req, res) => res.end());
    expect(server.requestTimeout).toBe(0);
    expect(server.headersTimeout).toBe(HEADERS_TIMEOUT_MS);
  });

  it('closes a connection whose headers trickle in past the timeout, with a 408 in the error shape', async () => {
    server = createListener(undefined, (_req, res) => res.end('served'), { headersTimeoutMs: 300, checkEveryMs: 100 });
    await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    const answer = await new Promise<string>((resolve) => {
      const s = connect(port, '127.0.0.1');
      let got = '';
      // a header line every 50 ms: never idle, never done (it would go on for ever)
      const drip = setInterval(() => s.writable && s.write('x-slow: 1\r\n'), 50);
      s.on('data', (d) => {
        got += d.toString();
      });
      s.on('error', () => {});
      s.on('close', () => {
        clearInterval(drip);
        resolve(got);
      });
      s.write('GET / HTTP/1.1\r\nhost: 127.0.0.1\r\n');
    });
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { error: { code: string } };
    expect(body.error.code).toBe('request_timeout');
  });
});

/** A client reading what comes that never stops sending of itself (it ignores the server's FIN). */
function flooder(port: number) {
  const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  let got = '';
  let closed = false;
  socket.on('data', (d: Buffer) => {
    got += d.toString('latin1');
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    closed = true;
  });
  return { socket, got: () => got, closed: () => closed };
}

/** Writes up to `bytes` in 1 MiB writes as fast as the socket takes them, stopping once it closes. */
async function send(socket: Socket, bytes: number): Promise<void> {
  const chunk = Buffer.alloc(MIB, 120);
  for (let sent = 0; sent < bytes && !socket.destroyed; sent += chunk.length)
    if (!socket.write(chunk))
      await new Promise<void>((r) => {
        const done = () => {
          socket.off('drain', done).off('close', done);
          r();
        };
        socket.once('drain', done).once('close', done);
      });
}

async function listening(handler: Parameters<typeof createListener>[1]): Promise<number> {
  server = createListener(undefined, handler);
  server.on('connection', (s: Socket) => sockets.push(s));
  await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
  return (server.address() as { port: number }).port;
}

const MIB = 1 << 20;
/** dropRest's 1 MiB, then the lingering close's 128 MiB (src/http/linger.ts LINGER.bytes): read at most. */
const BOUND = MIB + 128 * MIB;
const sockets: Socket[] = [];
const readOf = () => sockets.reduce((n, s) => n + s.bytesRead, 0);
const post = (path: string, length: number | string) =>
  `POST ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: text/plain\r\ncontent-length: ${length}\r\n\r\n`;

describe('a body nobody read when its answer finished', () => {
  afterEach(() => {
    sockets.length = 0;
  });

  it('is dropped bounded: a client that never stops sending gets its answer and is closed', async () => {
    // answered in place, without reading or throwing (a GET handler given a body, /metrics, a static file)
    const port = await listening((_req, res) => res.end('served'));
    const c = flooder(port);
    c.socket.write(post('/', 1e12));
    // past the bound: before, node read all of it and held the connection open for more
    await send(c.socket, BOUND + 160 * MIB);
    await until(() => c.closed(), 15_000);
    expect(statusesIn(c.got())).toEqual([200]);
    expect(readOf()).toBeLessThan(BOUND + 4 * MIB);
  }, 60_000);

  it('is drained by node when small, and the connection serves the next request', async () => {
    let n = 0;
    const port = await listening((_req, res) => res.end(String(++n)));
    const c = rawConnection(port);
    try {
      c.socket.write(`${post('/a', 5)}hello`);
      c.socket.write(`${post('/b', 5)}hel`);
      // the rest of the second body after its answer went: read and dropped, then the third request
      await until(() => statusesIn(c.got()).length === 2);
      c.socket.write(`lo${post('/c', 2)}{}`);
      await until(() => statusesIn(c.got()).length === 3);
      expect(statusesIn(c.got())).toEqual([200, 200, 200]);
      expect(c.closed()).toBe(false);
    } finally {
      c.socket.destroy();
    }
  });

  it('is not touched while a handler still reads it after its answer', async () => {
    let read = 0;
    const whole = 8 * MIB;
    const port = await listening((req, res) => {
      res.end('early');
      req.on('data', (d: Buffer) => {
        read += d.length;
      });
    });
    const c = rawConnection(port);
    try {
      c.socket.write(post('/', whole));
      await send(c.socket, whole);
      await until(() => read === whole);
      c.socket.write(post('/next', 0));
      await until(() => statusesIn(c.got()).length === 2);
      expect(c.closed()).toBe(false);
    } finally {
      c.socket.destroy();
    }
  });
});

describe('a request relayed as an undici request body (a gateway worker to the primary)', () => {
  it('keeps its socket when the far end refuses the body early: the client gets the answer', async () => {
    const far = createListener(undefined, (_req, res) => {
      res.writeHead(405, { 'content-length': 2 });
      res.end('{}');
    });
    await new Promise<void>((r) => far.listen(0, '127.0.0.1', r));
    const pool = new Pool(`http://127.0.0.1:${(far.address() as { port: number }).port}`);
    try {
      const port = await listening(async (req, res) => {
        try {
          const answer = await pool.request({
            path: '/',
            method: 'POST',
            headers: { 'content-length': String(req.headers['content-length']) },
            body: req,
          });
          res.shouldKeepAlive = false;
          res.writeHead(answer.statusCode, { 'content-length': 2 });
          await pipeline(answer.body, res);
        } catch {
          res.destroy();
        }
      });
      const c = rawConnection(port);
      c.socket.write(post('/', MIB));
      await send(c.socket, MIB);
      await until(() => c.closed() || statusesIn(c.got()).length > 0);
      // undici destroys a body it did not send whole, and leaves its socket alone only for node's own request class
      expect(statusesIn(c.got())).toEqual([405]);
      c.socket.destroy();
    } finally {
      await pool.close();
      far.close();
    }
  });
});

describe('an answer the client does not take (send timeout)', () => {
  const timing = { headersTimeoutMs: 60_000, checkEveryMs: 100, sendTimeoutMs: 600 };
  /** A handler streaming for ever, as fast as its client takes it (back-pressure respected), as a relayed stream. */
  const streaming = (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const chunk = Buffer.alloc(64 * 1024, 120);
    const more = () => {
      while (!res.destroyed && res.write(chunk));
      if (!res.destroyed) res.once('drain', more);
    };
    more();
  };
  async function on(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<number> {
    server = createListener(undefined, handler, timing);
    await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
    return (server.address() as { port: number }).port;
  }

  it('closes a connection whose client never reads its streamed answer', async () => {
    let ended = false;
    const port = await on((req, res) => {
      // what a call's concurrency slot and upstream stream wait on
      res.once('close', () => {
        ended = true;
      });
      streaming(req, res);
    });
    const s = connect({ port, host: '127.0.0.1' });
    s.on('error', () => {});
    s.pause();
    s.write('GET /stream HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n');
    // before, the answer waited for ever, the handler paused by back-pressure
    await until(() => ended, 5_000);
    s.destroy();
  });

  it('leaves one that reads, however slowly, and one waiting on an answer with nothing to send', async () => {
    const port = await on((req, res) => {
      if (req.url === '/wait') setTimeout(() => res.end('late'), 1_500);
      else streaming(req, res);
    });
    const slow = connect({ port, host: '127.0.0.1' });
    let read = 0;
    let closed = 0;
    slow.on('close', () => closed++);
    slow.on('data', (d: Buffer) => {
      read += d.length;
      slow.pause();
      setTimeout(() => slow.resume(), 200);
    });
    slow.write('GET /stream HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n');
    const waiting = rawConnection(port);
    waiting.socket.write('GET /wait HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n');
    await until(() => statusesIn(waiting.got()).length === 1, 5_000);
    expect(closed).toBe(0);
    expect(waiting.closed()).toBe(false);
    expect(read).toBeGreaterThan(0);
    slow.destroy();
    waiting.socket.destroy();
  });
});
