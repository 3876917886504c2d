// /api/stats/summary says the rate now beside the window's average, and when the data begins; a timeseries point
// still filling says so (issue 18: the cards averaged a 24 h window over 2 minutes of data and read 0.02 req/s).
import { afterEach, describe, expect, it } from 'vitest';
import type { LlmCall } from '../calls/index.js';
import { Router } from '../http/index.js';
import { seedCalls } from '../seed/generate.js';
import { SqliteStore } from '../store/index.js';
import { SETTLE_MS } from './overview/index.js';
import { registerStatsRoutes } from './stats.js';

const END = Date.UTC(2026, 0, 15, 12, 0, 30);
const HOUR = 3_600_000;
const stores: SqliteStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

async function get(router: Router, path: string): Promise<Record<string, unknown>> {
  const m = router.match('GET', path.split('?')[0] as string);
  if (!m || m === 'method') throw new Error(`no route ${path}`);
  let sent: Record<string, unknown> = {};
  const res = {
    writeHead: () => res,
    setHeader: () => res,
    end: (b: string) => {
      sent = JSON.parse(b);
    },
  };
  await m.handler({ req: {} as never, res: res as never, url: new URL(`http://x${path}`), params: {} });
  return sent;
}

describe('/api/stats', () => {
  it('summary: 2 minutes at 5 calls/s in a 24 h window read 5/s now, and the window average stays labelled', async () => {
    const base = [...seedCalls({ calls: 600, days: 1, end: END, seed: 2, users: 10 }, 600, { spansFrom: null })].flat();
    const first = END - 5_000 - 599 * 200;
    const calls: LlmCall[] = base.map((c, i) => ({
      ...c,
      requestId: `s-${i}`,
      startedAt: first + i * 200,
      endedAt: first + i * 200 + 300,
    }));
    const store = new SqliteStore(':memory:');
    stores.push(store);
    await store.migrate();
    await store.insertCalls(calls);
    const router = new Router();
    registerStatsRoutes(router, store, () => END);
    const s = await get(router, `/api/stats/summary?from=${END - 24 * HOUR}&to=${END}`);
    expect(s.requests).toBe(600);
    expect(s.rps as number).toBeLessThan(0.01);
    expect(s.data_from).toBe(first);
    const cur = s.current as { rps: number; partial: boolean };
    expect(cur.partial).toBe(false);
    expect(Math.abs(cur.rps - 5) / 5).toBeLessThan(0.1);
    const ts = await get(router, `/api/stats/timeseries?from=${END - HOUR}&to=${END}&step=minute`);
    const pts = ts.points as { t: number; partial: boolean; requests: number }[];
    expect(pts.length).toBe(61);
    for (const p of pts) expect(p.partial).toBe(p.t + 60_000 > END - SETTLE_MS);
    expect(pts.filter((p) => p.partial).length).toBe(1); // 12:00, still filling at 12:00:30
  });
});

describe('/api/stats/summary?group_by=', () => {
  it('gives the figures per value of one dimension, under a filter, most spend first, summing to the total', async () => {
    const calls = [...seedCalls({ calls: 400, days: 1, end: END, seed: 5, users: 10 }, 400, { spansFrom: null })]
      .flat()
      .map((c, i) => ({ ...c, requestId: `g-${i}` }));
    const store = new SqliteStore(':memory:');
    stores.push(store);
    await store.migrate();
    await store.insertCalls(calls);
    const router = new Router();
    registerStatsRoutes(router, store, () => END);
    const team = calls.find((c) => c.team)?.team as string;
    const mine = calls.filter((c) => c.team === team);
    const s = await get(router, `/api/stats/summary?from=${END - 2 * 24 * HOUR}&to=${END}&team=${team}&group_by=model`);
    const groups = s.groups as { key: string | null; requests: number; cost_usd: number }[];
    expect(s.group_by).toBe('model');
    expect(s.requests).toBe(mine.length);
    const want = new Map<string, { requests: number; cost: number }>();
    for (const c of mine) {
      const w = want.get(c.model) ?? { requests: 0, cost: 0 };
      w.requests++;
      w.cost += c.costUsd ?? 0;
      want.set(c.model, w);
    }
    expect(groups.map((g) => g.key).sort()).toEqual([...want.keys()].sort());
    for (const g of groups) {
      expect(g.requests).toBe(want.get(g.key as string)?.requests);
      expect(g.cost_usd).toBeCloseTo(want.get(g.key as string)?.cost as number, 5);
    }
    for (let i = 1; i < groups.length; i++)
      expect((groups[i - 1] as { cost_usd: number }).cost_usd).toBeGreaterThanOrEqual(
        (groups[i] as { cost_usd: number }).cost_usd,
      );
    expect(groups.reduce((n, g) => n + g.requests, 0)).toBe(s.requests);
    // without group_by, no groups: the answer is as before
    const plain = await get(router, `/api/stats/summary?from=${END - 2 * 24 * HOUR}&to=${END}&team=${team}`);
    expect(plain.groups).toBeUndefined();
    expect(plain.requests).toBe(mine.length);
  });
});
