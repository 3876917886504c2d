// `llmscope migrate --from sqlite:PATH --to postgres://...`: moves one node's SQLite data to the PostgreSQL that
// replicas share — calls (with their rollups), spend aggregates, reconciliations and cost items, quality data
// (feedback, evaluations, review queue, counts) and alert state (active alerts, history, notification log,
// silences). Idempotent: calls go through the Store's insert (duplicate request ids are ignored, and only new
// calls feed the target's rollups); every aggregate is brought to the source's figures by difference, never added
// twice; upserts replace. Run it with `serve` stopped (or before pointing replicas at the database), then again
// after a final stop to catch up.

import type { Database } from 'better-sqlite3';
import {
  type ActiveAlert,
  type AlertEvent,
  type AlertStateStore,
  type NotificationRecord,
  PostgresAlertStateStore,
  SqliteAlertStateStore,
} from '../alerts/state/index.js';
import type { LlmCall } from '../calls/index.js';
import {
  emptyFigures,
  type KeyStore,
  PostgresKeyStore,
  PostgresSpendStore,
  SPEND_DIMENSIONS,
  type SpendDelta,
  type SpendFigures,
  type SpendRow,
  type SpendStore,
  SqliteKeyStore,
  SqliteSpendStore,
} from '../cost/storage/index.js';
import { LlmscopeError } from '../errors.js';
import { erasedUserTarget } from '../privacy/index.js';
import {
  PostgresQualityStore,
  type QualityCountRow,
  type QualityStore,
  type ReviewItem,
  SqliteQualityStore,
} from '../quality/storage/index.js';
import {
  type CallLogRow,
  createStore,
  type PostgresBackend,
  type RollupPoint,
  type RollupStep,
  redactPgUrl,
  type Store,
} from '../store/index.js';
import { pgHistogramLiteral } from '../store/postgres/histogram-pg.js';
import { DAY_MS, HOUR_MS, MINUTE_MS } from '../time.js';
import { openExistingStore } from './existing-store.js';
import { type Progress, progressBar } from './progress.js';

/** Far enough ahead to hold anything a clock could have stamped. */
const FAR = Date.UTC(9999, 0, 1);

export interface MigrateOptions {
  from: string;
  to: string;
  /** What gave `to`, for messages about it: `--to` (the default), or `LLMSCOPE_STORAGE_URL` when the flag was left out. */
  toSource?: string;
  /** Calls per page read and per insert transaction (default 500, the most a page holds). */
  batch?: number;
  progress?: Progress;
}

export interface MigrateSummary {
  from: string;
  to: string;
  seconds: number;
  /** Wall time of each part (calls include their feedback and evaluations). */
  phaseSeconds: { calls: number; rollups: number; spend: number; quality: number; alerts: number };
  calls: { read: number; copied: number; alreadyThere: number; perSecond: number };
  /** Rollup rows compared with the source (those up to its oldest raw call) and how many were set to its figures. */
  rollups: Record<RollupStep, { compared: number; rewritten: number }>;
  spend: { minuteRows: number; dailyRows: number; adjusted: number };
  reconciliations: number;
  costItems: number;
  quality: { feedback: number; evaluations: number; reviewItems: number; countRows: number; adjusted: number };
  alerts: { active: number; events: number; notifications: number; notifyLog: number; silences: number };
  /** Virtual keys (`keys create`, POST /api/keys): copied, revoked or rotated since an earlier run, already there. */
  keys: { copied: number; updated: number; alreadyThere: number };
  /** Users erased on the node since an earlier run (its audit log's user.erase): their copies removed here. */
  erased: { users: number; calls: number };
}

function fail(msg: string): never {
  throw new LlmscopeError('LLMSCOPE_ERR_CONFIG_INVALID', msg);
}

/** Equal within float noise: sums added in another order differ in the last bits. */
const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));

// ---------------------------------------------------------------------------------------------------------- calls

