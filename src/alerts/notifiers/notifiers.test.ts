import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintOf, type NotifyAlert } from '../engine.js';
import { type HttpSink, httpSink, type SmtpSink, smtpSink } from '../testing.js';
import { EmailNotifier } from './email.js';
import { buildNotifiers } from './index.js';
import { LogNotifier } from './log.js';
import type { Notification, Notifier } from './notifier.js';
import { safeSend } from './notifier.js';
import { PagerDutyNotifier } from './pagerduty.js';
import { SlackNotifier } from './slack.js';
import { WebhookNotifier } from './webhook.js';

const T0 = Date.UTC(2025, 0, 6, 12, 0, 0);

function notification(status: 'firing' | 'resolved' = 'firing'): Notification {
  const labels = { alertname: 'ServiceDegraded', severity: 'critical', model: 'gpt-4o' };
  const a: NotifyAlert = {
    fingerprint: fingerprintOf(labels),
    ruleId: 'ServiceDegraded',
    labels,
    annotations: { summary: 'gpt-4o is degraded: slow and failing', runbook_url: 'https://runbooks/x' },
    status,
    startsAt: T0,
    endsAt: T0 + 60_000,
    value: 3.2,
  };
  return {
    receiver: 'page',
    status,
    groupKey: 'root/0:[["alertname","ServiceDegraded"],["model","gpt-4o"]]',
    groupLabels: { alertname: 'ServiceDegraded', model: 'gpt-4o' },
    commonLabels: labels,
    commonAnnotations: a.annotations,
    externalUrl: 'http://llmscope.local',
    alerts: [a],
  };
}

