// The SpendStore contract: the same answers from every backend (memory, SQLite, PostgreSQL) for the same calls.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type TestPostgres } from '../../../test/pg.js';
import { PostgresStore, SqliteStore } from '../../store/index.js';
import { costConfigOf } from '../config.js';
import { SpendQueries } from '../spend-queries.js';
import { fakeCall } from '../testing.js';
import { spendStoreFor } from './index.js';
import { MemorySpendStore } from './memory.js';
import { PostgresSpendStore } from './postgres.js';
import { SQLITE_SPEND_MIGRATIONS, SqliteSpendStore } from './sqlite.js';
import { deltasOf, type SpendStore } from './types.js';

const T = Date.parse('2025-07-15T10:00:00Z');
const MIN = 60_000;
const DAY = 86_400_000;

let pg: TestPostgres | undefined;
const open: PostgresStore[] = [];
beforeAll(async () => {
  pg = await startPostgres();
});
afterAll(async () => {
  for (const s of open.splice(0)) await s.close().catch(() => {});
  await pg?.stop();
});

const stores: [string, () => Promise<SpendStore>][] = [
  ['memory', async () => new MemorySpendStore()],
  ['sqlite', async () => new SqliteSpendStore(new Database(':memory:'))],
  [
    'sqlite file (app store: batches applied by its writer thread)',
    async () => {
      const store = new SqliteStore(join(mkdtempSync(join(tmpdir(), 'llmscope-spend-')), 'app.db'));
      await store.migrate();
      const spend = await spendStoreFor(store.backend);
      await spend.apply([]);
      return spend;
    },
  ],
  [
    'postgres',
    async () => {
      const store = new PostgresStore(await (pg as TestPostgres).freshSchemaUrl());
      open.push(store);
      await store.migrate();
      const spend = new PostgresSpendStore(store.backend);
      await spend.migrate();
      return spend;
    },
  ],
];

