// Spend's write job takes a batch's deltas packed (the writer thread's form) exactly as it takes them as objects.
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SqliteSpendStore } from './sqlite.js';
import { packDeltas, run, unpackDeltas } from './sqlite-spend-job.js';
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
});
