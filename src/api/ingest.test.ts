// POST /api/ingest's backpressure: a batch the store's lane cannot take waits for it to drain instead of being
// accepted and dropped; after the wait it is refused with 503 and Retry-After, and nothing is half-recorded.
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { type LlmCall, Recorder } from '../calls/index.js';
import { renderError } from '../errors.js';
import { ingestCalls } from './ingest.js';

/** A store sink that holds each write until `open()`; what it was given, and what the recorder dropped. */
function gatedStore() {
  const written: LlmCall[] = [];
  let release: (() => void) | null = null;
  let gate = new Promise<void>((r) => {
    release = r;
  });
  return {
    written,
    open() {
      release?.();
      gate = Promise.resolve();
    },
    sink: {
      name: 'store',
      lossless: true,
      maxBatch: 1000,
      async write(calls: readonly LlmCall[]) {
        await gate;
        written.push(...calls);
      },
    },
  };
}

const record = (i: number) => ({ request_id: `r-${i}`, started_at: 1_700_000_000_000 + i, provider: 'p', model: 'm' });

let server: Server | undefined;
afterEach(() => server?.close());

async function serve(recorder: Recorder, waitMs: number): Promise<string> {
  server = createServer((req, res) => {
    ingestCalls(req, res, 1 << 20, recorder, { knownIds: async () => new Set() }, waitMs).catch((err) => {
      const r = renderError(err);
      res.writeHead(r.status, { 'content-type': 'application/json', ...r.headers });
      res.end(JSON.stringify(r.body));
    });
  });
  await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
  const a = server.address() as { port: number };
  return `http://127.0.0.1:${a.port}/api/ingest`;
}

const post = (url: string, from: number, n: number) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(Array.from({ length: n }, (_, i) => record(from + i))),
  });

describe('ingest backpressure', () => {
  it('hasRoom counts lossless lanes (the store), undispatched calls and held room, and not exporters', async () => {
    const dropped: number[] = [];
    const rec = new Recorder({ capacity: 10, onDrop: (_s, n) => dropped.push(n) });
    const roomFor = (n: number) => rec.hasRoom(n);
    expect(roomFor(5)).toBe(true); // no lossless lane at all
    const g = gatedStore();
    rec.addSink(g.sink);
    rec.addSink({ name: 'traces', write: () => new Promise(() => {}) }); // a stuck exporter is not waited for
    for (let i = 0; i < 6; i++) rec.record({ requestId: `x${i}` } as LlmCall);
    expect(roomFor(4)).toBe(true);
    expect(roomFor(5)).toBe(false);
    expect(roomFor(50)).toBe(false); // larger than a lane: waits for an empty one
    // Room held for a batch not yet recorded counts as queued, until released.
    const release = await rec.holdRoom(3, 0);
    expect(release).not.toBeNull();
    expect(roomFor(2)).toBe(false);
    expect(await rec.holdRoom(2, 0)).toBeNull();
    release?.();
    expect(roomFor(4)).toBe(true);
    expect(dropped).toEqual([]);
    // Every lossless lane counts: a spend or quality lane that lags holds senders back as the store's does.
    const two = new Recorder({ capacity: 10 });
    two.addSink({ name: 'store', lossless: true, write: () => {} });
    two.addSink({ name: 'quality', lossless: true, write: () => new Promise(() => {}) });
    for (let i = 0; i < 12; i++) two.record({ requestId: `a${i}` } as LlmCall);
    await new Promise((r) => setImmediate(r)); // the quality lane takes its first batch, and hangs on it
    for (let i = 0; i < 8; i++) two.record({ requestId: `b${i}` } as LlmCall);
    await new Promise((r) => setImmediate(r));
    expect(two.hasRoom(2)).toBe(true);
    expect(two.hasRoom(3)).toBe(false);
  });

  it('holds a batch until the store drains, then accepts it: every call stored, none dropped', async () => {
    const dropped: number[] = [];
    const rec = new Recorder({ capacity: 50, onDrop: (_s, n) => dropped.push(n) });
    const g = gatedStore();
    rec.addSink(g.sink);
    const url = await serve(rec, 5000);
    expect((await post(url, 0, 40)).status).toBe(202); // being written (the store holds it)
    expect((await post(url, 40, 40)).status).toBe(202); // queued behind it: 40 of 50
    let answered = false;
    const third = post(url, 80, 40).then((r) => {
      answered = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 150));
    expect(answered).toBe(false); // 40 queued + 40 > 50: it waits (the recorder would have dropped 30)
    g.open();
    expect((await third).status).toBe(202);
    await rec.flush();
    expect(g.written.map((c) => c.requestId)).toEqual(Array.from({ length: 120 }, (_, i) => `r-${i}`));
    expect(dropped).toEqual([]);
  });

  it('refuses with 503 and Retry-After when the store stays full, recording none of the batch', async () => {
    const rec = new Recorder({ capacity: 50 });
    const g = gatedStore();
    rec.addSink(g.sink);
    const url = await serve(rec, 200);
    expect((await post(url, 0, 40)).status).toBe(202);
    expect((await post(url, 40, 40)).status).toBe(202);
    const r = await post(url, 80, 20);
    expect(r.status).toBe(503);
    expect(r.headers.get('retry-after')).toBe('1');
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('overloaded');
    g.open();
    await rec.flush();
    expect(g.written).toHaveLength(80);
  });
});