describe.each(stores)('%s spend store', (_name, make) => {
  const calls = () => [
    fakeCall({
      startedAt: T,
      user: 'ann',
      team: 'a',
      feature: 'chat',
      apiKeyId: 'k1',
      costUsd: 1,
      requestBytes: 100,
      responseBytes: 900,
      cacheWriteInputTokens: 300,
      reasoningTokens: 20,
    }),
    fakeCall({ startedAt: T + 10, user: 'ann', team: 'a', feature: 'chat', costUsd: 2 }),
    fakeCall({
      startedAt: T + MIN,
      user: 'bob',
      team: 'b',
      model: 'gpt-4o',
      costUsd: 4,
      cacheWriteInputTokens: 50,
      reasoningTokens: 100,
    }),
    fakeCall({ startedAt: T + DAY, user: 'bob', team: 'b', costUsd: 8, cacheWriteInputTokens: 7 }),
    fakeCall({ startedAt: T + DAY, user: 'cid', model: 'mystery', costUsd: null }),
  ];

  it('aggregates by every dimension, per minute and per day, adding to what is there', async () => {
    const s = await make();
    const cs = calls();
    await s.apply(deltasOf(cs.slice(0, 3), () => false));
    await s.apply(deltasOf(cs.slice(3), (c) => c.model === 'mystery'));
    const users = await s.daily({ dimension: 'user', from: T - DAY, to: T + 2 * DAY });
    expect(users.map((r) => [r.day, r.value, r.costUsd, r.requests])).toEqual([
      ['2025-07-15', 'ann', 3, 2],
      ['2025-07-15', 'bob', 4, 1],
      ['2025-07-16', 'bob', 8, 1],
      ['2025-07-16', 'cid', 0, 1],
    ]);
    const all = await s.daily({ dimension: 'all', from: T, to: T + 2 * DAY });
    expect(all.map((r) => [r.costUsd, r.requests, r.unpriced])).toEqual([
      [7, 3, 0],
      [8, 2, 1],
    ]);
    expect(all[0]?.bytes).toBe(1000);
    const minutes = await s.minutes({ dimension: 'team', from: T - (T % MIN), to: T + 2 * MIN, value: 'a' });
    expect(minutes.map((r) => [r.t, r.costUsd, r.requests])).toEqual([[T - (T % MIN), 3, 2]]);
    const pm = await s.daily({ dimension: 'provider_model', from: T, to: T + 1 });
    expect(pm.map((r) => r.value)).toEqual(['openai\tgpt-4o', 'openai\tgpt-4o-mini']);
    expect((await s.daily({ dimension: 'key', from: T, to: T + 1, value: 'k1' }))[0]?.costUsd).toBe(1);
    expect(await s.pruneMinutes(T + DAY)).toBeGreaterThan(0);
    expect(await s.minutes({ dimension: 'all', from: 0, to: T + DAY })).toEqual([]);
  });

  it('keeps the built-in tool part of the cost apart, per minute and per day, in every view (decision 163)', async () => {
    const r9 = (n: number) => Math.round(n * 1e9) / 1e9;
    const s = await make();
    const searched = (startedAt: number, model: string, costUsd: number, units: number, unitPrice: number | null) => {
      const c = fakeCall({ startedAt, model, user: 'ann', costUsd });
      c.price = {
        input: 1e-6,
        cachedInput: 5e-7,
        output: 4e-6,
        source: 'test',
        tools: [
          { tool: 'web_search', unitPrice, units },
          { tool: 'web_fetch', unitPrice: null, units: 2 },
        ],
      };
      return c;
    };
    // gpt-4o: $0.50 of tokens and 30 searches at $0.01 (one call at T, one a minute later); a call without tools; on
    // the next day a call whose searches have no price (not in its cost, nor in the tool figure)
    await s.apply(
      deltasOf([searched(T, 'gpt-4o', 0.7, 20, 0.01), searched(T + MIN, 'gpt-4o', 0.1, 10, 0.01)], () => false),
    );
    await s.apply(
      deltasOf([fakeCall({ startedAt: T + 5, costUsd: 2 }), searched(T + DAY, 'gpt-4o', 0.25, 4, null)], () => false),
    );
    const all = await s.daily({ dimension: 'all', from: T, to: T + 2 * DAY });
    expect(all.map((r) => [r.day, r9(r.costUsd), r9(r.toolCostUsd)])).toEqual([
      ['2025-07-15', 2.8, 0.3],
      ['2025-07-16', 0.25, 0],
    ]);
    const minutes = await s.minutes({ dimension: 'provider_model', from: T - (T % MIN), to: T + 2 * MIN });
    expect(minutes.map((r) => [r.value, r9(r.toolCostUsd)])).toEqual([
      ['openai\tgpt-4o', 0.2],
      ['openai\tgpt-4o-mini', 0],
      ['openai\tgpt-4o', 0.1],
    ]);
    const now = T + DAY + 3_600_000;
    const q = new SpendQueries(s, costConfigOf({}).costs, [], () => now, 2 * DAY);
    const byModel = await q.summary({ from: T - 3_600_000, to: now, groupBy: 'model' });
    expect(byModel.total).toMatchObject({ cost_usd: 3.05, tool_cost_usd: 0.3, token_cost_usd: 2.75 });
    expect(byModel.groups.map((g) => [g.key, g.cost_usd, g.tool_cost_usd, g.token_cost_usd])).toEqual([
      ['gpt-4o-mini', 2, 0, 2],
      ['gpt-4o', 1.05, 0.3, 0.75],
    ]);
    const byDay = await q.summary({ from: Date.parse('2025-07-01T00:00:00Z'), to: now, groupBy: 'day' });
    expect(byDay.groups.map((g) => [g.key, g.tool_cost_usd])).toEqual([
      ['2025-07-15', 0.3],
      ['2025-07-16', 0],
    ]);
    expect((await q.daily('2025-07-15', '2025-07-16')).map((d) => [d.api_usd, d.api_tool_usd])).toEqual([
      [2.8, 0.3],
      [0.25, 0],
    ]);
    // what reconciliation reads: the tool part per day, provider and model
    const cells = await q.trackedCells('2025-07-15', '2025-07-16');
    expect(cells.map((c) => [c.day, c.model, r9(c.costUsd), r9(c.toolCostUsd ?? 0)])).toEqual([
      ['2025-07-15', 'gpt-4o', 0.8, 0.3],
      ['2025-07-15', 'gpt-4o-mini', 2, 0],
      ['2025-07-16', 'gpt-4o', 0.25, 0],
    ]);
  });

  it('prunes daily rows of the days before a cut-off, by user and every other dimension (QA36)', async () => {
    const s = await make();
    await s.apply(deltasOf(calls(), (c) => c.model === 'mystery'));
    const users = async () =>
      (await s.daily({ dimension: 'user', from: T - DAY, to: T + 2 * DAY })).map((r) => `${r.day} ${r.value}`);
    expect(await users()).toEqual(['2025-07-15 ann', '2025-07-15 bob', '2025-07-16 bob', '2025-07-16 cid']);
    // a cut-off inside 2025-07-16 keeps that whole day; 2025-07-15's rows go (ann's, bob's, and every dimension's)
    const n = await s.pruneDays(T + DAY + 3_600_000);
    expect(n).toBeGreaterThan(2);
    expect(await users()).toEqual(['2025-07-16 bob', '2025-07-16 cid']);
    expect(await s.daily({ dimension: 'all', from: T - DAY, to: T + 1 })).toEqual([]);
    expect(await s.pruneDays(T + DAY)).toBe(0);
  });

  it('keeps reconciliations and cost items', async () => {
    const s = await make();
    const rec = (id: string, createdAt: number) => ({
      id,
      createdAt,
      source: 'openai:bill.csv',
      fromDay: '2025-06-01',
      toDay: '2025-06-30',
      billedUsd: 100,
      trackedUsd: 70,
      gapUsd: 30,
      gapRatio: 0.3,
      report: { causes: [{ kind: 'untracked_days' }] },
    });
    await s.saveReconciliation(rec('r1', 1));
    await s.saveReconciliation(rec('r2', 2));
    expect((await s.listReconciliations(10)).map((r) => r.id)).toEqual(['r2', 'r1']);
    expect(await s.getReconciliation('r1')).toEqual(rec('r1', 1));
    expect(await s.getReconciliation('nope')).toBeNull();
    const item = {
      day: '2025-06-02',
      category: 'vector_db',
      name: 'pinecone',
      provider: null,
      amountUsd: 12,
      source: 'x.csv',
    };
    await s.addCostItems([item, { ...item, day: '2025-07-01' }]);
    await s.addCostItems([{ ...item, amountUsd: 13 }]); // replaces
    expect(await s.costItems('2025-06-01', '2025-06-30')).toEqual([{ ...item, amountUsd: 13 }]);
  });

  it('answers summaries, top spenders, time series and a forecast', async () => {
    const s = await make();
    await s.apply(deltasOf(calls(), (c) => c.model === 'mystery'));
    const now = T + DAY + 3_600_000;
    const q = new SpendQueries(s, costConfigOf({}).costs, [], () => now, 2 * DAY);
    const byUser = await q.summary({ from: T - 3_600_000, to: now, groupBy: 'user' });
    expect(byUser.resolution).toBe('minute');
    expect([byUser.read_from, byUser.read_to]).toEqual([
      new Date(T - 3_600_000).toISOString(),
      new Date(now).toISOString(),
    ]);
    // A range that does not start on a minute: the minute it starts in is not read, the one it ends in is.
    const cut = await q.summary({ from: T - 30_000, to: T + 90_000 });
    expect([cut.read_from, cut.read_to]).toEqual(['2025-07-15T10:00:00.000Z', '2025-07-15T10:02:00.000Z']);
    expect(byUser.total).toMatchObject({ cost_usd: 15, requests: 5, unpriced_requests: 1 });
    // cache-write and reasoning tokens are summed as the other token figures
    expect(byUser.total).toMatchObject({ cache_write_input_tokens: 357, reasoning_tokens: 120 });
    expect(byUser.groups.map((g) => [g.key, g.cache_write_input_tokens, g.reasoning_tokens])).toEqual([
      ['bob', 57, 100],
      ['ann', 300, 20],
      ['cid', 0, 0],
    ]);
    const daily = await q.summary({ from: T - 3_600_000, to: now, groupBy: 'day' });
    expect(daily.groups.map((g) => [g.cache_write_input_tokens, g.reasoning_tokens])).toEqual([
      [350, 120],
      [7, 0],
    ]);
    expect(byUser.groups.map((g) => [g.key, g.cost_usd, g.share])).toEqual([
      ['bob', 12, 0.8],
      ['ann', 3, 0.2],
      ['cid', 0, 0],
    ]);
    expect(byUser.groups[0]?.cost_per_request).toBe(6);
    expect(byUser.groups[0]?.cost_per_1k_tokens).toBeCloseTo((12 / 3000) * 1000, 9);
    const top = await q.summary({ from: T - 3_600_000, to: now, groupBy: 'team', limit: 1 });
    expect(top.groups.map((g) => g.key)).toEqual(['b']);
    expect(top.rest?.cost_usd).toBe(3);
    const byDay = await q.summary({ from: Date.parse('2025-07-01T00:00:00Z'), to: now, groupBy: 'day' });
    expect(byDay.resolution).toBe('day');
    expect(byDay.groups.map((g) => [g.key, g.cost_usd])).toEqual([
      ['2025-07-15', 7],
      ['2025-07-16', 8],
    ]);
    // Past minute retention a range is read in whole UTC days, and the answer says which (QA34: a 00:00-12:00 range
    // counted a call at 18:00 while repeating 12:00 as its end).
    expect([byDay.read_from, byDay.read_to]).toEqual(['2025-07-01T00:00:00.000Z', '2025-07-17T00:00:00.000Z']);
    const morning = await q.summary({
      from: Date.parse('2025-07-10T00:00:00Z'),
      to: Date.parse('2025-07-15T09:00:00Z'),
    });
    expect(morning).toMatchObject({
      resolution: 'day',
      to: '2025-07-15T09:00:00.000Z',
      read_from: '2025-07-10T00:00:00.000Z',
      read_to: '2025-07-16T00:00:00.000Z',
    });
    expect(morning.total.cost_usd).toBe(7);
    const series = await q.timeseries({ from: T - (T % MIN), to: T - (T % MIN) + 3 * MIN, step: 'minute' });
    expect(series.map((p) => p.cost_usd)).toEqual([3, 4, 0]);
    const f = await q.forecast();
    expect(f.month).toBe('2025-07');
    expect(f.api_usd_mtd).toBe(15);
    // 15 spent since the first call (July 15 10:00; nothing before it) continues to the month's end: the rate
    // starts at the first data, not at the start of the 7 days' window (July 9 00:00)
    const rate = 15 / (now - T);
    expect(f.forecast_api_usd).toBeCloseTo(15 + rate * (Date.parse('2025-08-01T00:00:00Z') - now), 6);
    // the span the rate covers (25 h since the first call), beside the window's nominal length
    expect(f.rate_window_days).toBe(7);
    expect(f.rate_span_days).toBeCloseTo((now - T) / DAY, 9);
    // with spend before the window (July 1), the window's 7 days are the rate's span again
    await s.apply(deltasOf([fakeCall({ startedAt: Date.parse('2025-07-01T12:00:00Z'), costUsd: 1 })], () => false));
    const g = await q.forecast();
    const weekRate = 15 / (now - Date.parse('2025-07-09T00:00:00Z'));
    expect(g.forecast_api_usd).toBeCloseTo(16 + weekRate * (Date.parse('2025-08-01T00:00:00Z') - now), 6);
    // the models without a price, from the aggregates (what every replica reads): 'mystery' in these calls
    expect(await q.unpricedModels(30)).toEqual([
      { provider: expect.any(String), model: 'mystery', calls: 1, last_day: '2025-07-16' },
    ]);
    expect(g.rate_span_days).toBeCloseTo((now - Date.parse('2025-07-09T00:00:00Z')) / DAY, 9);
  });
});

