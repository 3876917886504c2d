// A call llmscope itself refused, on the dashboard's request page, in real Chromium on the built app (QA32; needs
// `npm run build`): a block budget's 429 never reaches the provider, yet its message (llmscope's own, which the
// record's error_message keeps as it keeps an upstream's: docs/privacy.md) was labelled "upstream message".
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../src/config/index.js';
import type * as ServerTs from '../../src/server.js';
import type * as SimulatorTs from '../../src/simulator/index.js';
import { dashboardBuilt, loadBuilt, startBuiltApp } from './built-app.js';
import { until } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';

describe.skipIf(!existsSync(CHROMIUM) || !dashboardBuilt)('a call llmscope refused, on its request page', () => {
  let app: ServerTs.App;
  let base: string;
  let sim: Awaited<ReturnType<typeof SimulatorTs.startSimulator>>;
  let browser: Browser;

  beforeAll(async () => {
    const { startSimulator } = await loadBuilt<typeof SimulatorTs>('simulator/index.js');
    sim = await startSimulator({ port: 0, ttftMs: 2, tpotMs: 1, outputTokens: 5 });
    ({ app, base } = await startBuiltApp({
      server: { host: '127.0.0.1', port: 0, shutdownGrace: '1s' },
      storage: { url: 'sqlite::memory:', flushInterval: '0ms' },
      telemetry: { logLevel: 'silent' },
      providers: [{ name: 'openai', baseUrl: sim.url }],
      budgets: [{ name: 'tiny', scope: 'user', match: 'ann', period: 'day', limit: 0.000001, action: 'block' }],
    } as ConfigInput));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await sim?.close();
  });

  it("labels a budget refusal's message as the call's error message, not the upstream's", async () => {
    const r = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-demo', 'x-llmscope-user': 'ann' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello' }] }),
    });
    expect(r.status).toBe(429);
    expect(((await r.json()) as { error: { type: string } }).error.type).toBe('budget_exceeded');
    expect(sim.stats.requests).toBe(0); // it never reached the provider
    const id = r.headers.get('x-request-id') as string;
    await until(async () => (await fetch(`${base}/api/requests/${id}`)).status === 200);

    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${base}/#/requests/${id}`);
    await page.waitForSelector('#error-message', { timeout: 20_000 });
    expect(await page.textContent('#error-message')).toContain('budget "tiny" for user "ann"');
    // The row's label (the dt before the message's dd). Before: "upstream message".
    const label = await page.evaluate(
      () => document.querySelector('#error-message')?.closest('dd')?.previousElementSibling?.textContent ?? null,
    );
    expect(label).toBe('error message');
    expect(pageErrors).toEqual([]);
    await page.close();
  });
});
