// Spend in SQLite: its own tables in the store's database (created if missing), written in one transaction per
// batch with upserts that add to the existing figures.
import type { Database } from 'better-sqlite3';
import type { SqliteBackend, SqliteMigration } from '../../store/index.js';
import { dayOf } from '../pricing.js';
import { run as applyDeltas, FIGURES, packDeltas } from './sqlite-spend-job.js';
import type {
  CostItem,
  ReconciliationRecord,
  SpendDelta,
  SpendDimension,
  SpendQuery,
  SpendRow,
  SpendStore,
} from './types.js';

const FIGURE_COLUMNS = `cost_usd REAL NOT NULL DEFAULT 0, requests INTEGER NOT NULL DEFAULT 0, unpriced INTEGER NOT NULL DEFAULT 0,
  input_tokens INTEGER NOT NULL DEFAULT 0, output_tokens INTEGER NOT NULL DEFAULT 0,
  cached_input_tokens INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0`;
/** The per-batch upserts' job module (store/backend.ts `write`). */
const APPLY_JOB = new URL('./sqlite-spend-job.js', import.meta.url);

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

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS spend_minute (
    minute INTEGER NOT NULL, dimension TEXT NOT NULL, value TEXT NOT NULL, ${FIGURE_COLUMNS},
    PRIMARY KEY (minute, dimension, value)) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS spend_minute_dim ON spend_minute (dimension, minute);
  CREATE TABLE IF NOT EXISTS spend_daily (
    day TEXT NOT NULL, dimension TEXT NOT NULL, value TEXT NOT NULL, ${FIGURE_COLUMNS},
    PRIMARY KEY (day, dimension, value)) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS spend_daily_dim ON spend_daily (dimension, day);
  CREATE TABLE IF NOT EXISTS reconciliations (
    id TEXT PRIMARY KEY, created_at INTEGER NOT NULL, source TEXT NOT NULL, from_day TEXT NOT NULL,
    to_day TEXT NOT NULL, billed_usd REAL NOT NULL, tracked_usd REAL NOT NULL, gap_usd REAL NOT NULL,
    gap_ratio REAL NOT NULL, report TEXT NOT NULL);
  CREATE INDEX IF NOT EXISTS reconciliations_created ON reconciliations (created_at);
  CREATE TABLE IF NOT EXISTS cost_items (
    day TEXT NOT NULL, category TEXT NOT NULL, name TEXT NOT NULL, provider TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL, amount_usd REAL NOT NULL,
    PRIMARY KEY (day, category, name, provider, source));
`;

/** Figures added after version 1's tables: each spend table gets them (0 for the spend summed before). */
const ADDED_FIGURES = ['cache_write_input_tokens', 'reasoning_tokens'];

/** Adds the figures version 1's tables lack; does nothing where they are (a standalone database made here before). */
function addFigureColumns(db: Database): void {
  for (const table of ['spend_minute', 'spend_daily']) {
    const have = new Set((db.pragma(`table_info(${table})`) as { name: string }[]).map((c) => c.name));
    for (const col of ADDED_FIGURES)
      if (!have.has(col)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${col} INTEGER NOT NULL DEFAULT 0`);
  }
}

/**
 * Adds the built-in tool part of the spend (decision 163) to each spend table, 0 for the spend summed before; does
 * nothing where it is (a standalone database made here before).
 */
function addToolCostColumn(db: Database): void {
  for (const table of ['spend_minute', 'spend_daily']) {
    const have = new Set((db.pragma(`table_info(${table})`) as { name: string }[]).map((c) => c.name));
    if (!have.has('tool_cost_usd')) db.exec(`ALTER TABLE ${table} ADD COLUMN tool_cost_usd REAL NOT NULL DEFAULT 0`);
  }
}

/** The `cost.spend` namespace's SQLite migrations; never edit a shipped one, add a new version. */
export const SQLITE_SPEND_MIGRATIONS: readonly SqliteMigration[] = [
  { version: 1, name: 'spend per minute and per day, reconciliations, cost items', up: SCHEMA },
  { version: 2, name: 'cache-write and reasoning tokens in spend', up: addFigureColumns },
  { version: 3, name: 'built-in tool charges in spend', up: addToolCostColumn },
];

export class SqliteSpendStore implements SpendStore {
  readonly kind = 'sqlite' as const;

  /**
   * On the app's store, `register` (its backend's migrations, bound to the `cost.spend` namespace) versions the
   * schema in schema_migrations as on PostgreSQL; the tables are created here either way (IF NOT EXISTS), so a
   * standalone database (the reconcile command's) works too.
   */
  constructor(
    private readonly db: Database,
    register?: (migrations: readonly SqliteMigration[]) => void,
    /** The store backend's `write` (its writer thread): batches of deltas are applied there; without it, on `db`. */
    private readonly write?: SqliteBackend['write'],
  ) {
    register?.(SQLITE_SPEND_MIGRATIONS);
    db.exec(SCHEMA);
    addFigureColumns(db);
    addToolCostColumn(db);
  }

