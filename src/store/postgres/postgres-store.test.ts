// PostgreSQL-specific behaviour beyond the shared contract: day partitions (made ahead, on demand, dropped by
// retention), several replicas writing the same rollup rows at once, migrations racing at start-up, SQL histogram
// merges, failures as rejections, and the query plans the dashboard relies on.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type TestPostgres } from '../../../test/pg.js';
import { LlmscopeError } from '../../errors.js';
import { count, histogramOf, merge } from '../histogram.js';
import { otlpRequestId } from '../otlp-ids.js';
import { makeCall, T0 } from '../store.contract.js';
import type { HistogramCounts } from '../store.js';
import { histogramsOfPg, parseInt8Array, pgHistogramLiteral } from './histogram-pg.js';
import { DAY_MS, dayOf, listPartitions, partitionName } from './partitions.js';
import { PostgresStore, pgListCallsSql, pgRollupSql, redactPgUrl } from './postgres-store.js';

const MIN = 60_000;
const HOUR = 3_600_000;

let pg: TestPostgres;
const open: PostgresStore[] = [];
beforeAll(async () => {
  pg = await startPostgres();
});
afterAll(async () => {
  for (const s of open.splice(0)) await s.close().catch(() => {});
  await pg?.stop();
});

/** A store on a fresh schema (or on `url`, to share one with another store: a second replica). */
async function storeOn(url?: string): Promise<{ store: PostgresStore; url: string }> {
  const u = url ?? (await pg.freshSchemaUrl());
  const store = new PostgresStore(u);
  open.push(store);
  return { store, url: u };
}

const schemaOf = (url: string) => decodeURIComponent(url).replace(/.*search_path=/, '');

describe('partitions', () => {
  it('are made for today and the days ahead at migrate, and for each batch’s days on insert', async () => {
    const { store } = await storeOn();
    const now = Date.UTC(2031, 5, 30, 23, 0);
    await store.migrate();
    await store.maintain(now);
    const days = (await listPartitions(store.pool)).map((p) => p.from);
    for (let i = 0; i < 3; i++) expect(days).toContain(dayOf(now) + i * DAY_MS);
    expect(partitionName(dayOf(now))).toBe('calls_p20310630');
    await store.insertCalls([
      makeCall(1, { startedAt: T0 }),
      makeCall(2, { startedAt: T0 + DAY_MS }),
      makeCall(3, { startedAt: T0 + 5 * DAY_MS }),
    ]);
    const after = await listPartitions(store.pool);
    expect(after.map((p) => p.name)).toEqual(
      expect.arrayContaining(['calls_p20250115', 'calls_p20250116', 'calls_p20250120']),
    );
    const r = await store.pool.query(`SELECT tableoid::regclass::text AS p FROM calls WHERE request_id = 'req-00003'`);
    expect(r.rows[0].p).toBe('calls_p20250120');
  });

  it('retention drops whole days, deletes in the boundary day, and counts both', async () => {
    const { store } = await storeOn();
    await store.migrate();
    // 4 days × 24 calls, one an hour
    const calls = Array.from({ length: 96 }, (_, i) => makeCall(i, { startedAt: dayOf(T0) + i * HOUR + 1 }));
    await store.insertCalls(calls);
    const r = await store.applyRetention({
      rawBefore: dayOf(T0) + 2 * DAY_MS + 6 * HOUR, // days 0 and 1 go whole, 6 calls of day 2
      minuteBefore: 0,
      hourBefore: 0,
    });
    expect(r.deletedCalls).toBe(48 + 6);
    const names = (await listPartitions(store.pool)).map((p) => p.name);
    expect(names).not.toContain('calls_p20250115');
    expect(names).not.toContain('calls_p20250116');
    expect(names).toContain('calls_p20250117');
    const left = await store.pool.query('SELECT count(*)::int AS n FROM calls');
    expect(left.rows[0].n).toBe(96 - 54);
    // a call arriving late for a dropped day lands in a partition made again for it
    await store.insertCalls([makeCall(500, { startedAt: dayOf(T0) + 5 })]);
    expect(await store.getCall('req-00500')).not.toBeNull();
  });

  it('a replica whose cached day was dropped by another replica re-creates it and loses nothing', async () => {
    const a = await storeOn();
    const b = await storeOn(a.url);
    await a.store.migrate();
    await b.store.migrate();
    await a.store.insertCalls([makeCall(1, { startedAt: T0 })]);
    await b.store.applyRetention({ rawBefore: dayOf(T0) + DAY_MS, minuteBefore: 0, hourBefore: 0 });
    await a.store.insertCalls([makeCall(2, { startedAt: T0 + 1 })]);
    expect((await a.store.listCalls({})).items.map((c) => c.requestId)).toEqual(['req-00002']);
  });
});

