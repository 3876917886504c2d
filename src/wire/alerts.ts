// The alerts capability's answers (alerts/api.ts, noise.ts): active alerts, history, rules, silences, noise.
import { z } from 'zod';
import { count, isoTime, maybe } from './common.js';

const labels = z.record(z.string(), z.string());

export const alertSchema = z.strictObject({
  alertname: z.string(),
  rule: z.string(),
  fingerprint: z.string(),
  state: z.enum(['firing', 'pending']),
  severity: z.string(),
  value: z.number(),
  labels,
  annotations: labels,
  active_at: isoTime,
  fired_at: maybe(isoTime),
  /** Ids of the silences muting it, and the alert inhibiting it. */
  silenced_by: z.array(z.string()),
  inhibited_by: maybe(z.string()),
});
export type Alert = z.infer<typeof alertSchema>;

/** GET /api/alerts. */
export const alertsSchema = z.strictObject({
  enabled: z.boolean(),
  /** Whether this replica evaluates the rules (false on the replicas that are not the elected evaluator). */
  evaluator: z.boolean(),
  evaluated_at: maybe(isoTime),
  firing: z.array(alertSchema),
  pending: z.array(alertSchema),
  history: z.array(
    z.strictObject({
      alertname: z.string(),
      rule: z.string(),
      fingerprint: z.string(),
      labels,
      value: z.number(),
      active_at: isoTime,
      fired_at: maybe(isoTime),
      resolved_at: isoTime,
      duration_s: maybe(z.number()),
    }),
  ),
  rules: z.array(
    z.strictObject({
      id: z.string(),
      alertname: z.string(),
      severity: z.string(),
      kinds: z.array(z.string()),
      for_s: z.number(),
      health: z.enum(['unknown', 'ok', 'err', 'nodata']),
      last_error: maybe(z.string()),
      last_evaluated_at: maybe(isoTime),
      exported_to_prometheus: z.boolean(),
    }),
  ),
  groups: z.array(
    z.strictObject({
      key: z.string(),
      receiver: z.string(),
      labels,
      alerts: count,
      next_flush_at: maybe(isoTime),
    }),
  ),
});
export type AlertsBody = z.infer<typeof alertsSchema>;

export const silenceSchema = z.strictObject({
  id: z.string(),
  /** `config`: from `alerts.silences` in the config file (not expirable through the API); `api`: made through the API. */
  source: z.enum(['api', 'config']),
  /** Matchers in Alertmanager's text form (`alertname="X"`, `model=~"gpt-.*"`). */
  matchers: z.array(z.string()),
  /** null: a config silence without startsAt (always started). */
  starts_at: maybe(isoTime),
  /** null: a config silence with `always: true` (never ends). */
  ends_at: maybe(isoTime),
  status: z.enum(['pending', 'active', 'expired']),
  created_by: z.string(),
  comment: z.string(),
  created_at: isoTime,
  updated_at: isoTime,
});
export type Silence = z.infer<typeof silenceSchema>;

/** GET /api/alerts/silences. */
export const silencesSchema = z.strictObject({ silences: z.array(silenceSchema) });
export type Silences = z.infer<typeof silencesSchema>;

const perDay = z.record(z.string(), count);

/** GET /api/alerts/noise. */
export const noiseSchema = z.strictObject({
  from: isoTime,
  to: isoTime,
  days: z.number(),
  notifications: count,
  notifications_per_day: z.number(),
  by_receiver: z.record(z.string(), z.strictObject({ success: count, failure: count })),
  rules: z.array(
    z.strictObject({
      alertname: z.string(),
      notifications: count,
      /** UTC day (YYYY-MM-DD) → notifications that day. */
      notifications_per_day: perDay,
      firings: count,
      firings_per_day: perDay,
      resolved: count,
      pending_aborted: count,
      flapping: z.boolean(),
      /** Seconds from firing to resolved. */
      time_to_resolve_s: z.strictObject({ median: maybe(z.number()), p90: maybe(z.number()), max: maybe(z.number()) }),
    }),
  ),
  flapping: z.array(z.string()),
});
export type Noise = z.infer<typeof noiseSchema>;
