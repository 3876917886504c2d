// GpuStore on SQLite (better-sqlite3), in the app's database: its tables are the `gpu` migration namespace,
// versioned in that database's schema_migrations as on PostgreSQL.
import type { Database, Statement } from 'better-sqlite3';
import type { SqliteMigration } from '../../store/index.js';
import { applyMigrations } from '../../store/sqlite/migrations.js';
import { HOUR_MS } from '../../time.js';
import type { GpuSample } from '../types.js';
import {
  byGpu,
  GPU_NAMESPACE,
  type GpuRange,
  type GpuSeries,
  type GpuStore,
  type GpuUsage,
  type MinuteRow,
  minuteOf,
  seriesOf,
  usageOf,
} from './types.js';

export const GPU_SCHEMA = `
CREATE TABLE IF NOT EXISTS gpu_samples (
  host TEXT NOT NULL,
  gpu TEXT NOT NULL,
  at INTEGER NOT NULL,
  uuid TEXT,
  name TEXT,
  utilization REAL,
  memory_used_bytes REAL,
  memory_total_bytes REAL,
  temperature_c REAL,
  power_w REAL
);
CREATE INDEX IF NOT EXISTS gpu_samples_at ON gpu_samples (at);
CREATE TABLE IF NOT EXISTS gpu_samples_minute (
  host TEXT NOT NULL,
  gpu TEXT NOT NULL,
  t INTEGER NOT NULL,
  name TEXT,
  samples INTEGER NOT NULL,
  seconds REAL NOT NULL,
  util_n INTEGER NOT NULL,
  util_sum REAL NOT NULL,
  util_max REAL,
  mem_n INTEGER NOT NULL,
  mem_used_sum REAL NOT NULL,
  mem_total_max REAL,
  PRIMARY KEY (host, gpu, t)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS gpu_samples_minute_t ON gpu_samples_minute (t);
`;

/** The `gpu` namespace's SQLite migrations; never edit a shipped one, add a new version. */
export const SQLITE_GPU_MIGRATIONS: readonly SqliteMigration[] = [
  { version: 1, name: 'gpu samples and minute rollups', up: GPU_SCHEMA },
];

interface Row {
  host: string;
  gpu: string;
  t: number;
  name: string | null;
  samples: number;
  seconds: number;
  util_n: number;
  util_sum: number;
  util_max: number | null;
  mem_n: number;
  mem_used_sum: number;
  mem_total_max: number | null;
}

const toMinuteRow = (r: Row): MinuteRow => ({
  host: r.host,
  gpu: r.gpu,
  t: r.t,
  name: r.name,
  samples: r.samples,
  seconds: r.seconds,
  utilN: r.util_n,
  utilSum: r.util_sum,
  utilMax: r.util_max,
  memN: r.mem_n,
  memUsedSum: r.mem_used_sum,
  memTotalMax: r.mem_total_max,
});

// Keeps the larger of two nullable values (SQLite's max() returns NULL if either is NULL).
const greater = (col: string): string =>
  `${col} = CASE WHEN ${col} IS NULL THEN excluded.${col} WHEN excluded.${col} IS NULL THEN ${col} ELSE max(${col}, excluded.${col}) END`;

export class SqliteGpuStore implements GpuStore {
  readonly kind = 'sqlite' as const;
  private readonly insertRaw: Statement;
  private readonly upsertMinute: Statement;
  private readonly selectMinutes: Statement;
  private readonly selectHours: Statement;
  private readonly selectUsage: Statement;
  private readonly insertMany: (samples: readonly GpuSample[], intervalMs: number) => void;

