// Against fatigue, with Alertmanager's semantics: alerts are routed (severity routes) into aggregation groups
// (group_by); a new group waits group_wait before its first notification, then is looked at every group_interval
// and notified only when its set of firing alerts grew, or resolved alerts are to be told, or repeat_interval has
// passed. Silenced and inhibited alerts are left out. What each receiver was last told per group (the
// notification log) is persisted, so after a restart nothing already sent goes out again.

import type { NotifyAlert } from './engine.js';
import { type Matcher, matchesAll, parseMatchers } from './matchers.js';
import { type Notification, type Notifier, safeSend } from './notifiers/notifier.js';
import type { Silences } from './silences.js';
import type { AlertsConfig, ChildRouteInput, MatchersInput } from './spec.js';
import { ms } from './spec.js';
import type { AlertStateStore, NotificationRecord, NotifyLogEntry } from './state/types.js';

export interface ResolvedRoute {
  id: string;
  receiver: string;
  matchers: Matcher[];
  groupBy: string[] | 'all';
  groupWaitMs: number;
  groupIntervalMs: number;
  repeatIntervalMs: number;
  continue: boolean;
}

export interface InhibitRule {
  source: Matcher[];
  target: Matcher[];
  equal: string[];
}

/** The route tree from config: the root and its child routes (first match wins unless `continue`). */
export function routesOf(cfg: AlertsConfig): { root: ResolvedRoute; children: ResolvedRoute[] } {
  const r = cfg.route;
  const groupBy = (g: string[]) => (g.includes('...') ? ('all' as const) : g);
  const root: ResolvedRoute = {
    id: 'root',
    receiver: r.receiver,
    matchers: [],
    groupBy: groupBy(r.groupBy),
    groupWaitMs: ms(r.groupWait),
    groupIntervalMs: ms(r.groupInterval),
    repeatIntervalMs: ms(r.repeatInterval),
    continue: false,
  };
  const children = r.routes.map(
    (c: ChildRouteInput, i): ResolvedRoute => ({
      id: `root/${i}`,
      receiver: c.receiver ?? root.receiver,
      matchers: c.matchers ? parseMatchers(c.matchers) : [],
      groupBy: c.groupBy ? groupBy(c.groupBy) : root.groupBy,
      groupWaitMs: c.groupWait !== undefined ? ms(c.groupWait) : root.groupWaitMs,
      groupIntervalMs: c.groupInterval !== undefined ? ms(c.groupInterval) : root.groupIntervalMs,
      repeatIntervalMs: c.repeatInterval !== undefined ? ms(c.repeatInterval) : root.repeatIntervalMs,
      continue: c.continue ?? false,
    }),
  );
  return { root, children };
}

export function inhibitRulesOf(cfg: AlertsConfig): InhibitRule[] {
  return cfg.inhibitRules.map((i) => ({
    source: parseMatchers(i.sourceMatchers as MatchersInput),
    target: parseMatchers(i.targetMatchers as MatchersInput),
    equal: i.equal,
  }));
}

interface Group {
  key: string;
  route: ResolvedRoute;
  labels: Record<string, string>;
  alerts: Map<string, NotifyAlert>;
  nextFlush: number;
  failures: number;
}

export interface DispatcherOptions {
  routes: { root: ResolvedRoute; children: ResolvedRoute[] };
  inhibitRules: InhibitRule[];
  silences: Silences;
  notifiers: Map<string, Notifier>;
  state: AlertStateStore;
  /** Which receivers get resolved notifications (default: all). */
  sendResolved?: (receiver: string) => boolean;
  externalUrl?: string;
  /** Called after every delivery attempt (metrics). */
  onResult?: (receiver: string, ok: boolean, error?: string) => void;
  /**
   * Asked right before each notification is sent: false holds it back (this replica is no longer the elected
   * evaluator; the one that is will send it, knowing from the shared notification log what went out already).
   */
  maySend?: () => Promise<boolean>;
}

/** Whether a receiver needs to be told (Alertmanager's DedupStage). */
export function needsUpdate(
  entry: NotifyLogEntry | undefined,
  firing: ReadonlySet<string>,
  resolved: ReadonlySet<string>,
  now: number,
  repeatMs: number,
  sendResolved: boolean,
): boolean {
  if (!entry) return firing.size > 0;
  const prevFiring = new Set(entry.firing);
  if ([...firing].some((f) => !prevFiring.has(f))) return true;
  if (firing.size === 0) return entry.firing.length > 0;
  const prevResolved = new Set(entry.resolved);
  if (sendResolved && [...resolved].some((f) => !prevResolved.has(f))) return true;
  return entry.sentAt <= now - repeatMs;
}

