// A large body refused from its headers (415 content type, 413 declared length over the limit, 503 shed at the door)
// is answered, and the connection is closed with a lingering close (src/http/linger.ts): the write side is shut and
// what the client still sends is read and dropped, bounded, before the socket is destroyed. Before, the socket was
// destroyed while the client still sent; the reset made a client that reads only once its body is sent (as blocking
// clients do) get ECONNRESET, not its answer (0 of 20 here).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { killServe, type ServeProcess, startServeProcess, statusesIn, until } from './helpers.js';

const LIMIT = 1 << 20;
const MIB = 1 << 20;
/** src/http/linger.ts LINGER.bytes: read and dropped at most, per connection, once lingering. */
const LINGER_BYTES = 128 * MIB;

let sim: Simulator;
let plain: ServeProcess;
let tight: ServeProcess;

async function serve(name: string, server: Record<string, unknown>): Promise<ServeProcess> {
  const dir = mkdtempSync(join(tmpdir(), `llmscope-rel2-${name}-`));
  const file = join(dir, 'llmscope.yaml');
  writeFileSync(
    file,
    JSON.stringify({
      server: { host: '127.0.0.1', port: 0, bodyLimit: LIMIT, ...server },
      providers: [{ name: 'sim', baseUrl: sim.url }],
      storage: { url: `sqlite:${join(dir, 'calls.db')}` },
      telemetry: { logLevel: 'warn' },
      gpu: { collector: 'none' },
    }),
  );
  return startServeProcess({}, ['-c', file]);
}

beforeAll(async () => {
  sim = await startSimulator({ port: 0, ttftMs: 0, tpotMs: 0, outputTokens: 2 });
  // one call in flight at most: a lingering connection must not hold it
  plain = await serve('plain', { maxConcurrentCalls: 1 });
  // every body declared over 100 kB is shed at the door (503)
  tight = await serve('tight', { maxBufferedBytes: 100_000 });
}, 90_000);

afterAll(async () => {
  if (plain) await killServe(plain.proc);
  if (tight) await killServe(tight.proc);
  await sim?.close();
});

const portOf = (s: ServeProcess) => Number(new URL(s.base).port);

/** A client that does not read (its kernel holds what comes) until told to; it ignores the server's FIN. */
function quietClient(port: number) {
  const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  socket.pause();
  let got = '';
  let error: string | null = null;
  let closed = false;
  socket.on('error', (e: NodeJS.ErrnoException) => {
    error = e.code ?? e.message;
  });
  socket.on('close', () => {
    closed = true;
  });
  return {
    socket,
    /** Reads from now on; at the server's FIN, closes its side too. */
    read: () => {
      socket.on('data', (d: Buffer) => {
        got += d.toString('latin1');
      });
      socket.on('end', () => socket.end());
      socket.resume();
    },
    got: () => got,
    error: () => error,
    closed: () => closed,
  };
}

const chunkOf = (b: Buffer) => Buffer.concat([Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from('\r\n')]);

/** Writes `bytes` in 1 MiB writes as fast as the socket takes them; resolves with what was written (less on an error). */
async function sendAll(socket: Socket, bytes: number, framed: (c: Buffer) => Buffer = (c) => c): Promise<number> {
  const chunk = Buffer.alloc(MIB, 120);
  let sent = 0;
  while (sent < bytes && !socket.destroyed) {
    const ok = socket.write(framed(chunk));
    sent += chunk.length;
    if (!ok) await new Promise((r) => socket.once('drain', r).once('close', r));
  }
  return socket.destroyed ? sent - chunk.length : sent;
}

/** Sends a 64 MiB body after `head`, and only then reads: what the connection answered before it closed. */
async function sendThenRead(
  port: number,
  head: string,
  chunked: boolean,
): Promise<{ got: string; error: string | null }> {
  const c = quietClient(port);
  c.socket.write(head);
  await sendAll(c.socket, 64 * MIB, chunked ? chunkOf : undefined);
  if (chunked && !c.socket.destroyed) c.socket.write('0\r\n\r\n');
  c.read();
  await until(() => c.closed(), 60_000);
  return { got: c.got(), error: c.error() };
}

const call = (ct: string, framing: string) =>
  `POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: ${ct}\r\n${framing}\r\n\r\n`;

describe('a large body refused from its headers, sent whole before the client reads', () => {
  it('gets its answer on each of 20 connections, not a reset (415, 413, chunked or declared)', async () => {
    const kinds = [
      { head: call('text/plain', `content-length: ${64 * MIB}`), chunked: false, status: 415 },
      { head: call('text/plain', 'transfer-encoding: chunked'), chunked: true, status: 415 },
      { head: call('application/json', `content-length: ${64 * MIB}`), chunked: false, status: 413 },
    ];
    const results: { status: number | undefined; expected: number; error: string | null }[] = [];
    for (let i = 0; i < 20; i++) {
      const k = kinds[i % kinds.length] as (typeof kinds)[number];
      const r = await sendThenRead(portOf(plain), k.head, k.chunked);
      results.push({ status: statusesIn(r.got)[0], expected: k.status, error: r.error });
    }
    expect(results.map((r) => r.status)).toEqual(results.map((r) => r.expected));
  }, 180_000);

  it('gets its 503 when shed at the door (server.maxBufferedBytes), not a reset', async () => {
    for (let i = 0; i < 5; i++) {
      const r = await sendThenRead(portOf(tight), call('application/json', `content-length: ${64 * MIB}`), false);
      expect(statusesIn(r.got)).toEqual([503]);
      expect(r.got).toContain('server.maxBufferedBytes');
    }
  }, 120_000);
});

describe('a lingering close is bounded', () => {
  it('cuts a client that never stops sending once it has sent the limit and the lingering bound more', async () => {
    const c = quietClient(portOf(plain));
    c.socket.write(call('text/plain', 'content-length: 1000000000000'));
    const sent = await sendAll(c.socket, 1000 * LINGER_BYTES);
    await until(() => c.closed(), 30_000);
    // the limit dropped keeping the connection, then the lingering bound; plus what the two sockets' buffers held
    // (tcp_rmem's max is 32 MiB on the CI machine, tcp_wmem's 4 MiB)
    expect(sent).toBeLessThan(LIMIT + LINGER_BYTES + 64 * MIB);
  }, 120_000);

  it('holds no call slot while it lingers: another call is served meanwhile (server.maxConcurrentCalls: 1)', async () => {
    const c = quietClient(portOf(plain));
    c.socket.write(call('text/plain', 'transfer-encoding: chunked'));
    // past the limit, so the connection lingers; then a piece every 100 ms, never stopping, never reading
    await sendAll(c.socket, 2 * LIMIT, chunkOf);
    const piece = chunkOf(Buffer.alloc(1024, 120));
    const trickle = setInterval(() => c.socket.write(piece), 100);
    try {
      const client = new OpenAI({ baseURL: `${plain.base}/v1`, apiKey: 'sk-test-not-a-real-key', maxRetries: 0 });
      const answer = await client.chat.completions.create({
        model: 'sim-model',
        messages: [{ role: 'user', content: 'hi' }],
      });
      expect(answer.choices[0]?.message.content).toBeTruthy();
      // still lingering meanwhile (before, it was reset at the limit), and its answer is there to read
      expect(c.closed()).toBe(false);
      c.read();
      await until(() => statusesIn(c.got()).length > 0);
      expect(statusesIn(c.got())).toEqual([415]);
    } finally {
      clearInterval(trickle);
      c.socket.destroy();
    }
  }, 60_000);
});
