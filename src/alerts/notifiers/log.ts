// Log-only receiver (the default for info): one log line per notification.
import type { Logger } from 'pino';
import type { Notification, Notifier, NotifyResult } from './notifier.js';
import { titleOf } from './render.js';

export class LogNotifier implements Notifier {
  readonly kind = 'log';
  constructor(private readonly logger: Logger | null) {}

  async send(n: Notification): Promise<NotifyResult> {
    this.logger?.info(
      {
        event: 'alert_notification',
        receiver: n.receiver,
        status: n.status,
        group: n.groupLabels,
        // what the other receivers show of each alert: its value and summary (the line named only which alerts)
        alerts: n.alerts.map((a) => ({
          alertname: a.labels.alertname,
          status: a.status,
          value: a.value,
          ...(a.annotations.summary ? { summary: a.annotations.summary } : {}),
          labels: a.labels,
        })),
      },
      titleOf(n),
    );
    return { ok: true };
  }
}
