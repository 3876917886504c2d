// Spend on PostgreSQL: the same answers as the in-memory spend store for the same calls, exact totals when two
// replicas add to the same minutes at once, and reconciliations and cost items kept.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type TestPostgres } from '../../../test/pg.js';
import { PostgresStore } from '../../store/index.js';
import { isRetryableAdd } from '../../store/transient.js';
import { fakeCall } from '../testing.js';
import { MemorySpendStore } from './memory.js';
import { PostgresSpendStore, SPEND_MIGRATIONS, SPEND_NAMESPACE } from './postgres.js';
import { deltasOf, SPEND_DIMENSIONS } from './types.js';

const T = Date.parse('2025-07-15T10:00:00Z');
const MIN = 60_000;
const DAY = 86_400_000;

let pg: TestPostgres;
const stores: PostgresStore[] = [];
beforeAll(async () => {
  pg = await startPostgres();
});
afterAll(async () => {
  for (const s of stores.splice(0)) await s.close().catch(() => {});
  await pg?.stop();
});

async function spendStores(n: number): Promise<PostgresSpendStore[]> {
  const url = await pg.freshSchemaUrl();
  const out: PostgresSpendStore[] = [];
  for (let i = 0; i < n; i++) {
    const store = new PostgresStore(url);
    stores.push(store);
    await store.migrate();
    const spend = new PostgresSpendStore(store.backend);
    await spend.migrate();
    out.push(spend);
  }
  return out;
}

const calls = Array.from({ length: 600 }, (_, i) =>
  fakeCall({
    startedAt: T + (i % 5) * MIN + Math.floor(i / 300) * DAY + i,
    user: `u${i % 7}`,
    team: i % 3 ? `t${i % 3}` : null,
    feature: `f${i % 4}`,
    apiKeyId: i % 2 ? 'k1' : null,
    model: i % 10 === 0 ? 'mystery' : 'gpt-4o-mini',
    costUsd: i % 10 === 0 ? null : 0.001 * (1 + (i % 13)),
    inputTokens: 100 + i,
    outputTokens: 10 + (i % 30),
    requestBytes: 200,
    responseBytes: 800 + i,
    cacheWriteInputTokens: i % 3 ? 0 : 50 + i,
    reasoningTokens: i % 11,
  }),
);
const unpriced = (c: { model: string }) => c.model === 'mystery';

