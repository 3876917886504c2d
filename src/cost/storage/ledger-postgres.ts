// The budget ledger on PostgreSQL, shared by every replica: a reservation locks its budget buckets (one upsert that
// returns them locked, in key order), checks spend + reservations + this estimate against each limit, and records
// itself, all in one transaction — so N replicas admitting calls at once never pass a `block` budget's limit by
// more than what calls cost beyond their own estimates. Settling releases the reservation and adds the actual cost
// in one statement. Reservations are rows with an expiry, and each names the replica that made it (its owner, which
// notes itself alive in `budget_owners` at every sweep, every 15 s): the holds of a replica killed mid-call are
// released by another's sweep once its owner has been silent for a minute, not only when they expire (30 minutes).
import { randomUUID } from 'node:crypto';
import pg, { type PoolClient } from 'pg';
import type { PgMigration, PostgresBackend } from '../../store/index.js';
import type {
  BlockedBucket,
  BucketState,
  BudgetKey,
  BudgetLedger,
  Reservation,
  ReserveLine,
  ReserveOutcome,
} from '../budgets.js';

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
  {
    version: 4,
    name: "each reservation's owner (the replica that made it), so a killed replica's holds are released within a minute",
    up: `
ALTER TABLE budget_reservations ADD COLUMN owner text COLLATE "C";
CREATE INDEX budget_reservations_owner ON budget_reservations (owner) WHERE owner IS NOT NULL;
CREATE TABLE budget_owners (
  owner text COLLATE "C" PRIMARY KEY,
  seen_at bigint NOT NULL
);
`,
  },
  {
    version: 5,
    name: 'the highest warn threshold a bucket was warned of, so one replica logs each',
    up: `
ALTER TABLE budget_buckets ADD COLUMN warned double precision NOT NULL DEFAULT 0;
`,
  },
];

export interface PostgresBudgetLedgerOptions {
  /**
   * How long a reservation may stay unsettled before `prune()` (or `sweep()`) releases it: longer than any call
   * can last (default 30 minutes). A call settling after that still adds its cost; only its hold was released early.
   */
  reservationTtlMs?: number;
  /**
   * How long a replica may go without noting itself alive (every sweep does, and the cost module sweeps every 15 s)
   * before another replica's sweep releases its reservations as a dead replica's (default 60 s). A replica only
   * sweeps others once it has itself been reaching the database that long, so after an outage every live replica
   * has noted itself again first.
   */
  ownerSilenceMs?: number;
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
  private readonly silenceMs: number;
  private readonly now: () => number;
  /** This ledger's id on the reservations it makes (one per process). */
  readonly owner = randomUUID();
  /** Since when this ledger's notes of itself have succeeded without a failure between (undefined: not now). */
  private upSince: number | undefined;

  constructor(
    private readonly backend: PostgresBackend,
    opts: PostgresBudgetLedgerOptions = {},
  ) {
    this.ttlMs = opts.reservationTtlMs ?? 30 * 60_000;
    this.silenceMs = opts.ownerSilenceMs ?? 60_000;
    this.now = opts.now ?? Date.now;
  }

  /** Creates the ledger's tables (safe on every start, and from every replica at once). */
  async migrate(): Promise<void> {
    await this.backend.migrations.register(LEDGER_NAMESPACE, LEDGER_MIGRATIONS);
    await this.heartbeat();
  }

