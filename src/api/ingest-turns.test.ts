// POST /api/ingest with a large batch: parsed as it arrives, checked, turned into calls and recorded a few
// milliseconds' worth at a time, with the event loop handed back between turns, so other clients are served
// meanwhile; the same answers (data and errors) as parsing the batch at once.
import type { Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { type LlmCall, Recorder } from '../calls/index.js';
import type { LlmscopeError } from '../errors.js';
import { parseBody } from '../http/index.js';
import { Turns } from '../http/json-stream.js';
import { serveHandler, ticksDuring, turnCounter } from '../http/testing.js';
import { ingestBodySchema, ingestCalls, parseIngestBody } from './ingest.js';
import { checkIngestBody, checkIngestBodyInTurns } from './ingest-check.js';

const record = (i: number) => ({
  request_id: `r-${i}`,
  started_at: 1_700_000_000_000 + i,
  provider: 'p',
  model: 'm',
  input_tokens: i,
  metadata: { tenant: `t-${i % 7}` },
});

/** What the whole-body parse (one zod parse with the body's shape's schema, as before) answers: its data or its error. */
function wholeParse(body: unknown): unknown {
  const [array, calls, one] = ingestBodySchema.options as unknown as [z.ZodType, z.ZodType, z.ZodType];
  const schema = Array.isArray(body)
    ? array
    : body !== null && typeof body === 'object' && 'calls' in body
      ? calls
      : one;
  try {
    return { data: parseBody(schema, body) };
  } catch (err) {
    const e = err as LlmscopeError;
    return { code: e.code, message: e.message, param: e.param };
  }
}

async function turnsParse(body: unknown): Promise<unknown> {
  try {
    return { data: await parseIngestBody(body, new Turns(0)) };
  } catch (err) {
    const e = err as LlmscopeError;
    return { code: e.code, message: e.message, param: e.param };
  }
}

/** A seeded random number generator (mulberry32). */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const BREAKS: ((r: Record<string, unknown>) => void)[] = [
  (r) => delete r.model,
  (r) => (r.provider = 7),
  (r) => (r.unknown_field = 1),
  (r) => (r.input_tokens = -1),
  (r) => (r.trace_id = 'XYZ'),
  (r) => (r.metadata = { a: 1 }),
  (r) => (r.endpoint = 'nope'),
];

describe('parseIngestBody: a large batch parsed in slices gives what one parse gives', () => {
  it('the same error (message with the first 10 issues and how many more, param) for bad records anywhere', async () => {
    const random = rng(7);
    for (let round = 0; round < 30; round++) {
      const n = 257 + Math.floor(random() * 2500);
      const records: Record<string, unknown>[] = Array.from({ length: n }, (_, i) => record(i));
      const bad = Math.floor(random() * 15);
      for (let k = 0; k < bad; k++)
        (BREAKS[Math.floor(random() * BREAKS.length)] as (r: Record<string, unknown>) => void)(
          records[Math.floor(random() * n)] as Record<string, unknown>,
        );
      for (const body of [records, { calls: records }]) {
        const copy = structuredClone(body);
        expect(await turnsParse(copy)).toEqual(wholeParse(structuredClone(body)));
      }
    }
  });

  it('the same data for a valid batch, and the same answer for batches of other sizes and shapes', async () => {
    const records = Array.from({ length: 1000 }, (_, i) => record(i));
    for (const body of [
      records,
      { calls: records },
      { calls: records, extra: 1 },
      [],
      Array.from({ length: 10_001 }, (_, i) => record(i)),
      record(1),
      'hi',
    ]) {
      const got = await turnsParse(structuredClone(body));
      expect(got).toEqual(wholeParse(structuredClone(body)));
    }
  });
});

describe('ingest: a large batch hands the event loop back between turns', () => {
  let server: Server | undefined;
  afterEach(() => server?.close());
  /** POST /api/ingest (ingestCalls, no id stored before) on a server of its own, recording into `rec`. */
  const ingestUrl = async (rec: Recorder, bodyLimit: number) => {
    const s = await serveHandler((req, res) =>
      ingestCalls(req, res, bodyLimit, rec, { knownIds: async () => new Set() }),
    );
    server = s.server;
    return s.url('/api/ingest');
  };
  /** A recorder storing what it records in `stored`, each call counted by `turns` as it is recorded. */
  const recorderOf = (stored: LlmCall[], turns: ReturnType<typeof turnCounter>) => {
    const rec = new Recorder({ capacity: 20_000 });
    rec.addSink({ name: 'store', lossless: true, write: (calls) => void stored.push(...calls) });
    const record0 = rec.record.bind(rec);
    rec.record = (c: LlmCall) => {
      turns.recorded();
      record0(c);
    };
    return rec;
  };

  it('checking 10,000 records lets other work run meanwhile, with the answer checkIngestBody gives', async () => {
    const body = { calls: Array.from({ length: 10_000 }, (_, i) => record(i)) };
    const { value: got, ticks } = await ticksDuring(() => checkIngestBodyInTurns(structuredClone(body), new Turns(0)));
    expect(got).toEqual(checkIngestBody(structuredClone(body)));
    expect(ticks).toBeGreaterThan(100); // a turn every 32 records: ~300
  });

  it('recording a batch of 3,000: other work runs before its last call is recorded; every call recorded once', async () => {
    const stored: LlmCall[] = [];
    const turns = turnCounter();
    const rec = recorderOf(stored, turns);
    const url = await ingestUrl(rec, 8 << 20);
    const r = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ calls: Array.from({ length: 3000 }, (_, i) => record(i)) }),
    });
    turns.stop();
    expect(r.status).toBe(202);
    expect(((await r.json()) as { accepted: number }).accepted).toBe(3000);
    // before, all 3,000 were recorded in one turn of the event loop (and enriched in the next, all at once)
    expect(turns.otherWorkRanAt).not.toBeNull();
    expect(turns.otherWorkRanAt).toBeLessThanOrEqual(256);
    await rec.flush();
    expect(new Set(stored.map((c) => c.requestId)).size).toBe(3000);
    expect(stored).toHaveLength(3000);
  });

  it('calls holding much text to redact are recorded fewer a turn: at most 128 Ki characters of it', async () => {
    const stored: LlmCall[] = [];
    const turns = turnCounter();
    const rec = recorderOf(stored, turns);
    const url = await ingestUrl(rec, 64 << 20);
    // 20 metadata values of 250 characters and an error message of 2,000 (512 kept): ~5.5 K characters a call
    const metadata = Object.fromEntries(Array.from({ length: 20 }, (_, k) => [`key-${k}`, `v${k}`.padEnd(250, '.')]));
    const calls = Array.from({ length: 600 }, (_, i) => ({ ...record(i), metadata, error_message: 'e'.repeat(2000) }));
    const r = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ calls }),
    });
    turns.stop();
    expect(r.status).toBe(202);
    await rec.flush();
    expect(stored).toHaveLength(600);
    // before, 255 of them were recorded in a turn (and redacted in the next, all at once): ~1.4 M characters
    const perCall = 20 * 250 + 512;
    expect(Math.max(...turns.perTurn)).toBeLessThanOrEqual(Math.ceil((128 * 1024) / perCall) + 1);
  });

  it('a body over 1 MiB is parsed as it arrives: a break in it is a 400 invalid_json naming its position', async () => {
    const url = await ingestUrl(new Recorder(), 8 << 20);
    const text = JSON.stringify({ calls: Array.from({ length: 9000 }, (_, i) => record(i)) });
    expect(text.length).toBeGreaterThan(1 << 20);
    const at = text.indexOf('"provider"', text.length - 5000);
    const r = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `${text.slice(0, at)}}${text.slice(at + 1)}`,
    });
    expect(r.status).toBe(400);
    const e = ((await r.json()) as { error: { code: string; message: string } }).error;
    expect(e.code).toBe('invalid_json');
    // the piece-by-piece parser's words (JSON.parse of the whole says "Unexpected token"), and where
    expect(e.message).toContain(`unexpected character at position ${at}`);
  });
});
