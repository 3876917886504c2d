// POST /api/ingest with more records than a batch takes (10,000): a body parsed as it arrives (past 1 MiB) is refused
// at its 10,001st record with the 400 the whole body gets, without parsing or waiting for the rest; the rest of the
// body is then dropped, at most the body limit more and with no long gap, or the connection is closed.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { rawConnection, until } from '../../test/e2e/helpers.js';
import { Recorder } from '../calls/index.js';
import { renderError } from '../errors.js';
import { BODY_IDLE } from '../http/body.js';
import { parseBody } from '../http/index.js';
import { JsonStreamParser, TooManyItems } from '../http/json-stream.js';
import { ingestBodySchema, ingestCalls } from './ingest.js';

const record = (i: number) => ({
  started_at: 1_700_000_000_000 + i,
  provider: 'openai',
  model: 'gpt-4o-mini',
  input_tokens: i,
  feature: `feature-${i % 10}-of-the-app`,
});

/** The answer the whole body gets from one zod parse (as before the early stop): status and error. */
function wholeAnswer(body: unknown): { status: number; body: unknown } {
  const [array, calls] = ingestBodySchema.options as unknown as [z.ZodType, z.ZodType];
  try {
    parseBody(Array.isArray(body) ? array : calls, body);
  } catch (err) {
    const r = renderError(err);
    return { status: r.status, body: r.body };
  }
  throw new Error('the whole body passed');
}

let server: Server | undefined;
afterEach(() => server?.close());

/** A server answering POST /api/ingest with ingestCalls (body limit `limit`); `idleMs` its body idle timeout. */
async function serve(limit: number, idleMs?: number): Promise<number> {
  server = createServer((req, res) => {
    if (idleMs !== undefined) (req as IncomingMessage & { [BODY_IDLE]?: unknown })[BODY_IDLE] = { ms: idleMs };
    ingestCalls(req, res, limit, new Recorder(), { knownIds: async () => new Set() }).catch((err) => {
      const r = renderError(err);
      const text = JSON.stringify(r.body);
      res.writeHead(r.status, { 'content-type': 'application/json', 'content-length': text.length, ...r.headers });
      res.end(text);
    });
  });
  await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
  return (server.address() as { port: number }).port;
}

/** The answer in `text` once whole (head and a content-length body), else null. */
function answerIn(text: string): { status: number; head: string; body: unknown } | null {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const head = text.slice(0, end);
  const len = Number(/content-length: (\d+)/i.exec(head)?.[1]);
  const body = text.slice(end + 4);
  if (body.length < len) return null;
  return { status: Number(head.split(' ')[1]), head, body: JSON.parse(body.slice(0, len)) };
}

describe('JsonStreamParser with a list limit', () => {
  it('throws at the item past the limit of the top-level array, or of the array under the key, with what came', () => {
    const p = new JsonStreamParser(undefined, { max: 3, key: 'calls' });
    expect(() => p.write('[1,2,3,4,5')).toThrow(TooManyItems);
    try {
      new JsonStreamParser(undefined, { max: 3, key: 'calls' }).write('{"x":1,"calls":[1,2,{"a":[3]},4,5');
    } catch (err) {
      expect((err as TooManyItems).partial).toEqual({ x: 1, calls: [1, 2, { a: [3] }, 4] });
    }
    // other lists are not bounded
    for (const text of ['{"other":[1,2,3,4,5]}', '[[1,2,3,4,5]]', '{"calls":[[1,2,3,4,5]]}', '[1,2,3]']) {
      const q = new JsonStreamParser(undefined, { max: 3, key: 'calls' });
      q.write(text);
      expect(q.end()).toEqual(JSON.parse(text));
    }
  });
});

