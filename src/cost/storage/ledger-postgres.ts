// The budget ledger on PostgreSQL, shared by every replica: a reservation locks its budget buckets (one upsert that
// returns them locked, in key order), checks spend + reservations + this estimate against each limit, and records
// itself, all in one transaction — so N replicas admitting calls at once never pass a `block` budget's limit by
// more than what calls cost beyond their own estimates. Settling releases the reservation and adds the actual cost
// in one statement. Reservations are rows with an expiry, so those of a replica that died mid-call are swept.
import { randomUUID } from 'node:crypto';
import pg, { type PoolClient } from 'pg';
import type { PgMigration, PostgresBackend } from '../../store/index.js';
import type { BucketState, BudgetKey, BudgetLedger, Reservation, ReserveLine, ReserveOutcome } from '../budgets.js';

export const LEDGER_NAMESPACE = 'cost.ledger';

export const LEDGER_MIGRATIONS: readonly PgMigration[] = [
  {
    version: 1,
    name: 'budget buckets and reservations in flight',
    up: `
CREATE TABLE budget_buckets (
  budget text COLLATE "C" NOT NULL,
  value text COLLATE "C" NOT NULL,
  period_start bigint NOT NULL,
  spent double precision NOT NULL DEFAULT 0,
  reserved double precision NOT NULL DEFAULT 0,
  in_flight integer NOT NULL DEFAULT 0,
  PRIMARY KEY (budget, value, period_start)
);
CREATE TABLE budget_reservations (
  id text COLLATE "C" NOT NULL,
  budget text COLLATE "C" NOT NULL,
  value text COLLATE "C" NOT NULL,
  period_start bigint NOT NULL,
  amount double precision NOT NULL,
  expires_at bigint NOT NULL,
  PRIMARY KEY (id, budget, value, period_start)
);
-- the sweep of reservations whose replica never settled them
CREATE INDEX budget_reservations_expiry ON budget_reservations (expires_at);
`,
  },
  {
    version: 2,
    name: 'ledger writes done, so one tried again after a lost answer counts once',
    up: `
CREATE TABLE budget_writes (
  id text COLLATE "C" PRIMARY KEY,
  at bigint NOT NULL
);
CREATE INDEX budget_writes_at ON budget_writes (at);
`,
  },
  {
    version: 3,
    name: "a bucket's last refusal, so the evaluating replica sees every replica's (BudgetExceeded while refusing)",
    up: `
ALTER TABLE budget_buckets ADD COLUMN blocked_at bigint;
CREATE INDEX budget_buckets_blocked_at ON budget_buckets (blocked_at) WHERE blocked_at IS NOT NULL;
`,
  },
];

export interface PostgresBudgetLedgerOptions {
  /**
   * How long a reservation may stay unsettled before `prune()` (or `sweep()`) releases it: longer than any call
   * can last (default 30 minutes). A call settling after that still adds its cost; only its hold was released early.
   */
  reservationTtlMs?: number;
  now?: () => number;
}

/** A reservation made by this ledger: its lines, and the id its rows carry in the database. */
export interface PgReservation extends Reservation {
  id: string;
}

interface BucketRow {
  budget: string;
  value: string;
  period_start: number;
  spent: number;
  reserved: number;
  in_flight: number;
}

const TYPES = {
  getTypeParser(oid: number, format?: string) {
    if (oid === 20) return (v: string) => Number(v);
    return (pg.types.getTypeParser as (oid: number, format?: string) => unknown)(oid, format);
  },
} as unknown as pg.QueryConfig['types'];

const RETRYABLE = new Set(['40001', '40P01']);
/** Same tolerance as the in-process ledger: ten reservations of limit/10 fit despite float rounding. */
const TOLERANCE = 1 + 1e-9;

const keyOrder = (a: BudgetKey, b: BudgetKey): number =>
  a.budget !== b.budget
    ? a.budget < b.budget
      ? -1
      : 1
    : a.value !== b.value
      ? a.value < b.value
        ? -1
        : 1
      : a.periodStart - b.periodStart;

