// SqliteStore.queryRollups reads a long window a slice of buckets at a time, the event loop turning between slices
// (an alert evaluation's 6-hour SLO window read in one statement held the loop longer as the history grew): the
// points are the same as one read's, and calls are served between slices.
import { afterEach, describe, expect, it } from 'vitest';
import { decodeHistogram } from '../histogram.js';
import { makeCall, T0 } from '../store.contract.js';
import type { RollupQuery } from '../store.js';
import { ROLLUP_SLICE_BUCKETS, rollupSql, SqliteStore } from './sqlite-store.js';

const MIN = 60_000;
const open: SqliteStore[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});

/** A store with calls in each of `minutes` minutes from T0 (several models, teams, features and statuses). */
async function storeWith(minutes: number): Promise<SqliteStore> {
  const store = new SqliteStore(':memory:');
  open.push(store);
  await store.migrate();
  const calls = Array.from({ length: minutes * 6 }, (_, i) =>
    makeCall(i, {
      requestId: `slice-${i}`,
      startedAt: T0 + i * 10_000 + 1,
      endedAt: T0 + i * 10_000 + 500,
      status: i % 7 === 3 ? 'upstream_error' : 'ok',
    }),
  );
  await store.insertCalls(calls);
  return store;
}

/** What one statement over the whole window gives (the read before slices), as [t, group, requests, latency]. */
function oneRead(store: SqliteStore, q: RollupQuery) {
  const { sql, params } = rollupSql(q);
  const rows = store.db.prepare(sql).all(...params) as Record<string, string | number | Uint8Array | null>[];
  // pointsOf's order: by t, then by the group's values
  const key = (g: Record<string, string>) => (q.groupBy ?? []).map((d) => g[d] ?? '').join('\u0000');
  return rows
    .map((r) => {
      const group: Record<string, string> = {};
      for (const d of q.groupBy ?? []) if (r[d] !== '') group[d] = r[d] as string;
      return [r.t, group, r.requests, decodeHistogram(r.latency as Uint8Array)] as const;
    })
    .sort((a, b) => (a[0] as number) - (b[0] as number) || (key(a[1]) < key(b[1]) ? -1 : 1));
}

describe('SqliteStore.queryRollups over a long window', () => {
  const minutes = ROLLUP_SLICE_BUCKETS * 40 + 7;

  it.each([
    ['minute', [] as const],
    ['minute', ['model', 'team'] as const],
    ['hour', ['feature'] as const],
  ])('gives the points one read gives (step %s, grouped by %j)', async (step, groupBy) => {
    const store = await storeWith(minutes);
    // The window does not start on a bucket, and ends past the last call.
    const q: RollupQuery = {
      from: T0 - 30_000,
      to: T0 + (minutes + 90) * MIN,
      step: step as RollupQuery['step'],
      groupBy: [...groupBy],
    };
    const sliced = await store.queryRollups(q);
    expect(sliced.reduce((a, p) => a + p.requests, 0)).toBe(minutes * 6);
    expect(sliced.map((p) => [p.t, p.group, p.requests, p.latency])).toEqual(oneRead(store, q));
  });

  it('lets the event loop turn between slices (calls are served meanwhile)', async () => {
    const store = await storeWith(minutes);
    let turned = false;
    setImmediate(() => {
      turned = true;
    });
    const points = await store.queryRollups({ from: T0, to: T0 + minutes * MIN, step: 'minute' });
    expect(points).toHaveLength(minutes);
    expect(turned).toBe(true);
  });

  it('refuses an unknown dimension also over a window without rows', async () => {
    const store = await storeWith(1);
    const q = { from: T0 + 600 * MIN, to: T0 + 700 * MIN, step: 'minute' } as const;
    await expect(store.queryRollups({ ...q, groupBy: ['user' as never] })).rejects.toThrow(/cannot group rollups/);
    await expect(store.queryRollups({ ...q, filter: { user: 'u' } as never })).rejects.toThrow(/cannot filter rollups/);
  });

  it('reads an empty or unbounded window at once', async () => {
    const store = await storeWith(3);
    expect(await store.queryRollups({ from: T0 + MIN, to: T0, step: 'minute' })).toEqual([]);
    expect(await store.queryRollups({ from: 0, to: 8.64e15, step: 'hour' })).toHaveLength(1);
    expect(
      (await store.queryRollups({ from: -Infinity, to: Infinity, step: 'minute' })).reduce((a, p) => a + p.requests, 0),
    ).toBe(18);
  });
});