describe('several replicas on one database', () => {
  it('merge rollups exactly when writing the same minutes at once (no lost increments)', async () => {
    const a = await storeOn();
    const b = await storeOn(a.url);
    const c = await storeOn(a.url);
    // three replicas migrating at the same moment: one applies, the others wait and find nothing to do
    await Promise.all([a.store.migrate(), b.store.migrate(), c.store.migrate()]);
    const same = {
      provider: 'openai',
      model: 'gpt-4o',
      endpoint: 'chat.completions',
      feature: 'f',
      team: 't',
    } as const;
    const replicas = [a.store, b.store, c.store];
    const calls = Array.from({ length: 3000 }, (_, i) =>
      makeCall(i, { ...same, startedAt: T0 + (i % 180) * 1000, latencyMs: 50 + (i % 400) }),
    );
    // 60 batches of 50, dealt round-robin and all in flight together, every batch touching the same 3 minutes
    const batches = Array.from({ length: 60 }, (_, k) => calls.slice(k * 50, k * 50 + 50));
    await Promise.all(batches.map((batch, k) => (replicas[k % 3] as PostgresStore).insertCalls(batch)));
    for (const step of ['minute', 'hour'] as const) {
      // the ungrouped view reads the totals; a grouped one the keyed rows: both must hold every call once
      const grouped = await c.store.queryRollups({ from: T0, to: T0 + HOUR, step, groupBy: ['model'] });
      expect(grouped.reduce((n, p) => n + p.requests, 0)).toBe(3000);
      expect(grouped.reduce((n, p) => n + count(p.ttft), 0)).toBe(calls.filter((x) => x.ttftMs !== null).length);
      const points = await b.store.queryRollups({ from: T0, to: T0 + HOUR, step });
      expect(points.reduce((n, p) => n + p.requests, 0)).toBe(3000);
      expect(points.reduce((n, p) => n + count(p.latency), 0)).toBe(3000);
      const tokens = calls.reduce((n, x) => n + (x.inputTokens ?? 0), 0);
      expect(points.reduce((n, p) => n + p.inputTokens, 0)).toBe(tokens);
      const hist = points.reduce<HistogramCounts>((h, p) => merge(h, p.latency), {});
      expect(hist).toEqual(histogramOf(calls.map((x) => x.latencyMs)));
    }
    const migrations = await a.store.pool.query('SELECT namespace, version FROM schema_migrations ORDER BY version');
    expect(migrations.rows).toEqual([
      { namespace: 'core', version: 1 },
      { namespace: 'core', version: 2 },
      { namespace: 'core', version: 3 },
      { namespace: 'core', version: 4 },
      { namespace: 'core', version: 5 },
      { namespace: 'core', version: 6 },
      { namespace: 'core', version: 7 },
      { namespace: 'core', version: 8 },
    ]);
  });

  it('count a call sent by two replicas at once (a retried ingest) once', async () => {
    const a = await storeOn();
    const b = await storeOn(a.url);
    await a.store.migrate();
    await b.store.migrate();
    const calls = Array.from({ length: 400 }, (_, i) => makeCall(i, { startedAt: T0 + i * 100 }));
    const batches = Array.from({ length: 8 }, (_, k) => calls.slice(k * 50, k * 50 + 50));
    await Promise.all([
      ...batches.map((x) => a.store.insertCalls(x)),
      ...[...batches].reverse().map((x) => b.store.insertCalls([...x].reverse())),
    ]);
    const points = await a.store.queryRollups({ from: T0, to: T0 + HOUR, step: 'minute' });
    expect(points.reduce((n, p) => n + p.requests, 0)).toBe(400);
    const rows = await a.store.pool.query('SELECT count(*)::int AS n FROM calls');
    expect(rows.rows[0].n).toBe(400);
  });

  it('know an OTLP span stored under its old id form (by an older replica, or before the upgrade) by its new id', async () => {
    const { store } = await storeOn();
    await store.migrate();
    const trace = '4bf92f3577b34da6a3ce929d0e0e4736';
    await store.insertCalls([makeCall(1, { requestId: `otlp-${trace}-00f067aa0ba902b7` }), makeCall(2)]);
    const sent = otlpRequestId(trace, '00f067aa0ba902b7', BigInt(T0) * 1_000_000n);
    const other = otlpRequestId(trace, '00f067aa0ba902b8', BigInt(T0) * 1_000_000n);
    expect(await store.knownIds([sent, other, 'req-00002'])).toEqual(new Set([sent, 'req-00002']));
    await store.insertCalls([makeCall(3, { requestId: other })]);
    expect(await store.knownIds([other])).toEqual(new Set([other]));
  });
});

