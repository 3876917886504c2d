// The Cost page's cards by model, user, ... say which spend is unpriced (QA34; needs `npm run build`): a model the
// catalog leaves out showed "$0" as its spend (its calls' cost is null: unknown, not free), and a user with priced
// and unpriced calls showed the priced part alone with nothing to say some calls were left out.
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../src/config/index.js';
import type * as ServerTs from '../../src/server.js';
import type * as SimulatorTs from '../../src/simulator/index.js';
import { dashboardBuilt, loadBuilt, startBuiltApp } from './built-app.js';
import { until } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';

describe.skipIf(!existsSync(CHROMIUM) || !dashboardBuilt)('unpriced spend on the Cost page', () => {
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

  it("shows an unpriced model's spend as unpriced, and a user's unpriced calls beside the priced spend", async () => {
    for (const model of ['gpt-4o-mini', 'acme-internal-13b']) {
      const r = await fetch(`${base}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer sk-demo', 'x-llmscope-user': 'ann' },
        body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Hello' }] }),
      });
      expect(r.status).toBe(200);
    }
    await until(async () => {
      const s = (await (await fetch(`${base}/api/cost/summary`)).json()) as { total: { requests: number } };
      return s.total.requests === 2;
    });

    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${base}/#/cost`);
    await page.waitForSelector('table[data-dim="model"] tbody tr', { timeout: 20_000 });
    const rows = async (dim: string) =>
      page.$$eval(`table[data-dim="${dim}"] tbody tr`, (trs) =>
        trs.map((tr) => [...tr.querySelectorAll('td')].slice(0, 2).map((td) => td.textContent?.trim())),
      );
    const byModel = Object.fromEntries(await rows('model'));
    // Before: '$0'.
    expect(byModel['acme-internal-13b']).toBe('unpriced');
    expect(byModel['gpt-4o-mini']).toMatch(/^\$[0-9.e-]+$/);
    const byUser = Object.fromEntries(await rows('user'));
    // Before: the priced call's cost alone.
    expect(byUser.ann).toMatch(/^\$[0-9.e-]+ \+ 1 unpriced$/);
    expect(pageErrors).toEqual([]);
    await page.close();
  });
});
