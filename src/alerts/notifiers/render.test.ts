// Where a notification's links lead (QA24): each alert to the dashboard view that shows it, not the front page.
import { describe, expect, it } from 'vitest';
import { fingerprintOf, type NotifyAlert } from '../engine.js';
import { dashboardLinkOf, htmlOf, textOf, webhookBody } from './render.js';

const T0 = Date.UTC(2026, 11, 6, 3, 0, 0);
const alert = (labels: Record<string, string>, status: 'firing' | 'resolved' = 'firing'): NotifyAlert => ({
  fingerprint: fingerprintOf(labels),
  ruleId: labels.alertname ?? 'x',
  labels,
  annotations: { summary: 's' },
  status,
  startsAt: T0,
  endsAt: T0 + 20 * 60_000,
  value: 1,
});
const EXT = 'https://llmscope.example.com/';

describe('dashboardLinkOf', () => {
  it("a model's alert: its Overview, over the last hour while young, longer as it ages", () => {
    const a = alert({ alertname: 'ServiceDegraded', model: 'gpt-4o-mini', provider: 'openai', severity: 'critical' });
    expect(dashboardLinkOf(EXT, a, T0 + 60_000)).toBe(
      'https://llmscope.example.com/#/overview?range=1h&model=gpt-4o-mini&provider=openai',
    );
    expect(dashboardLinkOf(EXT, a, T0 + 2 * 3_600_000)).toContain('#/overview?range=6h&');
    expect(dashboardLinkOf(EXT, a, T0 + 40 * 86_400_000)).toContain('?range=30d&');
  });

  it('a resolved alert: the incident, from 30 minutes before it to 30 minutes after', () => {
    const a = alert({ alertname: 'HighTTFT', model: 'gpt-4o' }, 'resolved');
    expect(dashboardLinkOf(EXT, a)).toBe(
      `https://llmscope.example.com/#/overview?from=${T0 - 1_800_000}&to=${T0 + 20 * 60_000 + 1_800_000}&model=gpt-4o`,
    );
  });

  it('spend and budget alerts: the Cost page; others without a model: the Alerts page; no externalUrl: none', () => {
    expect(dashboardLinkOf(EXT, alert({ alertname: 'BudgetExceeded', budget: 'growth' }), T0)).toBe(
      'https://llmscope.example.com/#/cost?range=1h',
    );
    expect(dashboardLinkOf(EXT, alert({ alertname: 'SingleCallCostHigh', model: 'gpt-4o' }), T0)).toBe(
      'https://llmscope.example.com/#/cost?range=1h',
    );
    expect(dashboardLinkOf(EXT, alert({ alertname: 'ErrorBudgetBurn', slo: 'availability' }), T0)).toBe(
      'https://llmscope.example.com/#/alerts?range=1h',
    );
    expect(dashboardLinkOf('', alert({ alertname: 'HighTTFT', model: 'gpt-4o' }))).toBe('');
  });

  it("the text, the HTML and the webhook's generatorURL carry each alert's link", () => {
    const a = alert({ alertname: 'HighErrorRate', model: 'gpt-4o-mini' });
    const n = {
      receiver: 'r',
      status: 'firing' as const,
      groupKey: 'k',
      groupLabels: {},
      commonLabels: a.labels,
      commonAnnotations: {},
      externalUrl: EXT,
      alerts: [a],
    };
    const link = dashboardLinkOf(EXT, a);
    expect(textOf(n)).toContain(`  Dashboard: ${link}`);
    expect(htmlOf(n)).toContain(`<a href="${link.replace(/&/g, '&amp;')}">Dashboard</a>`);
    expect((webhookBody(n).alerts as { generatorURL: string }[])[0]?.generatorURL).toBe(link);
  });
});
