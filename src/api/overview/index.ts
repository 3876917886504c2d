import { type Router, sendJson } from '../../http/index.js';
import {
  HOUR_MS,
  MINUTE_MS,
  type RollupDimension,
  type RollupPoint,
  type Store,
  scopedStore,
} from '../../store/index.js';
import {
  assemble,
  CURRENT_MS,
  type CurrentRate,
  currentOf,
  fitted,
  type OverviewBody,
  type OverviewQuery,
  parseOverviewQuery,
  pointsStart,
  rawRowOf,
  SETTLE_MS,
} from './body.js';
import { OverviewSeries } from './series.js';

export * from './body.js';
export { OverviewSeries } from './series.js';

/**
 * data_from on other stores: the first hour with calls, its first minute, and the first call there (when the
 * store lists calls and that minute holds at most a page of them; else the minute's start).
 */
async function dataFromStore(store: Store, q: OverviewQuery): Promise<number | null> {
  const f = q.filter;
  const firstT = (ps: RollupPoint[]) =>
    ps.reduce<number | null>((m, p) => (p.requests > 0 && (m === null || p.t < m) ? p.t : m), null);
  const hour = firstT(
    await store.queryRollups({ from: Math.floor(q.from / HOUR_MS) * HOUR_MS, to: q.to, step: 'hour', filter: f }),
  );
  if (hour === null) return null;
  const minute =
    firstT(
      await store.queryRollups({
        from: Math.max(hour, Math.floor(q.from / MINUTE_MS) * MINUTE_MS),
        to: Math.min(q.to, hour + HOUR_MS),
        step: 'minute',
        filter: f,
      }),
    ) ?? hour;
  if (typeof store.listCalls !== 'function') return Math.max(q.from, minute);
  if ((await store.listCalls({ ...f, to: q.from, limit: 1 } as never)).items.length > 0) return q.from;
  const page = await store.listCalls({
    ...f,
    from: Math.max(q.from, minute),
    to: minute + MINUTE_MS,
    limit: 500,
  } as never);
  const exact =
    page.nextCursor === null && page.items.length > 0 ? Math.min(...page.items.map((c) => c.startedAt)) : null;
  return Math.max(q.from, exact ?? minute);
}

/** The current rate from any store's minute rollups (the last few minutes before `now` or the window's end). */
async function currentFromStore(
  store: Store,
  q: OverviewQuery,
  now: number,
  dataFrom: number | null,
): Promise<CurrentRate | null> {
  if (dataFrom === null) return null;
  const from = Math.floor((Math.min(q.to, now) - CURRENT_MS - SETTLE_MS - 2 * MINUTE_MS) / MINUTE_MS) * MINUTE_MS;
  const minutes = (await store.queryRollups({ from, to: q.to, step: 'minute', filter: q.filter })).map(rawRowOf);
  return currentOf(q, now, dataFrom, (a, b) => minutes.filter((r) => r[0] >= a && r[0] < b));
}

/**
 * When the data of [from, to) begins and the rate now, on any store: what /api/stats/summary adds to its figures
 * (the same `data_from` and `current` as /api/overview).
 */
export async function dataAgeOf(
  store: Store,
  from: number,
  to: number,
  filter: Partial<Record<RollupDimension, string>>,
  now: number,
): Promise<{ data_from: number | null; current: CurrentRate | null }> {
  const q: OverviewQuery = { from, to, step: 'minute', stepMs: MINUTE_MS, fit: false, filter };
  const dataFrom = await dataFromStore(store, q);
  return { data_from: dataFrom, current: await currentFromStore(store, q, now, dataFrom) };
}

/** Fallback for stores other than SQLite: the same body from `queryRollups` (slower on large windows). */
async function overviewFromStore(store: Store, query: OverviewQuery, now: number): Promise<OverviewBody> {
  const dataFrom = await dataFromStore(store, query);
  const q = fitted(query, dataFrom);
  const start = pointsStart(q, dataFrom);
  const points = await store.queryRollups({ from: start, to: q.to, step: q.step, filter: q.filter });
  const rows = points.map(rawRowOf).sort((a, b) => a[0] - b[0]);
  const current = await currentFromStore(store, q, now, dataFrom);
  return assemble(q, start, rows, 0, rows.length, { now, dataFrom, current });
}

export interface OverviewRoutes {
  series: OverviewSeries | null;
  /** Compacts the last day (minutes) and 30 days (hours) shortly after start, so the first view does not pay. */
  start(): void;
  stop(): void;
}

/** Registers GET /api/overview; on SQLite over the compacted series, whose warm-up `start()` begins. */
export function registerOverviewRoutes(router: Router, store: Store, now: () => number = Date.now): OverviewRoutes {
  const backend = store.backend;
  const series = backend.kind === 'sqlite' ? new OverviewSeries({ backend }, now) : null;
  router.get('/api/overview', async ({ res, url, principal }) => {
    const q = parseOverviewQuery(url, now());
    // The compacted series (SQLite) is kept per deployment, not per team: a scoped principal's overview is built from
    // the rollups, narrowed to its scope.
    if (principal?.scope)
      return sendJson(res, 200, await overviewFromStore(scopedStore(store, principal.scope), q, now()));
    sendJson(res, 200, series ? await series.query(q) : await overviewFromStore(store, q, now()));
  });
  let warm: NodeJS.Timeout | null = null;
  return {
    series,
    start() {
      if (!series || warm) return;
      warm = setTimeout(() => {
        const t = now();
        series
          .ensure('minute', t - 24 * HOUR_MS, t)
          .then(() => series.ensure('hour', t - 30 * 24 * HOUR_MS, t))
          .catch(() => undefined);
      }, 1000);
      warm.unref();
    },
    stop() {
      if (warm) clearTimeout(warm);
    },
  };
}

/**
 * GET /api/ui/config: what the dashboard needs from the config, and nothing secret: the tracing UI's link template,
 * and how long raw calls are kept (storage.retention.raw), so a view read from raw calls (spend by a metadata key)
 * can say when its range reaches further back.
 */
export function registerUiConfigRoute(
  router: Router,
  ui: { traceUrlTemplate?: string | null; rawRetentionMs?: number },
): void {
  router.get('/api/ui/config', ({ res }) =>
    sendJson(res, 200, {
      trace_url_template: ui.traceUrlTemplate ?? null,
      ...(ui.rawRetentionMs ? { raw_retention_ms: ui.rawRetentionMs } : {}),
    }),
  );
}
