// Spend aggregates on PostgreSQL, shared by every replica: per-minute and daily figures by dimension, written in
// one transaction per batch with upserts that add (`x = x + EXCLUDED.x`), so replicas adding to the same minute at
// once lose nothing; plus reconciliation reports and imported cost items. Same tables and semantics as the cost
// module's SqliteSpendStore.
import pg, { type PoolClient } from 'pg';
import type { PgMigration, PostgresBackend } from '../../store/index.js';
import { markCommitInDoubt } from '../../store/transient.js';
import { dayOf } from '../pricing.js';
import type {
  CostItem,
  ReconciliationRecord,
  SpendDelta,
  SpendDimension,
  SpendQuery,
  SpendRow,
  SpendStore,
} from './types.js';

export const SPEND_NAMESPACE = 'cost.spend';

const FIGURE_COLUMNS = `cost_usd double precision NOT NULL DEFAULT 0, requests bigint NOT NULL DEFAULT 0,
  unpriced bigint NOT NULL DEFAULT 0, input_tokens double precision NOT NULL DEFAULT 0,
  output_tokens double precision NOT NULL DEFAULT 0, cached_input_tokens double precision NOT NULL DEFAULT 0,
  bytes double precision NOT NULL DEFAULT 0`;

export const SPEND_MIGRATIONS: readonly PgMigration[] = [
  {
    version: 1,
    name: 'spend per minute and per day, reconciliations, cost items',
    up: `
CREATE TABLE spend_minute (
  minute bigint NOT NULL, dimension text COLLATE "C" NOT NULL, value text COLLATE "C" NOT NULL, ${FIGURE_COLUMNS},
  PRIMARY KEY (minute, dimension, value)) WITH (fillfactor = 80);
CREATE INDEX spend_minute_dim ON spend_minute (dimension, minute);
CREATE TABLE spend_daily (
  day text COLLATE "C" NOT NULL, dimension text COLLATE "C" NOT NULL, value text COLLATE "C" NOT NULL, ${FIGURE_COLUMNS},
  PRIMARY KEY (day, dimension, value)) WITH (fillfactor = 80);
CREATE INDEX spend_daily_dim ON spend_daily (dimension, day);
CREATE TABLE reconciliations (
  id text PRIMARY KEY, created_at bigint NOT NULL, source text NOT NULL, from_day text NOT NULL, to_day text NOT NULL,
  billed_usd double precision NOT NULL, tracked_usd double precision NOT NULL, gap_usd double precision NOT NULL,
  gap_ratio double precision NOT NULL, report text NOT NULL);
CREATE INDEX reconciliations_created ON reconciliations (created_at);
CREATE TABLE cost_items (
  day text COLLATE "C" NOT NULL, category text NOT NULL, name text NOT NULL, provider text NOT NULL DEFAULT '',
  source text NOT NULL, amount_usd double precision NOT NULL,
  PRIMARY KEY (day, category, name, provider, source));
`,
  },
  {
    version: 2,
    name: 'cache-write and reasoning tokens in spend',
    up: `
ALTER TABLE spend_minute ADD COLUMN IF NOT EXISTS cache_write_input_tokens double precision NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS reasoning_tokens double precision NOT NULL DEFAULT 0;
ALTER TABLE spend_daily ADD COLUMN IF NOT EXISTS cache_write_input_tokens double precision NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS reasoning_tokens double precision NOT NULL DEFAULT 0;
`,
  },
  {
    version: 3,
    name: 'built-in tool charges in spend',
    up: `
ALTER TABLE spend_minute ADD COLUMN IF NOT EXISTS tool_cost_usd double precision NOT NULL DEFAULT 0;
ALTER TABLE spend_daily ADD COLUMN IF NOT EXISTS tool_cost_usd double precision NOT NULL DEFAULT 0;
`,
  },
];

const FIGURE_LIST = [
  'cost_usd',
  'requests',
  'unpriced',
  'input_tokens',
  'output_tokens',
  'cached_input_tokens',
  'bytes',
  'cache_write_input_tokens',
  'reasoning_tokens',
  'tool_cost_usd',
];
const FIGURES = FIGURE_LIST.join(', ');
const ADD = FIGURE_LIST.map((c) => `${c} = s.${c} + EXCLUDED.${c}`).join(', ');

