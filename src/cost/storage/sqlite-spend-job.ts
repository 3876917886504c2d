// Spend's per-batch SQLite write — the minute and daily upserts of a batch's deltas — as a write job
// (store/backend.ts `write`): it runs on the store's writer thread, beside its call batches, not on the event loop
// that serves calls. SqliteSpendStore runs the same `run` on its own connection where there is no thread.
import type { Database } from 'better-sqlite3';
import { dayOf } from '../pricing.js';
import { SPEND_DIMENSIONS, type SpendDelta, type SpendDimension } from './types.js';

/**
 * A batch's deltas as the thread receives them cheaply: flat numbers and one string of the values, instead of an
 * object per delta (about 1,000 a batch of 1,000 calls with per-user spend), which the structured clone made cost
 * about 0.5 µs a delta to send and 0.85 to rebuild on the thread.
 */
export interface PackedDeltas {
  /** Each delta's minute, then its ten figures (FIGURES' order): 11 numbers a delta. */
  numbers: Float64Array;
  /** Each delta's dimension, as its index in SPEND_DIMENSIONS. */
  dimensions: Uint8Array;
  /** Each value's UTF-16 length; the values follow one another in `values`. */
  lengths: Uint32Array;
  values: string;
}

const STRIDE = 11;
const DIMENSION_INDEX = new Map<string, number>(SPEND_DIMENSIONS.map((d, i) => [d, i]));

/** The deltas packed, or null when one has a dimension this form does not know (then send them as they are). */
export function packDeltas(deltas: readonly SpendDelta[]): PackedDeltas | null {
  const n = deltas.length;
  const numbers = new Float64Array(n * STRIDE);
  const dimensions = new Uint8Array(n);
  const lengths = new Uint32Array(n);
  const values: string[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const d = deltas[i] as SpendDelta;
    const dim = DIMENSION_INDEX.get(d.dimension);
    if (dim === undefined || typeof d.value !== 'string') return null;
    const o = i * STRIDE;
    numbers[o] = d.minute;
    numbers[o + 1] = d.costUsd;
    numbers[o + 2] = d.requests;
    numbers[o + 3] = d.unpriced;
    numbers[o + 4] = d.inputTokens;
    numbers[o + 5] = d.outputTokens;
    numbers[o + 6] = d.cachedInputTokens;
    numbers[o + 7] = d.bytes;
    numbers[o + 8] = d.cacheWriteInputTokens;
    numbers[o + 9] = d.reasoningTokens;
    numbers[o + 10] = d.toolCostUsd;
    dimensions[i] = dim;
    lengths[i] = d.value.length;
    values[i] = d.value;
  }
  return { numbers, dimensions, lengths, values: values.join('') };
}

/** The deltas `packDeltas` packed, figure for figure. */
export function unpackDeltas(p: PackedDeltas): SpendDelta[] {
  const out: SpendDelta[] = new Array(p.dimensions.length);
  let pos = 0;
  for (let i = 0; i < out.length; i++) {
    const o = i * STRIDE;
    const end = pos + (p.lengths[i] as number);
    const nums = p.numbers;
    out[i] = {
      minute: nums[o] as number,
      dimension: SPEND_DIMENSIONS[p.dimensions[i] as number] as SpendDimension,
      value: p.values.slice(pos, end),
      costUsd: nums[o + 1] as number,
      requests: nums[o + 2] as number,
      unpriced: nums[o + 3] as number,
      inputTokens: nums[o + 4] as number,
      outputTokens: nums[o + 5] as number,
      cachedInputTokens: nums[o + 6] as number,
      bytes: nums[o + 7] as number,
      cacheWriteInputTokens: nums[o + 8] as number,
      reasoningTokens: nums[o + 9] as number,
      toolCostUsd: nums[o + 10] as number,
    };
    pos = end;
  }
  return out;
}

export const FIGURES =
  'cost_usd, requests, unpriced, input_tokens, output_tokens, cached_input_tokens, bytes, cache_write_input_tokens, reasoning_tokens, tool_cost_usd';
const ADD = `cost_usd = cost_usd + excluded.cost_usd, requests = requests + excluded.requests,
  unpriced = unpriced + excluded.unpriced, input_tokens = input_tokens + excluded.input_tokens,
  output_tokens = output_tokens + excluded.output_tokens,
  cached_input_tokens = cached_input_tokens + excluded.cached_input_tokens, bytes = bytes + excluded.bytes,
  cache_write_input_tokens = cache_write_input_tokens + excluded.cache_write_input_tokens,
  reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens,
  tool_cost_usd = tool_cost_usd + excluded.tool_cost_usd`;