export class Dispatcher {
  private readonly groups = new Map<string, Group>();
  /** Latest state of every alert the dispatcher knows (inhibition sources). */
  private readonly alerts = new Map<string, NotifyAlert>();
  private readonly nflog = new Map<string, NotifyLogEntry>();
  private flushing = false;

  constructor(private readonly opts: DispatcherOptions) {}

  /** Loads the notification log, forgetting groups and alerts held from before (a takeover starts afresh). */
  async restore(): Promise<void> {
    this.groups.clear();
    this.alerts.clear();
    this.nflog.clear();
    for (const e of await this.opts.state.loadNotifyLog()) this.nflog.set(e.key, e);
  }

  /** Routes of an alert: the matching child routes (first, or more with `continue`), else the root. */
  routesFor(labels: Record<string, string>): ResolvedRoute[] {
    const out: ResolvedRoute[] = [];
    for (const c of this.opts.routes.children) {
      if (!matchesAll(c.matchers, labels)) continue;
      out.push(c);
      if (!c.continue) break;
    }
    return out.length ? out : [this.opts.routes.root];
  }

  private groupLabels(route: ResolvedRoute, labels: Record<string, string>): Record<string, string> {
    if (route.groupBy === 'all') return { ...labels };
    const out: Record<string, string> = {};
    for (const g of route.groupBy) if (labels[g] !== undefined) out[g] = labels[g] as string;
    return out;
  }

  /**
   * Takes the engine's alerts (firing ones refreshed, resolved ones once). A resolved alert is taken even when this
   * dispatcher never held it (it fired before a restart or under another leader): the notification log, restored
   * from the store, decides whether a receiver was told it fired and so must be told it resolved (needsUpdate).
   */
  ingest(alerts: readonly NotifyAlert[], now: number): void {
    for (const a of alerts) {
      this.alerts.set(a.fingerprint, a);
      for (const route of this.routesFor(a.labels)) {
        const labels = this.groupLabels(route, a.labels);
        const key = `${route.id}:${JSON.stringify(Object.entries(labels).sort(([x], [y]) => x.localeCompare(y)))}`;
        let g = this.groups.get(key);
        if (!g) {
          // an alert that has fired for longer than group_wait already (e.g. after a restart) is not held back
          const wait = a.startsAt + route.groupWaitMs < now ? 0 : route.groupWaitMs;
          g = { key, route, labels, alerts: new Map(), nextFlush: now + wait, failures: 0 };
          this.groups.set(key, g);
        }
        g.alerts.set(a.fingerprint, a);
      }
    }
  }

  /** When the next group is due (for backtests that step through time). */
  nextDue(): number | null {
    let min: number | null = null;
    for (const g of this.groups.values()) if (min === null || g.nextFlush < min) min = g.nextFlush;
    return min;
  }

  /** Why an alert is muted now: silence ids or the fingerprint of an inhibiting alert; null when it is not. */
  mutedBy(a: NotifyAlert, now: number): { silences: string[]; inhibitedBy: string | null } | null {
    const silences = this.opts.silences.mutedBy(a.labels, now);
    const inhibitedBy = this.inhibitor(a, now);
    return silences.length || inhibitedBy ? { silences, inhibitedBy } : null;
  }

  private inhibitor(a: NotifyAlert, now: number): string | null {
    // A resolved alert is judged as it last fired: one inhibited then was never shown, so its resolving is not shown
    // either. Judged at the flush, after its source resolved with it, it was sent as resolved to a receiver whose
    // group had been told of the source alone (QA45: grouped by model, 'RESOLVED GLatency, GErrors' after a page
    // that named only GDegraded).
    const at = Math.min(now, a.endsAt - 1);
    const firing = (s: NotifyAlert) => (a.status === 'resolved' ? s.startsAt <= at && s.endsAt > at : isFiring(s, now));
    for (const rule of this.opts.inhibitRules) {
      if (!matchesAll(rule.target, a.labels)) continue;
      for (const s of this.alerts.values()) {
        if (s.fingerprint === a.fingerprint || !firing(s)) continue;
        if (!matchesAll(rule.source, s.labels)) continue;
        if (rule.equal.every((l) => (s.labels[l] ?? '') === (a.labels[l] ?? ''))) return s.fingerprint;
      }
    }
    return null;
  }

  /** Flushes every group that is due; returns the notifications sent (or attempted). */
  async tick(now: number): Promise<NotificationRecord[]> {
    if (this.flushing) return [];
    this.flushing = true;
    const out: NotificationRecord[] = [];
    try {
      for (const g of [...this.groups.values()]) if (g.nextFlush <= now) await this.flush(g, now, out);
      // forget alerts that resolved and are in no group any more
      for (const [fp, a] of this.alerts)
        if (!isFiring(a, now) && ![...this.groups.values()].some((g) => g.alerts.has(fp))) this.alerts.delete(fp);
    } finally {
      this.flushing = false;
    }
    return out;
  }

