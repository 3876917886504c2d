// Backtest: runs the rules over stored history (rollups) on a virtual clock, with the real grouping, inhibition
// and routing, and counts the notifications they would have sent — so thresholds can be tuned before they page.
import type { LlmCall } from '../calls/index.js';
import { LlmscopeError } from '../errors.js';
import { SignalRegistry } from '../signals/index.js';
import type { RollupPoint, RollupQuery, Store } from '../store/store.js';
import { DAY_MS, HOUR_MS, MINUTE_MS } from '../time.js';
import { CallCostTracker } from './call-cost-tracker.js';
import { kindOf } from './kinds/index.js';
import type { Rule } from './model.js';
import type { Notifier, NotifyResult } from './notifiers/notifier.js';
import { AlertsService } from './service.js';
import { type AlertsConfig, ms } from './spec.js';
import { MemoryAlertStateStore } from './state/memory.js';
import type { NotificationRecord } from './state/types.js';

export interface BacktestOptions {
  config: AlertsConfig;
  store: Store;
  from: number;
  to: number;
  /** Time between evaluations (default: the evaluation interval, at least 1 minute). */
  stepMs?: number;
  /** Read each rollup window from the store itself instead of RollupWindows (slower; to check the two agree). */
  direct?: boolean;
  /** Called after each evaluation with how many are done of how many in all (for progress bars). */
  onProgress?: (done: number, total: number) => void;
  /**
   * Sources of signal kinds that can answer for past times from the store (the quality module's rollups). Rules
   * reading a signal no source here publishes are not replayed: see `notReplayed`.
   */
  signals?: SignalRegistry;
}

export interface BacktestResult {
  from: number;
  to: number;
  stepMs: number;
  evaluations: number;
  /**
   * The store's first hour with calls in the period (null: none). Steps before it are not evaluated: every rule's
   * windows are empty there, so they could neither fire nor resolve, and a range of years over a week of data took
   * hours of empty evaluations.
   */
  dataFrom: number | null;
  /** Steps left out before dataFrom (or all of them when the period holds no calls). */
  skippedEvaluations: number;
  notifications: number;
  byReceiver: Record<string, number>;
  /** alertname → notifications that mention it, and how often it started firing. */
  byRule: Record<string, { notifications: number; firings: number }>;
  /**
   * Each time an alert started firing, in order: its labels, when it fired and when it resolved (null: still firing
   * at the end), so an incident the backtest finds can be set against what was seen live.
   */
  firings: { alertname: string; labels: Record<string, string>; firedAt: number; resolvedAt: number | null }[];
  /** How many rules were evaluated. */
  rules: number;
  /** Replayed rules that never had data over the period (no calls in their windows, or minute rollups past retention). */
  withoutData: string[];
  /**
   * Rules left out of the backtest, and the signals they read: figures another module publishes live (budget ratios,
   * GPU utilization, ...) that the store keeps no history of here. They are not counted as zero.
   */
  notReplayed: { rule: string; signals: string[] }[];
  sent: NotificationRecord[];
}

class RecordingNotifier implements Notifier {
  readonly kind = 'backtest';
  async send(): Promise<NotifyResult> {
    return { ok: true };
  }
}

interface Series {
  /** The span [lo, hi) the points cover. */
  lo: number;
  hi: number;
  /** Every group's points, by bucket start. */
  points: RollupPoint[];
  /** Bucket size of the series' step. */
  size: number;
  /** The earliest start asked of this series in the current evaluation. */
  lowWater: number;
}

const freeze = (p: RollupPoint): RollupPoint => {
  for (const v of [p.group, p.statuses, p.latency, p.ttft, p.tpot]) Object.freeze(v);
  return Object.freeze(p);
};