/**
 * Deltas per upsert statement, largest first: a batch's deltas go in chunks of the first size, what is left in chunks
 * of the next, the last few one by one. One statement of many rows costs SQLite the same b-tree work as as many
 * one-row statements, but the statement's own run (the call into the driver, binding, step and reset) once: 4.45 ->
 * 3.5 µs a delta for its two upserts alone on a file with 16 a statement; 64 and the values passed as arguments took
 * another 0.4-0.5 µs a call off the writer thread (bench/ingest-writer.js's deltas). SQLite applies a multi-row
 * upsert row by row, in order, a later row of the same key adding to the row an earlier one made (a batch spanning
 * midnight gives the daily table two rows of one key), so the figures and their rounding are the same.
 */
export const SPEND_CHUNKS = [64, 16, 1] as const;
/** Values bound per delta: the key's three, then FIGURES' ten. */
const WIDTH = 13;

/** Prepared once per connection (the thread's, or the store's own). */
const prepared = new WeakMap<Database, Applier>();

interface Applier {
  /** The deltas' upserts, in the transaction open on the connection. */
  write: (deltas: readonly SpendDelta[]) => void;
  /** The same in a transaction of their own. */
  apply: (deltas: readonly SpendDelta[]) => void;
}

function applier(db: Database): Applier {
  const had = prepared.get(db);
  if (had) return had;
  const upsert = (table: string, key: string, rows: number) =>
    db.prepare<(string | number)[]>(
      `INSERT INTO ${table} (${key}, dimension, value, ${FIGURES})
       VALUES ${Array.from({ length: rows }, () => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}
       ON CONFLICT (${key}, dimension, value) DO UPDATE SET ${ADD}`,
    );
  // per chunk size: its two statements and their parameter lists, reused
  const sizes = SPEND_CHUNKS.map((n) => ({
    n,
    minute: upsert('spend_minute', 'minute', n),
    daily: upsert('spend_daily', 'day', n),
    minuteValues: new Array<string | number>(n * WIDTH),
    dailyValues: new Array<string | number>(n * WIDTH),
  }));
  /** Writes delta `d`'s values at row `row` of both parameter lists. */
  const put = (d: SpendDelta, row: number, minuteValues: (string | number)[], dailyValues: (string | number)[]) => {
    const o = row * WIDTH;
    minuteValues[o] = d.minute;
    dailyValues[o] = dayOf(d.minute);
    minuteValues[o + 1] = dailyValues[o + 1] = d.dimension;
    minuteValues[o + 2] = dailyValues[o + 2] = d.value;
    minuteValues[o + 3] = dailyValues[o + 3] = d.costUsd;
    minuteValues[o + 4] = dailyValues[o + 4] = d.requests;
    minuteValues[o + 5] = dailyValues[o + 5] = d.unpriced;
    minuteValues[o + 6] = dailyValues[o + 6] = d.inputTokens;
    minuteValues[o + 7] = dailyValues[o + 7] = d.outputTokens;
    minuteValues[o + 8] = dailyValues[o + 8] = d.cachedInputTokens;
    minuteValues[o + 9] = dailyValues[o + 9] = d.bytes;
    minuteValues[o + 10] = dailyValues[o + 10] = d.cacheWriteInputTokens;
    minuteValues[o + 11] = dailyValues[o + 11] = d.reasoningTokens;
    minuteValues[o + 12] = dailyValues[o + 12] = d.toolCostUsd;
  };
  const write = (deltas: readonly SpendDelta[]) => {
    let i = 0;
    for (const s of sizes)
      for (; i + s.n <= deltas.length; i += s.n) {
        for (let r = 0; r < s.n; r++) put(deltas[i + r] as SpendDelta, r, s.minuteValues, s.dailyValues);
        // spread: the driver reads arguments directly, an array's elements one property lookup at a time
        s.minute.run(...s.minuteValues);
        s.daily.run(...s.dailyValues);
      }
  };
  const tx = db.transaction(write);
  const a: Applier = { write, apply: (deltas) => tx.immediate(deltas) };
  prepared.set(db, a);
  return a;
}

const deltasOf = (payload: readonly SpendDelta[] | PackedDeltas): readonly SpendDelta[] =>
  Array.isArray(payload) ? payload : unpackDeltas(payload as PackedDeltas);

/** Adds one batch's deltas (as they are, or packed) to the spend tables on `db`, in one transaction. */
export function run(db: Database, payload: readonly SpendDelta[] | PackedDeltas): void {
  const deltas = deltasOf(payload);
  if (deltas.length > 0) applier(db).apply(deltas);
}

/** As `run`, inside the transaction open on `db` (the writer thread's group, store/sqlite/writer-thread.ts). */
export function write(db: Database, payload: readonly SpendDelta[] | PackedDeltas): void {
  const deltas = deltasOf(payload);
  if (deltas.length > 0) applier(db).write(deltas);
}
