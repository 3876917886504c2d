// The overview's compacted series must say exactly what the store's rollups say: same counts, same percentiles
// (histogram.ts's definition), whether a bucket was read compacted or live, and after late calls land in it.
import { afterEach, describe, expect, it } from 'vitest';
import type { LlmCall } from '../calls/index.js';
import { Router } from '../http/index.js';
import { seedCalls } from '../seed/generate.js';
import { SqliteStore } from '../store/index.js';
import {
  fitStep,
  OverviewSeries,
  parseOverviewQuery,
  registerOverviewRoutes,
  SEAL_LAG_MS,
  SETTLE_MS,
} from './overview/index.js';
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
    const other = {
      backend: { kind: 'postgres' },
      queryRollups: (q: Parameters<SqliteStore['queryRollups']>[0]) => store.queryRollups(q),
      listCalls: (q: Parameters<SqliteStore['listCalls']>[0]) => store.listCalls(q),
    };
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

describe('overview numbers at any age', () => {
  /** `n` calls at `rps` per second, the last starting `endAgoMs` before END, each lasting 300 ms. */
  function steady(n: number, rps: number, endAgoMs: number, prefix = 'r'): LlmCall[] {
    const base = calls(n, 1, 3);
    const first = END - endAgoMs - ((n - 1) * 1000) / rps;
    return base.map((c, i) => {
      const startedAt = first + (i * 1000) / rps;
      return { ...c, requestId: `${prefix}-${i}`, startedAt, endedAt: startedAt + 300, latencyMs: 300 };
    });
  }
  const view = (qs: string, now = END) => parseOverviewQuery(new URL(`http://x/?${qs}`), now);

  it('a 24 h view of 2 minutes of data: the current rate is the rate sent, the points are minutes from the first call', async () => {
    const sent = steady(600, 5, 5_000); // 5 calls/s for 2 minutes, up to 5 s ago
    const store = await storeWith(sent);
    const series = new OverviewSeries(store, () => END);
    const body = await series.query(view(`from=${END - 24 * HOUR}&to=${END}&step=fit`));
    const firstAt = (sent[0] as LlmCall).startedAt;
    expect(body.data_from).toBe(firstAt);
    expect(body.step_ms).toBe(60_000); // fits the 2 minutes holding data, not the 24 h window
    expect(body.current?.partial).toBe(false);
    expect(Math.abs((body.current?.rps ?? 0) - 5) / 5).toBeLessThan(0.1);
    // the window's average over 24 h is what the cards used to show
    expect(body.summary.rps).toBeLessThan(0.01);
    expect(body.summary.requests).toBe(600);
    // the bucket still filling (the current minute) is marked, the ones before it are not
    const withData = body.points.filter((p) => p.requests > 0);
    for (const p of body.points) expect(p.partial).toBe(p.t + 60_000 > END - SETTLE_MS);
    // rates per second of data: the first minute (data began partway) reads 5/s too, not a diluted fraction
    const firstPoint = withData[0];
    expect(firstPoint?.t).toBe(Math.floor(firstAt / 60_000) * 60_000);
    expect(Math.abs((firstPoint?.rps ?? 0) - 5)).toBeLessThan(0.5);
    for (const p of withData.filter((x) => !x.partial)) expect(Math.abs(p.rps - 5)).toBeLessThan(0.5);
  });

  it('a 30-day view of 2 minutes of data (a young store): the points begin at the first call, not 43,200 empty minutes', async () => {
    const sent = steady(600, 5, 5_000);
    const store = await storeWith(sent);
    const series = new OverviewSeries(store, () => END);
    const body = await series.query(view(`from=${END - 30 * 24 * HOUR}&to=${END}&step=fit`));
    const firstAt = (sent[0] as LlmCall).startedAt;
    expect(body.step_ms).toBe(60_000);
    expect(body.points[0]?.t).toBe(Math.floor(firstAt / 60_000) * 60_000);
    expect(body.points.length).toBeLessThanOrEqual(4); // was 43,200 (16 MB of JSON in the demo)
    expect(body.summary.requests).toBe(600);
    expect(body.points.reduce((n, p) => n + p.requests, 0)).toBe(600);
    expect(body.from).toBe(END - 30 * 24 * HOUR); // the window itself is unchanged
    // without step=fit the points still cover the window
    const hours = await series.query(view(`from=${END - 24 * HOUR}&to=${END}&step=hour`));
    expect(hours.points).toHaveLength(24);
  });

  it('the same numbers from other stores (queryRollups and listCalls)', async () => {
    const store = await storeWith(steady(600, 5, 5_000));
    const other = {
      backend: { kind: 'postgres' },
      queryRollups: (q: Parameters<SqliteStore['queryRollups']>[0]) => store.queryRollups(q),
      listCalls: (q: Parameters<SqliteStore['listCalls']>[0]) => store.listCalls(q),
    };
    const router = new Router();
    registerOverviewRoutes(router, other as never, () => END);
    const m = router.match('GET', '/api/overview');
    let sent: { data_from: number; current: { rps: number }; step_ms: number } | null = null;
    const res = {
      writeHead: () => res,
      end: (b: string) => {
        sent = JSON.parse(b);
      },
    };
    const url = new URL(`http://x/api/overview?from=${END - 24 * HOUR}&to=${END}&step=fit`);
    if (m && m !== 'method') await m.handler({ req: {} as never, res: res as never, url, params: {} });
    const want = await new OverviewSeries(store, () => END).query(parseOverviewQuery(url, END));
    const got = sent as unknown as typeof want;
    expect(got.data_from).toBe(want.data_from);
    expect(got.step_ms).toBe(want.step_ms);
    expect(got.current).toEqual(want.current);
    expect((got as typeof want).points.map((p) => p.t)).toEqual(want.points.map((p) => p.t));
  });

  it('data from before the window: data_from is the window start and steps coarsen with the range', async () => {
    const store = await storeWith(calls(3000, 30));
    const series = new OverviewSeries(store, () => END);
    const day = await series.query(view(`from=${END - 24 * HOUR}&to=${END}&step=fit`));
    expect(day.data_from).toBe(END - 24 * HOUR);
    expect(day.step_ms).toBe(5 * 60_000);
    expect(day.points).toHaveLength(288);
    expect(day.summary.requests).toBe(day.points.reduce((n, p) => n + p.requests, 0));
    expect((await series.query(view(`from=${END - 6 * HOUR}&to=${END}&step=fit`))).step_ms).toBe(60_000);
    // a 20-day view of 30 hours of data: steps fit the 30 hours, not the 20 days
    expect((await series.query(view(`from=${END - 20 * 24 * HOUR}&to=${END}&step=fit`))).step_ms).toBe(10 * 60_000);
    expect(fitStep(20 * 24 * HOUR)).toEqual({ step: 'hour', stepMs: 3 * HOUR });
    // an explicit step_ms is a multiple of the rollups' step
    expect(() => view(`from=${END - HOUR}&to=${END}&step=minute&step_ms=90000`)).toThrow(/multiple/);
    const fifteen = await series.query(view(`from=${END - 6 * HOUR}&to=${END}&step=minute&step_ms=900000`));
    expect(fifteen.points).toHaveLength(24);
  });

  it('young data younger than a complete minute: the current rate from the seconds so far, marked partial', async () => {
    const store = await storeWith(steady(40, 2, 1_000)); // 20 s of calls, up to 1 s ago
    const body = await new OverviewSeries(store, () => END).query(view(`from=${END - HOUR}&to=${END}&step=fit`));
    expect(body.current?.partial).toBe(true);
    expect(Math.abs((body.current?.rps ?? 0) - 2)).toBeLessThan(0.3);
    const empty = await new OverviewSeries(await storeWith([]), () => END).query(view(`from=${END - HOUR}&to=${END}`));
    expect(empty.data_from).toBeNull();
    expect(empty.current).toBeNull();
  });
});
