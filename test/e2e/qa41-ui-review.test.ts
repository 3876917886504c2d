// The dashboard as a product manager reviewing the sampled calls and reading spend (QA41), in real Chromium on the
// built app (needs `npm run build`). Labeling a sampled call on the Quality page left the "hallucination rate
// (reviewed sample)" tile and the detectors' table as they were ("0 labeled") until the page was reloaded or the
// auto-refresh came round (off: never), so the reviewer never saw the rate move; now they are read again after each
// label. And the Cost page at a phone's width (390 px) overflowed sideways by 190 px: its wide cards had a 560 px
// minimum column. The review queue filters by why a call came in (the random sample the rate is measured on). And an
// on-call engineer paged for p95 latency goes from the Overview's latency tile to the calls at or over it.
import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../src/config/index.js';
import type * as ServerTs from '../../src/server.js';
import { dashboardBuilt, startBuiltApp } from './built-app.js';

const CHROMIUM = '/usr/bin/chromium';

describe.skipIf(!existsSync(CHROMIUM) || !dashboardBuilt)('the review loop and spend pages, in Chromium', () => {
  let app: ServerTs.App;
  let base: string;
  let browser: Browser;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    ({ app, base } = await startBuiltApp({
      server: { host: '127.0.0.1', port: 0, shutdownGrace: '1s' },
      storage: { url: 'sqlite::memory:', flushInterval: '0ms' },
      telemetry: { logLevel: 'silent', captureContent: true },
      gpu: { collector: 'none' },
      // every call is sampled for review
      quality: { reviewRate: 1 },
      alerts: { defaultRules: false },
      budgets: [{ name: 'team-daily', scope: 'team', period: 'day', limit: 5, action: 'alert' }],
    } as ConfigInput));
    const now = Date.now();
    const calls = ['pm-1', 'pm-2'].map((id, i) => ({
      request_id: id,
      started_at: new Date(now - 60_000 + i * 1000).toISOString(),
      provider: 'openai',
      model: 'gpt-4o-mini',
      input_tokens: 100,
      output_tokens: 20,
      latency_ms: 300,
      user: 'pm-user',
      team: 'search',
      feature: 'rag-answer',
    }));
    // the on-call engineer's slow calls: two, older than the product manager's (last in the review queue)
    const slow = [4000, 6000].map((latency, i) => ({
      ...calls[0],
      request_id: `slow-${i + 1}`,
      started_at: new Date(now - 300_000 + i * 1000).toISOString(),
      latency_ms: latency,
      user: 'oncall-user',
    }));
    const r = await fetch(`${base}/api/ingest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ calls: [...calls, ...slow] }),
    });
    expect(r.status, await r.text()).toBe(202);
    await app.ctx.recorder.flush();
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

  async function open(hash: string, width = 1280): Promise<Page> {
    const ctx = await browser.newContext({ viewport: { width, height: 900 } });
    // auto-refresh off: what moves on the page moves because of the action
    await ctx.addInitScript(() => localStorage.setItem('llmscope.refresh', '0'));
    const page = await ctx.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${base}/${hash}`);
    await page.waitForSelector('#view[data-ready]', { timeout: 15_000 });
    return page;
  }

  const reviewedTile = (page: Page) =>
    page.evaluate(
      () =>
        [...document.querySelectorAll('#quality-figures .tile')]
          .map((t) => t.textContent ?? '')
          .find((t) => t.includes('reviewed sample')) ?? '',
    );

  it('a label saved in the review queue moves the reviewed-sample rate at once, without a reload', async () => {
    const page = await open('#/quality');
    expect(await reviewedTile(page)).toContain('0 labeled');
    await page.waitForSelector('#review-list li.active');
    await page.keyboard.press('h');
    await page.waitForFunction(() => /saved/.test(document.querySelector('#review-msg')?.textContent ?? ''));
    // Before: still '0 labeled' until a reload.
    await page.waitForFunction(
      () =>
        [...document.querySelectorAll('#quality-figures .tile')].some((t) =>
          /100(\.0)?%hallucination rate \(reviewed sample\)95% CI .* n=1/.test(t.textContent ?? ''),
        ),
      undefined,
      { timeout: 5_000 },
    );
    await page.keyboard.press('g');
    await page.waitForFunction(() =>
      [...document.querySelectorAll('#quality-figures .tile')].some((t) =>
        /50(\.0)?%hallucination rate \(reviewed sample\).* n=2/.test(t.textContent ?? ''),
      ),
    );
    const api = (await (await fetch(`${base}/api/quality/summary`)).json()) as {
      total: { reviewed: { sampled: number; hallucinated: number } };
    };
    expect(api.total.reviewed).toMatchObject({ sampled: 2, hallucinated: 1 });
    await page.context().close();
  });

  it('the review queue lists the calls of one reason (the random sample, thumbs down, ...), in the URL', async () => {
    const fb = await fetch(`${base}/api/feedback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ request_id: 'slow-1', rating: 'down' }),
    });
    expect(fb.status).toBe(201);
    const page = await open('#/quality');
    const listed = () => page.$$eval('#review-list li', (ls) => ls.map((l) => l.getAttribute('data-id')));
    expect(await listed()).toContain('slow-2');
    // Before: no such control; the queue mixed every reason, newest first.
    await page.selectOption('#review-reason', 'thumbs_down');
    await page.waitForFunction(() => location.hash.includes('reason=thumbs_down'));
    await page.waitForFunction(() => document.querySelectorAll('#review-list li').length === 1);
    expect(await listed()).toEqual(['slow-1']);
    await page.goBack();
    await page.waitForFunction(() => document.querySelectorAll('#review-list li').length > 1);
    expect(await page.inputValue('#review-reason')).toBe('');
    await page.context().close();
  });

  it("the Overview's latency p95 leads to the calls at or over it, and back", async () => {
    const page = await open('#/overview?range=6h&team=search');
    const ov = (await (
      await fetch(`${base}/api/overview?from=${Date.now() - 6 * 3_600_000}&to=${Date.now()}`)
    ).json()) as {
      summary: { latency_p95: number };
    };
    // Before: no way from the tile (or the Requests filters) to the slow calls.
    const link = await page.getAttribute('#tile-latency #slow-calls', 'href');
    expect(link).toBe(`#/requests?range=6h&team=search&min_latency_ms=${Math.floor(ov.summary.latency_p95 / 1.01)}`);
    await page.click('#tile-latency #slow-calls');
    await page.waitForFunction(() => location.hash.startsWith('#/requests'));
    await page.waitForSelector('#view[data-ready] #requests');
    // p95 of 300, 300, 4000 and 6000 ms is the 4000 ms call (docs: the lower rank): both slow calls, nothing else
    const ids = await page.$$eval('#requests tbody tr', (rows) => rows.map((r) => r.textContent ?? ''));
    expect(ids).toHaveLength(2);
    expect(ids[0]).toContain('slow-2');
    expect(ids[1]).toContain('slow-1');
    // the filter shows what is applied, and clearing it lists every call again
    expect(await page.inputValue('#request-filters input[name=min_latency_ms]')).toBe(
      link?.split('min_latency_ms=')[1],
    );
    await page.fill('#request-filters input[name=min_latency_ms]', '5000');
    await page.press('#request-filters input[name=min_latency_ms]', 'Enter');
    await page.waitForFunction(() => location.hash.includes('min_latency_ms=5000'));
    await page.waitForFunction(() => document.querySelectorAll('#requests tbody tr').length === 1);
    expect(await page.textContent('#requests tbody tr')).toContain('slow-2');
    await page.goBack();
    await page.waitForFunction(() => document.querySelectorAll('#requests tbody tr').length === 2);
    await page.goBack();
    await page.waitForSelector('#view[data-ready] #tile-latency');
    expect(page.url()).toContain('#/overview?range=6h&team=search');
    await page.context().close();
  });

  it('the Cost page fits a phone (390 px): no sideways overflow', async () => {
    const page = await open('#/cost', 390);
    await page.waitForSelector('#budgets');
    // Before: the By model/team/feature/user and Budgets cards were 560 px wide, 190 px past the window.
    const over = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(over).toBeLessThanOrEqual(0);
    // the budgets table scrolls inside its card
    const card = await page.evaluate(() => {
      const r = document.querySelector('#budgets')?.closest('.card')?.getBoundingClientRect();
      return r ? Math.round(r.right) : null;
    });
    expect(card).not.toBeNull();
    expect(card as number).toBeLessThanOrEqual(390);
    await page.context().close();
  });
});

