// The rule evaluator: on each evaluation, every rule's value per group comes from rollups (or a registered signal),
// and each alert moves inactive → pending → firing → resolved with Prometheus's semantics: `for` counts from the
// first evaluation the condition held and resets when it stops holding; with `for` 0 an alert fires at once;
// `keep_firing_for` keeps a firing alert firing after its condition clears. State is persisted after every
// evaluation, so a restart resumes pending clocks and firing alerts instead of starting over.
import { createHash } from 'node:crypto';
import { SignalRegistry } from '../signals/index.js';
import type { RollupPoint, RollupQuery, Store } from '../store/store.js';
import { CallCostTracker } from './call-cost-tracker.js';
import { type EvalEnv, evaluateConditions, KINDS } from './kinds/index.js';
import type { Condition, Rule, Sample } from './model.js';
import type { ActiveAlert, AlertEvent, AlertStateStore } from './state/types.js';
import { renderAnnotations } from './template.js';

/** An alert as the dispatcher sees it (Alertmanager's model). */
export interface NotifyAlert {
  fingerprint: string;
  ruleId: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  status: 'firing' | 'resolved';
  /** When it started firing. */
  startsAt: number;
  /** When it resolved; for firing alerts, when it counts as resolved if not refreshed (4 evaluation intervals). */
  endsAt: number;
  value: number;
}

export interface RuleHealth {
  ruleId: string;
  health: 'unknown' | 'ok' | 'err' | 'nodata';
  lastError: string | null;
  lastEvaluatedAt: number | null;
  lastDurationMs: number | null;
}

export interface EngineOptions {
  rules: readonly Rule[];
  store: Store;
  state: AlertStateStore;
  signals?: SignalRegistry;
  callCosts?: CallCostTracker;
  /** Used for endsAt of firing alerts (default 30 s). */
  evaluationIntervalMs?: number;
  /** A pending alert last seen longer ago than this when restored restarts its `for` (default 1 h). */
  forOutageToleranceMs?: number;
}

export function fingerprintOf(labels: Record<string, string>): string {
  const keys = Object.keys(labels).sort();
  const h = createHash('sha256');
  for (const k of keys) h.update(`${k}\u0000${labels[k]}\u0000`);
  return h.digest('hex').slice(0, 16);
}

/** Labels of an alert: the group's labels, the rule's labels, then alertname and severity. */
export function alertLabels(rule: Rule, sample: Sample): Record<string, string> {
  return { ...sample.labels, ...rule.labels, alertname: rule.name, severity: rule.severity };
}

export class Engine {
  readonly rules: readonly Rule[];
  private readonly store: Store;
  private readonly state: AlertStateStore;
  readonly signals: SignalRegistry;
  readonly callCosts: CallCostTracker;
  private readonly intervalMs: number;
  private readonly outageToleranceMs: number;
  /** ruleId → fingerprint → alert. */
  private readonly active = new Map<string, Map<string, ActiveAlert>>();
  private readonly health = new Map<string, RuleHealth>();

  constructor(opts: EngineOptions) {
    this.rules = opts.rules;
    this.store = opts.store;
    this.state = opts.state;
    this.signals = opts.signals ?? new SignalRegistry();
    this.callCosts = opts.callCosts ?? new CallCostTracker();
    this.intervalMs = opts.evaluationIntervalMs ?? 30_000;
    this.outageToleranceMs = opts.forOutageToleranceMs ?? 3_600_000;
    for (const r of this.rules)
      this.health.set(r.id, {
        ruleId: r.id,
        health: 'unknown',
        lastError: null,
        lastEvaluatedAt: null,
        lastDurationMs: null,
      });
  }

  /**
   * Loads persisted alerts (those of rules that no longer exist are dropped). Given `now`, a pending alert not seen
   * for longer than the outage tolerance restarts its `for` at `now`, as Prometheus forgets such pending state: the
   * condition may not have held while nothing evaluated it. Firing alerts stay firing until an evaluation says.
   */
  async restore(now?: number): Promise<void> {
    const ids = new Set(this.rules.map((r) => r.id));
    // Read first, then swap in one go: a follower restores at every evaluation, and an /api/alerts answered while
    // the read was out said nothing was firing (QA31: 9 of 1,500 answers of a follower with 4 alerts firing).
    const loaded = await this.state.loadActive();
    this.active.clear();
    for (const a of loaded) {
      if (!ids.has(a.ruleId)) continue;
      if (now !== undefined && a.state === 'pending' && now - a.lastSeenAt > this.outageToleranceMs) {
        a.activeAt = now;
        a.lastSeenAt = now;
      }
      let m = this.active.get(a.ruleId);
      if (!m) {
        m = new Map();
        this.active.set(a.ruleId, m);
      }
      m.set(a.fingerprint, a);
    }
  }

  /** Every active (pending or firing) alert. */
  activeAlerts(): ActiveAlert[] {
    return [...this.active.values()].flatMap((m) => [...m.values()]);
  }

  ruleHealth(): RuleHealth[] {
    return [...this.health.values()].map((h) => ({ ...h }));
  }