const TYPES = {
  getTypeParser(oid: number, format?: string) {
    if (oid === 20) return (v: string) => Number(v);
    return (pg.types.getTypeParser as (oid: number, format?: string) => unknown)(oid, format);
  },
} as unknown as pg.QueryConfig['types'];

const upsertSql = (table: string, keyCol: string, keyType: string) => `
  INSERT INTO ${table} AS s (${keyCol}, dimension, value, ${FIGURES})
  SELECT * FROM unnest($1::${keyType}[], $2::text[], $3::text[], $4::float8[], $5::int8[], $6::int8[], $7::float8[],
    $8::float8[], $9::float8[], $10::float8[], $11::float8[], $12::float8[], $13::float8[])
  ON CONFLICT (${keyCol}, dimension, value) DO UPDATE SET ${ADD}`;
const UPSERT_MINUTE = upsertSql('spend_minute', 'minute', 'int8');
const UPSERT_DAILY = upsertSql('spend_daily', 'day', 'text');
/**
 * How long a spend batch whose COMMIT the connection was lost in waits for the database to say whether it was applied
 * (txid_status) before it is given up and counted as dropped.
 */
const COMMIT_OUTCOME_WAIT_MS = 60_000;

interface RawRow {
  t: number | string;
  dimension: string;
  value: string;
  cost_usd: number;
  requests: number;
  unpriced: number;
  input_tokens: number;
  output_tokens: number;
  cached_input_tokens: number;
  bytes: number;
  cache_write_input_tokens: number;
  reasoning_tokens: number;
  tool_cost_usd: number;
}

function toRow(r: RawRow, daily: boolean): SpendRow {
  const t = daily ? Date.parse(`${r.t}T00:00:00Z`) : Number(r.t);
  return {
    t,
    day: daily ? String(r.t) : dayOf(t),
    dimension: r.dimension as SpendDimension,
    value: r.value,
    costUsd: r.cost_usd,
    requests: r.requests,
    unpriced: r.unpriced,
    inputTokens: r.input_tokens,
    outputTokens: r.output_tokens,
    cachedInputTokens: r.cached_input_tokens,
    bytes: r.bytes,
    cacheWriteInputTokens: r.cache_write_input_tokens,
    reasoningTokens: r.reasoning_tokens,
    toolCostUsd: r.tool_cost_usd,
  };
}

type Keyed = { key: number | string; dimension: string; value: string; f: number[] };

/** Sums deltas per key (an upsert may not touch one row twice) and orders them (replicas lock in the same order). */
function folded(deltas: readonly SpendDelta[], keyOf: (d: SpendDelta) => number | string): unknown[][] {
  const m = new Map<string, Keyed>();
  for (const d of deltas) {
    const key = keyOf(d);
    const value = d.value.replace(/\u0000/g, '\uFFFD');
    const k = `${key}\u0000${d.dimension}\u0000${value}`;
    const f = [
      d.costUsd,
      d.requests,
      d.unpriced,
      d.inputTokens,
      d.outputTokens,
      d.cachedInputTokens,
      d.bytes,
      d.cacheWriteInputTokens,
      d.reasoningTokens,
      d.toolCostUsd,
    ];
    const row = m.get(k);
    if (row) for (let i = 0; i < f.length; i++) (row.f[i] as number) += f[i] as number;
    else m.set(k, { key, dimension: d.dimension, value, f });
  }
  const rows = [...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([, r]) => r);
  return [
    rows.map((r) => r.key),
    rows.map((r) => r.dimension),
    rows.map((r) => r.value),
    ...Array.from({ length: FIGURE_LIST.length }, (_, i) => rows.map((r) => r.f[i])),
  ];
}

/**
 * The cost module's `SpendStore` on the store's PostgreSQL. `await migrate()` once (it registers the `cost.spend`
 * namespace); the cost module does both itself when the app's store is PostgreSQL.
 */
export class PostgresSpendStore implements SpendStore {
  readonly kind = 'postgres' as const;

  constructor(private readonly backend: PostgresBackend) {}

  async migrate(): Promise<void> {
    await this.backend.migrations.register(SPEND_NAMESPACE, SPEND_MIGRATIONS);
  }

  /** This store as the cost module's `SpendStore` (kept for callers from before it implemented it directly). */
  asSpendStore(): SpendStore {
    return this;
  }

  private async rows(text: string, values: unknown[]): Promise<RawRow[]> {
    return (await this.backend.pool.query<RawRow>({ text, values, types: TYPES })).rows;
  }

