// The call page's Logs section, in real Chromium (needs `npm run build`): a stream the upstream cut, sent with the
// official `openai` client, shows its `upstream_cut` warning line (level, time, event, message; the other fields
// folded, the request id among them) read from GET /api/requests/:id `logs`, then its request_completed line, a
// warning too as the call failed; with telemetry.logLevel warn a call that succeeded writes no line to stdout (its
// request_completed line is info), so it shows none, and says so.
import OpenAI from 'openai';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as ConfigTs from '../../src/config/index.js';
import type * as SimulatorTs from '../../src/simulator/index.js';
import { dashboardBuilt, loadBuilt, startBuiltApp } from './built-app.js';
import { until } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';

describe.skipIf(!dashboardBuilt)("the dashboard's call page: the call's log lines", () => {
  let browser: Browser;
  let base = '';
  let close: () => Promise<void>;

  beforeAll(async () => {
    const { startSimulator } = await loadBuilt<typeof SimulatorTs>('simulator/index.js');
    const sim = await startSimulator({ port: 0, ttftMs: 2, tpotMs: 1, outputTokens: 20 });
    const { app, base: listening } = await startBuiltApp({
      server: { host: '127.0.0.1', port: 0, shutdownGrace: '2s' },
      providers: [{ name: 'simulator', baseUrl: sim.url }],
      storage: { url: 'sqlite::memory:' },
      // only warnings reach stdout (and so the call's lines): the test's output stays quiet
      telemetry: { logLevel: 'warn' },
      gpu: { collector: 'none' },
    } as ConfigTs.ConfigInput);
    base = listening;
    close = async () => {
      await app.close();
      await sim.close();
    };
    const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'sk-test', maxRetries: 0 });
    const messages = [{ role: 'user' as const, content: 'Hello' }];
    await expect(
      (async () => {
        const stream = await client.chat.completions.create(
          { model: 'gpt-4o-mini', messages, stream: true },
          { headers: { 'x-request-id': 'ui-logs-cut', 'x-simulator-fault': 'cut' } },
        );
        for await (const _ of stream) {
          // drain until the cut
        }
      })(),
    ).rejects.toThrow();
    await client.chat.completions.create(
      { model: 'gpt-4o-mini', messages },
      { headers: { 'x-request-id': 'ui-logs-ok' } },
    );
    await until(async () => {
      const r = await fetch(`${base}/api/requests/ui-logs-cut`);
      return r.ok && ((await r.json()) as { logs: unknown[] }).logs.length > 0;
    });
    await until(async () => (await fetch(`${base}/api/requests/ui-logs-ok`)).ok);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await close?.();
  });

  it('shows a cut stream\'s warning line with its fields folded, and "no log lines" for a call without any', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    const page = await ctx.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${base}/#/requests/ui-logs-cut`);
    await page.waitForSelector('#view[data-ready]', { timeout: 20_000 });
    const rows = page.locator('#logs tbody tr.log-line');
    expect(await rows.count()).toBe(2);
    expect(await rows.nth(1).getAttribute('data-event')).toBe('request_completed');
    expect((await rows.nth(1).locator('td').allTextContents())[0]).toBe('warn');
    const row = rows.first();
    expect(await row.getAttribute('data-event')).toBe('upstream_cut');
    const cells = await row.locator('td').allTextContents();
    expect(cells[0]).toBe('warn');
    expect(cells[1]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(cells[2]).toBe('upstream_cut');
    expect(cells[3]).toContain('upstream response ended early');
    // the rest of the line is folded until opened
    const pre = row.locator('details pre');
    expect(await pre.isVisible()).toBe(false);
    await row.locator('details summary').click();
    expect(await pre.isVisible()).toBe(true);
    expect(JSON.parse((await pre.textContent()) ?? '{}')).toMatchObject({
      request_id: 'ui-logs-cut',
      provider: 'simulator',
      model: 'gpt-4o-mini',
    });

    await page.goto(`${base}/#/requests/ui-logs-ok`);
    await page.waitForFunction(() => document.querySelector('h2.mono')?.textContent === 'ui-logs-ok');
    await page.waitForSelector('#logs-empty');
    expect(await page.textContent('#logs-empty')).toContain('no log lines for this call');
    await ctx.close();
    expect(errors).toEqual([]);
  }, 60_000);
});