  private async flush(g: Group, now: number, out: NotificationRecord[]): Promise<void> {
    const current = [...g.alerts.values()].map((a) =>
      a.status === 'firing' && a.endsAt <= now ? { ...a, status: 'resolved' as const } : a,
    );
    const receiver = g.route.receiver;
    const sendResolved = this.opts.sendResolved?.(receiver) ?? true;
    const logKey = `${g.key}|${receiver}`;
    const entry = this.nflog.get(logKey);
    // What the receiver was last told fires. An alert silenced (or inhibited) after that is not sent again while it
    // fires, but the receiver is still told when it resolves: else a PagerDuty incident opened for it stays open (the
    // on-call silences what they are working on; Alertmanager's long-standing #226). While it fires muted it stays
    // in the log's firing set, so that resolution is still known to be owed.
    const told = new Set(entry?.firing ?? []);
    const visible: NotifyAlert[] = [];
    const stillTold: string[] = [];
    for (const a of current) {
      if (this.mutedBy(a, now) === null) visible.push(a);
      else if (told.has(a.fingerprint)) {
        if (a.status === 'firing') stillTold.push(a.fingerprint);
        else if (sendResolved) visible.push(a);
      }
    }
    const firing = visible.filter((a) => a.status === 'firing');
    const resolved = visible.filter((a) => a.status === 'resolved');
    const firingSet = new Set([...firing.map((a) => a.fingerprint), ...stillTold]);
    const resolvedSet = new Set(resolved.map((a) => a.fingerprint));
    if (visible.length > 0 && needsUpdate(entry, firingSet, resolvedSet, now, g.route.repeatIntervalMs, sendResolved)) {
      const payload = sendResolved ? [...firing, ...resolved] : firing;
      if (payload.length > 0) {
        if (this.opts.maySend && !(await this.opts.maySend())) return;
        const n = this.notification(g, receiver, payload);
        const notifier = this.opts.notifiers.get(receiver);
        const result = notifier ? await safeSend(notifier, n) : { ok: false, error: `no receiver named ${receiver}` };
        this.opts.onResult?.(receiver, result.ok, result.error);
        const rec: NotificationRecord = {
          time: now,
          receiver,
          groupKey: g.key,
          status: n.status,
          alertnames: [...new Set(payload.map((a) => a.labels.alertname ?? ''))],
          firing: firing.length,
          resolved: payload.length - firing.length,
          result: result.ok ? 'success' : 'failure',
          ...(result.error ? { error: result.error } : {}),
        };
        out.push(rec);
        await this.opts.state.appendNotification(rec);
        if (!result.ok) {
          // retry with backoff, at most every group_interval; the group keeps its alerts
          g.failures++;
          g.nextFlush = now + Math.min(g.route.groupIntervalMs, 5_000 * 2 ** Math.min(g.failures - 1, 10));
          return;
        }
      }
      g.failures = 0;
      const e: NotifyLogEntry = { key: logKey, firing: [...firingSet], resolved: [...resolvedSet], sentAt: now };
      this.nflog.set(logKey, e);
      await this.opts.state.putNotifyLog(e);
    }
    for (const a of current) if (a.status === 'resolved') g.alerts.delete(a.fingerprint);
    if (g.alerts.size === 0) this.groups.delete(g.key);
    else g.nextFlush = now + g.route.groupIntervalMs;
  }

  private notification(g: Group, receiver: string, alerts: NotifyAlert[]): Notification {
    const common = (pick: (a: NotifyAlert) => Record<string, string>): Record<string, string> => {
      const [first, ...rest] = alerts;
      if (!first) return {};
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(pick(first))) if (rest.every((a) => pick(a)[k] === v)) out[k] = v;
      return out;
    };
    return {
      receiver,
      status: alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
      groupKey: g.key,
      groupLabels: g.labels,
      commonLabels: common((a) => a.labels),
      commonAnnotations: common((a) => a.annotations),
      externalUrl: this.opts.externalUrl ?? '',
      alerts,
    };
  }

  /** Groups and their alerts, for the API. */
  snapshot(): { key: string; receiver: string; labels: Record<string, string>; alerts: number; nextFlush: number }[] {
    return [...this.groups.values()].map((g) => ({
      key: g.key,
      receiver: g.route.receiver,
      labels: g.labels,
      alerts: g.alerts.size,
      nextFlush: g.nextFlush,
    }));
  }
}

function isFiring(a: NotifyAlert, now: number): boolean {
  return a.status === 'firing' && a.endsAt > now;
}