  /**
   * On the app's store, `register` (its backend's migrations, bound to the `gpu` namespace) adds the schema to the
   * store's own migrations. Either way what is pending is applied to this database now, versioned in its
   * schema_migrations, so the statements below can be prepared: a database an older llmscope made (the tables
   * there, with or without their version recorded) is brought up to date in place.
   */
  constructor(
    private readonly db: Database,
    register?: (migrations: readonly SqliteMigration[]) => void,
  ) {
    register?.(SQLITE_GPU_MIGRATIONS);
    applyMigrations(db, GPU_NAMESPACE, SQLITE_GPU_MIGRATIONS);
    this.insertRaw = db.prepare(
      `INSERT INTO gpu_samples (host, gpu, at, uuid, name, utilization, memory_used_bytes, memory_total_bytes, temperature_c, power_w)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.upsertMinute = db.prepare(
      `INSERT INTO gpu_samples_minute (host, gpu, t, name, samples, seconds, util_n, util_sum, util_max, mem_n, mem_used_sum, mem_total_max)
       VALUES (@host, @gpu, @t, @name, 1, @seconds, @util_n, @util_sum, @util_max, @mem_n, @mem_used_sum, @mem_total_max)
       ON CONFLICT (host, gpu, t) DO UPDATE SET
         name = coalesce(excluded.name, name),
         samples = samples + 1,
         seconds = seconds + excluded.seconds,
         util_n = util_n + excluded.util_n,
         util_sum = util_sum + excluded.util_sum,
         ${greater('util_max')},
         mem_n = mem_n + excluded.mem_n,
         mem_used_sum = mem_used_sum + excluded.mem_used_sum,
         ${greater('mem_total_max')}`,
    );
    this.selectMinutes = db.prepare('SELECT * FROM gpu_samples_minute WHERE t >= ? AND t < ?');
    // Long windows are merged in SQL so that a 30-day view never ships every minute row to JavaScript.
    const sums = `max(name) AS name, sum(samples) AS samples, sum(seconds) AS seconds, sum(util_n) AS util_n,
      sum(util_sum) AS util_sum, max(util_max) AS util_max, sum(mem_n) AS mem_n, sum(mem_used_sum) AS mem_used_sum,
      max(mem_total_max) AS mem_total_max`;
    this.selectHours = db.prepare(
      `SELECT host, gpu, (t / ${HOUR_MS}) * ${HOUR_MS} AS t, ${sums} FROM gpu_samples_minute
       WHERE t >= ? AND t < ? GROUP BY host, gpu, t / ${HOUR_MS}`,
    );
    this.selectUsage = db.prepare(
      `SELECT host, gpu, min(t) AS t, ${sums} FROM gpu_samples_minute WHERE t >= ? AND t < ? GROUP BY host, gpu`,
    );
    this.insertMany = db.transaction((samples: readonly GpuSample[], intervalMs: number) => {
      for (const s of samples) {
        this.insertRaw.run(
          s.host,
          s.gpu,
          s.at,
          s.uuid,
          s.name,
          s.utilization,
          s.memoryUsedBytes,
          s.memoryTotalBytes,
          s.temperatureC,
          s.powerW,
        );
        this.upsertMinute.run({
          host: s.host,
          gpu: s.gpu,
          t: minuteOf(s.at),
          name: s.name,
          seconds: intervalMs / 1000,
          util_n: s.utilization === null ? 0 : 1,
          util_sum: s.utilization ?? 0,
          util_max: s.utilization,
          mem_n: s.memoryUsedBytes === null ? 0 : 1,
          mem_used_sum: s.memoryUsedBytes ?? 0,
          mem_total_max: s.memoryTotalBytes,
        });
      }
    });
  }

  async insertSamples(samples: readonly GpuSample[], intervalMs: number): Promise<void> {
    if (samples.length) this.insertMany(samples, intervalMs);
  }

  async querySeries(q: GpuRange & { step: 'minute' | 'hour' }): Promise<GpuSeries[]> {
    const stmt = q.step === 'hour' ? this.selectHours : this.selectMinutes;
    return seriesOf((stmt.all(q.from, q.to) as Row[]).map(toMinuteRow), q.step);
  }

  async usage(q: GpuRange): Promise<GpuUsage[]> {
    return byGpu((this.selectUsage.all(q.from, q.to) as Row[]).map(toMinuteRow))
      .map(usageOf)
      .filter((u): u is GpuUsage => u !== null);
  }

  async applyRetention(opts: {
    rawBefore: number;
    minuteBefore: number;
  }): Promise<{ deletedSamples: number; deletedMinutes: number }> {
    const a = this.db.prepare('DELETE FROM gpu_samples WHERE at < ?').run(opts.rawBefore);
    const b = this.db.prepare('DELETE FROM gpu_samples_minute WHERE t < ?').run(opts.minuteBefore);
    return { deletedSamples: a.changes, deletedMinutes: b.changes };
  }
}