/** Pages through the source's calls (newest first), inserting those the target lacks; `perPage` sees every page. */
async function copyCalls(
  src: Store,
  dst: Store,
  batch: number,
  progress: Progress,
  s: MigrateSummary,
  perPage: (calls: readonly LlmCall[]) => Promise<void>,
): Promise<number> {
  const db = src.backend.kind === 'sqlite' ? src.backend.db : null;
  const total = db ? (db.prepare('SELECT count(*) AS n FROM calls').get() as { n: number }).n : 0;
  // A call's kept log lines go with it (only with the calls copied now, so a second run copies none twice).
  const logsOf = db?.prepare(
    'SELECT request_id AS requestId, at, seq, line, dropped FROM call_logs WHERE request_id IN (SELECT value FROM json_each(?))',
  );
  progress.start(total, { phase: 'calls' });
  let cursor: string | undefined;
  let oldestCall = Number.POSITIVE_INFINITY;
  const t0 = performance.now();
  for (;;) {
    const page = await src.listCalls({ limit: batch, cursor });
    if (page.items.length > 0) {
      const known = await dst.knownIds(page.items.map((c) => c.requestId));
      const fresh = page.items.filter((c) => !known.has(c.requestId));
      await dst.insertCalls(fresh);
      if (logsOf && fresh.length > 0) {
        const rows = logsOf.all(JSON.stringify(fresh.map((c) => c.requestId))) as CallLogRow[];
        if (rows.length > 0) await dst.insertCallLogs(rows);
      }
      s.calls.read += page.items.length;
      s.calls.copied += fresh.length;
      s.calls.alreadyThere += page.items.length - fresh.length;
      await perPage(page.items);
      for (const c of page.items) oldestCall = Math.min(oldestCall, c.startedAt);
      progress.update(s.calls.read, { phase: 'calls' });
    }
    if (!page.nextCursor) break;
    cursor = page.nextCursor;
  }
  const secs = (performance.now() - t0) / 1000;
  s.calls.perSecond = secs > 0 ? Math.round(s.calls.read / secs) : 0;
  return oldestCall;
}

// ------------------------------------------------------------------------------------------------------ erasures

/**
 * A user erased on the node (DELETE /api/users/{id}/data, in its audit log as `user.erase` of `user:sha256:<hash>`)
 * after an earlier run had copied their data: the node no longer has it, so this run copies nothing of it, but
 * PostgreSQL still held that run's copies (calls with their log lines, feedback, evaluations, review items, spend
 * rows). Each user PostgreSQL holds whose id hashes to an erased target loses what started before that erase there
 * (spend rows: all of them; the spend phase after this adds back what the node still keeps, i.e. anything since).
 */
async function carryErasures(
  db: Database,
  dst: Store,
  pg: PostgresBackend,
  quality: QualityStore,
  spend: SpendStore,
  s: MigrateSummary,
): Promise<void> {
  let rows: { at: number; target: string }[];
  try {
    rows = db
      .prepare("SELECT at, target FROM audit_log WHERE action = 'user.erase' AND result = 'ok' AND target IS NOT NULL")
      .all() as { at: number; target: string }[];
  } catch {
    return; // a node without an audit log (before it had one) erased nobody through it
  }
  if (rows.length === 0) return;
  const erasedAt = new Map<string, number>();
  for (const r of rows) erasedAt.set(r.target, Math.max(erasedAt.get(r.target) ?? 0, Number(r.at)));
  const { rows: users } = await pg.pool.query<{ user: string }>(
    `SELECT DISTINCT "user" AS user FROM calls WHERE "user" IS NOT NULL
     UNION SELECT DISTINCT value FROM spend_minute WHERE dimension = 'user'
     UNION SELECT DISTINCT value FROM spend_daily WHERE dimension = 'user'`,
  );
  for (const { user } of users) {
    const at = erasedAt.get(erasedUserTarget(user));
    if (at === undefined) continue;
    const { rows: calls } = await pg.pool.query<{ request_id: string }>(
      'SELECT request_id FROM calls WHERE "user" = $1 AND started_at < $2::float8',
      [user, at],
    );
    const ids = calls.map((c) => c.request_id);
    if (ids.length > 0) {
      await quality.eraseCalls(ids);
      s.erased.calls += await dst.deleteCalls(ids);
    }
    await spend.eraseUser(user);
    s.erased.users++;
  }
}

// -------------------------------------------------------------------------------------------------------- rollups