  /** One batch's deltas: on the writer thread when there is one (sqlite-spend-job.ts), else on `db`. */
  async apply(deltas: readonly SpendDelta[]): Promise<void> {
    if (deltas.length === 0) return;
    if (this.write) await this.write(APPLY_JOB, packDeltas(deltas) ?? deltas);
    else applyDeltas(this.db, deltas);
  }

  async daily(q: SpendQuery): Promise<SpendRow[]> {
    const from = dayOf(q.from);
    const to = dayOf(q.to - 1);
    const rows = (
      q.value === undefined
        ? this.db
            .prepare(
              `SELECT day AS t, dimension, value, ${FIGURES} FROM spend_daily WHERE dimension = ? AND day >= ? AND day <= ? ORDER BY day, value`,
            )
            .all(q.dimension, from, to)
        : this.db
            .prepare(
              `SELECT day AS t, dimension, value, ${FIGURES} FROM spend_daily WHERE dimension = ? AND value = ? AND day >= ? AND day <= ? ORDER BY day`,
            )
            .all(q.dimension, q.value, from, to)
    ) as RawRow[];
    return rows.map((r) => toRow(r, true));
  }

  async minutes(q: SpendQuery): Promise<SpendRow[]> {
    const rows = (
      q.value === undefined
        ? this.db
            .prepare(
              `SELECT minute AS t, dimension, value, ${FIGURES} FROM spend_minute WHERE dimension = ? AND minute >= ? AND minute < ? ORDER BY minute, value`,
            )
            .all(q.dimension, q.from, q.to)
        : this.db
            .prepare(
              `SELECT minute AS t, dimension, value, ${FIGURES} FROM spend_minute WHERE dimension = ? AND value = ? AND minute >= ? AND minute < ? ORDER BY minute`,
            )
            .all(q.dimension, q.value, q.from, q.to)
    ) as RawRow[];
    return rows.map((r) => toRow(r, false));
  }

  async pruneMinutes(before: number): Promise<number> {
    return this.db.prepare('DELETE FROM spend_minute WHERE minute < ?').run(before).changes;
  }

  async pruneDays(before: number): Promise<number> {
    return this.db.prepare('DELETE FROM spend_daily WHERE day < ?').run(dayOf(before)).changes;
  }

  async eraseUser(user: string): Promise<number> {
    return this.db.transaction(() =>
      ['spend_minute', 'spend_daily'].reduce(
        (n, t) => n + this.db.prepare(`DELETE FROM ${t} WHERE dimension = 'user' AND value = ?`).run(user).changes,
        0,
      ),
    )();
  }

  async saveReconciliation(r: ReconciliationRecord): Promise<void> {
    this.db
      .prepare(
        `INSERT OR REPLACE INTO reconciliations (id, created_at, source, from_day, to_day, billed_usd, tracked_usd, gap_usd, gap_ratio, report)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
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
    const rows = this.db.prepare('SELECT * FROM reconciliations ORDER BY created_at DESC LIMIT ?').all(limit) as Record<
      string,
      unknown
    >[];
    return rows.map(SqliteSpendStore.toRecord);
  }

  async getReconciliation(id: string): Promise<ReconciliationRecord | null> {
    const r = this.db.prepare('SELECT * FROM reconciliations WHERE id = ?').get(id) as
      | Record<string, unknown>
      | undefined;
    return r ? SqliteSpendStore.toRecord(r) : null;
  }

  async addCostItems(items: readonly CostItem[]): Promise<number> {
    const ins = this.db.prepare(
      'INSERT OR REPLACE INTO cost_items (day, category, name, provider, source, amount_usd) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.db.transaction(() => {
      for (const i of items) ins.run(i.day, i.category, i.name, i.provider ?? '', i.source, i.amountUsd);
    })();
    return items.length;
  }

  async costItems(fromDay: string, toDay: string): Promise<CostItem[]> {
    const rows = this.db
      .prepare('SELECT * FROM cost_items WHERE day >= ? AND day <= ? ORDER BY day, category, name')
      .all(fromDay, toDay) as Record<string, unknown>[];
    return rows.map((r) => ({
      day: String(r.day),
      category: String(r.category),
      name: String(r.name),
      provider: r.provider ? String(r.provider) : null,
      amountUsd: Number(r.amount_usd),
      source: String(r.source),
    }));
  }
}
