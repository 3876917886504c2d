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

function alertText(a: NotifyAlert): string {
  const lines = [`- ${a.annotations.summary ?? a.labels.alertname ?? a.fingerprint}`];
  if (a.annotations.description) lines.push(`  ${a.annotations.description}`);
  if (a.annotations.runbook_url) lines.push(`  Runbook: ${a.annotations.runbook_url}`);
  const since = new Date(a.startsAt).toISOString();
  lines.push(
    a.status === 'resolved' ? `  Since: ${since}, resolved ${new Date(a.endsAt).toISOString()}` : `  Since: ${since}`,
  );
  return lines.join('\n');
}

export function textOf(n: Notification): string {
  const parts: string[] = [];
  const firing = firingOf(n);
  const resolved = resolvedOf(n);
  if (firing.length) parts.push(`Firing:\n${firing.map(alertText).join('\n')}`);
  if (resolved.length) parts.push(`Resolved:\n${resolved.map(alertText).join('\n')}`);
  if (n.externalUrl) parts.push(`Dashboard: ${n.externalUrl}`);
  return parts.join('\n\n');
}

const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

export function htmlOf(n: Notification): string {
  const items = n.alerts
    .map((a) => {
      const runbook = a.annotations.runbook_url ? `<br><a href="${esc(a.annotations.runbook_url)}">Runbook</a>` : '';
      return `<p><b>${esc(a.annotations.summary ?? a.labels.alertname ?? '')}</b> (${a.status})<br>${esc(a.annotations.description ?? '')}${runbook}</p>`;
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
      generatorURL: n.externalUrl,
      fingerprint: a.fingerprint,
    })),
  };
}