  async apply(deltas: readonly SpendDelta[]): Promise<void> {
    if (deltas.length === 0) return;
    const minute = folded(deltas, (d) => d.minute);
    const daily = folded(deltas, (d) => dayOf(d.minute));
    for (let attempt = 0; ; attempt++) {
      const c: PoolClient = await this.backend.pool.connect();
      let xid: string | undefined;
      let committing = false;
      try {
        // the transaction's id, to ask what became of it if the connection is lost during its COMMIT
        const begun = (await c.query('BEGIN; SELECT txid_current()::text AS xid')) as unknown as pg.QueryResult[];
        xid = (begun[1]?.rows[0] as { xid?: string } | undefined)?.xid;
        await c.query(UPSERT_MINUTE, minute);
        await c.query(UPSERT_DAILY, daily);
        committing = true;
        await c.query('COMMIT');
        c.release();
        return;
      } catch (err) {
        await c.query('ROLLBACK').catch(() => {});
        c.release(err instanceof pg.DatabaseError ? undefined : (err as Error));
        const code = err instanceof pg.DatabaseError ? err.code : undefined;
        if (committing && code === undefined) {
          // The connection lost during the COMMIT (not an error the server answered): it may have been applied. Once
          // the server answers again it says which: applied (done), or not (thrown, for the recorder to try again).
          // Unknown after COMMIT_OUTCOME_WAIT_MS, the sums are given up rather than risk adding them twice.
          const outcome = xid === undefined ? null : await this.outcomeOf(xid);
          if (outcome === 'committed') return;
          if (outcome === 'aborted') throw err;
          throw markCommitInDoubt(err);
        }
        if (attempt >= 4 || (code !== '40P01' && code !== '40001')) throw err;
      }
    }
  }

