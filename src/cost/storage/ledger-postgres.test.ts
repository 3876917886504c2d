// The PostgreSQL budget ledger: the in-process ledger's semantics, reservations that hold when two replicas
// (two pools) reserve at once, all-or-nothing across lines, and the sweep of reservations nobody settled.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type TestPostgres } from '../../../test/pg.js';
import { PostgresStore } from '../../store/index.js';
import { type BudgetKey, InProcessBudgetLedger, type ReserveLine } from '../budgets.js';
import { PostgresBudgetLedger } from './ledger-postgres.js';

let pg: TestPostgres;
const stores: PostgresStore[] = [];
beforeAll(async () => {
  pg = await startPostgres();
});
afterAll(async () => {
  for (const s of stores.splice(0)) await s.close().catch(() => {});
  await pg?.stop();
});

/** `n` replicas' ledgers on one fresh schema. */
async function ledgers(n: number, opts: ConstructorParameters<typeof PostgresBudgetLedger>[1] = {}) {
  const url = await pg.freshSchemaUrl();
  const out: PostgresBudgetLedger[] = [];
  for (let i = 0; i < n; i++) {
    const store = new PostgresStore(url, { maxConnections: 30 });
    stores.push(store);
    await store.migrate();
    const ledger = new PostgresBudgetLedger(store.backend, opts);
    await ledger.migrate();
    out.push(ledger);
  }
  return out;
}

const key = (budget: string, value = ''): BudgetKey => ({ budget, value, periodStart: Date.UTC(2025, 0, 15) });
const line = (k: BudgetKey, amount: number, limit: number, enforce = true): ReserveLine => ({
  key: k,
  amount,
  limit,
  enforce,
});

describe('PostgresBudgetLedger', () => {
  it('behaves as the in-process ledger through one sequence of operations', async () => {
    const [pgl] = (await ledgers(1)) as [PostgresBudgetLedger];
    const mem = new InProcessBudgetLedger();
    const a = key('team', 'search');
    const g = key('global');
    const trace: unknown[][] = [[], []];
    for (const [i, l] of [mem, pgl].entries()) {
      const t = trace[i] as unknown[];
      await l.load(a, 0.5);
      const r1 = await l.reserve([line(a, 0.2, 1), line(g, 0.2, 10, false)]);
      t.push(r1.ok, await l.state(a), await l.state(g));
      const r2 = await l.reserve([line(a, 0.4, 1)]); // 0.5 + 0.2 + 0.4 > 1
      t.push(r2.ok, r2.ok ? null : [r2.line.key, r2.spent, r2.reserved]);
      if (r1.ok) await l.settle(r1.reservation, 0.15);
      t.push(await l.state(a), await l.state(g));
      await l.add([a, g], 0.05);
      t.push(await l.state(a));
      const r3 = await l.reserve([line(a, 0.3, 1)]); // 0.7 + 0.3 = limit: fits
      t.push(r3.ok, (await l.state(a)).inFlight);
      if (r3.ok) await l.settle(r3.reservation, 0.3);
      const r4 = await l.reserve([line(a, 0.01, 1)]); // spent reached the limit
      t.push(r4.ok);
      t.push((await l.buckets()).sort((x, y) => (x.key.budget < y.key.budget ? -1 : 1)));
      await l.prune((k) => k.budget === 'global');
      t.push((await l.buckets()).map((b) => b.key.budget));
    }
    // PostgreSQL float sums may differ in the last bits only
    expect(
      JSON.parse(JSON.stringify(trace[1], (_k, v) => (typeof v === 'number' ? Number(v.toFixed(12)) : v))),
    ).toEqual(JSON.parse(JSON.stringify(trace[0], (_k, v) => (typeof v === 'number' ? Number(v.toFixed(12)) : v))));
  });

  it('load only seeds a bucket the database does not have (the database is the truth)', async () => {
    const [a, b] = (await ledgers(2)) as [PostgresBudgetLedger, PostgresBudgetLedger];
    await a.load(key('x'), 3);
    await a.add([key('x')], 1);
    await b.load(key('x'), 3); // a replica starting later, restoring from its own view
    expect((await b.state(key('x'))).spent).toBe(4);
  });

  it('two replicas × 25 concurrent reservations against room for 10: exactly 10 pass, and settling adds up', async () => {
    const [a, b] = (await ledgers(2)) as [PostgresBudgetLedger, PostgresBudgetLedger];
    const k = key('team-daily', 'search');
    const g = key('global-daily');
    const est = 0.013;
    const lines = [line(k, est, est * 10), line(g, est, 1000)];
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => ((i % 2 === 0 ? a : b) as PostgresBudgetLedger).reserve(lines)),
    );
    const ok = results.filter((r) => r.ok);
    expect(ok).toHaveLength(10);
    const st = await a.state(k);
    expect(st.inFlight).toBe(10);
    expect(st.reserved).toBeCloseTo(est * 10, 12);
    // the global budget (not enforced to refuse here) only took the admitted ones
    expect((await b.state(g)).inFlight).toBe(10);
    await Promise.all(ok.map((r, i) => (r.ok ? (i % 2 ? a : b).settle(r.reservation, est * 0.9) : undefined)));
    const end = await b.state(k);
    expect(end).toMatchObject({ inFlight: 0, reserved: 0 });
    expect(end.spent).toBeCloseTo(est * 9, 12);
    // room left for one more call at the estimate: 9·est spent + est = limit
    expect((await a.reserve(lines)).ok).toBe(true);
    expect((await b.reserve(lines)).ok).toBe(false);
  });

  it('is all-or-nothing across lines', async () => {
    const [l] = (await ledgers(1)) as [PostgresBudgetLedger];
    const r = await l.reserve([line(key('a'), 1, 10), line(key('b'), 1, 0.5)]);
    expect(r.ok).toBe(false);
    expect((await l.state(key('a'))).inFlight).toBe(0);
    expect((await l.state(key('a'))).reserved).toBe(0);
  });

  it('sweeps reservations left by a replica that died, and a late settle still adds its cost', async () => {
    let now = Date.UTC(2025, 0, 15, 12);
    const [l] = (await ledgers(1, { reservationTtlMs: 60_000, now: () => now })) as [PostgresBudgetLedger];
    const k = key('team', 'a');
    const dead = await l.reserve([line(k, 0.6, 1)]);
    const live = await l.reserve([line(k, 0.3, 1)]);
    expect(dead.ok && live.ok).toBe(true);
    expect((await l.reserve([line(k, 0.2, 1)])).ok).toBe(false);
    now += 30_000;
    expect(await l.sweep()).toBe(0);
    now += 31_000 + 1;
    expect(await l.sweep()).toBe(2);
    expect(await l.state(k)).toMatchObject({ reserved: 0, inFlight: 0, spent: 0 });
    if (live.ok) await l.settle(live.reservation, 0.25);
    expect(await l.state(k)).toMatchObject({ reserved: 0, inFlight: 0, spent: 0.25 });
    const r = await l.reserve([line(k, 0.2, 1)]);
    expect(r.ok).toBe(true);
    expect((await l.state(k)).inFlight).toBe(1);
  });
});
