// The overview's compacted series must say exactly what the store's rollups say: same counts, same percentiles
// (histogram.ts's definition), whether a bucket was read compacted or live, and after late calls land in it.
import { afterEach, describe, expect, it } from 'vitest';
import type { LlmCall } from '../calls/index.js';
import { seedCalls } from '../seed/generate.js';
import { SqliteStore } from '../store/index.js';
import { Router } from './http.js';
import { OverviewSeries, parseOverviewQuery, registerOverviewRoutes, SEAL_LAG_MS } from './overview.js';
import { figuresOf } from './stats.js';

const HOUR = 3_600_000;
const END = Date.UTC(2026, 0, 15, 12, 0, 0);

function calls(n: number, hours: number, seed = 1): LlmCall[] {
  return [...seedCalls({ calls: n, days: hours / 24, end: END, seed, users: 50 }, n, { spansFrom: null })].flat();
}

const stores: SqliteStore[] = [];
async function storeWith(list: LlmCall[]): Promise<SqliteStore> {
  const s = new SqliteStore(':memory:');
  stores.push(s);
  await s.migrate();
  await s.insertCalls(list);
  return s;
}

afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

/** The store's own answer for one window, through /api/stats' figures. */
async function expected(store: SqliteStore, from: number, to: number, step: 'minute' | 'hour') {
  const f = figuresOf(await store.queryRollups({ from, to, step }), (to - from) / 1000);
  return {
    requests: f.requests,
    errors: f.errors,
    latency: [f.latency_p50, f.latency_p95, f.latency_p99],
    ttft: [f.ttft_p50, f.ttft_p95, f.ttft_p99],
  };
}

const close = (a: (number | null)[], b: (number | null)[]) =>
  a.every((x, i) => (x === null ? b[i] === null : Math.abs(x - (b[i] as number)) <= 0.01));

