// The writer's rollup fold (RollupFold) against the reference fold every store shares (rollup.ts RollupBatch, then
// storedRollupOf): the same rows, sums and histogram bytes, on calls with odd figures too.
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { LlmCall } from '../../calls/index.js';
import { Dense } from '../dense-histogram.js';
import { bucketOf, encodeHistogram, histogramOf } from '../histogram.js';
import { HOUR_MS, MINUTE_MS, RollupBatch, type RollupInput } from '../rollup.js';
import { makeCall, T0 } from '../store.contract.js';
import {
  CALLS_CHUNKS,
  CallWriter,
  RollupFold,
  registerHistogramFunctions,
  rowsOf,
  type StoredRollupRow,
  storedRollupOf,
} from './call-writer.js';
import { applyMigrations } from './migrations.js';
import { CORE_MIGRATIONS } from './schema.js';

/** A small deterministic generator, so a failure can be replayed. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

// 'weird' and 'toString' (a name every object has) count in requests only
const STATUSES = [
  'ok',
  'ok',
  'ok',
  'client_error',
  'upstream_error',
  'rate_limited',
  'timeout',
  'cancelled',
  'weird',
  'toString',
];
const ODD = [Number.NaN, Number.POSITIVE_INFINITY, -5, 0, 0.001, 1e9, 123.456];

function inputs(n: number, seed: number): RollupInput[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  return Array.from({ length: n }, () => ({
    startedAt: T0 + Math.floor(r() * 3 * HOUR_MS) + r(),
    provider: pick(['openai', 'anthropic', 'gemini']),
    model: pick(['gpt-4o', 'gpt-4o-mini', 'claude', 'é😀']),
    endpoint: pick(['chat.completions', 'embeddings']) as LlmCall['endpoint'],
    feature: pick([null, 'search', 'chat', '']),
    team: pick([null, 'a', 'b']),
    status: pick(STATUSES) as LlmCall['status'],
    inputTokens: r() < 0.1 ? null : r() < 0.05 ? pick(ODD) : Math.floor(r() * 5000),
    outputTokens: r() < 0.1 ? null : Math.floor(r() * 800),
    cachedInputTokens: r() < 0.5 ? null : Math.floor(r() * 100),
    costUsd: r() < 0.2 ? null : r() < 0.05 ? pick(ODD) : r() / 100,
    refusal: r() < 0.1 ? 1 : 0,
    latencyMs: r() < 0.05 ? pick(ODD) : r() * 20_000,
    ttftMs: r() < 0.3 ? null : r() < 0.05 ? pick(ODD) : r() * 2000,
    tpotMs: r() < 0.4 ? null : r() * 50,
  }));
}

const key = (x: StoredRollupRow) => [x.t, x.provider, x.model, x.endpoint, x.feature, x.team].join('\u0000');
const sorted = (rows: StoredRollupRow[]) => [...rows].sort((a, b) => (key(a) < key(b) ? -1 : 1));

describe('RollupFold', () => {
  it('gives the stored rows RollupBatch + storedRollupOf give, batch after batch (its arrays reused)', () => {
    const fold = new RollupFold();
    for (let seed = 1; seed <= 6; seed++) {
      const calls = inputs(seed * 400, seed);
      const minute = new RollupBatch(MINUTE_MS);
      const hour = new RollupBatch(HOUR_MS);
      for (const c of calls) {
        minute.add(c);
        hour.add(c);
        fold.add(c);
      }
      expect(sorted(fold.take('minute'))).toEqual(sorted([...minute.values()].map(storedRollupOf)));
      expect(sorted(fold.take('hour'))).toEqual(sorted([...hour.values()].map(storedRollupOf)));
    }
    expect(fold.take('minute')).toEqual([]);
  });
});

describe('Dense.encode', () => {
  it('packs byte for byte as encodeHistogram does, empty, one bucket, wide spans and large counts', () => {
    const cases = [[], [5], [0.001, 0.02, 1e8], Array.from({ length: 5000 }, (_, i) => (i * 7.3) % 30_000)];
    for (const values of cases) {
      const d = new Dense();
      for (const v of values) if (Number.isFinite(v)) d.addIndex(bucketOf(v));
      expect(d.encode()).toEqual(encodeHistogram(histogramOf(values)));
    }
    const big = new Dense();
    for (let i = 0; i < 300_000; i++) big.addIndex(700);
    expect(big.encode()).toEqual(encodeHistogram({ 700: 300_000 }));
  });
});

describe('CallWriter', () => {
  const open = () => {
    const db = new Database(':memory:');
    registerHistogramFunctions(db);
    applyMigrations(db, 'core', CORE_MIGRATIONS);
    return db;
  };
  const dump = (db: Database.Database) => ({
    calls: db.prepare('SELECT * FROM calls ORDER BY request_id').all(),
    minute: db.prepare('SELECT * FROM calls_rollup_minute ORDER BY t, provider, model, endpoint, feature, team').all(),
    hour: db.prepare('SELECT * FROM calls_rollup_hour ORDER BY t, provider, model, endpoint, feature, team').all(),
  });

  it(`stores each id once and rolls up only the calls it inserted, in chunks of ${CALLS_CHUNKS.join(', ')} as one by one`, () => {
    const r = rng(7);
    // ids repeat: within a chunk, across chunks of a batch, and from earlier batches; same id, other figures
    const call = (n: number) =>
      makeCall(Math.floor(r() * 60), { requestId: `id-${n}`, latencyMs: r() * 1000, costUsd: r() });
    const batches = [1, 7, 8, 9, 16, 17, 31, 32, 33, 41, 64, 100, 3, 250].map((size) =>
      Array.from({ length: size }, () => call(Math.floor(r() * 300))),
    );
    batches.push(Array.from({ length: 77 }, (_, i) => call(1000 + i))); // all new: every chunk whole
    batches.push(batches[batches.length - 1] as LlmCall[]); // all known: every chunk short
    const chunked = open();
    const writer = new CallWriter(chunked);
    for (const b of batches) writer.insertRows(rowsOf(b));
    // the reference: each call in a statement of its own; the first of an id is kept, the others skipped
    const single = open();
    const one = new CallWriter(single);
    for (const b of batches) for (const c of b) one.insertRows(rowsOf([c]));
    const got = dump(chunked);
    expect(got).toEqual(dump(single));
    expect(got.calls.length).toBeGreaterThan(200);
    expect(got.calls.length).toBeLessThan(batches.flat().length);
    expect((got.minute as { requests: number }[]).reduce((n, x) => n + x.requests, 0)).toBe(got.calls.length);
    // insert(calls) folds the calls as given, the same way
    const objects = open();
    const w3 = new CallWriter(objects);
    for (const b of batches) w3.insert(b);
    expect(dump(objects)).toEqual(got);
  });
});