  /** Notes this replica alive (`budget_owners`), so no other replica's sweep takes its reservations for a dead one's. */
  async heartbeat(): Promise<void> {
    const t = this.now();
    try {
      await this.run(
        `INSERT INTO budget_owners (owner, seen_at) VALUES ($1, $2)
         ON CONFLICT (owner) DO UPDATE SET seen_at = greatest(budget_owners.seen_at, EXCLUDED.seen_at)`,
        [this.owner, t],
      );
    } catch (err) {
      this.upSince = undefined;
      throw err;
    }
    this.upSince ??= t;
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
         INSERT INTO budget_reservations (id, budget, value, period_start, amount, expires_at, owner)
         SELECT $5, budget, value, period_start, amount, $6, $7 FROM u`,
        [...keyArrays(sorted.map((l) => l.key)), sorted.map((l) => l.amount), id, this.now() + this.ttlMs, this.owner],
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
    // The buckets are locked first, in key order (`locked`), as a reservation locks them: the UPDATE alone locks rows
    // in whatever order its plan meets them (a scan of the table: where updates left them), and a settle holding a
    // per-user bucket while a reservation held the global one deadlocked with it (QA44).
    await this.run(
      `WITH first AS (INSERT INTO budget_writes (id, at) VALUES ($7, $6) ON CONFLICT (id) DO NOTHING RETURNING id),
       gone AS (DELETE FROM budget_reservations WHERE id = $4 AND EXISTS (SELECT 1 FROM first)
                RETURNING budget, value, period_start, amount),
       ${RELEASE},
       locked AS MATERIALIZED (
         SELECT b.budget, b.value, b.period_start
         FROM unnest($1::text[], $2::text[], $3::int8[]) WITH ORDINALITY AS k(budget, value, period_start, ord)
         JOIN budget_buckets b ON b.budget = k.budget AND b.value = k.value AND b.period_start = k.period_start
         WHERE EXISTS (SELECT 1 FROM first)
         ORDER BY k.ord
         FOR UPDATE OF b)
       UPDATE budget_buckets b SET
         in_flight = greatest(0, b.in_flight - coalesce(agg.n, 0)),
         reserved = CASE WHEN agg.n IS NULL THEN b.reserved
                         WHEN b.in_flight <= agg.n THEN 0 ELSE greatest(0, b.reserved - agg.amount) END,
         spent = b.spent + $5
       FROM locked k
       LEFT JOIN agg USING (budget, value, period_start)
       WHERE b.budget = k.budget AND b.value = k.value AND b.period_start = k.period_start`,
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

  /** Raises the bucket's warned mark to `threshold`: true for the one replica whose call raised it. */
  async claimWarning(key: BudgetKey, threshold: number): Promise<boolean> {
    const r = await this.run(
      `UPDATE budget_buckets SET warned = $4
       WHERE budget = $1 AND value = $2 AND period_start = $3 AND warned < $4`,
      [key.budget, key.value, key.periodStart, threshold],
    );
    return (r.rowCount ?? 0) > 0;
  }

  async blockedSince(since: number): Promise<BlockedBucket[]> {
    const { rows } = await this.run('SELECT DISTINCT budget, period_start FROM budget_buckets WHERE blocked_at >= $1', [
      since,
    ]);
    return (rows as { budget: string; period_start: number }[]).map((r) => ({
      budget: r.budget,
      periodStart: r.period_start,
    }));
  }

  async buckets(): Promise<BucketState[]> {
    const { rows } = await this.run(
      'SELECT budget, value, period_start, spent, reserved, in_flight FROM budget_buckets ORDER BY budget, value, period_start',
      [],
    );
    return (rows as BucketRow[]).map(stateOf);
  }

  /**
   * Notes this replica alive, then releases reservations past their expiry and those of replicas silent for longer
   * than `ownerSilenceMs` (killed before settling them: SIGKILL, OOM, a lost node); returns how many. Others' owners
   * are judged only once this replica has itself reached the database for that long (after an outage every live
   * replica notes itself again first). A silent replica that was alive after all (stopped, not killed) keeps its
   * calls: their settles still add their cost, and release nothing twice.
   */
  async sweep(): Promise<number> {
    await this.heartbeat();
    const t = this.now();
    const judge = this.upSince !== undefined && t - this.upSince >= this.silenceMs;
    const { rows } = await this.run(
      `WITH dead AS (SELECT owner FROM budget_owners WHERE $2 AND seen_at < $3 AND owner <> $4),
       gone AS (DELETE FROM budget_reservations
                WHERE expires_at < $1 OR owner IN (SELECT owner FROM dead)
                RETURNING budget, value, period_start, amount),
       ${RELEASE},
       -- the buckets locked in key order first, as a reservation and a settle lock them (QA44: see settle)
       locked AS MATERIALIZED (
         SELECT b.budget, b.value, b.period_start, agg.n, agg.amount FROM agg
         JOIN budget_buckets b ON b.budget = agg.budget AND b.value = agg.value AND b.period_start = agg.period_start
         ORDER BY b.budget, b.value, b.period_start
         FOR UPDATE OF b),
       upd AS (UPDATE budget_buckets b SET
                 in_flight = greatest(0, b.in_flight - l.n),
                 reserved = CASE WHEN b.in_flight <= l.n THEN 0 ELSE greatest(0, b.reserved - l.amount) END
               FROM locked l WHERE b.budget = l.budget AND b.value = l.value AND b.period_start = l.period_start)
       SELECT count(*)::int AS n FROM gone`,
      [t, judge, t - this.silenceMs, this.owner],
    );
    // the dead replicas' notes, once none of their reservations is left (a statement of its own: the one above
    // cannot see its own deletions)
    if (judge)
      await this.run(
        `DELETE FROM budget_owners o WHERE o.seen_at < $1 AND o.owner <> $2
           AND NOT EXISTS (SELECT 1 FROM budget_reservations r WHERE r.owner = o.owner)`,
        [t - this.silenceMs, this.owner],
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
