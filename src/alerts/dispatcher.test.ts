import { describe, expect, it } from 'vitest';
import { type AlertsConfigInput, alertsConfigOf } from './config.js';
import { Dispatcher, inhibitRulesOf, needsUpdate, routesOf } from './dispatcher.js';
import { fingerprintOf, type NotifyAlert } from './engine.js';
import type { Notification, Notifier, NotifyResult } from './notifiers/notifier.js';
import { Silences } from './silences.js';
import { MemoryAlertStateStore } from './state/memory.js';

const T0 = Date.UTC(2025, 0, 6, 12, 0, 0);
const S = 1000;

class Rec implements Notifier {
  readonly kind = 'test';
  sent: Notification[] = [];
  fail: string | null = null;
  throws = false;
  async send(n: Notification): Promise<NotifyResult> {
    if (this.throws) throw new Error('boom');
    this.sent.push(n);
    return this.fail ? { ok: false, error: this.fail } : { ok: true };
  }
}

function alert(name: string, labels: Record<string, string>, o: Partial<NotifyAlert> = {}): NotifyAlert {
  const l = { alertname: name, severity: 'warning', ...labels };
  return {
    fingerprint: fingerprintOf(l),
    ruleId: name,
    labels: l,
    annotations: { summary: `${name} ${labels.model ?? ''}` },
    status: 'firing',
    startsAt: T0,
    endsAt: T0 + 10 * 60 * S,
    value: 1,
    ...o,
  };
}

function setup(
  extra: Partial<AlertsConfigInput> = {},
  state = new MemoryAlertStateStore(),
  sendResolved?: (receiver: string) => boolean,
) {
  const config = alertsConfigOf({ route: { groupWait: '30s', groupInterval: '5m', repeatInterval: '4h' }, ...extra });
  const silences = new Silences(state);
  const page = new Rec();
  const notify = new Rec();
  const log = new Rec();
  const results: [string, boolean][] = [];
  const d = new Dispatcher({
    routes: routesOf(config),
    inhibitRules: inhibitRulesOf(config),
    silences,
    notifiers: new Map<string, Notifier>([
      ['page', page],
      ['notify', notify],
      ['log', log],
    ]),
    state,
    onResult: (r, ok) => results.push([r, ok]),
    sendResolved,
  });
  return { d, page, notify, log, silences, state, results };
}

/** Feeds the same alerts every 30 s (as the engine does) and ticks every second, from `from` to `to`. */
async function run(d: Dispatcher, alerts: () => NotifyAlert[], from: number, to: number) {
  for (let t = from; t <= to; t += S) {
    if ((t - from) % (30 * S) === 0)
      d.ingest(
        alerts().map((a) => ({ ...a, endsAt: t + 120 * S })),
        t,
      );
    await d.tick(t);
  }
}