describe('ingest: a batch over 10,000 records is refused at its 10,001st', () => {
  it('with the 400 the whole body gets (array, {"calls"}, a key before "calls", broken records)', async () => {
    const port = await serve(64 << 20);
    const records: Record<string, unknown>[] = Array.from({ length: 30_000 }, (_, i) => record(i));
    (records[5] as Record<string, unknown>).model = 5;
    (records[20_000] as Record<string, unknown>).unknown = 1;
    for (const body of [records, { calls: records }, { x: 1, calls: records }, records.slice(0, 10_001)]) {
      const text = JSON.stringify(body);
      expect(text.length).toBeGreaterThan(1 << 20); // parsed as it arrives
      const r = await fetch(`http://127.0.0.1:${port}/api/ingest`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: text,
      });
      expect({ status: r.status, body: await r.json() }).toEqual(wholeAnswer(body));
    }
  });

  it('without the rest of the body: a batch whose tail never comes gets its 400', async () => {
    const port = await serve(64 << 20);
    const text = JSON.stringify({ calls: Array.from({ length: 300_000 }, (_, i) => record(i)) });
    const c = rawConnection(port);
    c.socket.write(
      `POST /api/ingest HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${text.length}\r\n\r\n`,
    );
    c.socket.write(text.slice(0, 2 << 20)); // ~30,000 records of ~300,000; the rest is never sent
    await until(() => answerIn(c.got()) !== null);
    const a = answerIn(c.got());
    expect(a?.status).toBe(400);
    expect(a?.body).toEqual(wholeAnswer(JSON.parse(text)).body);
    expect(c.closed()).toBe(false);
    c.socket.destroy();
  });

  it('the rest is dropped at most the body limit more: a chunked body going on past it has its connection closed', async () => {
    const limit = 4 << 20;
    const port = await serve(limit);
    const c = rawConnection(port);
    c.socket.write(
      'POST /api/ingest HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n',
    );
    const chunk = (s: string) => c.socket.write(`${s.length.toString(16)}\r\n${s}\r\n`);
    chunk(JSON.stringify(Array.from({ length: 20_000 }, (_, i) => record(i))).slice(0, -1));
    await until(() => answerIn(c.got()) !== null);
    expect(answerIn(c.got())?.status).toBe(400);
    // the body goes on (",1,1,1..."): before, node read and dropped it for as long as it came
    const more = ',1'.repeat(32 * 1024);
    let sent = 0;
    while (!c.closed() && sent < 4 * limit) {
      if (!chunk(more)) await new Promise((r) => c.socket.once('drain', r).once('close', r));
      sent += more.length;
    }
    await until(() => c.closed());
    // (the lingering close after the limit, src/http/linger.ts, shuts the write side and reads on: the client sends
    // on until it reads that, what the sockets' buffers take meanwhile)
    expect(sent).toBeLessThan(3 * limit);
  });

  it('a body over the limit (413), declared or chunked: the rest is dropped at most the limit more, then closed', async () => {
    const limit = 2 << 20;
    const port = await serve(limit);
    for (const declared of [true, false]) {
      const c = rawConnection(port);
      c.socket.write(
        `POST /api/ingest HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n${declared ? 'content-length: 1000000000000' : 'transfer-encoding: chunked'}\r\n\r\n`,
      );
      const more = '"'.padEnd(64 * 1024, 'x'); // one long string, never closed
      const send = (s: string) => c.socket.write(declared ? s : `${s.length.toString(16)}\r\n${s}\r\n`);
      let sent = 0;
      // before, node read and dropped the rest of such a body for as long as it came
      while (!c.closed() && sent < 16 * limit) {
        if (!send(more)) await new Promise((r) => c.socket.once('drain', r).once('close', r));
        sent += more.length;
      }
      await until(() => c.closed());
      expect(answerIn(c.got())?.status).toBe(413);
      // (what was sent includes what the sockets' buffers held)
      expect(sent).toBeLessThan(16 * limit);
    }
  });

  it('the rest that stops coming has its connection closed after the body idle timeout', async () => {
    const port = await serve(64 << 20, 300);
    const c = rawConnection(port);
    const text = JSON.stringify(Array.from({ length: 30_000 }, (_, i) => record(i)));
    c.socket.write(
      `POST /api/ingest HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${text.length}\r\n\r\n`,
    );
    c.socket.write(text.slice(0, 1_500_000));
    await until(() => answerIn(c.got()) !== null);
    expect(answerIn(c.got())?.status).toBe(400);
    await until(() => c.closed());
  });

  it('a rest that comes whole leaves the connection open for the next request', async () => {
    const port = await serve(64 << 20, 60_000);
    const c = rawConnection(port);
    const text = JSON.stringify(Array.from({ length: 30_000 }, (_, i) => record(i)));
    const post = (body: string) =>
      c.socket.write(
        `POST /api/ingest HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
      );
    post(text);
    await until(() => answerIn(c.got()) !== null);
    expect(answerIn(c.got())?.status).toBe(400);
    const first = c.got().length;
    post(JSON.stringify([record(1)]));
    await until(() => answerIn(c.got().slice(first)) !== null);
    expect(answerIn(c.got().slice(first))?.status).toBe(202);
    c.socket.destroy();
  });
});
