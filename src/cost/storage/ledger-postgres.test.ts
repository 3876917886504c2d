// The PostgreSQL budget ledger: the in-process ledger's semantics, reservations that hold when two replicas
// (two pools) reserve at once, all-or-nothing across lines, and the sweep of reservations nobody settled.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type TestPostgres } from '../../../test/pg.js';
import { PostgresStore } from '../../store/index.js';
import {
  type BudgetKey,
  BudgetService,
  budgetsFrom,
  InProcessBudgetLedger,
  type Reservation,
  type ReserveLine,
} from '../budgets.js';
import { costConfigOf } from '../config.js';
import { PriceBook } from '../pricing.js';
import { fakeAdmission } from '../testing.js';
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

  /**
   * A reservation of a call under a global and a per-user budget, then `release` of it (a settle, a sweep) while
   * another call's reservation holds the global bucket, first in key order: whether the per-user bucket stays free
   * meanwhile (true), or `release` took it first (the error code of locking it NOWAIT), waiting on the global one, as
   * a reservation locking the global bucket and then this one would wait on it: a deadlock. The plan that scans the
   * table is the one the planner takes (no nested loop or merge join), and the per-user row is the first it meets.
   */
  async function perUserFreeWhile(
    release: (l: PostgresBudgetLedger, r: Reservation) => Promise<unknown>,
    opts: ConstructorParameters<typeof PostgresBudgetLedger>[1] = {},
  ): Promise<{ free: true | string; ledger: PostgresBudgetLedger }> {
    const url = `${await pg.freshSchemaUrl()}${encodeURIComponent(' -c enable_nestloop=off -c enable_mergejoin=off')}`;
    const store = new PostgresStore(url, { maxConnections: 5 });
    stores.push(store);
    await store.migrate();
    const ledger = new PostgresBudgetLedger(store.backend, opts);
    await ledger.migrate();
    await ledger.load(key('per-user', 'ann'), 0);
    await ledger.load(key('all'), 0);
    const r = await ledger.reserve([line(key('all'), 0.04, 1000), line(key('per-user', 'ann'), 0.04, 1000)]);
    if (!r.ok) throw new Error('reserve refused');
    // the reservation's updates moved the rows (an update writes the row anew, after the others): the per-user row
    // first in the table again
    await store.backend.pool.query("UPDATE budget_buckets SET spent = spent WHERE budget = 'all'");
    const order = await store.backend.pool.query('SELECT budget FROM budget_buckets');
    expect(order.rows.map((x: { budget: string }) => x.budget)).toEqual(['per-user', 'all']);
    const holder = await store.backend.pool.connect();
    const other = await store.backend.pool.connect();
    try {
      await holder.query("BEGIN; SELECT 1 FROM budget_buckets WHERE budget = 'all' FOR UPDATE");
      const released = release(ledger, r.reservation);
      // it waits for the global bucket ...
      await expect
        .poll(
          async () =>
            (
              await store.backend.pool.query(
                "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%budget_reservations%'",
              )
            ).rows[0]?.n,
          { timeout: 10_000, interval: 20 },
        )
        .toBe(1);
      // ... and holds nothing else meanwhile?
      await other.query('BEGIN');
      const free = await other.query("SELECT 1 FROM budget_buckets WHERE budget = 'per-user' FOR UPDATE NOWAIT").then(
        () => true as const,
        (err: { code?: string }) => String(err.code),
      );
      await other.query('ROLLBACK');
      await holder.query('COMMIT');
      await released;
      return { free, ledger };
    } finally {
      await other.query('ROLLBACK').catch(() => {});
      await holder.query('ROLLBACK').catch(() => {});
      holder.release();
      other.release();
    }
  }

  it('a settle locks its buckets in key order, as a reservation does, so the two never deadlock (QA44)', async () => {
    // A call under a global and a per-user budget reserves both buckets, locking them in key order; its settle locked
    // them in whatever order its plan met the rows (a scan of the table meets them where updates left them), so a
    // settle holding the per-user bucket waited on a reservation holding the global one, which waited on it.
    // PostgreSQL broke each deadlock after deadlock_timeout (1 s), one at a time: 20 dall-e-3 calls at once through
    // two `serve --workers 2` replicas under a per-user block budget and a global one met 16 in a row, and 6 calls
    // waited past the workers' 10 s for their admission and were answered 503 overloaded.
    const { free, ledger } = await perUserFreeWhile((l, r) => l.settle(r, 0.03));
    expect(free).toBe(true); // before: '55P03' (lock not available): the settle held it
    expect(await ledger.state(key('all'))).toMatchObject({ spent: 0.03, reserved: 0, inFlight: 0 });
    expect(await ledger.state(key('per-user', 'ann'))).toMatchObject({ spent: 0.03, reserved: 0, inFlight: 0 });
  });

  it("the sweep releasing a dead replica's or an expired hold locks its buckets in key order too (QA44)", async () => {
    let now = Date.UTC(2025, 0, 15, 12);
    const { free, ledger } = await perUserFreeWhile(
      (l) => {
        now += 61_000; // the reservation expired
        return l.sweep();
      },
      { reservationTtlMs: 60_000, now: () => now },
    );
    expect(free).toBe(true); // before: '55P03'
    expect(await ledger.state(key('all'))).toMatchObject({ spent: 0, reserved: 0, inFlight: 0 });
    expect(await ledger.state(key('per-user', 'ann'))).toMatchObject({ spent: 0, reserved: 0, inFlight: 0 });
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

  it("releases a killed replica's holds within a minute, not 30 (QA38), and never a live replica's", async () => {
    // Replica A reserves 6 calls' worth of a budget with room for 8 and is SIGKILLed: before, its holds stayed until
    // they expired (30 minutes), so B could admit 1 of the 8 calls the budget had room for all that time.
    let now = Date.UTC(2025, 0, 15, 12);
    const [a, b, c] = (await ledgers(3, { now: () => now })) as [
      PostgresBudgetLedger,
      PostgresBudgetLedger,
      PostgresBudgetLedger,
    ];
    const k = key('feature', 'capped');
    for (let i = 0; i < 6; i++) expect((await a.reserve([line(k, 0.125, 1)])).ok).toBe(true);
    const onC = await c.reserve([line(k, 0.125, 1)]);
    expect(onC.ok).toBe(true);
    expect((await b.reserve([line(k, 0.25, 1)])).ok).toBe(false);
    // A is gone (it sweeps no more); B and C go on sweeping every 15 s
    for (let i = 0; i < 4; i++) {
      now += 15_000;
      expect((await c.sweep()) + (await b.sweep())).toBe(0); // A silent for at most 60 s: still held
    }
    now += 15_000;
    expect((await c.sweep()) + (await b.sweep())).toBe(6); // A's six, not C's (C noted itself alive)
    expect(await b.state(k)).toMatchObject({ reserved: 0.125, inFlight: 1, spent: 0 });
    const r = await b.reserve([line(k, 0.875, 1)]);
    expect(r.ok).toBe(true);
    // C's call settles as usual
    if (onC.ok) await c.settle(onC.reservation, 0.0625);
    expect(await b.state(k)).toMatchObject({ reserved: 0.875, inFlight: 1, spent: 0.0625 });
  });

  it('after a database outage, a replica judges no other until it has reached the database for a minute', async () => {
    let now = Date.UTC(2025, 0, 15, 12);
    let down = false;
    const [a, b] = (await ledgers(2, { now: () => now })) as [PostgresBudgetLedger, PostgresBudgetLedger];
    const k = key('feature', 'outage');
    expect((await a.reserve([line(k, 0.5, 1)])).ok).toBe(true);
    // Both replicas cut off from the database for 3 minutes: their notes of themselves fail (B's as if it threw).
    const realRun = (b as unknown as { run: (...x: unknown[]) => Promise<unknown> }).run.bind(b);
    (b as unknown as { run: (...x: unknown[]) => Promise<unknown> }).run = (...x: unknown[]) =>
      down ? Promise.reject(new Error('connection refused')) : realRun(...x);
    down = true;
    now += 60_000;
    await expect(b.sweep()).rejects.toThrow('connection refused');
    now += 120_000;
    down = false;
    // B is back first: A's last note is 3 minutes old, but B has not been back for a minute, so A keeps its hold
    expect(await b.sweep()).toBe(0);
    now += 15_000;
    await a.sweep();
    now += 50_000;
    expect(await b.sweep()).toBe(0);
    expect(await b.state(k)).toMatchObject({ reserved: 0.5, inFlight: 1 });
  });

  it('a settle or an add tried again after its answer was lost counts once, from any replica', async () => {
    let now = Date.UTC(2025, 0, 15, 12);
    const [a, b] = (await ledgers(2, { reservationTtlMs: 60_000, now: () => now })) as [
      PostgresBudgetLedger,
      PostgresBudgetLedger,
    ];
    const k = key('team', 'a');
    const r = await a.reserve([line(k, 0.5, 1)]);
    if (!r.ok) throw new Error('reserve failed');
    await a.settle(r.reservation, 0.2);
    await a.settle(r.reservation, 0.2);
    await b.settle(r.reservation, 0.2);
    expect(await a.state(k)).toMatchObject({ reserved: 0, inFlight: 0, spent: 0.2 });
    // A reservation swept before its settle: the late settle adds its cost, once.
    const late = await a.reserve([line(k, 0.3, 1)]);
    if (!late.ok) throw new Error('reserve failed');
    now += 61_000;
    expect(await a.sweep()).toBe(1);
    await a.settle(late.reservation, 0.3);
    await b.settle(late.reservation, 0.3);
    expect((await a.state(k)).spent).toBeCloseTo(0.5, 12);
    await a.add([k], 0.1, 'w1');
    await b.add([k], 0.1, 'w1');
    await a.add([k], 0.1, 'w2');
    expect((await a.state(k)).spent).toBeCloseTo(0.7, 12);
    // Without an id every add counts (the in-process ledger's semantics).
    await a.add([k], 0.1);
    await a.add([k], 0.1);
    expect((await a.state(k)).spent).toBeCloseTo(0.9, 12);
    // Remembered for a reservation's lifetime (far longer than a write is tried again), then forgotten.
    now += 61_000;
    await a.prune(() => false);
    await a.add([k], 0.1, 'w1');
    expect((await a.state(k)).spent).toBeCloseTo(1.0, 12);
  });

  it("a block budget's refusal on one replica is seen by another's alert signal (QA34: BudgetExceeded while refusing)", async () => {
    const [a, b] = (await ledgers(2)) as [PostgresBudgetLedger, PostgresBudgetLedger];
    const cfg = costConfigOf({
      // room for no call: the estimate (100 output tokens of gpt-4o-mini) passes the limit with nothing spent
      budgets: [{ name: 'per-user', scope: 'user', period: 'day', limit: 0.00001, action: 'block' }],
    });
    const service = (l: PostgresBudgetLedger) =>
      new BudgetService(budgetsFrom(cfg.budgets, cfg.keys), l, new PriceBook(cfg.pricing), Date.now);
    const [one, two] = [service(a), service(b)];
    const before = Date.now();
    await expect(one.admit(fakeAdmission('ann'))).rejects.toMatchObject({ code: 'LLMSCOPE_ERR_BUDGET_EXCEEDED' });
    // the other replica refused nothing itself: the refusal comes from the shared ledger
    expect([...(await two.blockedSince(before - 5 * 60_000))]).toEqual(['per-user']);
    expect([...(await one.blockedSince(before - 5 * 60_000))]).toEqual(['per-user']);
    expect([...(await two.blockedSince(Date.now() + 1))]).toEqual([]);
  });

  it("a refusal before a budget's reset is not read as blocking after it, on either replica (QA38)", async () => {
    // Refused at 23:59 of a day budget: at 00:01 the budget has reset (nothing spent, nothing refused), yet the signal
    // read it as blocked for the rule's 5-minute window, so BudgetExceeded kept firing into the new day.
    const [a, b] = (await ledgers(2)) as [PostgresBudgetLedger, PostgresBudgetLedger];
    let now = Date.UTC(2026, 11, 7, 23, 59);
    const cfg = costConfigOf({
      budgets: [{ name: 'per-user', scope: 'user', period: 'day', limit: 0.00001, action: 'block' }],
    });
    const service = (l: PostgresBudgetLedger) =>
      new BudgetService(budgetsFrom(cfg.budgets, cfg.keys), l, new PriceBook(cfg.pricing), () => now);
    const [one, two] = [service(a), service(b)];
    // (this ledger notes refusals at the real time: read from 0, what counts is the refused bucket's period)
    await expect(one.admit(fakeAdmission('ann'))).rejects.toMatchObject({ code: 'LLMSCOPE_ERR_BUDGET_EXCEEDED' });
    expect([...(await one.blockedSince(0))]).toEqual(['per-user']);
    expect([...(await two.blockedSince(0))]).toEqual(['per-user']);
    now = Date.UTC(2026, 11, 8, 0, 1);
    expect([...(await one.blockedSince(0))]).toEqual([]);
    expect([...(await two.blockedSince(0))]).toEqual([]);
  });

  it('a warn threshold is logged by one replica, not by each that sees the shared spend past it (QA38)', async () => {
    // Three replicas settle calls of $0.30 in turn against a $1 budget warning at 0.5, 0.8 and 1. Before, each
    // replica remembered its own warnings: 1 was logged three times (0.5, 0.8, 1, 1, 1).
    const ls = await ledgers(3);
    let claims = 0;
    for (const l of ls) {
      const claim = l.claimWarning?.bind(l);
      if (claim)
        l.claimWarning = async (...a: Parameters<typeof claim>) => {
          const out = await claim(...a);
          claims++;
          return out;
        };
    }
    const cfg = costConfigOf({
      budgets: [{ name: 'team-day', scope: 'team', period: 'day', limit: 1, action: 'alert', warn: [0.5, 0.8, 1] }],
    });
    const warned: [number, number][] = [];
    const services = ls.map(
      (l, i) =>
        new BudgetService(budgetsFrom(cfg.budgets, cfg.keys), l, new PriceBook(cfg.pricing), Date.now, {
          onThreshold: (_b, _k, threshold) => warned.push([i, threshold]),
        }),
    );
    const team = (): ReturnType<typeof fakeAdmission> => {
      const a = fakeAdmission('ann');
      a.attribution.team = 'search';
      return a;
    };
    for (let step = 0; step < 6; step++) {
      const svc = services[step % 3] as BudgetService;
      const a = team();
      await svc.admit(a);
      expect(svc.settle(a.state, 0.3)).toBe(true);
      // each settle's spend is in before the next call (spend 0.3, 0.6, ..., 1.8)
      for (let i = 0; i < 200; i++) {
        const spent = (await (ls[0] as PostgresBudgetLedger).buckets())[0]?.spent ?? 0;
        if (spent >= 0.3 * (step + 1) - 1e-9) break;
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    // every replica that saw a threshold passed has asked the ledger (5 asks: 0.5, 0.8, 1 and 1 twice more)
    for (let i = 0; claims < 5 && i < 200; i++) await new Promise((r) => setTimeout(r, 10));
    expect(warned.map(([, t]) => t).sort()).toEqual([0.5, 0.8, 1]);
    expect(warned.map(([i]) => i)).toEqual([1, 2, 0]);
  });

  it('through BudgetService: a settle whose commit answer is lost (the connection drops) is tried again and adds once', async () => {
    const url = await pg.freshSchemaUrl();
    const store = new PostgresStore(url, { maxConnections: 5 });
    stores.push(store);
    await store.migrate();
    const ledger = new PostgresBudgetLedger(store.backend);
    await ledger.migrate();
    // The database applies the settle, and then the answer never arrives (what a restart or failover between the
    // commit and the reply looks like to the client).
    const pool = store.backend.pool;
    const query = pool.query.bind(pool) as (...a: unknown[]) => Promise<unknown>;
    let lose = 1;
    (pool as unknown as { query: unknown }).query = async (...args: unknown[]) => {
      const out = await query(...args);
      const text = (args[0] as { text?: string }).text ?? '';
      if (text.includes('budget_writes') && lose-- > 0)
        throw Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET' });
      return out;
    };
    const cfg = costConfigOf({
      budgets: [{ name: 'per-user', scope: 'user', period: 'day', limit: 1, action: 'block' }],
    });
    const errors: [string, boolean][] = [];
    const svc = new BudgetService(budgetsFrom(cfg.budgets, cfg.keys), ledger, new PriceBook(cfg.pricing), Date.now, {
      onLedgerError: (op, _err, retrying) => errors.push([op, retrying]),
    });
    const a = fakeAdmission('ann');
    await svc.admit(a);
    expect(svc.settle(a.state, 0.25)).toBe(true);
    const k = (a.state['cost.budget'] as { reservation: Reservation }).reservation.lines[0]?.key as BudgetKey;
    // The first try's statement ran and its answer was lost; the retry (0.5 s later) ran its statement too.
    for (let i = 0; lose > -1 && i < 100; i++) await new Promise((r) => setTimeout(r, 50));
    expect(lose).toBe(-1);
    expect(errors).toEqual([['settle', true]]);
    expect(await ledger.state(k)).toMatchObject({ reserved: 0, inFlight: 0, spent: 0.25 });
  });
});