describe('notifiers', () => {
  let http: HttpSink;
  let smtp: SmtpSink;
  beforeAll(async () => {
    http = await httpSink();
    smtp = await smtpSink();
  });
  afterAll(async () => {
    await http.close();
    await smtp.close();
  });

  it('webhook posts Alertmanager webhook JSON (version 4)', async () => {
    const r = await new WebhookNotifier(`${http.url}/hook`).send(notification());
    expect(r).toEqual({ ok: true, status: 200 });
    const got = http.received.at(-1);
    expect(got?.path).toBe('/hook');
    expect(got?.body).toMatchObject({
      version: '4',
      status: 'firing',
      receiver: 'page',
      groupLabels: { alertname: 'ServiceDegraded', model: 'gpt-4o' },
      alerts: [{ status: 'firing', labels: { alertname: 'ServiceDegraded' }, startsAt: '2025-01-06T12:00:00.000Z' }],
    });
  });

  it('PagerDuty gets an Events API v2 trigger, then a resolve with the same dedup_key', async () => {
    const pd = new PagerDutyNotifier('routing-key-123', `${http.url}/v2/enqueue`);
    await pd.send(notification('firing'));
    await pd.send(notification('resolved'));
    const [t, r] = http.received.slice(-2).map((x) => x.body as Record<string, unknown>);
    expect(t).toMatchObject({
      routing_key: 'routing-key-123',
      event_action: 'trigger',
      payload: {
        severity: 'critical',
        source: 'llmscope',
        summary: '[FIRING:1] ServiceDegraded model=gpt-4o (critical)',
      },
    });
    expect(r).toMatchObject({ event_action: 'resolve', dedup_key: t?.dedup_key });
  });

  it('Slack gets the title and the alert list', async () => {
    await new SlackNotifier(`${http.url}/slack`).send(notification());
    const b = http.received.at(-1)?.body as { text: string; attachments: { text: string; color: string }[] };
    expect(b.text).toBe('[FIRING:1] ServiceDegraded model=gpt-4o (critical)');
    expect(b.attachments[0]?.text).toContain('gpt-4o is degraded');
    expect(b.attachments[0]?.color).toBe('danger');
  });

  it('email goes over SMTP with the title as subject', async () => {
    const n = new EmailNotifier({
      to: 'oncall@example.com',
      from: 'llmscope@example.com',
      smtp: { host: smtp.host, port: smtp.port, secure: false, requireTLS: false },
    });
    const r = await n.send(notification());
    await n.close();
    expect(r.ok).toBe(true);
    const m = (await smtp.waitFor(1))[0];
    expect(m?.to).toEqual(['oncall@example.com']);
    expect(m?.subject).toBe('[FIRING:1] ServiceDegraded model=gpt-4o (critical)');
    expect(m?.data).toContain('Runbook: https://runbooks/x');
  });

  it('report failures as values: HTTP errors, unreachable hosts, throws and timeouts', async () => {
    http.status = 500;
    const r = await new WebhookNotifier(http.url).send(notification());
    http.status = 200;
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/HTTP 500/);
    const down = await new WebhookNotifier('http://127.0.0.1:1/x').send(notification());
    expect(down.ok).toBe(false);
    const throwing: Notifier = {
      kind: 'x',
      send: async () => {
        throw new Error('boom');
      },
    };
    expect(await safeSend(throwing, notification())).toEqual({ ok: false, error: 'boom' });
    const hanging: Notifier = { kind: 'x', send: () => new Promise(() => undefined) };
    expect(await safeSend(hanging, notification(), 50)).toEqual({ ok: false, error: 'timed out after 50 ms' });
  });

  it('builds receivers from config, reading secrets from the environment', () => {
    const { notifiers, problems } = buildNotifiers(
      [
        {
          name: 'page',
          sendResolved: true,
          pagerduty: { routingKeyEnv: 'PD_KEY', url: 'https://events.pagerduty.com/v2/enqueue' },
        },
        { name: 'notify', sendResolved: true, slack: { urlEnv: 'SLACK_URL' } },
      ],
      null,
      { PD_KEY: 'k' },
    );
    expect(notifiers.get('page')?.kind).toBe('pagerduty');
    expect(notifiers.get('notify')?.kind).toBe('log');
    expect(notifiers.get('log')?.kind).toBe('log');
    expect(problems).toEqual([
      'receiver notify: environment variable SLACK_URL (Slack webhook URL) is not set; it logs instead',
    ]);
  });

  it('warns about an email receiver whose SMTP variables are unset, and sends without authentication', async () => {
    const email = (userEnv?: string, passwordEnv?: string) => ({
      to: 'oncall@example.com',
      from: 'llmscope@example.com',
      smtp: { host: smtp.host, port: smtp.port, secure: false, requireTLS: false, userEnv, passwordEnv },
    });
    const built = buildNotifiers(
      [
        { name: 'mail', sendResolved: true, email: email('SMTP_USER', 'SMTP_PASS') },
        { name: 'half', sendResolved: true, email: email('SMTP_USER2', 'SMTP_PASS2') },
        { name: 'set', sendResolved: true, email: email('SMTP_USER2', 'SMTP_PASS3') },
        { name: 'open', sendResolved: true, email: email() },
      ],
      null,
      { SMTP_USER2: 'alerts', SMTP_PASS3: 'secret' },
    );
    expect(built.problems).toEqual([
      'receiver mail: environment variable SMTP_USER (SMTP user) is not set; it sends without SMTP authentication',
      'receiver mail: environment variable SMTP_PASS (SMTP password) is not set; it sends without SMTP authentication',
      'receiver half: environment variable SMTP_PASS2 (SMTP password) is not set; it sends without SMTP authentication',
    ]);
    expect(built.notifiers.get('mail')?.kind).toBe('email');
    // Against a server that offers AUTH: a user whose password is unset does not sign in with no password (which
    // fails every send); it sends as the warning says, without authentication. Both set: it signs in.
    const authed = await smtpSink({ auth: true });
    try {
      const at = (u?: string, p?: string) =>
        new EmailNotifier(
          { ...email(u, p), smtp: { ...email(u, p).smtp, port: authed.port } },
          { SMTP_USER2: 'alerts', SMTP_PASS3: 'secret' },
        );
      for (const [u, p] of [
        ['SMTP_USER2', 'SMTP_PASS2'],
        ['SMTP_USER', 'SMTP_PASS3'],
        ['SMTP_USER2', 'SMTP_PASS3'],
      ]) {
        const n = at(u, p);
        expect(await n.send(notification())).toEqual({ ok: true });
        await n.close();
      }
      expect(authed.messages.map((m) => m.auth)).toEqual([null, null, { user: 'alerts', pass: 'secret' }]);
    } finally {
      await authed.close();
    }
  });
});

describe('the log receiver', () => {
  it("writes each alert's value and summary with its labels (QA45: the line named the alerts only)", async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => lines.push(JSON.parse(l)) });
    await new LogNotifier(logger).send(notification());
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      event: 'alert_notification',
      receiver: 'page',
      status: 'firing',
      alerts: [
        {
          alertname: 'ServiceDegraded',
          status: 'firing',
          value: 3.2,
          summary: 'gpt-4o is degraded: slow and failing',
          labels: { alertname: 'ServiceDegraded', severity: 'critical', model: 'gpt-4o' },
        },
      ],
    });
  });
});
