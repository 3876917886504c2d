// PagerDuty Events API v2: trigger while the group fires, resolve when it has resolved; one incident per group
// (dedup_key from the group key).
import { createHash } from 'node:crypto';
import { postJson } from './http.js';
import type { Notification, Notifier, NotifyResult } from './notifier.js';
import { dashboardLinkOf, firingOf, textOf, titleOf } from './render.js';

const SEVERITY: Record<string, 'critical' | 'error' | 'warning' | 'info'> = {
  critical: 'critical',
  warning: 'warning',
  info: 'info',
};

export class PagerDutyNotifier implements Notifier {
  readonly kind = 'pagerduty';
  constructor(
    private readonly routingKey: string,
    private readonly url = 'https://events.pagerduty.com/v2/enqueue',
  ) {}

  send(n: Notification): Promise<NotifyResult> {
    const dedupKey = createHash('sha256').update(n.groupKey).digest('hex');
    const firing = firingOf(n).length > 0;
    const body: Record<string, unknown> = {
      routing_key: this.routingKey,
      event_action: firing ? 'trigger' : 'resolve',
      dedup_key: dedupKey,
    };
    if (firing) {
      body.payload = {
        summary: titleOf(n).slice(0, 1024),
        source: 'llmscope',
        severity: SEVERITY[n.commonLabels.severity ?? ''] ?? 'error',
        group: n.groupLabels.model,
        class: n.commonLabels.alertname,
        custom_details: { alerts: textOf(n), group_labels: n.groupLabels },
      };
      // the first firing alert where the dashboard shows it (its model's Overview, the Cost page), then the dashboard
      const first = firingOf(n)[0];
      if (n.externalUrl)
        body.links = [
          ...(first ? [{ href: dashboardLinkOf(n.externalUrl, first), text: `llmscope: ${titleOf(n)}` }] : []),
          { href: n.externalUrl, text: 'llmscope' },
        ];
    }
    return postJson(this.url, body);
  }
}
