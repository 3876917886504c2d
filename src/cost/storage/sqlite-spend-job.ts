// Spend's per-batch SQLite write — the minute and daily upserts of a batch's deltas — as a write job
// (store/backend.ts `write`): it runs on the store's writer thread, beside its call batches, not on the event loop
// that serves calls. SqliteSpendStore runs the same `run` on its own connection where there is no thread.
import type { Database } from 'better-sqlite3';
import { dayOf } from '../pricing.js';
import type { SpendDelta } from './types.js';

export const FIGURES = 'cost_usd, requests, unpriced, input_tokens, output_tokens, cached_input_tokens, bytes';
const ADD = `cost_usd = cost_usd + excluded.cost_usd, requests = requests + excluded.requests,
  unpriced = unpriced + excluded.unpriced, input_tokens = input_tokens + excluded.input_tokens,
  output_tokens = output_tokens + excluded.output_tokens,
  cached_input_tokens = cached_input_tokens + excluded.cached_input_tokens, bytes = bytes + excluded.bytes`;

/** Prepared once per connection (the thread's, or the store's own). */
const prepared = new WeakMap<Database, (deltas: readonly SpendDelta[]) => void>();

function applier(db: Database): (deltas: readonly SpendDelta[]) => void {
  const had = prepared.get(db);
  if (had) return had;
  const minute = db.prepare(
    `INSERT INTO spend_minute (minute, dimension, value, ${FIGURES}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (minute, dimension, value) DO UPDATE SET ${ADD}`,
  );
  const daily = db.prepare(
    `INSERT INTO spend_daily (day, dimension, value, ${FIGURES}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (day, dimension, value) DO UPDATE SET ${ADD}`,
  );
  const tx = db.transaction((deltas: readonly SpendDelta[]) => {
    for (const d of deltas) {
      const { dimension, value, costUsd, requests, unpriced, inputTokens, outputTokens, cachedInputTokens, bytes } = d;
      minute.run(
        d.minute,
        dimension,
        value,
        costUsd,
        requests,
        unpriced,
        inputTokens,
        outputTokens,
        cachedInputTokens,
        bytes,
      );
      daily.run(
        dayOf(d.minute),
        dimension,
        value,
        costUsd,
        requests,
        unpriced,
        inputTokens,
        outputTokens,
        cachedInputTokens,
        bytes,
      );
    }
  });
  const apply = (deltas: readonly SpendDelta[]) => tx.immediate(deltas);
  prepared.set(db, apply);
  return apply;
}

/** Adds one batch's deltas to the spend tables on `db`, in one transaction. */
export function run(db: Database, deltas: readonly SpendDelta[]): void {
  if (deltas.length > 0) applier(db)(deltas);
}
