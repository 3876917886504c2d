// Builds a notifier per receiver from config; secrets are read from the environment here and nowhere else.
import type { Logger } from 'pino';
import type { ReceiverConfig } from '../spec.js';
import { EmailNotifier } from './email.js';
import { LogNotifier } from './log.js';
import type { Notifier } from './notifier.js';
import { PagerDutyNotifier } from './pagerduty.js';
import { SlackNotifier } from './slack.js';
import { WebhookNotifier } from './webhook.js';

export * from './notifier.js';
export * from './render.js';

export interface BuiltNotifiers {
  notifiers: Map<string, Notifier>;
  /**
   * Receivers that could not be built as configured (a missing environment variable): they log instead, or for
   * email, send without SMTP authentication.
   */
  problems: string[];
}

export function buildNotifiers(
  receivers: readonly ReceiverConfig[],
  logger: Logger | null,
  env: NodeJS.ProcessEnv = process.env,
): BuiltNotifiers {
  const notifiers = new Map<string, Notifier>();
  const problems: string[] = [];
  const log = new LogNotifier(logger);
  // log always exists; page and notify log until declared
  for (const name of ['log', 'page', 'notify']) notifiers.set(name, log);
  for (const r of receivers) {
    const fromEnv = (name: string | undefined, what: string): string | null => {
      if (!name) return null;
      const v = env[name];
      if (!v) problems.push(`receiver ${r.name}: environment variable ${name} (${what}) is not set; it logs instead`);
      return v || null;
    };
    let n: Notifier | null = null;
    if (r.webhook) {
      const url = r.webhook.url ?? fromEnv(r.webhook.urlEnv, 'webhook URL');
      if (url) n = new WebhookNotifier(url);
    } else if (r.pagerduty) {
      const key = fromEnv(r.pagerduty.routingKeyEnv, 'PagerDuty routing key');
      if (key) n = new PagerDutyNotifier(key, r.pagerduty.url);
    } else if (r.slack) {
      const url = r.slack.url ?? fromEnv(r.slack.urlEnv, 'Slack webhook URL');
      if (url) n = new SlackNotifier(url);
    } else if (r.email) {
      // An email receiver still sends without its SMTP user or password, but without authentication (which most
      // SMTP servers refuse): warned at start-up as a missing page secret is, and as check-config says.
      const { userEnv, passwordEnv } = r.email.smtp;
      for (const [name, what] of [
        [userEnv, 'SMTP user'],
        [passwordEnv, 'SMTP password'],
      ] as const)
        if (name && !env[name])
          problems.push(
            `receiver ${r.name}: environment variable ${name} (${what}) is not set; it sends without SMTP authentication`,
          );
      n = new EmailNotifier(r.email, env);
    }
    notifiers.set(r.name, n ?? log);
  }
  return { notifiers, problems };
}
