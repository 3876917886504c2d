// The Overview's quality tiles at demo scale, in real Chromium on the built app (QA49; needs `npm run build`): after a
// quarter of an hour of `npm run demo` the hallucination tile read "169 flagged of 5771" beside the refusal tile's
// "56 of 6,647": its counts (and the satisfaction tile's thumbs) were printed raw, not grouped as every other count
// on the page; the Quality page's thumbs likewise. The quality summary is stubbed with those figures (thousands of
// evaluated calls would take minutes to make).
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../src/config/index.js';
import type * as ServerTs from '../../src/server.js';
import { dashboardBuilt, startBuiltApp } from './built-app.js';

const CHROMIUM = '/usr/bin/chromium';

describe.skipIf(!existsSync(CHROMIUM) || !dashboardBuilt)("the Overview's quality tiles group their counts", () => {
  let app: ServerTs.App;
  let base: string;
  let browser: Browser;

  beforeAll(async () => {
    ({ app, base } = await startBuiltApp({
      server: { host: '127.0.0.1', port: 0, shutdownGrace: '1s' },
      storage: { url: 'sqlite::memory:', flushInterval: '0ms' },
      telemetry: { logLevel: 'silent' },
      providers: [{ name: 'openai', baseUrl: 'http://127.0.0.1:9/v1' }],
    } as ConfigInput));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('reads "169 flagged of 5,771" and "2,790 up · 1,049 down", as the refusal tile reads "56 of 6,647"', async () => {
    const summary = (await (await fetch(`${base}/api/quality/summary`)).json()) as { total: Record<string, unknown> };
    const total = {
      ...summary.total,
      responses: 6647,
      refusals: 56,
      refusal_rate: 56 / 6647,
      feedback: { up: 2790, down: 1049, satisfaction_rate: 2790 / 3839 },
      evaluated: 5771,
      flagged: 169,
      hallucination_rate: 169 / 5771,
      reviewed: { sampled: 0, hallucinated: 0, rate: null },
    };
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.route('**/api/quality/summary*', (route) =>
      route.fulfill({ contentType: 'application/json', body: JSON.stringify({ ...summary, total }) }),
    );
    await page.goto(`${base}/#/overview?range=1h`);
    await page.waitForSelector('#tile-hallucination', { timeout: 20_000 });
    expect(await page.textContent('#tile-refusal')).toContain('56 of 6,647');
    // before: "169 flagged of 5771" and "2790 up · 1049 down"
    expect(await page.textContent('#tile-hallucination')).toContain('169 flagged of 5,771');
    expect(await page.textContent('#tile-satisfaction')).toContain('2,790 up · 1,049 down');
    // the Quality page's satisfaction tile: before, "2790 up · 1049 down" beside "56 of 6,647 responses"
    await page.goto(`${base}/#/quality?range=1h`);
    await page.waitForFunction(() => document.body.textContent?.includes('responses'), null, { timeout: 20_000 });
    const text = (await page.textContent('body')) as string;
    expect(text).toContain('56 of 6,647 responses');
    expect(text).toContain('2,790 up · 1,049 down');
    expect(pageErrors).toEqual([]);
    await page.close();
  });
});