describe('migrations', () => {
  it('apply other namespaces before and after migrate, and refuse a newer schema or the core namespace', async () => {
    const { store, url } = await storeOn();
    await store.registerMigrations('gpu', [{ version: 1, name: 'samples', up: 'CREATE TABLE gpu_samples (t bigint)' }]);
    await store.migrate();
    await store.registerMigrations('cost', [
      {
        version: 1,
        name: 'by function',
        up: async (c) => {
          await c.query('CREATE TABLE cost_things (x int)');
        },
      },
    ]);
    await store.pool.query('INSERT INTO gpu_samples VALUES (1)');
    await store.pool.query('INSERT INTO cost_things VALUES (1)');
    await store.migrate(); // safe on every start
    const rows = await store.pool.query('SELECT namespace, version FROM schema_migrations ORDER BY namespace, version');
    expect(rows.rows).toEqual([
      { namespace: 'core', version: 1 },
      { namespace: 'core', version: 2 },
      { namespace: 'core', version: 3 },
      { namespace: 'core', version: 4 },
      { namespace: 'core', version: 5 },
      { namespace: 'core', version: 6 },
      { namespace: 'core', version: 7 },
      { namespace: 'core', version: 8 },
      { namespace: 'cost', version: 1 },
      { namespace: 'gpu', version: 1 },
    ]);
    await expect(store.registerMigrations('core', [])).rejects.toThrow(/belongs to the store/);
    await store.pool.query(`INSERT INTO schema_migrations VALUES ('core', 99, 'future', 0)`);
    const older = (await storeOn(url)).store;
    const err = await older.migrate().catch((e: unknown) => e);
    expect((err as LlmscopeError).code).toBe('LLMSCOPE_ERR_CONFIG_INVALID');
    expect((err as Error).message).toMatch(/version 99 .* newer llmscope/);
  });
});