describe('dispatcher', () => {
  it('routes by severity: critical pages, warning notifies, info only logs', async () => {
    const { d, page, notify, log } = setup();
    d.ingest(
      [
        alert('A', { model: 'm' }, { labels: { alertname: 'A', severity: 'critical', model: 'm' } }),
        alert('B', { model: 'm' }),
        alert('C', { gpu: '0' }, { labels: { alertname: 'C', severity: 'info', gpu: '0' } }),
      ],
      T0,
    );
    await d.tick(T0 + 30 * S);
    expect(page.sent.map((n) => n.commonLabels.alertname)).toEqual(['A']);
    expect(notify.sent.map((n) => n.commonLabels.alertname)).toEqual(['B']);
    expect(log.sent.map((n) => n.commonLabels.alertname)).toEqual(['C']);
  });

  it('waits group_wait, groups by alertname and model, then tells only what changed', async () => {
    const { d, notify } = setup();
    let alerts = [alert('HighTTFT', { model: 'a', provider: 'p1' }), alert('HighTTFT', { model: 'a', provider: 'p2' })];
    await run(d, () => alerts, T0, T0 + 29 * S);
    expect(notify.sent).toEqual([]); // group_wait
    await run(d, () => alerts, T0 + 30 * S, T0 + 60 * S);
    expect(notify.sent).toHaveLength(1);
    expect(notify.sent[0]?.alerts).toHaveLength(2); // one notification for the group
    expect(notify.sent[0]?.groupLabels).toEqual({ alertname: 'HighTTFT', model: 'a' });
    // nothing new: silent until repeat_interval (4h)
    await run(d, () => alerts, T0 + 61 * S, T0 + 20 * 60 * S);
    expect(notify.sent).toHaveLength(1);
    // a new alert joins the group: told at the next group_interval tick, not at once
    alerts = [...alerts, alert('HighTTFT', { model: 'a', provider: 'p3' })];
    await run(d, () => alerts, T0 + 20 * 60 * S + S, T0 + 26 * 60 * S);
    expect(notify.sent).toHaveLength(2);
    expect(notify.sent[1]?.alerts).toHaveLength(3);
    const at = notify.sent.length;
    // another model is another group
    alerts = [...alerts, alert('HighTTFT', { model: 'b' })];
    await run(d, () => alerts, T0 + 26 * 60 * S + S, T0 + 27 * 60 * S);
    expect(notify.sent.slice(at).map((n) => n.groupLabels.model)).toEqual(['b']);
  });

  it('repeats after repeat_interval and sends one resolved notification', async () => {
    const { d, notify } = setup({ route: { groupWait: '10s', groupInterval: '1m', repeatInterval: '10m' } });
    const a = alert('HighTTFT', { model: 'a' });
    await run(d, () => [a], T0, T0 + 11 * 60 * S);
    expect(notify.sent.map((n) => n.status)).toEqual(['firing', 'firing']);
    d.ingest([{ ...a, status: 'resolved', endsAt: T0 + 11 * 60 * S + S }], T0 + 11 * 60 * S + S);
    for (let t = T0 + 11 * 60 * S + S; t < T0 + 20 * 60 * S; t += S) await d.tick(t);
    expect(notify.sent.map((n) => n.status)).toEqual(['firing', 'firing', 'resolved']);
    expect(d.snapshot()).toEqual([]);
  });

  it('after a restart, tells a receiver an alert resolved that it was told fired before, and nothing else', async () => {
    const route = { groupWait: '10s', groupInterval: '1m', repeatInterval: '4h' };
    const { d, notify, state } = setup({ route });
    const a = alert('HighTTFT', { model: 'a' });
    await run(d, () => [a], T0, T0 + 60 * S);
    expect(notify.sent.map((n) => n.status)).toEqual(['firing']);
    // A new process (or a new leader) on the same state: the notification log is all it knows of the past.
    const { d: d2, notify: notify2 } = setup({ route }, state);
    await d2.restore();
    const at = T0 + 10 * 60 * S;
    const never = alert('HighTTFT', { model: 'b' }); // resolved without ever having been notified
    d2.ingest(
      [
        { ...a, status: 'resolved', endsAt: at },
        { ...never, status: 'resolved', endsAt: at },
      ],
      at,
    );
    for (let t = at; t < at + 5 * 60 * S; t += S) await d2.tick(t);
    expect(notify2.sent.map((n) => [n.status, n.groupLabels.model])).toEqual([['resolved', 'a']]);
    expect(d2.snapshot()).toEqual([]);
  });

  it('ServiceDegraded inhibits HighLatency and HighErrorRate of the same model only', async () => {
    const { d, page, notify } = setup();
    const alerts = [
      alert(
        'ServiceDegraded',
        { model: 'a' },
        { labels: { alertname: 'ServiceDegraded', severity: 'critical', model: 'a' } },
      ),
      alert('HighLatency', { model: 'a' }),
      alert('HighErrorRate', { model: 'a' }),
      alert('HighLatency', { model: 'b' }),
    ];
    await run(d, () => alerts, T0, T0 + 10 * 60 * S);
    expect(page.sent).toHaveLength(1);
    expect(page.sent[0]?.alerts.map((x) => x.labels.alertname)).toEqual(['ServiceDegraded']);
    expect(notify.sent.map((n) => `${n.commonLabels.alertname}/${n.commonLabels.model}`)).toEqual(['HighLatency/b']);
    expect(d.mutedBy(alerts[1] as NotifyAlert, T0 + 60 * S)?.inhibitedBy).toBe(alerts[0]?.fingerprint);
  });

  it('silences mute matching alerts until they expire', async () => {
    const { d, notify, silences } = setup();
    const s = await silences.create({ matchers: ['model="a"', 'alertname=~"High.*"'], endsAt: T0 + 5 * 60 * S }, T0);
    const a = alert('HighTTFT', { model: 'a' });
    await run(d, () => [a], T0, T0 + 4 * 60 * S);
    expect(notify.sent).toEqual([]);
    expect(d.mutedBy(a, T0)?.silences).toEqual([s.id]);
    await run(d, () => [a], T0 + 4 * 60 * S + S, T0 + 12 * 60 * S);
    expect(notify.sent).toHaveLength(1);
    await expect(silences.create({ matchers: ['model=~".*"'], endsAt: T0 + 60 * S }, T0)).rejects.toThrow(
      /every alert/,
    );
    await expect(silences.create({ matchers: ['model="a"'], endsAt: T0 - 1 }, T0)).rejects.toThrow(/after starts_at/);
    await expect(silences.create({ matchers: ['model="a'], endsAt: T0 + 1 }, T0)).rejects.toThrow(/not a matcher/);
  });

  it('tells a receiver an alert it was told fired has resolved, even when it was silenced meanwhile', async () => {
    const { d, notify, silences } = setup();
    const a = alert('HighTTFT', { model: 'm', provider: 'a' });
    const b = alert('HighTTFT', { model: 'm', provider: 'b' });
    // both fire and are notified together (one group: alertname and model)
    await run(d, () => [a, b], T0, T0 + 60 * S);
    expect(notify.sent.map((n) => [n.status, n.alerts.length])).toEqual([['firing', 2]]);
    // the on-call silences a while they work on it; b goes on firing
    await silences.create(
      { matchers: ['alertname="HighTTFT"', 'provider="a"'], endsAt: T0 + 60 * 60 * S },
      T0 + 61 * S,
    );
    await run(d, () => [a, b], T0 + 61 * S, T0 + 10 * 60 * S);
    expect(notify.sent).toHaveLength(1);
    // a resolves under its silence: the receiver is told (its incident would stay open otherwise), b still fires
    const at = T0 + 10 * 60 * S + S;
    d.ingest([{ ...a, status: 'resolved', endsAt: at }], at);
    await run(d, () => [b], at, at + 6 * 60 * S);
    expect(notify.sent).toHaveLength(2);
    const told = notify.sent[1] as Notification;
    expect(told.alerts.map((x) => [x.labels.provider, x.status])).toEqual([
      ['b', 'firing'],
      ['a', 'resolved'],
    ]);
  });

  it('tells nothing of an alert silenced before it was ever notified, nor to a receiver without resolved notices', async () => {
    const { d, notify, silences } = setup();
    const a = alert('HighTTFT', { model: 'a' });
    await silences.create({ matchers: ['model="a"', 'alertname="HighTTFT"'], endsAt: T0 + 60 * 60 * S }, T0);
    await run(d, () => [a], T0, T0 + 5 * 60 * S);
    const at = T0 + 5 * 60 * S + S;
    d.ingest([{ ...a, status: 'resolved', endsAt: at }], at);
    await run(d, () => [], at, at + 6 * 60 * S);
    expect(notify.sent).toEqual([]);

    const quiet = setup({}, new MemoryAlertStateStore(), () => false);
    const c = alert('HighTTFT', { model: 'c' });
    await run(quiet.d, () => [c], T0, T0 + 60 * S);
    await quiet.silences.create(
      { matchers: ['model="c"', 'alertname="HighTTFT"'], endsAt: T0 + 3600 * S },
      T0 + 61 * S,
    );
    const end = T0 + 2 * 60 * S;
    quiet.d.ingest([{ ...c, status: 'resolved', endsAt: end }], end);
    await run(quiet.d, () => [], end, end + 6 * 60 * S);
    expect(quiet.notify.sent.map((n) => n.status)).toEqual(['firing']);
  });

  it('counts a failed notification, retries it, and never throws', async () => {
    const { d, notify, results, state } = setup();
    notify.fail = 'HTTP 500';
    const a = alert('HighTTFT', { model: 'a' });
    await run(d, () => [a], T0, T0 + 40 * S);
    // first try after group_wait, a retry 5 s later (backoff)
    expect(results).toEqual([
      ['notify', false],
      ['notify', false],
    ]);
    notify.throws = true;
    await run(d, () => [a], T0 + 41 * S, T0 + 50 * S);
    expect(results.at(-1)).toEqual(['notify', false]);
    notify.throws = false;
    notify.fail = null;
    await run(d, () => [a], T0 + 51 * S, T0 + 3 * 60 * S);
    expect(results.at(-1)).toEqual(['notify', true]);
    expect(results.filter(([, ok]) => ok)).toHaveLength(1);
    const log = await state.listNotifications({ from: 0, to: T0 + 3600 * S });
    expect(log.map((n) => n.result)).toContain('failure');
  });

  it('needsUpdate follows Alertmanager', () => {
    const e = { key: 'k', firing: ['a'], resolved: [], sentAt: T0 };
    const set = (...x: string[]) => new Set(x);
    expect(needsUpdate(undefined, set('a'), set(), T0, 4 * 3600 * S, true)).toBe(true);
    expect(needsUpdate(undefined, set(), set('a'), T0, 4 * 3600 * S, true)).toBe(false);
    expect(needsUpdate(e, set('a'), set(), T0 + S, 4 * 3600 * S, true)).toBe(false);
    expect(needsUpdate(e, set('a', 'b'), set(), T0 + S, 4 * 3600 * S, true)).toBe(true);
    expect(needsUpdate(e, set(), set('a'), T0 + S, 4 * 3600 * S, false)).toBe(true);
    expect(needsUpdate(e, set('a'), set(), T0 + 4 * 3600 * S, 4 * 3600 * S, true)).toBe(true);
  });
});