  /**
   * Evaluates every rule at `now`; returns the alerts to hand to the dispatcher (all firing ones, refreshed, and the
   * ones that resolved now) and the state changes. A rule whose query fails keeps its alerts as they were.
   */
  async evaluate(now: number): Promise<{ alerts: NotifyAlert[]; events: AlertEvent[] }> {
    const cache = new Map<string, Promise<RollupPoint[]>>();
    const env: EvalEnv = {
      now,
      rollups: (q: RollupQuery) => {
        const key = JSON.stringify(q);
        let p = cache.get(key);
        if (!p) {
          p = this.store.queryRollups(q);
          cache.set(key, p);
        }
        return p;
      },
      signals: this.signals,
      callCosts: this.callCosts,
    };
    const events: AlertEvent[] = [];
    const resolved: NotifyAlert[] = [];
    for (const rule of this.rules) {
      const started = Date.now();
      const h = this.health.get(rule.id) as RuleHealth;
      let results: { sample: Sample; holds: boolean }[];
      try {
        results = await evaluateConditions(rule.conditions, rule.groupBy, (c: Condition) =>
          KINDS[c.kind].evaluate(c, rule.groupBy, env),
        );
        h.health = results.length === 0 ? 'nodata' : 'ok';
        h.lastError = null;
      } catch (err) {
        h.health = 'err';
        h.lastError = (err as Error)?.message ?? String(err);
        h.lastEvaluatedAt = now;
        h.lastDurationMs = Date.now() - started;
        continue;
      }
      h.lastEvaluatedAt = now;
      h.lastDurationMs = Date.now() - started;
      this.apply(rule, results, now, events, resolved);
    }
    await this.state.saveActive(this.activeAlerts());
    await this.state.appendEvents(events);
    const firing = this.activeAlerts()
      .filter((a) => a.state === 'firing')
      .map(
        (a): NotifyAlert => ({
          fingerprint: a.fingerprint,
          ruleId: a.ruleId,
          labels: a.labels,
          annotations: a.annotations,
          status: 'firing',
          startsAt: a.firedAt ?? a.activeAt,
          endsAt: now + 4 * this.intervalMs,
          value: a.value,
        }),
      );
    return { alerts: [...firing, ...resolved], events };
  }

  private apply(
    rule: Rule,
    results: { sample: Sample; holds: boolean }[],
    now: number,
    events: AlertEvent[],
    resolved: NotifyAlert[],
  ): void {
    let m = this.active.get(rule.id);
    if (!m) {
      m = new Map();
      this.active.set(rule.id, m);
    }
    const seen = new Set<string>();
    const event = (kind: AlertEvent['kind'], a: ActiveAlert) =>
      events.push({
        time: now,
        kind,
        ruleId: rule.id,
        alertname: rule.name,
        fingerprint: a.fingerprint,
        labels: a.labels,
        value: a.value,
        activeAt: a.activeAt,
        firedAt: a.firedAt,
      });
    for (const { sample, holds } of results) {
      if (!holds) continue;
      const labels = alertLabels(rule, sample);
      const fp = fingerprintOf(labels);
      seen.add(fp);
      const value = tidyValue(sample.value);
      const annotations = renderAnnotations(rule.annotations, sample.labels, value);
      let a = m.get(fp);
      if (a) {
        a.value = value;
        a.annotations = annotations;
        a.lastSeenAt = now;
        a.keepFiringSince = null;
      } else {
        a = {
          ruleId: rule.id,
          fingerprint: fp,
          labels,
          annotations,
          state: 'pending',
          value,
          activeAt: now,
          firedAt: null,
          lastSeenAt: now,
          keepFiringSince: null,
        };
        m.set(fp, a);
        event('pending', a);
      }
    }
    for (const [fp, a] of m) {
      if (seen.has(fp)) continue;
      if (a.state === 'pending') {
        m.delete(fp);
        event('pending_aborted', a);
        continue;
      }
      if (rule.keepFiringForMs > 0) {
        if (a.keepFiringSince === null) a.keepFiringSince = now;
        if (now - a.keepFiringSince < rule.keepFiringForMs) continue;
      }
      m.delete(fp);
      event('resolved', a);
      resolved.push({
        fingerprint: fp,
        ruleId: rule.id,
        labels: a.labels,
        annotations: a.annotations,
        status: 'resolved',
        startsAt: a.firedAt ?? a.activeAt,
        endsAt: now,
        value: a.value,
      });
    }
    for (const a of m.values()) {
      if (a.state === 'pending' && now - a.activeAt >= rule.forMs) {
        a.state = 'firing';
        a.firedAt = now;
        event('firing', a);
      }
    }
  }
}

/**
 * A judged value as notifications, /api/alerts and annotations show it: 12 significant digits, so a sum of
 * 0.1 + 0.2 dollars reads 0.3, not 0.30000000000000004 (QA45). The rule compared the exact value already.
 */
function tidyValue(v: number): number {
  return Number.isFinite(v) ? Number(v.toPrecision(12)) : v;
}
