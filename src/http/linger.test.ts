// The lingering close's bounds: a client still sending after its answer is read from until it closes, and cut when
// it trickles past the lingering time, goes silent past the idle time, or sends past the byte bound; what comes
// meanwhile is dropped, never parsed as a next request.
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { statusesIn, until } from '../../test/e2e/helpers.js';
import { type LingerBounds, lingerOnClose } from './linger.js';

let server: Server | undefined;
afterEach(() => server?.close());

/** A server answering every request 413 with `connection: close` before reading its body, lingering with `bounds`. */
async function refusing(
  bounds: LingerBounds,
): Promise<{ port: number; served: () => number; connections: () => Promise<number> }> {
  let served = 0;
  server = createServer((req, res) => {
    served++;
    lingerOnClose(req, bounds);
    res.writeHead(413, { connection: 'close', 'content-length': 2 });
    res.end('{}');
  });
  await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
  const s = server;
  return {
    port: (server.address() as { port: number }).port,
    served: () => served,
    connections: () => new Promise((ok) => s.getConnections((_, n) => ok(n))),
  };
}

/** A client reading as it comes that keeps sending after the server's FIN (allowHalfOpen). */
function client(port: number) {
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

const HEAD = 'POST /x HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: text/plain\r\ncontent-length: 1000000000000\r\n\r\n';
const LONG = 600_000;

describe('a lingering close', () => {
  it('ends when the client closes, its answer read and no reset', async () => {
    const { port } = await refusing({ ms: LONG, idleMs: LONG, bytes: 1 << 30 });
    const c = client(port);
    let error: string | null = null;
    c.socket.on('error', (e: NodeJS.ErrnoException) => {
      error = e.code ?? e.message;
    });
    c.socket.write(HEAD);
    c.socket.write('x'.repeat(1 << 20));
    await until(() => statusesIn(c.got()).length > 0);
    c.socket.end('y'.repeat(1 << 20));
    await until(() => c.closed());
    expect(statusesIn(c.got())).toEqual([413]);
    expect(error).toBeNull();
  });

  it('cuts a client that trickles for ever at the lingering time', async () => {
    const { port } = await refusing({ ms: 1_500, idleMs: LONG, bytes: 1 << 30 });
    const c = client(port);
    c.socket.write(HEAD);
    const trickle = setInterval(() => c.socket.writable && c.socket.write('z'), 50);
    try {
      await until(() => c.closed());
      expect(statusesIn(c.got())).toEqual([413]);
    } finally {
      clearInterval(trickle);
    }
  });

  it('cuts a client that goes silent without closing at the idle time', async () => {
    const { port, connections } = await refusing({ ms: LONG, idleMs: 1_000, bytes: 1 << 30 });
    const c = client(port);
    c.socket.write(`${HEAD}some of the body`);
    await until(() => statusesIn(c.got()).length > 0);
    // the client neither sends nor closes (its side stays open): the server's side is closed
    await until(async () => (await connections()) === 0);
    expect(statusesIn(c.got())).toEqual([413]);
    expect(c.closed()).toBe(false);
    c.socket.destroy();
  });

  it('cuts a client that keeps sending at the byte bound', async () => {
    const bytes = 4 << 20;
    const { port } = await refusing({ ms: LONG, idleMs: LONG, bytes });
    const c = client(port);
    c.socket.write(HEAD);
    const more = Buffer.alloc(64 * 1024, 120);
    let sent = 0;
    while (!c.closed() && sent < 64 * bytes) {
      if (!c.socket.write(more)) await new Promise((r) => c.socket.once('drain', r).once('close', r));
      sent += more.length;
    }
    await until(() => c.closed());
    // what the two sockets' buffers held on top
    expect(sent).toBeLessThan(bytes + (8 << 20));
  });

  it('drops what comes after the answer, a next request in it too, unparsed', async () => {
    const { port, served, connections } = await refusing({ ms: LONG, idleMs: 1_000, bytes: 1 << 30 });
    const c = client(port);
    const body = 'b'.repeat(100_000);
    c.socket.write(`POST /x HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: ${body.length}\r\n\r\n`);
    await until(() => statusesIn(c.got()).length > 0);
    c.socket.write(`${body}GET /next HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n`);
    await until(async () => (await connections()) === 0);
    c.socket.destroy();
    expect(statusesIn(c.got())).toEqual([413]);
    expect(served()).toBe(1);
  });
});
