// Slack incoming webhook: the title and the alert list as one message.
import { postJson } from './http.js';
import type { Notification, Notifier, NotifyResult } from './notifier.js';
import { textOf, titleOf } from './render.js';

export class SlackNotifier implements Notifier {
  readonly kind = 'slack';
  constructor(private readonly url: string) {}

  send(n: Notification): Promise<NotifyResult> {
    const color = n.status === 'resolved' ? 'good' : n.commonLabels.severity === 'critical' ? 'danger' : 'warning';
    return postJson(this.url, {
      text: titleOf(n),
      attachments: [{ color, title: titleOf(n), text: textOf(n), mrkdwn_in: ['text'] }],
    });
  }
}
