// Where GPU samples are kept: raw samples for a short while, per-minute rollups (avg/max utilization, avg memory,
// sample count, seconds covered) for the dashboard and the cost figures. The interface and the rollup arithmetic
// every backend shares; the backends sit beside it: memory.ts, sqlite.ts (the app's SQLite database) and
// postgres.ts (the app's PostgreSQL, shared by every replica).

import { HOUR_MS, MINUTE_MS } from '../../time.js';
import type { GpuSample } from '../types.js';

/** The migration namespace of the GPU tables, on SQLite and PostgreSQL alike. */
export const GPU_NAMESPACE = 'gpu';

export interface GpuPoint {
  /** Bucket start, epoch ms. */
  t: number;
  utilizationAvg: number | null;
  utilizationMax: number | null;
  memoryUsedAvg: number | null;
  memoryTotal: number | null;
  samples: number;
}

export interface GpuSeries {
  host: string;
  gpu: string;
  name: string | null;
  points: GpuPoint[];
}

/** One GPU's use over a window: how long it was watched, and how busy it was on average. */
export interface GpuUsage {
  host: string;
  gpu: string;
  name: string | null;
  /** Seconds of GPU time the samples stand for (each sample covers one poll interval). */
  gpuSeconds: number;
  utilizationAvg: number | null;
  memoryUsedAvg: number | null;
  memoryTotal: number | null;
  samples: number;
}

export interface GpuRange {
  /** Epoch ms, inclusive. */
  from: number;
  /** Epoch ms, exclusive. */
  to: number;
}

export interface GpuStore {
  readonly kind: 'memory' | 'sqlite' | 'postgres';
  /** Stores samples and folds them into the minute rollups; each sample stands for `intervalMs` of GPU time. */
  insertSamples(samples: readonly GpuSample[], intervalMs: number): Promise<void>;
  /** Minute or hour points per GPU, from the minute rollups whose minute starts in [from, to). */
  querySeries(q: GpuRange & { step: 'minute' | 'hour' }): Promise<GpuSeries[]>;
  usage(q: GpuRange): Promise<GpuUsage[]>;
  /** Deletes raw samples taken before `rawBefore` and minute rollups before `minuteBefore`. */
  applyRetention(opts: {
    rawBefore: number;
    minuteBefore: number;
  }): Promise<{ deletedSamples: number; deletedMinutes: number }>;
}

/** A minute rollup row, the shape both implementations keep. */
export interface MinuteRow {
  host: string;
  gpu: string;
  t: number;
  name: string | null;
  samples: number;
  seconds: number;
  utilN: number;
  utilSum: number;
  utilMax: number | null;
  memN: number;
  memUsedSum: number;
  memTotalMax: number | null;
}

export const minuteOf = (at: number): number => Math.floor(at / MINUTE_MS) * MINUTE_MS;

function maxOf(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.max(a, b);
}

/** Folds one sample into a minute row (shared by the in-memory store and the tests). */
export function foldSample(row: MinuteRow | undefined, s: GpuSample, intervalMs: number): MinuteRow {
  const r: MinuteRow = row ?? {
    host: s.host,
    gpu: s.gpu,
    t: minuteOf(s.at),
    name: s.name,
    samples: 0,
    seconds: 0,
    utilN: 0,
    utilSum: 0,
    utilMax: null,
    memN: 0,
    memUsedSum: 0,
    memTotalMax: null,
  };
  r.name = s.name ?? r.name;
  r.samples++;
  r.seconds += intervalMs / 1000;
  if (s.utilization !== null) {
    r.utilN++;
    r.utilSum += s.utilization;
    r.utilMax = maxOf(r.utilMax, s.utilization);
  }
  if (s.memoryUsedBytes !== null) {
    r.memN++;
    r.memUsedSum += s.memoryUsedBytes;
  }
  r.memTotalMax = maxOf(r.memTotalMax, s.memoryTotalBytes);
  return r;
}

/** Merges minute rows of one GPU into points of `stepMs` (rows sorted by t). */
export function pointsOf(rows: readonly MinuteRow[], stepMs: number): GpuPoint[] {
  const out: GpuPoint[] = [];
  let cur: MinuteRow | null = null;
  const flush = (): void => {
    if (!cur) return;
    out.push({
      t: cur.t,
      utilizationAvg: cur.utilN ? cur.utilSum / cur.utilN : null,
      utilizationMax: cur.utilMax,
      memoryUsedAvg: cur.memN ? cur.memUsedSum / cur.memN : null,
      memoryTotal: cur.memTotalMax,
      samples: cur.samples,
    });
  };
  for (const r of rows) {
    const t = Math.floor(r.t / stepMs) * stepMs;
    if (!cur || cur.t !== t) {
      flush();
      cur = { ...r, t };
      continue;
    }
    cur.samples += r.samples;
    cur.seconds += r.seconds;
    cur.utilN += r.utilN;
    cur.utilSum += r.utilSum;
    cur.utilMax = maxOf(cur.utilMax, r.utilMax);
    cur.memN += r.memN;
    cur.memUsedSum += r.memUsedSum;
    cur.memTotalMax = maxOf(cur.memTotalMax, r.memTotalMax);
  }
  flush();
  return out;
}

export function usageOf(rows: readonly MinuteRow[]): GpuUsage | null {
  const first = rows[0];
  if (!first) return null;
  let seconds = 0;
  let samples = 0;
  let utilN = 0;
  let utilSum = 0;
  let memN = 0;
  let memSum = 0;
  let memTotal: number | null = null;
  let name: string | null = null;
  for (const r of rows) {
    seconds += r.seconds;
    samples += r.samples;
    utilN += r.utilN;
    utilSum += r.utilSum;
    memN += r.memN;
    memSum += r.memUsedSum;
    memTotal = maxOf(memTotal, r.memTotalMax);
    name = r.name ?? name;
  }
  return {
    host: first.host,
    gpu: first.gpu,
    name,
    gpuSeconds: seconds,
    utilizationAvg: utilN ? utilSum / utilN : null,
    memoryUsedAvg: memN ? memSum / memN : null,
    memoryTotal: memTotal,
    samples,
  };
}

const gpuOrder = (a: { host: string; gpu: string }, b: { host: string; gpu: string }): number =>
  a.host.localeCompare(b.host) || a.gpu.localeCompare(b.gpu, 'en', { numeric: true });

/** Groups rows by GPU, in host/gpu order, each group sorted by time. */
export function byGpu(rows: readonly MinuteRow[]): MinuteRow[][] {
  const groups = new Map<string, MinuteRow[]>();
  for (const r of rows) {
    const k = `${r.host}\u0000${r.gpu}`;
    let g = groups.get(k);
    if (!g) {
      g = [];
      groups.set(k, g);
    }
    g.push(r);
  }
  return [...groups.values()]
    .map((g) => g.sort((a, b) => a.t - b.t))
    .sort((a, b) => gpuOrder(a[0] as MinuteRow, b[0] as MinuteRow));
}

export function seriesOf(rows: readonly MinuteRow[], step: 'minute' | 'hour'): GpuSeries[] {
  const stepMs = step === 'hour' ? HOUR_MS : MINUTE_MS;
  return byGpu(rows).map((g) => {
    const first = g[0] as MinuteRow;
    let name: string | null = null;
    for (const r of g) name = r.name ?? name;
    return { host: first.host, gpu: first.gpu, name, points: pointsOf(g, stepMs) };
  });
}
