// GpuStore on PostgreSQL, shared by every replica: raw samples and the per-minute rollups live in the store's
// database (migration namespace `gpu`), with the same semantics as sqlite.ts, so whichever replica serves
// GET /api/gpu or evaluates the GPU alert rules reads the same history. A batch is one statement (arrays through
// `unnest`): the raw rows and the minute upserts, which add to what is there, so a batch is all or nothing and two
// writers at once lose nothing. Which replica writes is the module's choice (module.ts: the elected one).
import pg from 'pg';
import type { PgMigration, PostgresBackend } from '../../store/index.js';
import { HOUR_MS } from '../../time.js';
import type { GpuSample } from '../types.js';
import {
  byGpu,
  foldSample,
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

// `t` (a minute start, whole by construction) is bigint, as the quality and spend minutes; `at` comes from clocks and
// exporters' timestamps and is double precision. Keys compare bytewise (COLLATE "C"), as SQLite does.
export const GPU_MIGRATIONS: readonly PgMigration[] = [
  {
    version: 1,
    name: 'gpu samples and minute rollups',
    up: `
CREATE TABLE gpu_samples (
  host text COLLATE "C" NOT NULL, gpu text COLLATE "C" NOT NULL, at double precision NOT NULL, uuid text, name text,
  utilization double precision, memory_used_bytes double precision, memory_total_bytes double precision,
  temperature_c double precision, power_w double precision);
CREATE INDEX gpu_samples_at ON gpu_samples (at);
CREATE TABLE gpu_samples_minute (
  host text COLLATE "C" NOT NULL, gpu text COLLATE "C" NOT NULL, t bigint NOT NULL, name text,
  samples bigint NOT NULL, seconds double precision NOT NULL, util_n bigint NOT NULL,
  util_sum double precision NOT NULL, util_max double precision, mem_n bigint NOT NULL,
  mem_used_sum double precision NOT NULL, mem_total_max double precision,
  PRIMARY KEY (host, gpu, t)) WITH (fillfactor = 80);
CREATE INDEX gpu_samples_minute_t ON gpu_samples_minute (t);
`,
  },
];

// bigint (counts, minute starts, their sums cast back to int8) as JavaScript numbers: every value stays below 2^53
const TYPES = {
  getTypeParser(oid: number, format?: string) {
    if (oid === 20) return (v: string) => Number(v);
    return (pg.types.getTypeParser as (oid: number, format?: string) => unknown)(oid, format);
  },
} as unknown as pg.QueryConfig['types'];

/** PostgreSQL text cannot hold NUL; a stray one (in an exporter's label) must not fail the batch. */
const txt = <T extends string | null>(v: T): T => (v?.includes('\u0000') ? v.replace(/\u0000/g, '\uFFFD') : v) as T;

/** SQLSTATEs after which a statement can simply run again (deadlock, serialization failure). */
const RETRYABLE = new Set(['40P01', '40001']);

// The raw rows and the batch's minute rows (folded in JavaScript first: an upsert may not touch one row twice), in
// one statement. greatest() skips NULLs, as the SQLite store's CASE does.
const INSERT = `
  WITH raw AS (
    INSERT INTO gpu_samples (host, gpu, at, uuid, name, utilization, memory_used_bytes, memory_total_bytes,
      temperature_c, power_w)
    SELECT * FROM unnest($1::text[], $2::text[], $3::float8[], $4::text[], $5::text[], $6::float8[], $7::float8[],
      $8::float8[], $9::float8[], $10::float8[]))
  INSERT INTO gpu_samples_minute AS m (host, gpu, t, name, samples, seconds, util_n, util_sum, util_max, mem_n,
    mem_used_sum, mem_total_max)
  SELECT * FROM unnest($11::text[], $12::text[], $13::int8[], $14::text[], $15::int8[], $16::float8[], $17::int8[],
    $18::float8[], $19::float8[], $20::int8[], $21::float8[], $22::float8[])
  ON CONFLICT (host, gpu, t) DO UPDATE SET
    name = coalesce(EXCLUDED.name, m.name),
    samples = m.samples + EXCLUDED.samples,
    seconds = m.seconds + EXCLUDED.seconds,
    util_n = m.util_n + EXCLUDED.util_n,
    util_sum = m.util_sum + EXCLUDED.util_sum,
    util_max = greatest(m.util_max, EXCLUDED.util_max),
    mem_n = m.mem_n + EXCLUDED.mem_n,
    mem_used_sum = m.mem_used_sum + EXCLUDED.mem_used_sum,
    mem_total_max = greatest(m.mem_total_max, EXCLUDED.mem_total_max)`;

const COLUMNS = 'host, gpu, t, name, samples, seconds, util_n, util_sum, util_max, mem_n, mem_used_sum, mem_total_max';
// Long windows are merged in SQL, so that a 30-day view never ships every minute row to JavaScript.
const SUMS = `max(name) AS name, sum(samples)::int8 AS samples, sum(seconds) AS seconds, sum(util_n)::int8 AS util_n,
  sum(util_sum) AS util_sum, max(util_max) AS util_max, sum(mem_n)::int8 AS mem_n,
  sum(mem_used_sum) AS mem_used_sum, max(mem_total_max) AS mem_total_max`;
// t is a whole number of ms: comparing with ceil() keeps fractional bounds exact and the index usable
const RANGE = 't >= ceil($1::float8)::int8 AND t < ceil($2::float8)::int8';

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

/**
 * The gpu module's store on the app's PostgreSQL. `await migrate()` once (it registers the `gpu` namespace);
 * `gpuStoreFor` does so.
 */
export class PostgresGpuStore implements GpuStore {
  readonly kind = 'postgres' as const;
  private migrated: Promise<void> | null = null;

  constructor(private readonly backend: PostgresBackend) {}

  migrate(): Promise<void> {
    this.migrated ??= this.backend.migrations.register(GPU_NAMESPACE, GPU_MIGRATIONS);
    return this.migrated;
  }

  private async rows<R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<R[]> {
    return (await this.backend.pool.query<R>({ text, values, types: TYPES })).rows;
  }

  async insertSamples(samples: readonly GpuSample[], intervalMs: number): Promise<void> {
    if (samples.length === 0) return;
    const clean = samples.map((s) => ({ ...s, host: txt(s.host), gpu: txt(s.gpu), name: txt(s.name) }));
    const minutes = new Map<string, MinuteRow>();
    for (const s of clean) {
      const key = `${s.host}\u0000${s.gpu}\u0000${minuteOf(s.at)}`;
      minutes.set(key, foldSample(minutes.get(key), s, intervalMs));
    }
    // rows in key order, so two writers lock them in the same order
    const m = [...minutes.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([, v]) => v);
    const values = [
      clean.map((s) => s.host),
      clean.map((s) => s.gpu),
      clean.map((s) => s.at),
      clean.map((s) => txt(s.uuid)),
      clean.map((s) => s.name),
      clean.map((s) => s.utilization),
      clean.map((s) => s.memoryUsedBytes),
      clean.map((s) => s.memoryTotalBytes),
      clean.map((s) => s.temperatureC),
      clean.map((s) => s.powerW),
      m.map((r) => r.host),
      m.map((r) => r.gpu),
      m.map((r) => r.t),
      m.map((r) => r.name),
      m.map((r) => r.samples),
      m.map((r) => r.seconds),
      m.map((r) => r.utilN),
      m.map((r) => r.utilSum),
      m.map((r) => r.utilMax),
      m.map((r) => r.memN),
      m.map((r) => r.memUsedSum),
      m.map((r) => r.memTotalMax),
    ];
    for (let attempt = 0; ; attempt++) {
      try {
        await this.backend.pool.query({ text: INSERT, values });
        return;
      } catch (err) {
        const code = err instanceof pg.DatabaseError ? err.code : undefined;
        if (attempt >= 4 || !code || !RETRYABLE.has(code)) throw err;
      }
    }
  }

  async querySeries(q: GpuRange & { step: 'minute' | 'hour' }): Promise<GpuSeries[]> {
    const sql =
      q.step === 'hour'
        ? `SELECT host, gpu, (t / ${HOUR_MS}) * ${HOUR_MS} AS t, ${SUMS} FROM gpu_samples_minute WHERE ${RANGE}
           GROUP BY host, gpu, t / ${HOUR_MS}`
        : `SELECT ${COLUMNS} FROM gpu_samples_minute WHERE ${RANGE}`;
    return seriesOf((await this.rows<Row>(sql, [q.from, q.to])).map(toMinuteRow), q.step);
  }

  async usage(q: GpuRange): Promise<GpuUsage[]> {
    const rows = await this.rows<Row>(
      `SELECT host, gpu, min(t) AS t, ${SUMS} FROM gpu_samples_minute WHERE ${RANGE} GROUP BY host, gpu`,
      [q.from, q.to],
    );
    return byGpu(rows.map(toMinuteRow))
      .map(usageOf)
      .filter((u): u is GpuUsage => u !== null);
  }

  async applyRetention(opts: {
    rawBefore: number;
    minuteBefore: number;
  }): Promise<{ deletedSamples: number; deletedMinutes: number }> {
    const [r] = await this.rows<{ samples: number; minutes: number }>(
      `WITH s AS (DELETE FROM gpu_samples WHERE at < $1 RETURNING 1),
         m AS (DELETE FROM gpu_samples_minute WHERE t < ceil($2::float8)::int8 RETURNING 1)
       SELECT (SELECT count(*) FROM s)::int8 AS samples, (SELECT count(*) FROM m)::int8 AS minutes`,
      [opts.rawBefore, opts.minuteBefore],
    );
    return { deletedSamples: r?.samples ?? 0, deletedMinutes: r?.minutes ?? 0 };
  }
}