  /** What became of transaction `xid`: asked until the server answers (within COMMIT_OUTCOME_WAIT_MS), else null. */
  private async outcomeOf(xid: string): Promise<'committed' | 'aborted' | null> {
    const deadline = Date.now() + COMMIT_OUTCOME_WAIT_MS;
    for (;;) {
      try {
        const r = await this.backend.pool.query<{ s: string | null }>('SELECT txid_status($1::bigint) AS s', [xid]);
        const s = r.rows[0]?.s;
        if (s === 'committed' || s === 'aborted') return s;
        if (s !== 'in progress') return null; // too old to be known: not this one's case
      } catch {
        // not back yet
      }
      if (Date.now() >= deadline) return null;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async daily(q: SpendQuery): Promise<SpendRow[]> {
    const from = dayOf(q.from);
    const to = dayOf(q.to - 1);
    const rows =
      q.value === undefined
        ? await this.rows(
            `SELECT day AS t, dimension, value, ${FIGURES} FROM spend_daily
             WHERE dimension = $1 AND day >= $2 AND day <= $3 ORDER BY day, value`,
            [q.dimension, from, to],
          )
        : await this.rows(
            `SELECT day AS t, dimension, value, ${FIGURES} FROM spend_daily
             WHERE dimension = $1 AND value = $2 AND day >= $3 AND day <= $4 ORDER BY day`,
            [q.dimension, q.value, from, to],
          );
    return rows.map((r) => toRow(r, true));
  }

  async minutes(q: SpendQuery): Promise<SpendRow[]> {
    // minute is a whole number of ms: comparing with ceil() keeps fractional bounds exact and the index usable
    const rows =
      q.value === undefined
        ? await this.rows(
            `SELECT minute AS t, dimension, value, ${FIGURES} FROM spend_minute
             WHERE dimension = $1 AND minute >= ceil($2::float8)::int8 AND minute < ceil($3::float8)::int8
             ORDER BY minute, value`,
            [q.dimension, q.from, q.to],
          )
        : await this.rows(
            `SELECT minute AS t, dimension, value, ${FIGURES} FROM spend_minute
             WHERE dimension = $1 AND value = $2 AND minute >= ceil($3::float8)::int8 AND minute < ceil($4::float8)::int8
             ORDER BY minute`,
            [q.dimension, q.value, q.from, q.to],
          );
    return rows.map((r) => toRow(r, false));
  }

  async pruneMinutes(before: number): Promise<number> {
    const r = await this.backend.pool.query('DELETE FROM spend_minute WHERE minute < ceil($1::float8)::int8', [before]);
    return r.rowCount ?? 0;
  }

  async pruneDays(before: number): Promise<number> {
    const r = await this.backend.pool.query('DELETE FROM spend_daily WHERE day < $1', [dayOf(before)]);
    return r.rowCount ?? 0;
  }

  async eraseUser(user: string): Promise<number> {
    const r = await this.backend.pool.query<{ n: string }>(
      `WITH m AS (DELETE FROM spend_minute WHERE dimension = 'user' AND value = $1 RETURNING 1),
         d AS (DELETE FROM spend_daily WHERE dimension = 'user' AND value = $1 RETURNING 1)
       SELECT ((SELECT count(*) FROM m) + (SELECT count(*) FROM d))::int8 AS n`,
      [user],
    );
    return Number(r.rows[0]?.n ?? 0);
  }

  async saveReconciliation(r: ReconciliationRecord): Promise<void> {
    await this.backend.pool.query(
      `INSERT INTO reconciliations (id, created_at, source, from_day, to_day, billed_usd, tracked_usd, gap_usd, gap_ratio, report)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
       ON CONFLICT (id) DO UPDATE SET created_at = EXCLUDED.created_at, source = EXCLUDED.source,
         from_day = EXCLUDED.from_day, to_day = EXCLUDED.to_day, billed_usd = EXCLUDED.billed_usd,
         tracked_usd = EXCLUDED.tracked_usd, gap_usd = EXCLUDED.gap_usd, gap_ratio = EXCLUDED.gap_ratio,
         report = EXCLUDED.report`,
      [
        r.id,
        r.createdAt,
        r.source,
        r.fromDay,
        r.toDay,
        r.billedUsd,
        r.trackedUsd,
        r.gapUsd,
        r.gapRatio,
        JSON.stringify(r.report),
      ],
    );
  }

  private static toRecord(r: Record<string, unknown>): ReconciliationRecord {
    return {
      id: String(r.id),
      createdAt: Number(r.created_at),
      source: String(r.source),
      fromDay: String(r.from_day),
      toDay: String(r.to_day),
      billedUsd: Number(r.billed_usd),
      trackedUsd: Number(r.tracked_usd),
      gapUsd: Number(r.gap_usd),
      gapRatio: Number(r.gap_ratio),
      report: JSON.parse(String(r.report)),
    };
  }

  async listReconciliations(limit: number): Promise<ReconciliationRecord[]> {
    const r = await this.backend.pool.query('SELECT * FROM reconciliations ORDER BY created_at DESC LIMIT $1', [limit]);
    return r.rows.map(PostgresSpendStore.toRecord);
  }

  async getReconciliation(id: string): Promise<ReconciliationRecord | null> {
    const r = await this.backend.pool.query('SELECT * FROM reconciliations WHERE id = $1', [id]);
    return r.rows[0] ? PostgresSpendStore.toRecord(r.rows[0]) : null;
  }

  async addCostItems(items: readonly CostItem[]): Promise<number> {
    if (items.length === 0) return 0;
    // one row per key, the last one winning, as successive INSERT OR REPLACE would leave it
    const byKey = new Map<string, CostItem>();
    for (const i of items) byKey.set([i.day, i.category, i.name, i.provider ?? '', i.source].join('\u0000'), i);
    const rows = [...byKey.values()];
    await this.backend.pool.query(
      `INSERT INTO cost_items (day, category, name, provider, source, amount_usd)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::float8[])
       ON CONFLICT (day, category, name, provider, source) DO UPDATE SET amount_usd = EXCLUDED.amount_usd`,
      [
        rows.map((i) => i.day),
        rows.map((i) => i.category),
        rows.map((i) => i.name),
        rows.map((i) => i.provider ?? ''),
        rows.map((i) => i.source),
        rows.map((i) => i.amountUsd),
      ],
    );
    return items.length;
  }

  async costItems(fromDay: string, toDay: string): Promise<CostItem[]> {
    const r = await this.backend.pool.query(
      'SELECT * FROM cost_items WHERE day >= $1 AND day <= $2 ORDER BY day, category, name',
      [fromDay, toDay],
    );
    return r.rows.map((x) => ({
      day: String(x.day),
      category: String(x.category),
      name: String(x.name),
      provider: x.provider ? String(x.provider) : null,
      amountUsd: Number(x.amount_usd),
      source: String(x.source),
    }));
  }
}
