// Spend's write job takes a batch's deltas packed (the writer thread's form) exactly as it takes them as objects, and
// its many-row upserts leave the tables exactly as one upsert per delta and table would.
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SqliteSpendStore } from './sqlite.js';
import { FIGURES, packDeltas, run, unpackDeltas } from './sqlite-spend-job.js';
import { SPEND_DIMENSIONS, type SpendDelta } from './types.js';

const MINUTE = 60_000;
const T = Date.UTC(2026, 11, 4, 23, 59);

function deltas(n: number): SpendDelta[] {
  return Array.from({ length: n }, (_, i) => ({
    minute: T + (i % 3) * MINUTE,
    dimension: SPEND_DIMENSIONS[i % SPEND_DIMENSIONS.length] as SpendDelta['dimension'],
    value: ['', 'user-1', 'ユーザー😀', 'openai\tgpt-4o', '\ud800', 'x'.repeat(300)][i % 6] as string,
    costUsd: i % 4 ? (0.1 + 0.2) * i : 0,
    requests: i + 1,
    unpriced: i % 2,
    inputTokens: 1000 * i,
    outputTokens: 7 * i,
    cachedInputTokens: i % 5,
    bytes: 2 ** 40 + i,
    cacheWriteInputTokens: i % 7,
    reasoningTokens: 3 * i,
    toolCostUsd: i % 3 ? 0.01 * i : 0,
  }));
}

describe('packed spend deltas', () => {
  it('round-trip figure for figure, and decline a dimension they do not know', () => {
    const ds = deltas(200);
    const packed = packDeltas(ds);
    expect(packed).not.toBeNull();
    expect(unpackDeltas(structuredClone(packed) as NonNullable<typeof packed>)).toEqual(ds);
    expect(packDeltas([{ ...(ds[0] as SpendDelta), dimension: 'nope' as SpendDelta['dimension'] }])).toBeNull();
    expect(unpackDeltas(packDeltas([]) as NonNullable<typeof packed>)).toEqual([]);
  });

  it('add to the minute and daily tables what the same deltas as objects add (across midnight too)', () => {
    const dump = (db: Database.Database) =>
      ['spend_minute', 'spend_daily'].map((t) => db.prepare(`SELECT * FROM ${t} ORDER BY 1, 2, 3`).all());
    const [a, b] = [new Database(':memory:'), new Database(':memory:')];
    new SqliteSpendStore(a);
    new SqliteSpendStore(b);
    for (let i = 0; i < 3; i++) {
      run(a, deltas(100 + i));
      run(b, packDeltas(deltas(100 + i)) as NonNullable<ReturnType<typeof packDeltas>>);
    }
    expect(dump(b)).toEqual(dump(a));
    expect((dump(a)[1] as unknown[]).length).toBeGreaterThan(0);
  });

  it('write, in statements of many rows, exactly what one upsert per delta and table writes', () => {
    // the reference: each delta's minute then daily upsert, one row per statement
    const oneByOne = (db: Database.Database, ds: readonly SpendDelta[]) => {
      const add = FIGURES.split(', ')
        .map((c) => `${c} = ${c} + excluded.${c}`)
        .join(', ');
      const sql = (table: string, key: string) =>
        db.prepare(
          `INSERT INTO ${table} (${key}, dimension, value, ${FIGURES}) VALUES (?, ?, ?, ${FIGURES.split(', ')
            .map(() => '?')
            .join(', ')})
           ON CONFLICT (${key}, dimension, value) DO UPDATE SET ${add}`,
        );
      const [minute, daily] = [sql('spend_minute', 'minute'), sql('spend_daily', 'day')];
      db.transaction(() => {
        for (const d of ds) {
          const figures = [
            d.costUsd,
            d.requests,
            d.unpriced,
            d.inputTokens,
            d.outputTokens,
            d.cachedInputTokens,
            d.bytes,
            d.cacheWriteInputTokens,
            d.reasoningTokens,
            d.toolCostUsd,
          ];
          minute.run(d.minute, d.dimension, d.value, ...figures);
          daily.run(new Date(d.minute).toISOString().slice(0, 10), d.dimension, d.value, ...figures);
        }
      })();
    };
    const dump = (db: Database.Database) =>
      ['spend_minute', 'spend_daily'].map((t) => db.prepare(`SELECT * FROM ${t} ORDER BY 1, 2, 3`).all());
    const [a, b] = [new Database(':memory:'), new Database(':memory:')];
    new SqliteSpendStore(a);
    new SqliteSpendStore(b);
    // around the chunk size, and keys repeated inside one statement (three minutes across midnight: one day key
    // three times; and the same delta twice in a row)
    for (const n of [1, 15, 16, 17, 33, 63, 64, 65, 81, 100, 1003]) {
      const ds = deltas(n);
      ds.splice(n >> 1, 0, ds[n >> 1] as SpendDelta);
      oneByOne(a, ds);
      run(b, ds);
    }
    expect(dump(b)).toEqual(dump(a));
    // sums of fractions in the same order give the same bits
    expect((dump(b)[1] as { cost_usd: number }[]).some((r) => !Number.isInteger(r.cost_usd))).toBe(true);
  });
});
