// Backtest: runs the rules over stored history (rollups) on a virtual clock, with the real grouping, inhibition
// and routing, and counts the notifications they would have sent — so thresholds can be tuned before they page.
import type { Store } from '../store/store.js';
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
  /** Called after each evaluation with how many are done of how many in all (for progress bars). */
  onProgress?: (done: number, total: number) => void;
}

export interface BacktestResult {
  from: number;
  to: number;
  stepMs: number;
  evaluations: number;
  notifications: number;
  byReceiver: Record<string, number>;
  /** alertname → notifications that mention it, and how often it started firing. */
  byRule: Record<string, { notifications: number; firings: number }>;
  /** How many rules were evaluated. */
  rules: number;
  /** Rules that never had data over the period (e.g. signals not in the store, or minute rollups past retention). */
  withoutData: string[];
  sent: NotificationRecord[];
}

class RecordingNotifier implements Notifier {
  readonly kind = 'backtest';
  async send(): Promise<NotifyResult> {
    return { ok: true };
  }
}

export async function backtest(opts: BacktestOptions): Promise<BacktestResult> {
  const stepMs = opts.stepMs ?? Math.max(60_000, ms(opts.config.evaluationInterval));
  let now = opts.from;
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
  const service = new AlertsService({
    config: opts.config,
    store: opts.store,
    state: new MemoryAlertStateStore(),
    clock,
    notifiers: new Map([...receivers].map((r) => [r, rec])),
  });
  await service.init();
  const sent: NotificationRecord[] = [];
  const byRule: Record<string, { notifications: number; firings: number }> = {};
  const hadData = new Set<string>();
  let evaluations = 0;
  const total = Math.floor((opts.to - opts.from) / stepMs) + 1;
  for (let t = opts.from; t <= opts.to; t += stepMs) {
    now = t;
    const { alerts, events } = await service.engine.evaluate(t);
    evaluations++;
    for (const h of service.engine.ruleHealth()) if (h.health === 'ok') hadData.add(h.ruleId);
    for (const e of events) {
      if (e.kind !== 'firing') continue;
      const r = byRule[e.alertname] ?? { notifications: 0, firings: 0 };
      byRule[e.alertname] = r;
      r.firings++;
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
    notifications: sent.length,
    byReceiver,
    byRule,
    rules: service.rules.length,
    withoutData: service.rules.filter((r) => !hadData.has(r.id)).map((r) => r.id),
    sent,
  };
}
