// The Alerts page's noise report line, in real Chromium on the built app (QA49; needs `npm run build`): on the 24 h
// view of a first demo it read "0 notifications over 1.0 days (0.0/day)", and one notification would have read
// "1 notifications over 1.0 days". A count of one is singular now, and a whole day reads "1 day". The noise report is a
// real one with its counts set to those (a notification takes a firing rule and a receiver).
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../src/config/index.js';
import type * as ServerTs from '../../src/server.js';
import { dashboardBuilt, startBuiltApp } from './built-app.js';

const CHROMIUM = '/usr/bin/chromium';

describe.skipIf(!existsSync(CHROMIUM) || !dashboardBuilt)("the Alerts page's noise report line", () => {
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

  it('reads "1 notification over 1 day (1.0/day)"', async () => {
    const real = (await (await fetch(`${base}/api/alerts/noise`)).json()) as Record<string, unknown>;
    const noise = {
      ...real,
      days: 1,
      notifications: 1,
      notifications_per_day: 1,
      flapping: [],
      rules: [
        {
          alertname: 'HighTTFT',
          notifications: 1,
          notifications_per_day: { '2026-12-07': 1 },
          firings: 1,
          firings_per_day: { '2026-12-07': 1 },
          resolved: 0,
          pending_aborted: 0,
          flapping: false,
          time_to_resolve_s: { median: null, p90: null, max: null },
        },
      ],
    };
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.route('**/api/alerts/noise*', (route) =>
      route.fulfill({ contentType: 'application/json', body: JSON.stringify(noise) }),
    );
    await page.goto(`${base}/#/alerts?range=24h`);
    await page.waitForSelector('#noise', { timeout: 20_000 });
    const text = (await page.textContent('body')) as string;
    // before: "1 notifications over 1.0 days (1.0/day)"
    expect(text).toContain('1 notification over 1 day (1.0/day)');
    expect(pageErrors).toEqual([]);
    await page.close();
  });
});
