// Text of a notification, shared by the notifiers (the same shape as the exported Alertmanager templates).
import type { NotifyAlert } from '../engine.js';
import type { Notification } from './notifier.js';

export function firingOf(n: Notification): NotifyAlert[] {
  return n.alerts.filter((a) => a.status === 'firing');
}

export function resolvedOf(n: Notification): NotifyAlert[] {
  return n.alerts.filter((a) => a.status === 'resolved');
}

/** `[FIRING:2] ServiceDegraded model=gpt-4o (critical)`. */
export function titleOf(n: Notification): string {
  const firing = firingOf(n).length;
  const head = n.status === 'firing' ? `[FIRING:${firing}]` : '[RESOLVED]';
  const name = n.commonLabels.alertname ?? n.groupLabels.alertname ?? 'alerts';
  const model = n.commonLabels.model ? ` model=${n.commonLabels.model}` : '';
  const sev = n.commonLabels.severity ? ` (${n.commonLabels.severity})` : '';
  return `${head} ${name}${model}${sev}`;
}

/** The labels the dashboard filters on (its URL parameters of the same names). */
const DASHBOARD_FILTERS = ['model', 'provider', 'team', 'feature', 'endpoint'];
const PRESETS: [string, number][] = [
  ['1h', 3_600_000],
  ['6h', 6 * 3_600_000],
  ['24h', 24 * 3_600_000],
  ['7d', 7 * 86_400_000],
  ['30d', 30 * 86_400_000],
];
const MARGIN_MS = 30 * 60_000;

/**
 * Where on the dashboard one alert is seen, or '' without `alerts.externalUrl`: a budget's or spend's alert on the Cost
 * page; one with model, provider, team, feature or endpoint labels on the Overview filtered by them (its charts are
 * that model's alone); any other on the Alerts page. A firing alert's link shows the last hour (or longer, to reach 30
 * minutes before it started) and moves with the clock; a resolved one's shows the incident: from 30 minutes before it
 * started to 30 minutes after it ended.
 */
export function dashboardLinkOf(externalUrl: string, a: NotifyAlert, now = Date.now()): string {
  if (!externalUrl) return '';
  const base = externalUrl.replace(/\/+$/, '');
  const p = new URLSearchParams();
  if (a.status === 'resolved') {
    p.set('from', String(a.startsAt - MARGIN_MS));
    p.set('to', String(a.endsAt + MARGIN_MS));
  } else {
    const want = now - a.startsAt + MARGIN_MS;
    p.set('range', (PRESETS.find(([, ms]) => ms >= want) ?? (PRESETS.at(-1) as [string, number]))[0]);
  }
  const cost = a.labels.budget !== undefined || /spend|cost/i.test(a.labels.alertname ?? '');
  const filters = DASHBOARD_FILTERS.filter((k) => a.labels[k]);
  if (!cost) for (const k of filters) p.set(k, a.labels[k] as string);
  const page = cost ? 'cost' : filters.length ? 'overview' : 'alerts';
  return `${base}/#/${page}?${p.toString()}`;
}

function alertText(a: NotifyAlert, externalUrl: string): string {
  const lines = [`- ${a.annotations.summary ?? a.labels.alertname ?? a.fingerprint}`];
  if (a.annotations.description) lines.push(`  ${a.annotations.description}`);
  if (a.annotations.runbook_url) lines.push(`  Runbook: ${a.annotations.runbook_url}`);
  const since = new Date(a.startsAt).toISOString();
  lines.push(
    a.status === 'resolved' ? `  Since: ${since}, resolved ${new Date(a.endsAt).toISOString()}` : `  Since: ${since}`,
  );
  const link = dashboardLinkOf(externalUrl, a);
  if (link) lines.push(`  Dashboard: ${link}`);
  return lines.join('\n');
}

export function textOf(n: Notification): string {
  const parts: string[] = [];
  const firing = firingOf(n);
  const resolved = resolvedOf(n);
  if (firing.length) parts.push(`Firing:\n${firing.map((a) => alertText(a, n.externalUrl)).join('\n')}`);
  if (resolved.length) parts.push(`Resolved:\n${resolved.map((a) => alertText(a, n.externalUrl)).join('\n')}`);
  if (n.externalUrl) parts.push(`Dashboard: ${n.externalUrl}`);
  return parts.join('\n\n');
}

const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

export function htmlOf(n: Notification): string {
  const items = n.alerts
    .map((a) => {
      const runbook = a.annotations.runbook_url ? `<br><a href="${esc(a.annotations.runbook_url)}">Runbook</a>` : '';
      const link = dashboardLinkOf(n.externalUrl, a);
      const dashboard = link ? `<br><a href="${esc(link)}">Dashboard</a>` : '';
      return `<p><b>${esc(a.annotations.summary ?? a.labels.alertname ?? '')}</b> (${a.status})<br>${esc(a.annotations.description ?? '')}${runbook}${dashboard}</p>`;
    })
    .join('\n');
  return `<h2>${esc(titleOf(n))}</h2>\n${items}`;
}

/** Alertmanager's webhook body (version 4), so receivers written for Alertmanager work unchanged. */
export function webhookBody(n: Notification): Record<string, unknown> {
  return {
    version: '4',
    groupKey: n.groupKey,
    truncatedAlerts: 0,
    status: n.status,
    receiver: n.receiver,
    groupLabels: n.groupLabels,
    commonLabels: n.commonLabels,
    commonAnnotations: n.commonAnnotations,
    externalURL: n.externalUrl,
    alerts: n.alerts.map((a) => ({
      status: a.status,
      labels: a.labels,
      annotations: a.annotations,
      startsAt: new Date(a.startsAt).toISOString(),
      endsAt: a.status === 'resolved' ? new Date(a.endsAt).toISOString() : '0001-01-01T00:00:00Z',
      // where the alert is seen on the dashboard (Alertmanager's: the rule's graph in Prometheus)
      generatorURL: dashboardLinkOf(n.externalUrl, a),
      fingerprint: a.fingerprint,
    })),
  };
}