describe('failures', () => {
  it('an unreachable server is a config error naming the URL without its password, and ping is false', async () => {
    // a port nothing listens on: this test server's, on a database that does not exist, then a closed port
    const store = new PostgresStore('postgres://llmscope:s3cret@127.0.0.1:1/nope', { connectTimeoutMs: 2000 });
    open.push(store);
    const err = await store.migrate().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LlmscopeError);
    expect((err as LlmscopeError).code).toBe('LLMSCOPE_ERR_CONFIG_INVALID');
    expect((err as Error).message).toContain('postgres://llmscope:***@127.0.0.1:1/nope');
    expect((err as Error).message).not.toContain('s3cret');
    expect(await store.ping()).toBe(false);
    expect(redactPgUrl('postgresql://u:p@h/db')).toBe('postgresql://u:***@h/db');
  });

  it('a NUL in a string field does not fail the batch (PostgreSQL text cannot hold one)', async () => {
    const { store } = await storeOn();
    await store.migrate();
    await store.insertCalls([makeCall(1, { model: 'gpt\u00004o', user: 'a\u0000b' }), makeCall(2)]);
    expect((await store.getCall('req-00001'))?.model).toBe('gpt\uFFFD4o');
    expect(await store.getCall('req-00002')).not.toBeNull();
  });
});

describe('histograms in SQL', () => {
  it('llmscope_hist_merge and llmscope_hist_sum agree with the JavaScript merge', async () => {
    const { store } = await storeOn();
    await store.migrate();
    const hs = Array.from({ length: 20 }, (_, k) =>
      histogramOf(Array.from({ length: 50 + k * 7 }, (_, i) => Math.exp(((i * 7919 + k * 104729) % 1000) / 90))),
    );
    const one = async (text: string, values: unknown[]): Promise<number[]> => {
      const r = await store.pool.query<[number[]]>({
        text,
        values,
        rowMode: 'array',
        types: { getTypeParser: () => parseInt8Array } as never,
      });
      return (r.rows[0] as [number[]])[0];
    };
    const row = (k: number) => ({
      latency: hs[k] as HistogramCounts,
      ttft: hs[(k + 7) % 20] as HistogramCounts,
      tpot: hs[(k + 13) % 20] as HistogramCounts,
    });
    const mergeRows = (a: ReturnType<typeof row>, b: ReturnType<typeof row>) => ({
      latency: merge(a.latency, b.latency),
      ttft: merge(a.ttft, b.ttft),
      tpot: merge(a.tpot, b.tpot),
    });
    const merged = await one('SELECT llmscope_hist_merge($1::int8[], $2::int8[])', [
      pgHistogramLiteral(row(0)),
      pgHistogramLiteral(row(1)),
    ]);
    expect(histogramsOfPg(merged)).toEqual(mergeRows(row(0), row(1)));
    const rows = hs.map((_, k) => row(k));
    const all = rows.reduce(mergeRows, { latency: {}, ttft: {}, tpot: {} });
    for (const agg of ['llmscope_hist_sum', 'llmscope_hist_cat']) {
      const summed = await one(`SELECT ${agg}(h::int8[]) FROM unnest($1::text[]) AS h`, [rows.map(pgHistogramLiteral)]);
      expect(histogramsOfPg(summed)).toEqual(all);
    }
  });
});