describe('spend tables on the app store', () => {
  it('are versioned in schema_migrations (cost.spend) on SQLite, also over tables made before versioning', async () => {
    const store = new SqliteStore(':memory:');
    await store.migrate();
    // a database from before: the tables exist, no version recorded
    new SqliteSpendStore(store.db);
    const spend = await spendStoreFor(store.backend);
    await spend.apply(deltasOf([fakeCall({ startedAt: T, costUsd: 1 })], () => false));
    const versions = store.db.prepare("SELECT version FROM schema_migrations WHERE namespace = 'cost.spend'").all();
    expect(versions).toEqual([{ version: 1 }, { version: 2 }, { version: 3 }]);
    expect((await spend.daily({ dimension: 'all', from: T, to: T + DAY })).map((r) => r.costUsd)).toEqual([1]);
    await store.close();
  });

  it('gain the cache-write and reasoning figures over version 1 tables, which read 0 for spend summed before', async () => {
    const store = new SqliteStore(':memory:');
    await store.migrate();
    // version 1's tables, as an older llmscope made them, with a day of spend in them
    store.db.exec(SQLITE_SPEND_MIGRATIONS[0]?.up as string);
    store.db
      .prepare(
        "INSERT INTO spend_daily (day, dimension, value, cost_usd, requests, input_tokens) VALUES ('2025-07-15', 'all', '', 2, 1, 10)",
      )
      .run();
    const spend = await spendStoreFor(store.backend);
    const call = fakeCall({ startedAt: T, costUsd: 1, cacheWriteInputTokens: 40, reasoningTokens: 6 });
    await spend.apply(deltasOf([call], () => false));
    const [day] = await spend.daily({ dimension: 'all', from: T, to: T + DAY });
    expect(day).toMatchObject({ costUsd: 3, requests: 2, cacheWriteInputTokens: 40, reasoningTokens: 6 });
    await store.close();
  });

  it('gain the tool cost figure over version 2 tables, which reads 0 for spend summed before (decision 163)', async () => {
    const store = new SqliteStore(':memory:');
    await store.migrate();
    // version 2's tables, as the llmscope before decision 163 made them, with a day of spend in them
    store.db.exec(SQLITE_SPEND_MIGRATIONS[0]?.up as string);
    const v2 = SQLITE_SPEND_MIGRATIONS[1]?.up as (db: typeof store.db) => void;
    v2(store.db);
    store.db
      .prepare(
        "INSERT INTO spend_daily (day, dimension, value, cost_usd, requests, input_tokens) VALUES ('2025-07-15', 'all', '', 2, 1, 10)",
      )
      .run();
    const spend = await spendStoreFor(store.backend);
    const call = fakeCall({ startedAt: T, costUsd: 1 });
    call.price = {
      input: 0,
      cachedInput: 0,
      output: 0,
      source: 't',
      tools: [{ tool: 'file_search', unitPrice: 0.0025, units: 4 }],
    };
    await spend.apply(deltasOf([call], () => false));
    const [day] = await spend.daily({ dimension: 'all', from: T, to: T + DAY });
    expect(day).toMatchObject({ costUsd: 3, requests: 2 });
    expect(day?.toolCostUsd).toBeCloseTo(0.01, 12);
    await store.close();
  });

  it('on a file database, applies each batch on the store’s writer thread, visible when apply resolves', async () => {
    const store = new SqliteStore(join(mkdtempSync(join(tmpdir(), 'llmscope-spend-')), 'app.db'));
    await store.migrate();
    const spend = await spendStoreFor(store.backend);
    for (let i = 1; i <= 3; i++) {
      await spend.apply(deltasOf([fakeCall({ startedAt: T, costUsd: i })], () => false));
      const [day] = await spend.daily({ dimension: 'all', from: T, to: T + DAY });
      expect(day?.costUsd).toBe((i * (i + 1)) / 2);
    }
    expect(await store.callWriterThread()).not.toBeNull();
    await store.close();
  });
});