const DIMS = ['provider', 'model', 'endpoint', 'feature', 'team'] as const;
const keyOf = (p: RollupPoint) => `${p.t}\u0000${DIMS.map((d) => p.group[d] ?? '').join('\u0000')}`;

function sameHistogram(a: Record<number, number>, b: Record<number, number>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) if ((a[Number(k)] ?? 0) !== (b[Number(k)] ?? 0)) return false;
  return true;
}

function samePoint(a: RollupPoint, b: RollupPoint): boolean {
  if (a.requests !== b.requests || a.refusals !== b.refusals) return false;
  for (const st of Object.keys({ ...a.statuses, ...b.statuses }) as (keyof RollupPoint['statuses'])[])
    if ((a.statuses[st] ?? 0) !== (b.statuses[st] ?? 0)) return false;
  return (
    close(a.inputTokens, b.inputTokens) &&
    close(a.outputTokens, b.outputTokens) &&
    close(a.cachedInputTokens, b.cachedInputTokens) &&
    close(a.costUsd, b.costUsd) &&
    sameHistogram(a.latency, b.latency) &&
    sameHistogram(a.ttft, b.ttft) &&
    sameHistogram(a.tpot, b.tpot)
  );
}

const ROLLUP_TABLE = { minute: 'calls_rollup_minute', hour: 'calls_rollup_hour' } as const;
const TOTAL_TABLE = { minute: 'calls_total_minute', hour: 'calls_total_hour' } as const;
const STATUS_COLS = ['ok', 'client_error', 'upstream_error', 'rate_limited', 'timeout', 'cancelled'] as const;
const FIGURE_COLS = [
  'requests',
  ...STATUS_COLS,
  'refusals',
  'input_tokens',
  'output_tokens',
  'cached_input_tokens',
  'cost_usd',
  'hist',
] as const;

/**
 * Sets the target's rollup rows to the source's figures (not adds), then recomputes the per-bucket totals from them.
 * Only rows that differ after the calls were copied get here: buckets whose raw calls the source's retention already
 * deleted (their rollups outlive them), and float sums that came out a few ulps apart. The Store interface has no
 * write for rollups, so this one statement speaks the PostgreSQL store's rollup schema (src/store/postgres/schema.ts).
 */