const stateOf = (r: BucketRow): BucketState => ({
  key: { budget: r.budget, value: r.value, periodStart: r.period_start },
  spent: r.spent,
  reserved: r.reserved,
  inFlight: r.in_flight,
});

/** Arrays of the keys' columns, for `unnest($1::text[], $2::text[], $3::int8[])`. */
const keyArrays = (keys: readonly BudgetKey[]) => [
  keys.map((k) => k.budget),
  keys.map((k) => k.value),
  keys.map((k) => k.periodStart),
];

/** Releases reservation rows' holds (those `gone` returned) from their buckets: shared by settle and sweep. */
const RELEASE = `
  agg AS (SELECT budget, value, period_start, sum(amount) AS amount, count(*)::int AS n FROM gone
          GROUP BY budget, value, period_start)`;

/**
 * `BudgetLedger` on the store's PostgreSQL. Build it on the app store's backend (`ctx.store.backend`), then
 * `await migrate()` (it registers its own migration namespace, `cost.ledger`). Semantics match `InProcessBudgetLedger`, except `load`,
 * which only seeds a bucket the database does not have yet: the database, not one replica's memory, is the truth.
 */
export class PostgresBudgetLedger implements BudgetLedger {
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(
    private readonly backend: PostgresBackend,
    opts: PostgresBudgetLedgerOptions = {},
  ) {
    this.ttlMs = opts.reservationTtlMs ?? 30 * 60_000;
    this.now = opts.now ?? Date.now;
  }

  /** Creates the ledger's tables (safe on every start, and from every replica at once). */
  async migrate(): Promise<void> {
    await this.backend.migrations.register(LEDGER_NAMESPACE, LEDGER_MIGRATIONS);
  }