describe.skipIf(!existsSync(CHROMIUM) || !dashboardBuilt)('a review queue longer than a page, in Chromium', () => {
  let app: ServerTs.App;
  let base: string;
  let browser: Browser;

  beforeAll(async () => {
    ({ app, base } = await startBuiltApp({
      server: { host: '127.0.0.1', port: 0, shutdownGrace: '1s' },
      storage: { url: 'sqlite::memory:', flushInterval: '0ms' },
      telemetry: { logLevel: 'silent' },
      gpu: { collector: 'none' },
      quality: { reviewRate: 1 },
      alerts: { defaultRules: false },
    } as ConfigInput));
    const now = Date.now();
    const calls = Array.from({ length: 105 }, (_, i) => ({
      request_id: `queued-${String(i).padStart(3, '0')}`,
      started_at: new Date(now - 600_000 + i * 1000).toISOString(),
      provider: 'openai',
      model: 'gpt-4o-mini',
      input_tokens: 10,
      output_tokens: 5,
      latency_ms: 200,
    }));
    const r = await fetch(`${base}/api/ingest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ calls }),
    });
    expect(r.status, await r.text()).toBe(202);
    await app.ctx.recorder.flush();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('loads the calls past the first 100 on demand, and labels them', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${base}/#/quality`);
    await page.waitForSelector('#view[data-ready] #review-list li');
    expect(await page.$$eval('#review-list li', (ls) => ls.length)).toBe(100);
    // Before: no way to the 5 oldest (the list stopped at 100, nothing said more were waiting).
    await page.click('#review-more');
    await page.waitForFunction(() => document.querySelectorAll('#review-list li').length === 105);
    expect(await page.isHidden('#review-more')).toBe(true);
    const last = await page.$$eval('#review-list li', (ls) => ls.map((l) => l.getAttribute('data-id')).at(-1));
    expect(last).toBe('queued-000');
    await page.click('#review-list li:last-child');
    await page.keyboard.press('g');
    await page.waitForFunction(() => /saved: grounded/.test(document.querySelector('#review-msg')?.textContent ?? ''));
    const labeled = (await (await fetch(`${base}/api/quality/review?status=labeled`)).json()) as {
      data: { request_id: string }[];
    };
    expect(labeled.data.map((d) => d.request_id)).toEqual(['queued-000']);
    await page.close();
  });
});