async function overwriteRollups(pg: PostgresBackend, step: RollupStep, points: RollupPoint[]): Promise<void> {
  if (points.length === 0) return;
  const cols: [string, string, (p: RollupPoint) => unknown][] = [
    ['t', 'int8', (p) => p.t],
    ...DIMS.map((d): [string, string, (p: RollupPoint) => unknown] => [d, 'text', (p) => p.group[d] ?? '']),
    ['requests', 'int8', (p) => p.requests],
    ...STATUS_COLS.map((c): [string, string, (p: RollupPoint) => unknown] => [c, 'int8', (p) => p.statuses[c] ?? 0]),
    ['refusals', 'int8', (p) => p.refusals],
    ['input_tokens', 'float8', (p) => p.inputTokens],
    ['output_tokens', 'float8', (p) => p.outputTokens],
    ['cached_input_tokens', 'float8', (p) => p.cachedInputTokens],
    ['cost_usd', 'float8', (p) => p.costUsd],
    ['hist', 'text', (p) => pgHistogramLiteral(p)],
  ];
  const names = cols.map(([c]) => c);
  const set = FIGURE_COLS.map((c) => `${c} = EXCLUDED.${c}`).join(', ');
  const client = await pg.pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(
      `INSERT INTO ${ROLLUP_TABLE[step]} (${names.join(', ')})
       SELECT ${names.map((c) => (c === 'hist' ? 'u.hist::int8[]' : `u.${c}`)).join(', ')}
       FROM unnest(${cols.map(([, t], i) => `$${i + 1}::${t}[]`).join(', ')}) AS u(${names.join(', ')})
       ON CONFLICT (t, provider, model, endpoint, feature, team) DO UPDATE SET ${set}`,
      cols.map(([, , get]) => points.map(get)),
    );
    const sums = FIGURE_COLS.map((c) =>
      c === 'hist'
        ? 'llmscope_hist_sum(hist)'
        : c.endsWith('tokens') || c === 'cost_usd'
          ? `SUM(${c})`
          : `SUM(${c})::int8`,
    );
    await client.query(
      `INSERT INTO ${TOTAL_TABLE[step]} (t, ${FIGURE_COLS.join(', ')})
       SELECT t, ${sums.join(', ')} FROM ${ROLLUP_TABLE[step]} WHERE t = ANY($1::int8[]) GROUP BY t
       ON CONFLICT (t) DO UPDATE SET ${set}`,
      [[...new Set(points.map((p) => p.t))]],
    );
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/**
 * After the calls, the target's rollups equal the source's for every bucket after the one holding the source's oldest
 * raw call: both were summed from the same calls. Buckets up to it (where the source's retention deleted raw calls
 * and kept their rollups) are compared and, where they differ, set to the source's figures. `oldestCall` is the
 * source's oldest raw call (Infinity when it kept none: then every bucket is compared).
 */
async function copyRollups(src: Store, dst: Store, oldestCall: number, progress: Progress, s: MigrateSummary) {
  if (dst.backend.kind !== 'postgres') fail('migrate writes to PostgreSQL only');
  const pg = dst.backend;
  // the days that hold any rollup at all: one ungrouped pass over the hour rollups
  const hours = await src.queryRollups({ from: 0, to: FAR, step: 'hour' });
  const days = [...new Set(hours.map((p) => Math.floor(p.t / DAY_MS) * DAY_MS))].sort((a, b) => a - b);
  const oldest = { minute: Number.POSITIVE_INFINITY, hour: hours[0]?.t ?? Number.POSITIVE_INFINITY };
  // the source's oldest minute rollup: the first day that has any (minute rollups are kept for less time)
  for (const d of days) {
    const first = (await src.queryRollups({ from: d, to: d + DAY_MS, step: 'minute' }))[0];
    if (first) {
      oldest.minute = first.t;
      break;
    }
  }
  for (const step of ['hour', 'minute'] as const) {
    const size = step === 'hour' ? HOUR_MS : MINUTE_MS;
    const last = Number.isFinite(oldestCall) ? Math.floor(oldestCall / size) * size : Number.POSITIVE_INFINITY;
    // a week of hours or a day of minutes per round: bounded memory on long histories
    const span = step === 'hour' ? 7 * DAY_MS : DAY_MS;
    const windows = [...new Set(days.map((d) => Math.floor(d / span) * span))].filter(
      (from) => from <= last && from + span > oldest[step],
    );
    progress.start(windows.length, { phase: `${step} rollups` });
    let done = 0;
    for (const from of windows) {
      const q = { from, to: Math.min(from + span, last + size), step, groupBy: [...DIMS] };
      const [a, b] = await Promise.all([src.queryRollups(q), dst.queryRollups(q)]);
      const there = new Map(b.map((p) => [keyOf(p), p]));
      const differ = a.filter((p) => {
        const t = there.get(keyOf(p));
        return !t || !samePoint(p, t);
      });
      await overwriteRollups(pg, step, differ);
      s.rollups[step].compared += a.length;
      s.rollups[step].rewritten += differ.length;
      progress.update(++done, { phase: `${step} rollups` });
    }
    progress.stop();
  }
  // The copied calls made rollups where the source's retention had already dropped them (minute rollups are kept
  // for less time than raw calls): cut the target's rollups where the source's begin. Raw calls stay (rawBefore 0).
  const cut = (t: number) => (Number.isFinite(t) ? t : 0);
  await dst.applyRetention({ rawBefore: 0, minuteBefore: cut(oldest.minute), hourBefore: cut(oldest.hour) });
}

// ---------------------------------------------------------------------------------------------------------- spend

const FIGURES: (keyof SpendFigures)[] = [
  'costUsd',
  'requests',
  'unpriced',
  'inputTokens',
  'outputTokens',
  'cachedInputTokens',
  'bytes',
  'cacheWriteInputTokens',
  'reasoningTokens',
  'toolCostUsd',
];

/** source − target per row key, as deltas at `minuteOf(row)`; rows already equal give none. */
function spendDiff(src: SpendRow[], dst: SpendRow[], minuteOf: (r: SpendRow) => number): SpendDelta[] {
  const there = new Map(dst.map((r) => [`${r.t}\u0000${r.value}`, r]));
  const out: SpendDelta[] = [];
  for (const r of src) {
    const t = there.get(`${r.t}\u0000${r.value}`);
    const d: SpendDelta = { minute: minuteOf(r), dimension: r.dimension, value: r.value, ...emptyFigures() };
    let any = false;
    for (const f of FIGURES) {
      const v = r[f] - (t?.[f] ?? 0);
      if (!close(r[f], t?.[f] ?? 0)) any = true;
      d[f] = v;
    }
    if (any) out.push(d);
  }
  return out;
}

/**
 * Spend lives in minute rows (kept a few days) and daily rows (kept long). `apply` adds to both, so: first the
 * minute rows' differences (which also fill their days), then whatever the days still lack (spend whose minute rows
 * the source already pruned), added at the day's start and the minute rows that this leaves before the source's
 * oldest minute pruned again.
 */
async function copySpend(src: SpendStore, dst: SpendStore, progress: Progress, s: MigrateSummary) {
  progress.start(SPEND_DIMENSIONS.length * 2, { phase: 'spend' });
  let oldestMinute = Number.POSITIVE_INFINITY;
  let residualBefore = Number.NEGATIVE_INFINITY;
  let done = 0;
  for (const dimension of SPEND_DIMENSIONS) {
    const q = { from: 0, to: FAR, dimension };
    const [a, b] = await Promise.all([src.minutes(q), dst.minutes(q)]);
    for (const r of a) oldestMinute = Math.min(oldestMinute, r.t);
    const deltas = spendDiff(a, b, (r) => r.t);
    await dst.apply(deltas);
    s.spend.minuteRows += a.length;
    s.spend.adjusted += deltas.length;
    progress.update(++done, { phase: 'spend' });
  }
  for (const dimension of SPEND_DIMENSIONS) {
    const q = { from: 0, to: FAR, dimension };
    const [a, b] = await Promise.all([src.daily(q), dst.daily(q)]);
    const deltas = spendDiff(a, b, (r) => r.t);
    for (const d of deltas) residualBefore = Math.max(residualBefore, d.minute + 1);
    await dst.apply(deltas);
    s.spend.dailyRows += a.length;
    s.spend.adjusted += deltas.length;
    progress.update(++done, { phase: 'spend' });
  }
  // the day-start minute rows the residuals made, where the source keeps no minutes any more
  if (residualBefore > Number.NEGATIVE_INFINITY) await dst.pruneMinutes(Math.min(oldestMinute, residualBefore));
  progress.stop();

  for (const r of await src.listReconciliations(1_000_000)) {
    await dst.saveReconciliation(r);
    s.reconciliations++;
  }
  const items = await src.costItems('0000-01-01', '9999-12-31');
  s.costItems = items.length > 0 ? await dst.addCostItems(items).then(() => items.length) : 0;
}

// -------------------------------------------------------------------------------------------------------- quality

/** Feedback and evaluations hang off calls: copied page by page as the calls go (feedback upserts per source). */
async function copyCallQuality(calls: readonly LlmCall[], src: QualityStore, dst: QualityStore, s: MigrateSummary) {
  const evaluations = [];
  for (const c of calls) {
    for (const f of await src.feedbackFor(c.requestId)) {
      await dst.putFeedback(f);
      s.quality.feedback++;
    }
    evaluations.push(...(await src.evaluationsFor(c.requestId)));
  }
  await dst.putEvaluations(evaluations);
  s.quality.evaluations += evaluations.length;
}

async function copyQuality(src: QualityStore, dst: QualityStore, setNow: (t: number) => void, s: MigrateSummary) {
  // review items: their reasons merge (a set), labels replace; created_at kept through the target's clock
  let rc: string | undefined;
  for (;;) {
    const page = await src.listReview({ status: 'all', limit: 500, cursor: rc });
    for (const item of page.items as ReviewItem[]) {
      setNow(item.createdAt);
      await dst.enqueueReview(
        item.reasons.map((reason) => ({
          requestId: item.requestId,
          reason,
          callAt: item.callAt,
          model: item.model,
          provider: item.provider,
          feature: item.feature,
          refusal: item.refusal,
          flaggedBy: item.flaggedBy,
          rating: item.rating ?? undefined,
        })),
      );
      if (item.labels) await dst.labelReview(item.requestId, item.labels);
      s.quality.reviewItems++;
    }
    if (!page.nextCursor) break;
    rc = page.nextCursor;
  }
  setNow(Number.NaN);

  // per-minute counts: brought to the source's by difference (addCounts takes negative counts)
  const q = { from: 0, to: FAR, step: 'minute' as const, groupBy: ['model', 'feature'] as const };
  const [a, b] = await Promise.all([src.queryCounts(q), dst.queryCounts(q)]);
  const there = new Map(b.map((r) => [`${r.t}\u0000${r.model}\u0000${r.feature}`, r]));
  const deltas: QualityCountRow[] = [];
  for (const r of a) {
    const t = there.get(`${r.t}\u0000${r.model}\u0000${r.feature}`);
    const d: QualityCountRow = {
      t: r.t,
      model: r.model,
      feature: r.feature,
      responses: r.responses - (t?.responses ?? 0),
      refusals: r.refusals - (t?.refusals ?? 0),
      evaluated: r.evaluated - (t?.evaluated ?? 0),
      flagged: r.flagged - (t?.flagged ?? 0),
      feedbackUp: r.feedbackUp - (t?.feedbackUp ?? 0),
      feedbackDown: r.feedbackDown - (t?.feedbackDown ?? 0),
    };
    if (d.responses || d.refusals || d.evaluated || d.flagged || d.feedbackUp || d.feedbackDown) deltas.push(d);
  }
  await dst.addCounts(deltas);
  s.quality.countRows = a.length;
  s.quality.adjusted = deltas.length;
}

// --------------------------------------------------------------------------------------------------------- alerts

/** The items of `a` that `b` does not already hold (as a multiset of their JSON). */
function missing<T>(a: T[], b: T[]): T[] {
  const have = new Map<string, number>();
  for (const x of b) {
    const k = JSON.stringify(x);
    have.set(k, (have.get(k) ?? 0) + 1);
  }
  const out: T[] = [];
  for (const x of a) {
    const k = JSON.stringify(x);
    const n = have.get(k) ?? 0;
    if (n > 0) have.set(k, n - 1);
    else out.push(x);
  }
  return out;
}

// ----------------------------------------------------------------------------------------------------------- keys

/**
 * Virtual keys as stored (hashes, never secrets), with their models, limits and expiry: a key PostgreSQL lacks is
 * inserted; one an earlier run copied and since revoked or rotated on the node is revoked / given its new secret.
 */
async function copyKeys(src: KeyStore, dst: KeyStore, s: MigrateSummary): Promise<void> {
  for (const k of (await src.list({ includeRevoked: true })).reverse()) {
    const there = await dst.byId(k.id);
    if (!there) {
      await dst.insert(k);
      s.keys.copied++;
    } else if (k.revokedAt !== null && there.revokedAt === null) {
      await dst.revoke(k.id, k.revokedAt);
      s.keys.updated++;
    } else if (k.hash !== there.hash && k.rotatedAt !== null && there.revokedAt === null) {
      await dst.rotate(k.id, { hash: k.hash, prefix: k.prefix }, k.rotatedAt);
      s.keys.updated++;
    } else s.keys.alreadyThere++;
  }
}

async function copyAlerts(src: AlertStateStore, dst: AlertStateStore, s: MigrateSummary) {
  const active: ActiveAlert[] = await src.loadActive();
  await dst.saveActive(active);
  s.alerts.active = active.length;
  const all = { from: 0, to: FAR, limit: 10_000_000 };
  // history lists come newest first: append oldest first, as they happened
  const events: AlertEvent[] = missing(await src.listEvents(all), await dst.listEvents(all)).reverse();
  await dst.appendEvents(events);
  s.alerts.events = events.length;
  const notes: NotificationRecord[] = missing(
    await src.listNotifications(all),
    await dst.listNotifications(all),
  ).reverse();
  for (const n of notes) await dst.appendNotification(n);
  s.alerts.notifications = notes.length;
  for (const e of await src.loadNotifyLog()) {
    await dst.putNotifyLog(e);
    s.alerts.notifyLog++;
  }
  for (const x of await src.listSilences()) {
    await dst.putSilence(x);
    s.alerts.silences++;
  }
}

// ------------------------------------------------------------------------------------------------------------ run

/**
 * A store's open error as migrate's user needs it: the store says "check storage.url" (what serve is pointed with),
 * but migrate was pointed with `flag`, so the advice names that. Other errors pass as they are.
 */
function pointedBy(err: unknown, flag: string): unknown {
  if (!(err instanceof LlmscopeError) || !err.message.includes('check storage.url')) return err;
  return new LlmscopeError(err.code, err.message.replaceAll('check storage.url', `check ${flag}`), {
    param: err.param,
    headers: err.headers,
  });
}

/** Copies everything from the SQLite store at `from` into the PostgreSQL at `to`; safe to run again. */
export async function migrateStores(opts: MigrateOptions): Promise<MigrateSummary> {
  const toFlag = opts.toSource ?? '--to';
  if (!opts.from.trim().startsWith('sqlite:'))
    fail(`--from must be a SQLite store (sqlite:PATH, the storage.url serve used), got "${opts.from}"`);
  if (!/^postgres(ql)?:\/\//i.test(opts.to.trim()))
    fail(`${toFlag} must be a PostgreSQL URL (postgres://USER:PASSWORD@HOST:5432/DB), got "${redactPgUrl(opts.to)}"`);
  const batch = Math.min(Math.max(Math.floor(opts.batch ?? 500), 1), 500);
  const progress = opts.progress ?? progressBar('migrate {phase} [{bar}] {value}/{total} {eta_formatted}');
  const t0 = performance.now();
  const s: MigrateSummary = {
    from: opts.from,
    to: redactPgUrl(opts.to),
    seconds: 0,
    phaseSeconds: { calls: 0, rollups: 0, spend: 0, quality: 0, alerts: 0 },
    calls: { read: 0, copied: 0, alreadyThere: 0, perSecond: 0 },
    rollups: { minute: { compared: 0, rewritten: 0 }, hour: { compared: 0, rewritten: 0 } },
    spend: { minuteRows: 0, dailyRows: 0, adjusted: 0 },
    reconciliations: 0,
    costItems: 0,
    quality: { feedback: 0, evaluations: 0, reviewItems: 0, countRows: 0, adjusted: 0 },
    alerts: { active: 0, events: 0, notifications: 0, notifyLog: 0, silences: 0 },
    keys: { copied: 0, updated: 0, alreadyThere: 0 },
    erased: { users: 0, calls: 0 },
  };
  const src = await openExistingStore(opts.from, 'migrate', '--from sqlite:PATH naming the store it writes to').catch(
    (err: unknown) => {
      throw pointedBy(err, '--from');
    },
  );
  let dst: Store | undefined;
  try {
    if (src.backend.kind !== 'sqlite') fail('migrate reads from SQLite only');
    dst = createStore(opts.to);
    await dst.migrate().catch((err: unknown) => {
      throw pointedBy(err, toFlag);
    });
    if (dst.backend.kind !== 'postgres') fail('migrate writes to PostgreSQL only');
    const pgBackend = dst.backend;
    const db = src.backend.db;

    let now = Number.NaN;
    const dstQuality = new PostgresQualityStore(pgBackend, () => (Number.isNaN(now) ? Date.now() : now));
    await dstQuality.migrate();
    const srcQuality = new SqliteQualityStore(db);
    await srcQuality.migrate();
    const dstSpend = new PostgresSpendStore(pgBackend);
    await dstSpend.migrate();
    const dstAlerts = new PostgresAlertStateStore(pgBackend);
    await dstAlerts.migrate();

    const phase = async (name: keyof MigrateSummary['phaseSeconds'], run: () => Promise<void>) => {
      const t = performance.now();
      await run();
      progress.stop();
      s.phaseSeconds[name] = Math.round((performance.now() - t) / 100) / 10;
    };
    let oldestCall = Number.POSITIVE_INFINITY;
    await phase('calls', async () => {
      oldestCall = await copyCalls(src, dst as Store, batch, progress, s, (calls) =>
        copyCallQuality(calls, srcQuality, dstQuality, s),
      );
    });
    // before the rollups and spend are set to the node's figures, which no longer hold the erased users' calls
    await carryErasures(db, dst, pgBackend, dstQuality, dstSpend, s);
    await phase('rollups', () => copyRollups(src, dst as Store, oldestCall, progress, s));
    await phase('spend', () => copySpend(new SqliteSpendStore(db), dstSpend, progress, s));
    await phase('quality', () =>
      copyQuality(
        srcQuality,
        dstQuality,
        (t) => {
          now = t;
        },
        s,
      ),
    );
    await phase('alerts', () => copyAlerts(new SqliteAlertStateStore(db), dstAlerts, s));
    const dstKeys = new PostgresKeyStore(pgBackend);
    await dstKeys.migrate();
    await copyKeys(new SqliteKeyStore(db), dstKeys, s);
  } finally {
    progress.stop();
    await src.close().catch(() => {});
    await dst?.close().catch(() => {});
  }
  s.seconds = (performance.now() - t0) / 1000;
  return s;
}

/** The summary as the command prints it. */
export function formatSummary(s: MigrateSummary): string {
  return [
    `migrated ${s.from} → ${s.to} in ${s.seconds.toFixed(1)} s`,
    `  calls          ${s.calls.read} read, ${s.calls.copied} copied, ${s.calls.alreadyThere} already there (${s.calls.perSecond} calls/s)`,
    `  rollups        built from the calls; where the source kept rollups without their calls: ${s.rollups.minute.compared} minute rows compared (${s.rollups.minute.rewritten} set from the source), ${s.rollups.hour.compared} hour rows (${s.rollups.hour.rewritten} set)`,
    `  spend          ${s.spend.minuteRows} minute rows, ${s.spend.dailyRows} daily rows (${s.spend.adjusted} adjusted)`,
    `  cost           ${s.reconciliations} reconciliations, ${s.costItems} cost items`,
    `  quality        ${s.quality.feedback} feedback, ${s.quality.evaluations} evaluations, ${s.quality.reviewItems} review items, ${s.quality.countRows} count rows (${s.quality.adjusted} adjusted)`,
    `  alerts         ${s.alerts.active} active, ${s.alerts.events} events and ${s.alerts.notifications} notifications added, ${s.alerts.notifyLog} notification-log entries, ${s.alerts.silences} silences`,
    `  keys           ${s.keys.copied} copied, ${s.keys.updated} revoked or rotated since, ${s.keys.alreadyThere} already there`,
    ...(s.erased.users > 0
      ? [
          `  erased         ${s.erased.users} users erased on the node since an earlier run: their ${s.erased.calls} calls and their spend removed here too`,
        ]
      : []),
    `  time           calls ${s.phaseSeconds.calls} s, rollups ${s.phaseSeconds.rollups} s, spend ${s.phaseSeconds.spend} s, quality ${s.phaseSeconds.quality} s, alerts ${s.phaseSeconds.alerts} s`,
    '',
  ].join('\n');
}

/** `llmscope migrate`'s action (declared in ./commands.ts). */
export async function migrateCommand(flags: {
  from: string;
  to?: string;
  batch: number | string;
  json?: boolean;
}): Promise<void> {
  // refused, not clamped: --batch 0 ran one call per transaction and --batch abc the default, without a word
  const batch = /^\d+$/.test(String(flags.batch).trim()) ? Number(flags.batch) : Number.NaN;
  if (!(batch >= 1 && batch <= 500))
    fail(`--batch must be a whole number of calls from 1 to 500, got "${flags.batch}"`);
  // the default keeps the password off the command line where the environment already holds the URL
  const to = flags.to ?? process.env.LLMSCOPE_STORAGE_URL;
  if (!to) fail('say where to copy to: --to postgres://USER:PASSWORD@HOST:5432/DB (or set LLMSCOPE_STORAGE_URL)');
  const s = await migrateStores({
    from: flags.from,
    to,
    toSource: flags.to === undefined ? 'LLMSCOPE_STORAGE_URL' : '--to',
    batch,
    progress: progressBar('migrate {phase} [{bar}] {value}/{total} {eta_formatted}', { quiet: flags.json }),
  });
  process.stdout.write(flags.json ? `${JSON.stringify(s, null, 2)}\n` : formatSummary(s));
}
