// Alerts inhibited while they fired were sent as resolved. With a route grouping by model, GDegraded (an `all` rule)
// inhibited GLatency and GErrors of the same model: the page named GDegraded alone, then, when all three resolved at
// one evaluation, 'RESOLVED' named GLatency and GErrors too, alerts the receiver was never told of (QA45, serve with a
// webhook): judged at the flush, their source had resolved, so they no longer counted as inhibited. A resolved alert
// is now judged as it last fired.
import { describe, expect, it } from 'vitest';
import { alertsConfigOf } from './config.js';
import { Dispatcher, inhibitRulesOf, routesOf } from './dispatcher.js';
import { fingerprintOf, type NotifyAlert } from './engine.js';
import type { Notification, Notifier, NotifyResult } from './notifiers/notifier.js';
import { Silences } from './silences.js';
import { MemoryAlertStateStore } from './state/memory.js';

const T0 = Date.UTC(2026, 11, 7, 13, 0, 0);
const S = 1000;

class Rec implements Notifier {
  readonly kind = 'test';
  sent: Notification[] = [];
  async send(n: Notification): Promise<NotifyResult> {
    this.sent.push(n);
    return { ok: true };
  }
}

const alert = (name: string, severity: string): NotifyAlert => {
  const labels = { alertname: name, severity, model: 'gpt-4o' };
  return {
    fingerprint: fingerprintOf(labels),
    ruleId: name,
    labels,
    annotations: {},
    status: 'firing',
    startsAt: T0,
    endsAt: T0 + 120 * S,
    value: 1,
  };
};

describe('an alert inhibited while it fired', () => {
  it('is not told resolved to a group that was told only of its source', async () => {
    const config = alertsConfigOf({
      route: { receiver: 'hook', groupBy: ['model'], groupWait: '5s', groupInterval: '10s', routes: [] },
      receivers: [{ name: 'hook', webhook: { url: 'http://127.0.0.1:9/g' } }],
      inhibitRules: [
        {
          sourceMatchers: ['alertname="GDegraded"'],
          targetMatchers: ['alertname=~"GLatency|GErrors"'],
          equal: ['model'],
        },
      ],
    });
    const state = new MemoryAlertStateStore();
    const hook = new Rec();
    const d = new Dispatcher({
      routes: routesOf(config),
      inhibitRules: inhibitRulesOf(config),
      silences: new Silences(state),
      notifiers: new Map<string, Notifier>([['hook', hook]]),
      state,
    });
    const alerts = [alert('GLatency', 'critical'), alert('GErrors', 'warning'), alert('GDegraded', 'critical')];
    const refusals = alert('GRefusals', 'warning');
    d.ingest([...alerts, refusals], T0);
    for (let t = T0; t <= T0 + 60 * S; t += S) await d.tick(t);
    // all four resolve at one evaluation
    const at = T0 + 90 * S;
    d.ingest(
      [...alerts, refusals].map((a) => ({ ...a, status: 'resolved' as const, endsAt: at })),
      at,
    );
    for (let t = at; t <= at + 30 * S; t += S) await d.tick(t);
    expect(hook.sent.map((n) => [n.status, n.alerts.map((a) => a.labels.alertname).sort()])).toEqual([
      ['firing', ['GDegraded', 'GRefusals']],
      ['resolved', ['GDegraded', 'GRefusals']],
    ]);
  });
});
