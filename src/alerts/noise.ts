// The noise report: how much each alert talks. Notifications per rule per day, firings, pending alerts that never
// fired (a threshold the signal keeps crossing), flapping rules, and how long alerts take to resolve.
import type { Noise } from '../wire/index.js';
import type { AlertEvent, NotificationRecord } from './state/types.js';

/** The report's shape is declared once, in src/wire/alerts.ts (the dashboard reads the same type). */
export type NoiseReport = Noise;
export type RuleNoise = Noise['rules'][number];

/** A rule flaps when it starts firing this often in one day, or keeps abandoning pending this often. */
export const FLAP_FIRINGS_PER_DAY = 3;
export const FLAP_PENDING_ABORTED_PER_DAY = 6;

const day = (t: number) => new Date(t).toISOString().slice(0, 10);

function pct(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1)))] as number;
}

export function noiseReport(
  events: readonly AlertEvent[],
  notifications: readonly NotificationRecord[],
  from: number,
  to: number,
): NoiseReport {
  const rules = new Map<string, RuleNoise & { durations: number[]; abortedPerDay: Record<string, number> }>();
  const rule = (name: string) => {
    let r = rules.get(name);
    if (!r) {
      r = {
        alertname: name,
        notifications: 0,
        notifications_per_day: {},
        firings: 0,
        firings_per_day: {},
        resolved: 0,
        pending_aborted: 0,
        flapping: false,
        time_to_resolve_s: { median: null, p90: null, max: null },
        durations: [],
        abortedPerDay: {},
      };
      rules.set(name, r);
    }
    return r;
  };
  const byReceiver: Record<string, { success: number; failure: number }> = {};
  let total = 0;
  for (const n of notifications) {
    if (n.time < from || n.time >= to) continue;
    const rc = byReceiver[n.receiver] ?? { success: 0, failure: 0 };
    byReceiver[n.receiver] = rc;
    rc[n.result]++;
    if (n.result !== 'success') continue;
    total++;
    for (const name of n.alertnames) {
      const r = rule(name);
      r.notifications++;
      r.notifications_per_day[day(n.time)] = (r.notifications_per_day[day(n.time)] ?? 0) + 1;
    }
  }
  for (const e of events) {
    if (e.time < from || e.time >= to) continue;
    const r = rule(e.alertname);
    const d = day(e.time);
    if (e.kind === 'firing') {
      r.firings++;
      r.firings_per_day[d] = (r.firings_per_day[d] ?? 0) + 1;
    } else if (e.kind === 'resolved') {
      r.resolved++;
      if (e.firedAt !== null) r.durations.push((e.time - e.firedAt) / 1000);
    } else if (e.kind === 'pending_aborted') {
      r.pending_aborted++;
      r.abortedPerDay[d] = (r.abortedPerDay[d] ?? 0) + 1;
    }
  }
  const out: RuleNoise[] = [];
  for (const r of rules.values()) {
    const sorted = [...r.durations].sort((a, b) => a - b);
    r.time_to_resolve_s = { median: pct(sorted, 0.5), p90: pct(sorted, 0.9), max: sorted.at(-1) ?? null };
    r.flapping =
      Object.values(r.firings_per_day).some((n) => n >= FLAP_FIRINGS_PER_DAY) ||
      Object.values(r.abortedPerDay).some((n) => n >= FLAP_PENDING_ABORTED_PER_DAY);
    const { durations: _d, abortedPerDay: _a, ...rest } = r;
    out.push(rest);
  }
  out.sort((a, b) => b.notifications - a.notifications || a.alertname.localeCompare(b.alertname));
  const days = Math.max(1, (to - from) / 86_400_000);
  return {
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    days: Math.round(days * 100) / 100,
    notifications: total,
    notifications_per_day: Math.round((total / days) * 100) / 100,
    by_receiver: byReceiver,
    rules: out,
    flapping: out.filter((r) => r.flapping).map((r) => r.alertname),
  };
}
