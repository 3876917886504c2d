// The dashboard's auto-refresh (every 30 s by default) no longer renders away what the user is doing (QA16): on the
// Requests page the rows paged in with "load more" went back to the newest 50 and the scroll jumped, and on any
// page with a filter bar a value typed but not yet applied was wiped, mid-typing. A tick is now skipped while a
// field of the page has focus, a filter differs from the URL, or rows were paged in; otherwise pages refresh as
// before. Runs on the 10 s refresh choice, so it takes about 40 s. Needs `npm run build` first.
import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../src/config/index.js';
import type * as ServerTs from '../../src/server.js';
import { startBuiltApp } from './built-app.js';

const CHROMIUM = '/usr/bin/chromium';
const TICK = 10_000;

describe.skipIf(!existsSync(CHROMIUM))('auto-refresh leaves the user’s work alone, in Chromium', () => {
  let app: ServerTs.App;
  let base: string;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    ({ app, base } = await startBuiltApp({
      server: { host: '127.0.0.1', port: 0, shutdownGrace: '1s' },
      storage: { url: 'sqlite::memory:', flushInterval: '0ms' },
      telemetry: { logLevel: 'silent' },
      gpu: { collector: 'none' },
      alerts: { defaultRules: false },
    } as ConfigInput));
    const now = Date.now();
    const calls = Array.from({ length: 120 }, (_, i) => ({
      request_id: `call-${String(i).padStart(3, '0')}`,
      started_at: new Date(now - 600_000 + i * 1000).toISOString(),
      provider: 'openai',
      model: 'gpt-4o-mini',
      input_tokens: 10,
      output_tokens: 10,
      latency_ms: 200,
      user: `user-${i % 7}`,
    }));
    const ing = await fetch(`${base}/api/ingest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ calls }),
    });
    expect(ing.status).toBe(202);
    await app.ctx.recorder.flush();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${base}/#/overview`);
    await page.evaluate((ms) => localStorage.setItem('llmscope.refresh', String(ms)), TICK);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    expect(pageErrors).toEqual([]);
  });

  async function open(hash: string): Promise<string> {
    await page.goto('about:blank');
    await page.goto(`${base}/${hash}`);
    await page.waitForSelector('#view[data-ready]', { timeout: 15_000 });
    return (await page.getAttribute('#view', 'data-ready')) ?? '';
  }
  const ready = () => page.getAttribute('#view', 'data-ready');

  it('with nothing in hand the page still refreshes on its tick', async () => {
    const r = await open('#/overview');
    await page.waitForFunction((was) => document.querySelector('#view')?.getAttribute('data-ready') !== was, r, {
      timeout: TICK + 5_000,
    });
  }, 30_000);

  it('rows paged in with "load more" and a filter typed but not applied outlive two ticks', async () => {
    const r = await open('#/requests');
    expect(await page.$$eval('#requests tbody tr', (rows) => rows.length)).toBe(50);
    await page.click('#view button:has-text("load more")');
    await page.waitForFunction(() => document.querySelectorAll('#requests tbody tr').length === 100);
    await page.waitForTimeout(2 * TICK + 1_000);
    expect(await page.$$eval('#requests tbody tr', (rows) => rows.length)).toBe(100);
    expect(await ready()).toBe(r);

    const o = await open('#/overview');
    await page.fill('#filters input[name=model]', 'gpt-4o');
    await page.click('h3, body', { position: { x: 5, y: 5 } }); // typed, not applied, focus elsewhere
    await page.waitForTimeout(TICK + 2_000);
    expect(await page.inputValue('#filters input[name=model]')).toBe('gpt-4o');
    expect(await ready()).toBe(o);
  }, 60_000);
});