describe('overview series', () => {
  it('compacted and live buckets give the same figures as the store, per point and in total', async () => {
    const store = await storeWith(calls(4000, 6));
    const series = new OverviewSeries(store, () => END);
    const q = parseOverviewQuery(new URL(`http://x/?from=${END - 6 * HOUR}&to=${END}`), END);
    const body = await series.query(q);
    expect(body.step).toBe('minute');
    expect(body.source.compacted_buckets).toBeGreaterThan(300);
    expect(body.source.rollup_rows).toBeGreaterThan(0); // the last SEAL_LAG_MS are read live
    const want = await expected(store, q.from - (q.from % 60_000), q.to, 'minute');
    expect(body.summary.requests).toBe(4000);
    expect(body.summary.requests).toBe(want.requests);
    expect(body.summary.errors).toBe(want.errors);
    const s = body.summary;
    expect(close([s.latency_p50, s.latency_p95, s.latency_p99], want.latency)).toBe(true);
    expect(close([s.ttft_p50, s.ttft_p95, s.ttft_p99], want.ttft)).toBe(true);
    for (const p of body.points.filter((_, i) => i % 37 === 0)) {
      const w = await expected(store, p.t, p.t + 60_000, 'minute');
      expect(p.requests).toBe(w.requests);
      expect(close([p.latency_p50, p.latency_p95, p.latency_p99], w.latency)).toBe(true);
    }
    // Reading again (all compacted now) changes nothing.
    const again = await series.query(q);
    expect(again.summary).toEqual(body.summary);
  });

  it('hour steps beyond two days, and a filter reads the store directly', async () => {
    const store = await storeWith(calls(3000, 24 * 3));
    const series = new OverviewSeries(store, () => END);
    const q = parseOverviewQuery(new URL(`http://x/?from=${END - 3 * 24 * HOUR}&to=${END}`), END);
    expect(q.step).toBe('hour');
    const body = await series.query(q);
    expect(body.points).toHaveLength(72);
    expect(body.summary.requests).toBe(3000);
    const f = await series.query({ ...q, filter: { model: 'gpt-4o' } });
    expect(f.source.compacted_buckets).toBe(0);
    const want = await store.queryRollups({ from: q.from, to: q.to, step: 'hour', filter: { model: 'gpt-4o' } });
    expect(f.summary.requests).toBe(want.reduce((n, p) => n + p.requests, 0));
  });

  it('a call recorded after its bucket was sealed is picked up by the re-check', async () => {
    const list = calls(1000, 2);
    const store = await storeWith(list);
    let now = END;
    const series = new OverviewSeries(store, () => now);
    const q = () => parseOverviewQuery(new URL(`http://x/?from=${END - 2 * HOUR}&to=${END}`), now);
    const before = await series.query(q());
    // A long call that started 40 minutes ago and is recorded only now, into an already compacted bucket.
    const late = { ...(list[10] as LlmCall), requestId: 'late-call', startedAt: END - 40 * 60_000, latencyMs: 123_456 };
    await store.insertCalls([late]);
    now = END + 61_000; // the re-check runs at most once a minute
    const after = await series.query(q());
    expect(after.summary.requests).toBe(before.summary.requests + 1);
    expect(END - 40 * 60_000).toBeLessThan(END - SEAL_LAG_MS);
  });

  it('calls written days back into compacted hours (ingested late, seeded into a used store) are picked up', async () => {
    const store = await storeWith(calls(500, 24));
    let now = END;
    const series = new OverviewSeries(store, () => now);
    const q = (days: number) =>
      parseOverviewQuery(new URL(`http://x/?from=${END - days * 24 * HOUR}&to=${END}&step=hour`), now);
    // The server's warm-up compacts the last 30 days of hours, most of them empty.
    const before = await series.query(q(30));
    // Then 2,000 calls land 3 to 9 days back, far behind the recent re-check window.
    const old = calls(2000, 6 * 24, 7).map((c, i) => ({
      ...c,
      requestId: `old-${i}`,
      startedAt: c.startedAt - 3 * 24 * HOUR,
    }));
    await store.insertCalls(old);
    now = END + 5_000; // within the minute: a view reaching further back re-checks its older part at once
    const after = await series.query(q(10));
    expect(after.summary.requests).toBe(before.summary.requests + 2000);
    const want = await expected(store, END - 10 * 24 * HOUR, END, 'hour');
    expect(after.summary.requests).toBe(want.requests);
  });

  it('on other stores (PostgreSQL), read from queryRollups, the body is the compacted one', async () => {
    const store = await storeWith(calls(4000, 30));
    const series = new OverviewSeries(store, () => END);
    // not a SqliteStore: the route reads the store's rollups (histograms as objects) instead of a compacted series
    const other = { queryRollups: (q: Parameters<SqliteStore['queryRollups']>[0]) => store.queryRollups(q) };
    const router = new Router();
    registerOverviewRoutes(router, other as never, () => END);
    const m = router.match('GET', '/api/overview');
    for (const [from, filter] of [
      [END - 6 * HOUR, ''],
      [END - 30 * HOUR, ''],
      [END - 6 * HOUR, '&model=gpt-4o'],
    ] as const) {
      let sent: { source: unknown } | null = null;
      const res = {
        writeHead: () => res,
        end: (body: string) => {
          sent = JSON.parse(body);
        },
      };
      const url = new URL(`http://x/api/overview?from=${from}&to=${END}${filter}`);
      if (m && m !== 'method') await m.handler({ req: {} as never, res: res as never, url, params: {} });
      const want = await series.query(parseOverviewQuery(url, END));
      // costs are summed in another order (the compacted series sums them once more): equal to a few 1e-6
      const costs = (b: typeof want) => [b.summary, ...b.points].map((p) => p.cost_usd);
      const strip = (b: typeof want) => ({
        ...b,
        source: null,
        summary: { ...b.summary, cost_usd: 0 },
        points: b.points.map((p) => ({ ...p, cost_usd: 0 })),
      });
      const got = sent as unknown as typeof want;
      expect(strip(got)).toEqual(JSON.parse(JSON.stringify(strip(want))));
      const c = costs(want);
      costs(got).forEach((x, i) => {
        expect(Math.abs(x - (c[i] as number))).toBeLessThan(5e-6);
      });
    }
  });

  it('answers over HTTP with every bucket of the window, empty ones included', async () => {
    const store = await storeWith([]);
    const router = new Router();
    registerOverviewRoutes(router, store, () => END);
    const m = router.match('GET', '/api/overview');
    expect(m).not.toBeNull();
    expect(m).not.toBe('method');
    let sent: unknown = null;
    const res = {
      writeHead() {
        return res;
      },
      end(body: string) {
        sent = JSON.parse(body);
      },
    };
    const url = new URL(`http://x/api/overview?from=${END - HOUR}&to=${END}`);
    if (m && m !== 'method') await m.handler({ req: {} as never, res: res as never, url, params: {} });
    const body = sent as { points: { requests: number; latency_p95: number | null }[]; summary: { requests: number } };
    expect(body.points).toHaveLength(60);
    expect(body.summary.requests).toBe(0);
    expect(body.points.every((p) => p.requests === 0 && p.latency_p95 === null)).toBe(true);
  });
});