describe('query plans', () => {
  let store: PostgresStore;
  const explain = async (text: string, values: unknown[]) => {
    const r = await store.pool.query(`EXPLAIN (FORMAT TEXT) ${text}`, values);
    return r.rows.map((x) => x['QUERY PLAN']).join('\n');
  };

  beforeAll(async () => {
    store = (await storeOn()).store;
    await store.migrate();
    // a week of minute rollups over 24 keys and 60 days of hour rollups; 20 000 calls over 5 days
    await store.pool.query(`INSERT INTO calls_rollup_minute
      SELECT ${T0} + m * 60000::int8, 'openai', 'model-' || k % 6, 'chat.completions', 'f' || k, '', 1, 1, 0, 0, 0, 0, 0, 0,
        10, 10, 0, 0.001, '{1099511627777}'
      FROM generate_series(0, 7 * 1440 - 1) m, generate_series(1, 24) k`);
    await store.pool.query(`INSERT INTO calls_rollup_hour
      SELECT ${T0} + h * 3600000::int8, 'openai', 'model-' || k % 6, 'chat.completions', 'f' || k, '', 1, 1, 0, 0, 0, 0, 0, 0,
        10, 10, 0, 0.001, '{1099511627777}'
      FROM generate_series(0, 60 * 24) h, generate_series(1, 24) k`);
    await store.pool.query(`INSERT INTO calls_total_minute
      SELECT ${T0} + m * 60000::int8, 24, 24, 0, 0, 0, 0, 0, 0, 240, 240, 0, 0.024, '{1099511627777}'
      FROM generate_series(0, 7 * 1440 - 1) m`);
    const calls = Array.from({ length: 20_000 }, (_, i) =>
      makeCall(i, { startedAt: T0 + i * 21_600, user: `user-${i % 500}` }),
    );
    for (let i = 0; i < calls.length; i += 1000) await store.insertCalls(calls.slice(i, i + 1000));
    await store.pool.query('ANALYZE');
  });

  it('rollup windows of an hour and of six hours range-scan the primary key (totals when ungrouped)', async () => {
    // (a day of a week's minute rows is a seventh of the table: there the planner may rightly prefer a seq scan)
    for (const span of [HOUR, 6 * HOUR]) {
      const { text, values } = pgRollupSql({ from: T0 + 2 * DAY_MS, to: T0 + 2 * DAY_MS + span, step: 'minute' });
      expect(await explain(text, values)).toMatch(/calls_total_minute_pkey/);
      const filtered = pgRollupSql({
        from: T0 + 2 * DAY_MS,
        to: T0 + 2 * DAY_MS + span,
        step: 'minute',
        groupBy: ['model'],
        filter: { feature: 'f1' },
      });
      expect(await explain(filtered.text, filtered.values)).toMatch(/calls_rollup_minute_pkey/);
    }
    const week = pgRollupSql({ from: T0 + DAY_MS, to: T0 + 8 * DAY_MS, step: 'hour', groupBy: ['model'] });
    expect(await explain(week.text, week.values)).toMatch(/calls_rollup_hour_pkey/);
  });

  it('the newest-first listing walks the key backwards and stops; a time window prunes partitions', async () => {
    const page = pgListCallsSql({}, 51);
    const plan = await explain(page.text, page.values);
    expect(plan).toMatch(/Limit/);
    expect(plan).toMatch(/Index Scan Backward using calls_p\d+_pkey/);
    expect(plan).not.toMatch(/Sort/);
    const window = pgListCallsSql({ from: T0 + 2 * DAY_MS + HOUR, to: T0 + 2 * DAY_MS + 2 * HOUR }, 51);
    const windowPlan = await explain(window.text, window.values);
    expect(windowPlan.match(/calls_p\d+/g)?.every((p) => p === 'calls_p20250117')).toBe(true);
    const user = pgListCallsSql({ user: 'user-7' }, 51);
    expect(await explain(user.text, user.values)).toMatch(/calls_p\d+_user_started_at_request_id_idx/);
    const id = await explain('SELECT * FROM calls WHERE request_id = $1 LIMIT 1', ['req-00001']);
    expect(id).toMatch(/request_id_idx/);
  });
  it('a meta.<key> filter on a rare value is served by the GIN index on metadata', async () => {
    const page = pgListCallsSql({ metadata: { job: 'nightly-42' } }, 51);
    expect(await explain(page.text, page.values)).toMatch(/Bitmap Index Scan on calls_p\d+_metadata_idx/);
  });
});

describe('schema isolation', () => {
  it('two stores on two schemas of one database do not see each other', async () => {
    const a = await storeOn();
    const b = await storeOn();
    expect(schemaOf(a.url)).not.toBe(schemaOf(b.url));
    await a.store.migrate();
    await b.store.migrate();
    await a.store.insertCalls([makeCall(1)]);
    expect(await b.store.getCall('req-00001')).toBeNull();
    expect((await a.store.queryRollups({ from: T0, to: T0 + MIN, step: 'minute' }))[0]?.requests).toBe(1);
  });
});