  private async tx<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const c = await this.backend.pool.connect();
      try {
        await c.query('BEGIN');
        const out = await fn(c);
        await c.query('COMMIT');
        c.release();
        return out;
      } catch (err) {
        await c.query('ROLLBACK').catch(() => {});
        c.release();
        const code = err instanceof pg.DatabaseError ? err.code : undefined;
        if (attempt >= 4 || !code || !RETRYABLE.has(code)) throw err;
        await new Promise((r) => setTimeout(r, 2 + Math.random() * 10 * (attempt + 1)));
      }
    }
  }

  private async run(text: string, values: unknown[]): Promise<pg.QueryResult> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.backend.pool.query({ text, values, types: TYPES });
      } catch (err) {
        const code = err instanceof pg.DatabaseError ? err.code : undefined;
        if (attempt >= 4 || !code || !RETRYABLE.has(code)) throw err;
        await new Promise((r) => setTimeout(r, 2 + Math.random() * 10 * (attempt + 1)));
      }
    }
  }

  async load(key: BudgetKey, spent: number): Promise<void> {
    await this.run(
      `INSERT INTO budget_buckets (budget, value, period_start, spent) VALUES ($1, $2, $3, $4)
       ON CONFLICT (budget, value, period_start) DO NOTHING`,
      [key.budget, key.value, key.periodStart, spent],
    );
  }

  async reserve(lines: readonly ReserveLine[]): Promise<ReserveOutcome> {
    if (lines.length === 0) return { ok: true, reservation: { lines: [], id: randomUUID() } as PgReservation };
    const sorted = [...lines].sort((a, b) => keyOrder(a.key, b.key));
    const id = randomUUID();
    return this.tx(async (c) => {
      // Creates missing buckets and locks all of them, in key order (every replica locks in the same order).
      const { rows } = await c.query<BucketRow>({
        text: `INSERT INTO budget_buckets AS b (budget, value, period_start)
               SELECT * FROM unnest($1::text[], $2::text[], $3::int8[])
               ON CONFLICT (budget, value, period_start) DO UPDATE SET in_flight = b.in_flight
               RETURNING budget, value, period_start, spent, reserved, in_flight`,
        values: keyArrays(sorted.map((l) => l.key)),
        types: TYPES,
      });
      const byKey = new Map(rows.map((r) => [`${r.budget}\u0000${r.value}\u0000${r.period_start}`, r]));
      for (const l of sorted) {
        if (!l.enforce) continue;
        const b = byKey.get(`${l.key.budget}\u0000${l.key.value}\u0000${l.key.periodStart}`);
        if (!b) continue;
        if (b.spent >= l.limit || b.spent + b.reserved + l.amount > l.limit * TOLERANCE) {
          // the refusal's time, on the bucket already locked: the alert signal reads it from any replica
          await c.query(
            'UPDATE budget_buckets SET blocked_at = $4 WHERE budget = $1 AND value = $2 AND period_start = $3',
            [l.key.budget, l.key.value, l.key.periodStart, this.now()],
          );
          return { ok: false as const, line: l, spent: b.spent, reserved: b.reserved };
        }
      }
      await c.query(
        `WITH u AS (SELECT * FROM unnest($1::text[], $2::text[], $3::int8[], $4::float8[])
                    AS u(budget, value, period_start, amount)),
         upd AS (UPDATE budget_buckets b SET reserved = b.reserved + u.amount, in_flight = b.in_flight + 1
                 FROM u WHERE b.budget = u.budget AND b.value = u.value AND b.period_start = u.period_start)
         INSERT INTO budget_reservations (id, budget, value, period_start, amount, expires_at)
         SELECT $5, budget, value, period_start, amount, $6 FROM u`,
        [...keyArrays(sorted.map((l) => l.key)), sorted.map((l) => l.amount), id, this.now() + this.ttlMs],
      );
      const reservation: PgReservation = { id, lines: lines.map((l) => ({ key: l.key, amount: l.amount })) };
      return { ok: true as const, reservation };
    });
  }

  /**
   * Releases the reservation's holds and adds the actual cost, once: the settle is recorded under the reservation's id
   * in the same statement (`budget_writes`), so one tried again after its answer was lost (the connection dropped
   * after the commit: a database restarting or failing over) finds it done and adds nothing.
   */
  async settle(reservation: Reservation, actualUsd: number): Promise<void> {
    const keys = [...reservation.lines.map((l) => l.key)].sort(keyOrder);
    if (keys.length === 0) return;
    const id = (reservation as Partial<PgReservation>).id ?? randomUUID();
    // Only holds still recorded are released (a swept one was released already); the cost is added regardless.
    await this.run(
      `WITH first AS (INSERT INTO budget_writes (id, at) VALUES ($7, $6) ON CONFLICT (id) DO NOTHING RETURNING id),
       gone AS (DELETE FROM budget_reservations WHERE id = $4 AND EXISTS (SELECT 1 FROM first)
                RETURNING budget, value, period_start, amount),
       ${RELEASE}
       UPDATE budget_buckets b SET
         in_flight = greatest(0, b.in_flight - coalesce(agg.n, 0)),
         reserved = CASE WHEN agg.n IS NULL THEN b.reserved
                         WHEN b.in_flight <= agg.n THEN 0 ELSE greatest(0, b.reserved - agg.amount) END,
         spent = b.spent + $5
       FROM unnest($1::text[], $2::text[], $3::int8[]) AS k(budget, value, period_start)
       LEFT JOIN agg USING (budget, value, period_start)
       WHERE b.budget = k.budget AND b.value = k.value AND b.period_start = k.period_start
         AND EXISTS (SELECT 1 FROM first)`,
      [...keyArrays(keys), id, actualUsd, this.now(), `settle:${id}`],
    );
  }

  /** Adds spend that had no reservation; with `writeId`, once, however often the same write is tried. */
  async add(keys: readonly BudgetKey[], amountUsd: number, writeId?: string): Promise<void> {
    const sorted = [...keys].sort(keyOrder);
    if (sorted.length === 0) return;
    const upsert = `INSERT INTO budget_buckets AS b (budget, value, period_start, spent)
       SELECT k.budget, k.value, k.period_start, $4 FROM unnest($1::text[], $2::text[], $3::int8[])
         AS k(budget, value, period_start)`;
    const onConflict = 'ON CONFLICT (budget, value, period_start) DO UPDATE SET spent = b.spent + EXCLUDED.spent';
    if (writeId === undefined) await this.run(`${upsert} ${onConflict}`, [...keyArrays(sorted), amountUsd]);
    else
      await this.run(
        `WITH first AS (INSERT INTO budget_writes (id, at) VALUES ($5, $6) ON CONFLICT (id) DO NOTHING RETURNING id)
         ${upsert} WHERE EXISTS (SELECT 1 FROM first) ${onConflict}`,
        [...keyArrays(sorted), amountUsd, `add:${writeId}`, this.now()],
      );
  }

  async state(key: BudgetKey): Promise<BucketState> {
    const { rows } = await this.run(
      `SELECT budget, value, period_start, spent, reserved, in_flight FROM budget_buckets
       WHERE budget = $1 AND value = $2 AND period_start = $3`,
      [key.budget, key.value, key.periodStart],
    );
    const r = rows[0] as BucketRow | undefined;
    return r ? stateOf(r) : { key, spent: 0, reserved: 0, inFlight: 0 };
  }

  async blockedSince(since: number): Promise<string[]> {
    const { rows } = await this.run('SELECT DISTINCT budget FROM budget_buckets WHERE blocked_at >= $1', [since]);
    return (rows as { budget: string }[]).map((r) => r.budget);
  }

  async buckets(): Promise<BucketState[]> {
    const { rows } = await this.run(
      'SELECT budget, value, period_start, spent, reserved, in_flight FROM budget_buckets ORDER BY budget, value, period_start',
      [],
    );
    return (rows as BucketRow[]).map(stateOf);
  }

  /** Releases reservations past their expiry (a replica died before settling them); returns how many. */
  async sweep(): Promise<number> {
    const { rows } = await this.run(
      `WITH gone AS (DELETE FROM budget_reservations WHERE expires_at < $1
                     RETURNING budget, value, period_start, amount),
       ${RELEASE},
       upd AS (UPDATE budget_buckets b SET
                 in_flight = greatest(0, b.in_flight - agg.n),
                 reserved = CASE WHEN b.in_flight <= agg.n THEN 0 ELSE greatest(0, b.reserved - agg.amount) END
               FROM agg WHERE b.budget = agg.budget AND b.value = agg.value AND b.period_start = agg.period_start)
       SELECT count(*)::int AS n FROM gone`,
      [this.now()],
    );
    return (rows[0] as { n: number } | undefined)?.n ?? 0;
  }

  async prune(before: (k: BudgetKey) => boolean): Promise<void> {
    await this.sweep();
    // A write is tried again for at most LEDGER_RETRY_MS (5 minutes), well inside a reservation's lifetime.
    await this.run('DELETE FROM budget_writes WHERE at < $1', [this.now() - this.ttlMs]);
    const { rows } = await this.run(
      'SELECT budget, value, period_start, spent, reserved, in_flight FROM budget_buckets WHERE in_flight = 0',
      [],
    );
    const old = (rows as BucketRow[]).map(stateOf).filter((b) => before(b.key));
    if (old.length === 0) return;
    await this.run(
      `DELETE FROM budget_buckets b USING unnest($1::text[], $2::text[], $3::int8[]) AS k(budget, value, period_start)
       WHERE b.budget = k.budget AND b.value = k.value AND b.period_start = k.period_start AND b.in_flight = 0`,
      keyArrays(old.map((b) => b.key)),
    );
  }

  async forget(budgets: readonly string[], value: string): Promise<number> {
    if (budgets.length === 0) return 0;
    const r = await this.run(
      `WITH r AS (DELETE FROM budget_reservations WHERE budget = ANY($1::text[]) AND value = $2)
       DELETE FROM budget_buckets WHERE budget = ANY($1::text[]) AND value = $2`,
      [budgets, value],
    );
    return r.rowCount ?? 0;
  }
}
