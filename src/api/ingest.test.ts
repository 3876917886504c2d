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

async function serve(
  recorder: Recorder,
  waitMs: number,
  knownIds: (ids: string[]) => Promise<Set<string>> = async () => new Set(),
): Promise<string> {
  server = createServer((req, res) => {
    ingestCalls(req, res, 1 << 20, recorder, { knownIds }, waitMs).catch((err) => {
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

describe('ingest: a request id counts once', () => {
  it('a batch re-sent before the store has written it, or while the first still waits, is recorded once', async () => {
    const rec = new Recorder({ capacity: 50 });
    const g = gatedStore(); // the store has written nothing yet: it cannot tell the retry from the first
    rec.addSink(g.sink);
    const counted: string[] = []; // what metrics and spend would count
    rec.addSink({ name: 'metrics', write: (calls) => void counted.push(...calls.map((c) => c.requestId)) });
    const url = await serve(
      rec,
      5000,
      async (ids) => new Set(ids.filter((i) => g.written.some((c) => c.requestId === i))),
    );
    const first = await post(url, 0, 3);
    expect(first.status).toBe(202);
    expect(await first.json()).toMatchObject({ accepted: 3, duplicates: [] });
    const again = await post(url, 0, 3);
    expect(await again.json()).toEqual({ accepted: 0, request_ids: [], duplicates: ['r-0', 'r-1', 'r-2'] });
    // sent twice at once (a retry racing the first): one of them takes each call
    const both = await Promise.all([post(url, 3, 2), post(url, 3, 2)]);
    const answers = (await Promise.all(both.map((r) => r.json()))) as { accepted: number; duplicates: string[] }[];
    expect(answers.map((a) => a.accepted).sort()).toEqual([0, 2]);
    // within one body, the second copy is the duplicate
    const twice = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([record(9), record(9)]),
    });
    expect(await twice.json()).toEqual({ accepted: 1, request_ids: ['r-9'], duplicates: ['r-9'] });
    g.open();
    await rec.flush();
    expect(counted.sort()).toEqual(['r-0', 'r-1', 'r-2', 'r-3', 'r-4', 'r-9']);
    expect(g.written).toHaveLength(6);
  });

  it('a bad body\'s error names the field that is wrong, in each of the three shapes (not the union\'s "Invalid input")', async () => {
    const url = await serve(new Recorder({ capacity: 10 }), 1000);
    const errorOf = async (body: unknown) => {
      const r = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(r.status).toBe(400);
      return ((await r.json()) as { error: { message: string; param: string | null } }).error;
    };
    const noModel = { provider: 'p', started_at: 1_700_000_000_000 };
    expect(await errorOf(noModel)).toMatchObject({ param: 'model', message: expect.stringMatching(/"model"/) });
    expect(await errorOf([record(0), noModel])).toMatchObject({ param: '1.model' });
    expect(await errorOf({ calls: [noModel] })).toMatchObject({ param: 'calls.0.model' });
    const notObject = await errorOf('hi');
    expect(notObject.message).toMatch(/expected object, received string/);
  });
});