/** The index of the first point at or after `t` (points sorted by t). */
function lowerBound(points: readonly RollupPoint[], t: number): number {
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((points[mid] as RollupPoint).t < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Rollups for a backtest. History does not change while a backtest runs, and each evaluation asks for the same windows
 * one step later, so each query shape (step, grouping, filter) is read once, in chunks ahead of the virtual clock, and
 * every window is a slice of it: a 6-hour window of minute rollups is read once, not once a minute (30 days of
 * evaluations took hours). Points are frozen: they are shared between evaluations.
 */
export class RollupWindows {
  private readonly series = new Map<string, Series>();
  /** Store reads made (for tests). */
  reads = 0;

  constructor(private readonly store: Store) {}

  private async read(q: RollupQuery, from: number, to: number): Promise<RollupPoint[]> {
    this.reads++;
    const points = await this.store.queryRollups({ ...q, from, to });
    return points.map(freeze).sort((a, b) => a.t - b.t);
  }

  async query(q: RollupQuery): Promise<RollupPoint[]> {
    const size = q.step === 'hour' ? HOUR_MS : MINUTE_MS;
    const ahead = q.step === 'hour' ? 7 * 24 * HOUR_MS : 6 * HOUR_MS;
    const filter = Object.entries(q.filter ?? {})
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1));
    const key = JSON.stringify([q.step, [...(q.groupBy ?? [])].sort(), filter]);
    let s = this.series.get(key);
    if (!s) {
      const hi = q.to + ahead;
      s = { lo: q.from, hi, points: await this.read(q, q.from, hi), size, lowWater: Number.POSITIVE_INFINITY };
      this.series.set(key, s);
    }
    if (q.from < s.lo) {
      s.points = [...(await this.read(q, q.from, s.lo)), ...s.points];
      s.lo = q.from;
    }
    if (q.to > s.hi) {
      const hi = Math.max(q.to, s.hi + ahead);
      s.points = [...s.points, ...(await this.read(q, s.hi, hi))];
      s.hi = hi;
    }
    s.lowWater = Math.min(s.lowWater, q.from);
    return s.points.slice(lowerBound(s.points, q.from), lowerBound(s.points, q.to));
  }

  /**
   * Called after each evaluation: the clock only moves forward, so what lies before the earliest start this evaluation
   * asked for (less two buckets of rounding) is not asked again and is dropped; were it asked, it would be read again.
   */
  evict(): void {
    for (const s of this.series.values()) {
      if (!Number.isFinite(s.lowWater)) continue;
      const cut = s.lowWater - 2 * s.size;
      if (cut > s.lo) {
        s.points = s.points.slice(lowerBound(s.points, cut));
        s.lo = cut;
      }
      s.lowWater = Number.POSITIVE_INFINITY;
    }
  }

  /** `store` with queryRollups answered from the windows; everything else goes to the store itself. */
  storeView(): Store {
    const store = this.store;
    return new Proxy(store, {
      get: (target, prop) => {
        if (prop === 'queryRollups') return (q: RollupQuery) => this.query(q);
        const v = Reflect.get(target, prop, target);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
  }
}

/**
 * `store` whose rollup reads end at the start of the bucket holding `to`. A stored bucket holds its whole minute (or
 * hour): read at 12:00:40 (or, for an hour bucket, at 12:01) it has calls made after that time, which the live
 * engine, reading the bucket as it fills, had not seen; the replay fired up to a bucket early on them.
 */
function pastOnly(store: Store): Store {
  return new Proxy(store, {
    get: (target, prop) => {
      if (prop === 'queryRollups')
        return (q: RollupQuery) => {
          const size = q.step === 'hour' ? HOUR_MS : MINUTE_MS;
          return target.queryRollups({ ...q, to: Math.max(q.from, Math.floor(q.to / size) * size) });
        };
      const v = Reflect.get(target, prop, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

/** Signals a rule reads that `signals` has no source for (the rule cannot be replayed). */
function missingSignals(rule: Rule, signals: SignalRegistry): string[] {
  const out = new Set<string>();
  for (const c of rule.conditions) {
    const sig = kindOf(c.kind).signal;
    if (sig !== undefined && !signals.has(sig)) out.add(sig);
  }
  return [...out];
}

/** Calls read per step of the replay below, ahead of the virtual clock (bounded: a busy store's calls are many). */
const CALLS_AHEAD_MS = 10 * MINUTE_MS;

/** What the tracker reads of a call (the stored call itself has its text, tokens, timings: not kept while pending). */
type CostOf = Pick<LlmCall, 'endedAt' | 'costUsd' | 'provider' | 'model' | 'endpoint' | 'feature' | 'team'>;

/**
 * single_call_cost's history: live, a CallCostTracker is fed each call as it is recorded; here the stored calls are
 * read in order ahead of the virtual clock and fed to one as the clock passes their end, so the rule sees what it saw.
 */
export class CallCostReplay {
  private readTo: number;
  private pending: CostOf[] = [];
  private next = 0;
  /** Store pages read (for tests). */
  pages = 0;

  constructor(
    private readonly store: Store,
    from: number,
    readonly tracker: CallCostTracker,
  ) {
    this.readTo = from;
  }

  /** Feeds every stored call that ended at or before `t` (calls started from `from` on). */
  async advance(t: number): Promise<void> {
    if (t >= this.readTo) {
      const hi = Math.max(t + 1, this.readTo + CALLS_AHEAD_MS);
      const read: CostOf[] = [];
      let cursor: string | undefined;
      do {
        const page = await this.store.listCalls({ from: this.readTo, to: hi, limit: 500, cursor });
        this.pages++;
        for (const c of page.items)
          if (c.costUsd !== null && c.costUsd !== undefined) {
            const { endedAt, costUsd, provider, model, endpoint, feature, team } = c;
            read.push({ endedAt, costUsd, provider, model, endpoint, feature, team });
          }
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      this.pending = [...this.pending.slice(this.next), ...read].sort((a, b) => a.endedAt - b.endedAt);
      this.next = 0;
      this.readTo = hi;
    }
    while (this.next < this.pending.length && (this.pending[this.next] as CostOf).endedAt <= t)
      this.tracker.observe(this.pending[this.next++] as CostOf);
  }
}

/** The start of the first hour with calls between from and to (hour rollups: one query, kept longest), or null. */
export async function firstDataHour(store: Store, from: number, to: number): Promise<number | null> {
  const points = await store.queryRollups({ from: Math.floor(from / HOUR_MS) * HOUR_MS, to, step: 'hour' });
  let first: number | null = null;
  for (const p of points) if (p.requests > 0 && (first === null || p.t < first)) first = p.t;
  return first;
}

/** How far before `from` data still counts for the first steps at least: a month to date and its forecast. */
const LOOKBACK_FLOOR_MS = 32 * DAY_MS;

/** At most a year of 1-minute steps; more is refused before any work (as Prometheus refuses over 11,000 points). */
export const MAX_BACKTEST_EVALUATIONS = 527_040;

/** How many steps a backtest runs from `start` to `to`, and the step it starts on (on the grid from `from`). */
export function backtestSteps(
  from: number,
  to: number,
  stepMs: number,
  dataFrom: number | null,
): { start: number; total: number; skipped: number } {
  const all = Math.floor((to - from) / stepMs) + 1;
  if (dataFrom === null) return { start: to + 1, total: 0, skipped: all };
  const skipped = dataFrom > from ? Math.min(all, Math.floor((dataFrom - from) / stepMs)) : 0;
  return { start: from + skipped * stepMs, total: all - skipped, skipped };
}

export async function backtest(opts: BacktestOptions): Promise<BacktestResult> {
  // whole minutes from a whole minute: rollups are per minute, and (pastOnly) an evaluation inside a minute would
  // not see that minute's calls so far, as the live engine does
  const stepMs =
    opts.stepMs ?? Math.ceil(Math.max(MINUTE_MS, ms(opts.config.evaluationInterval)) / MINUTE_MS) * MINUTE_MS;
  if (!(stepMs > 0 && stepMs % MINUTE_MS === 0))
    throw new LlmscopeError(
      'LLMSCOPE_ERR_CONFIG_INVALID',
      `--step must be whole minutes (1m, 5m, 1h), got ${stepMs / 1000}s: rollups are per minute, and a step inside a minute would read its calls made after the step`,
    );
  const firstStep = Math.ceil(opts.from / MINUTE_MS) * MINUTE_MS;
  let now = firstStep;
  const clock = { now: () => now };
  const receivers = new Set([
    'log',
    'page',
    'notify',
    opts.config.route.receiver,
    ...opts.config.receivers.map((r) => r.name),
  ]);
  for (const r of opts.config.route.routes) if (r.receiver) receivers.add(r.receiver);
  const rec = new RecordingNotifier();
  const windows = new RollupWindows(opts.store);
  const signals = opts.signals ?? new SignalRegistry();
  const callCosts = new CallCostTracker();
  let replay: CallCostReplay | null = null;
  const service = new AlertsService({
    config: opts.config,
    store: pastOnly(opts.direct ? opts.store : windows.storeView()),
    state: new MemoryAlertStateStore(),
    clock,
    notifiers: new Map([...receivers].map((r) => [r, rec])),
    signals,
    callCosts,
  });
  const costWindows = service.rules.flatMap((r) =>
    r.conditions.filter((c) => c.kind === 'single_call_cost').map((c) => c.windowMs),
  );
  if (costWindows.length > 0) replay = new CallCostReplay(opts.store, opts.from - Math.max(...costWindows), callCosts);
  const notReplayed = service.rules
    .map((r) => ({ rule: r.id, signals: missingSignals(r, signals) }))
    .filter((r) => r.signals.length > 0);
  const skipped = new Set(notReplayed.map((r) => r.rule));
  // data before `from` that a rule's window (or baseline, or month to date) reaches back to counts as data there
  const lookbackMs = Math.max(
    LOOKBACK_FLOOR_MS,
    ...service.rules.flatMap((r) => r.conditions.map((c) => c.windowMs + c.baselineDays * DAY_MS)),
  );
  const dataFrom = await firstDataHour(opts.store, opts.from - lookbackMs, opts.to);
  const steps = backtestSteps(firstStep, opts.to, stepMs, dataFrom);
  if (steps.total > MAX_BACKTEST_EVALUATIONS)
    throw new LlmscopeError(
      'LLMSCOPE_ERR_CONFIG_INVALID',
      `this backtest would run ${steps.total} evaluations (every ${stepMs / 1000}s from ${new Date(steps.start).toISOString()}), more than ${MAX_BACKTEST_EVALUATIONS} (a year of 1-minute steps): pass a larger --step (e.g. --step ${Math.ceil((steps.total * stepMs) / MAX_BACKTEST_EVALUATIONS / MINUTE_MS)}m) or a shorter range`,
    );
  now = steps.start;
  await service.init();
  const sent: NotificationRecord[] = [];
  const byRule: Record<string, { notifications: number; firings: number }> = {};
  const firings: BacktestResult['firings'] = [];
  const open = new Map<string, BacktestResult['firings'][number]>();
  const hadData = new Set<string>();
  let evaluations = 0;
  const total = steps.total;
  for (let t = steps.start; t <= opts.to; t += stepMs) {
    now = t;
    await replay?.advance(t);
    const { alerts, events } = await service.engine.evaluate(t);
    windows.evict();
    evaluations++;
    for (const h of service.engine.ruleHealth()) if (h.health === 'ok') hadData.add(h.ruleId);
    for (const e of events) {
      if (e.kind === 'resolved') {
        const f = open.get(e.fingerprint);
        if (f) f.resolvedAt = e.time;
        open.delete(e.fingerprint);
      }
      if (e.kind !== 'firing') continue;
      const r = byRule[e.alertname] ?? { notifications: 0, firings: 0 };
      byRule[e.alertname] = r;
      r.firings++;
      const f = { alertname: e.alertname, labels: e.labels, firedAt: e.time, resolvedAt: null };
      firings.push(f);
      open.set(e.fingerprint, f);
    }
    service.dispatcher.ingest(alerts, t);
    sent.push(...(await service.dispatcher.tick(t)));
    // groups due before the next evaluation flush at their own time
    for (
      let due = service.dispatcher.nextDue();
      due !== null && due < t + stepMs && due > t;
      due = service.dispatcher.nextDue()
    ) {
      now = due;
      const out = await service.dispatcher.tick(due);
      sent.push(...out);
      if (out.length === 0 && service.dispatcher.nextDue() === due) break;
    }
    opts.onProgress?.(evaluations, total);
  }
  const byReceiver: Record<string, number> = {};
  for (const n of sent) {
    byReceiver[n.receiver] = (byReceiver[n.receiver] ?? 0) + 1;
    for (const a of n.alertnames) {
      const r = byRule[a] ?? { notifications: 0, firings: 0 };
      byRule[a] = r;
      r.notifications++;
    }
  }
  return {
    from: opts.from,
    to: opts.to,
    stepMs,
    evaluations,
    dataFrom,
    skippedEvaluations: steps.skipped,
    notifications: sent.length,
    byReceiver,
    byRule,
    firings,
    rules: service.rules.length,
    withoutData: service.rules.filter((r) => !hadData.has(r.id) && !skipped.has(r.id)).map((r) => r.id),
    notReplayed,
    sent,
  };
}
