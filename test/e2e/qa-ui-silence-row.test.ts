// The Alerts page's "silence…" button on one alert's row silences that alert (QA16). A rule grouped by model fires
// one alert per model; the button prefilled only alertname="<rule>", so silencing the gpt-4o row also silenced
// every other model's alert of the rule, and their notifications, which the on-call engineer never saw on the row.
// Now it prefills the alert's labels, as Alertmanager's silence button does. Needs `npm run build` first.
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../src/config/index.js';
import type * as ServerTs from '../../src/server.js';
import { startBuiltApp } from './built-app.js';

const CHROMIUM = '/usr/bin/chromium';

interface Firing {
  labels: Record<string, string>;
  silenced_by: string[];
}

describe.skipIf(!existsSync(CHROMIUM))('silencing one alert from its row, in Chromium', () => {
  let app: ServerTs.App;
  let base: string;
  let browser: Browser;
  const pageErrors: string[] = [];

  const firing = async (): Promise<Firing[]> =>
    ((await (await fetch(`${base}/api/alerts`)).json()) as { firing: Firing[] }).firing;

  beforeAll(async () => {
    ({ app, base } = await startBuiltApp({
      server: { host: '127.0.0.1', port: 0, shutdownGrace: '1s' },
      storage: { url: 'sqlite::memory:', flushInterval: '0ms' },
      telemetry: { logLevel: 'silent' },
      gpu: { collector: 'none' },
      alerts: {
        evaluationInterval: '1s',
        defaultRules: false,
        rules: [
          {
            name: 'SlowModel',
            kind: 'latency_quantile',
            quantile: 0.95,
            op: '>',
            threshold: 0.1,
            window: '5m',
            for: '0s',
            minSamples: 1,
            severity: 'critical',
            groupBy: ['model'],
            annotations: { summary: 'p95 of {{ $labels.model }} is slow' },
          },
        ],
      },
    } as ConfigInput));
    const now = Date.now();
    const calls = ['gpt-4o', 'claude-sonnet-4'].flatMap((model) =>
      [0, 1, 2, 3, 4].map((i) => ({
        request_id: `${model}-${i}`,
        started_at: new Date(now - 20_000 + i * 1000).toISOString(),
        provider: model.startsWith('gpt') ? 'openai' : 'anthropic',
        model,
        latency_ms: 2000,
        input_tokens: 10,
        output_tokens: 10,
      })),
    );
    const ing = await fetch(`${base}/api/ingest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ calls }),
    });
    expect(ing.status).toBe(202);
    await app.ctx.recorder.flush();
    const deadline = Date.now() + 20_000;
    while ((await firing()).length < 2) {
      if (Date.now() > deadline) throw new Error(`not firing for both models: ${JSON.stringify(await firing())}`);
      await new Promise((res) => setTimeout(res, 250));
    }
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    expect(pageErrors).toEqual([]);
  });

  it("the gpt-4o row's button silences gpt-4o's alert only; claude-sonnet-4's still fires unsilenced", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${base}/#/alerts`);
    await page.waitForSelector('#view[data-ready]', { timeout: 15_000 });
    const row = page.locator('#alerts-firing tr', { hasText: 'model=gpt-4o' });
    await row.locator('button[data-silence]').click();
    expect((await page.inputValue('#silence-form textarea')).split('\n')).toEqual([
      'alertname="SlowModel"',
      'model="gpt-4o"',
      'severity="critical"',
    ]);
    await page.fill('#silence-form input[name=comment]', 'gpt-4o known slow');
    await page.click('#silence-form button[type=submit]');
    await page.waitForSelector('#silences');
    const deadline = Date.now() + 10_000;
    for (;;) {
      const list = await firing();
      const byModel = Object.fromEntries(list.map((a) => [a.labels.model, a.silenced_by.length > 0]));
      if (byModel['gpt-4o']) {
        expect(byModel).toEqual({ 'gpt-4o': true, 'claude-sonnet-4': false });
        break;
      }
      if (Date.now() > deadline) throw new Error(`gpt-4o not silenced: ${JSON.stringify(list)}`);
      await new Promise((res) => setTimeout(res, 250));
    }
    await page.reload();
    await page.waitForSelector('#view[data-ready]', { timeout: 15_000 });
    // the other model's row still offers its own silence
    expect(
      await page
        .locator('#alerts-firing tr', { hasText: 'model=claude-sonnet-4' })
        .locator('button[data-silence]')
        .count(),
    ).toBe(1);
    await page.close();
  });
});
