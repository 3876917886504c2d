// Generic webhook: POSTs Alertmanager's webhook JSON (version 4) to a URL.
import { postJson } from './http.js';
import type { Notification, Notifier, NotifyResult } from './notifier.js';
import { webhookBody } from './render.js';

export class WebhookNotifier implements Notifier {
  readonly kind = 'webhook';
  constructor(private readonly url: string) {}

  send(n: Notification): Promise<NotifyResult> {
    return postJson(this.url, webhookBody(n));
  }
}