describe('PostgresSpendStore', () => {
  it('answers as the in-memory store does, for every dimension, per day and per minute', async () => {
    const [s] = (await spendStores(1)) as [PostgresSpendStore];
    const mem = new MemorySpendStore();
    for (let i = 0; i < calls.length; i += 100) {
      const d = deltasOf(calls.slice(i, i + 100), unpriced);
      await s.apply(d);
      await mem.apply(d);
    }
    const round = (rows: object[]) =>
      JSON.parse(JSON.stringify(rows, (_k, v) => (typeof v === 'number' ? Number(v.toFixed(9)) : v)));
    for (const dimension of SPEND_DIMENSIONS) {
      const q = { from: T - DAY, to: T + 3 * DAY, dimension };
      expect(round(await s.daily(q))).toEqual(round(await mem.daily(q)));
      expect(round(await s.minutes(q))).toEqual(round(await mem.minutes(q)));
    }
    const one = { from: T, to: T + 2 * MIN + 0.5, dimension: 'user' as const, value: 'u3' };
    expect(round(await s.minutes(one))).toEqual(round(await mem.minutes(one)));
    expect(round(await s.daily(one))).toEqual(round(await mem.daily(one)));
    expect(await s.pruneMinutes(T + DAY)).toBe(await mem.pruneMinutes(T + DAY));
  });

  it('two replicas adding to the same minutes at once: totals exact', async () => {
    const [a, b] = (await spendStores(2)) as [PostgresSpendStore, PostgresSpendStore];
    const batches = Array.from({ length: 30 }, (_, k) => calls.slice(k * 20, k * 20 + 20));
    await Promise.all(batches.map((x, k) => (k % 2 ? a : b).apply(deltasOf(x, unpriced))));
    const rows = await a.daily({ from: T, to: T + 2 * DAY, dimension: 'all' });
    expect(rows.reduce((n, r) => n + r.requests, 0)).toBe(600);
    expect(rows.reduce((n, r) => n + r.unpriced, 0)).toBe(60);
    expect(rows.reduce((n, r) => n + r.costUsd, 0)).toBeCloseTo(
      calls.reduce((n, c) => n + (c.costUsd ?? 0), 0),
      9,
    );
    const minutes = await b.minutes({ from: T, to: T + 2 * DAY, dimension: 'all' });
    expect(minutes.reduce((n, r) => n + r.inputTokens, 0)).toBe(calls.reduce((n, c) => n + (c.inputTokens ?? 0), 0));
    expect(minutes.reduce((n, r) => n + r.cacheWriteInputTokens, 0)).toBe(
      calls.reduce((n, c) => n + (c.cacheWriteInputTokens ?? 0), 0),
    );
    expect(rows.reduce((n, r) => n + r.reasoningTokens, 0)).toBe(
      calls.reduce((n, c) => n + (c.reasoningTokens ?? 0), 0),
    );
  });

  it('gains the tool cost figure over version 2 tables (cost.spend 3), 0 for spend summed before (decision 163)', async () => {
    const url = await pg.freshSchemaUrl();
    const before = new PostgresStore(url);
    stores.push(before);
    await before.migrate();
    // the spend tables as the llmscope before decision 163 made them, with a day of spend in them
    await before.backend.migrations.register(SPEND_NAMESPACE, SPEND_MIGRATIONS.slice(0, 2));
    await before.pool.query(
      "INSERT INTO spend_daily (day, dimension, value, cost_usd, requests) VALUES ('2025-07-15', 'all', '', 2, 1)",
    );
    // this llmscope starting on them
    const store = new PostgresStore(url);
    stores.push(store);
    await store.migrate();
    const spend = new PostgresSpendStore(store.backend);
    await spend.migrate();
    const versions = await store.pool.query(
      'SELECT version FROM schema_migrations WHERE namespace = $1 ORDER BY version',
      [SPEND_NAMESPACE],
    );
    expect(versions.rows.map((r) => Number(r.version))).toEqual([1, 2, 3]);
    const call = fakeCall({ startedAt: T, costUsd: 1 });
    call.price = {
      input: 0,
      cachedInput: 0,
      output: 0,
      source: 't',
      tools: [{ tool: 'web_search', unitPrice: 0.01, units: 5 }],
    };
    await spend.apply(deltasOf([call], unpriced));
    const [day] = await spend.daily({ dimension: 'all', from: T, to: T + DAY });
    expect(day).toMatchObject({ costUsd: 3, requests: 2 });
    expect(day?.toolCostUsd).toBeCloseTo(0.05, 12);
  });

  it('keeps reconciliations and cost items', async () => {
    const [s] = (await spendStores(1)) as [PostgresSpendStore];
    const rec = {
      id: 'r1',
      createdAt: T,
      source: 'openai:bill.csv',
      fromDay: '2025-07-01',
      toDay: '2025-07-31',
      billedUsd: 10,
      trackedUsd: 9.5,
      gapUsd: 0.5,
      gapRatio: 0.05,
      report: { providers: ['openai'], lines: [1, 2] },
    };
    await s.saveReconciliation(rec);
    await s.saveReconciliation({ ...rec, id: 'r2', createdAt: T + 1 });
    await s.saveReconciliation({ ...rec, gapUsd: 0.4 });
    expect((await s.listReconciliations(10)).map((r) => r.id)).toEqual(['r2', 'r1']);
    expect(await s.getReconciliation('r1')).toEqual({ ...rec, gapUsd: 0.4 });
    expect(await s.getReconciliation('nope')).toBeNull();
    const item = { day: '2025-07-02', category: 'gpu', name: 'a100', provider: null, amountUsd: 12, source: 'api' };
    expect(await s.addCostItems([item, { ...item, amountUsd: 13 }, { ...item, day: '2025-08-01' }])).toBe(3);
    expect(await s.costItems('2025-07-01', '2025-07-31')).toEqual([{ ...item, amountUsd: 13 }]);
  });
});

describe('PostgresSpendStore: a COMMIT whose answer is lost', () => {
  /** Makes the connection's COMMIT fail as a dropped connection does: after it ran (`after`) or instead of it. */
  function loseCommit(s: PostgresSpendStore, after: boolean): void {
    const pool = (s as unknown as { backend: { pool: import('pg').Pool } }).backend.pool;
    const connect = pool.connect.bind(pool) as (cb?: unknown) => Promise<import('pg').PoolClient>;
    let once = true;
    // (pool.query connects with a callback: those pass through)
    (pool as unknown as { connect: (cb?: unknown) => unknown }).connect = (cb?: unknown) => {
      if (cb) return connect(cb);
      return connect().then((c) => {
        const query = c.query.bind(c) as (...args: unknown[]) => Promise<unknown>;
        // (pool.query queries with a callback on a client it reuses: those pass through)
        (c as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
          if (args[0] !== 'COMMIT' || !once) return query(...args);
          once = false;
          return (after ? query('COMMIT') : Promise.resolve()).then(() => {
            throw new Error('Connection terminated unexpectedly');
          });
        };
        return c;
      });
    };
  }
  const day = async (s: PostgresSpendStore) =>
    (await s.daily({ dimension: 'all', from: T, to: T + DAY })).reduce((n, r) => n + r.requests, 0);

  it('applied: asks the server, which says it was committed, and adds nothing again', async () => {
    const [s] = (await spendStores(1)) as [PostgresSpendStore];
    loseCommit(s, true);
    await s.apply(deltasOf(calls.slice(0, 10), unpriced));
    expect(await day(s)).toBe(10);
  });

  it('not applied: the server says it was aborted; the error is one to try again', async () => {
    const [s] = (await spendStores(1)) as [PostgresSpendStore];
    loseCommit(s, false);
    const err = await s.apply(deltasOf(calls.slice(0, 10), unpriced)).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isRetryableAdd(err)).toBe(true);
    expect(await day(s)).toBe(0);
    await s.apply(deltasOf(calls.slice(0, 10), unpriced));
    expect(await day(s)).toBe(10);
  });
});
