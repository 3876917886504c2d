// The Cost page given a call filter by the navigation (the nav carries model, provider, team, feature and endpoint
// from page to page): it applies it, from the call rollups, and says so. Before, a click on a model on the Overview
// followed by "Cost" showed every model's spend under a URL that read model=gpt-4o, without a word (QA24). In Chromium
// on the built app, with calls made through the gateway with the official openai client. Needs `npm run build` first.
import { existsSync } from 'node:fs';
import OpenAI from 'openai';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../src/config/index.js';
import type * as ServerTs from '../../src/server.js';
import type * as SimTs from '../../src/simulator/index.js';
import { loadBuilt, startBuiltApp } from './built-app.js';
import { getJson, until } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';

describe.skipIf(!existsSync(CHROMIUM))('the Cost page under a filter, in Chromium', () => {
  let app: ServerTs.App;
  let base: string;
  let sim: SimTs.Simulator;
  let browser: Browser;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    const { startSimulator } = await loadBuilt<typeof SimTs>('simulator/index.js');
    sim = await startSimulator({ port: 0, ttftMs: 0, tpotMs: 0, outputTokens: 20 });
    ({ app, base } = await startBuiltApp({
      server: { host: '127.0.0.1', port: 0, shutdownGrace: '1s' },
      storage: { url: 'sqlite::memory:', flushInterval: '0ms' },
      telemetry: { logLevel: 'silent' },
      gpu: { collector: 'none' },
      providers: [{ name: 'sim', baseUrl: sim.url }],
    } as ConfigInput));
    const client = new OpenAI({ apiKey: 'sk-test', baseURL: `${base}/v1`, maxRetries: 0 });
    const calls: [string, string, string][] = [
      ['gpt-4o', 'red', 'ana'],
      ['gpt-4o', 'red', 'ana'],
      ['gpt-4o', 'red', 'bo'],
      ['gpt-4o', 'blue', 'cy'],
      ['gpt-4o-mini', 'blue', 'cy'],
      ['gpt-4o-mini', 'blue', 'cy'],
    ];
    for (const [model, team, user] of calls)
      await client.chat.completions.create(
        { model, messages: [{ role: 'user', content: 'Say something about spend.' }] },
        { headers: { 'x-llmscope-team': team, 'x-llmscope-user': user } },
      );
    await until(async () => {
      await app.ctx.recorder.flush();
      const s = await getJson<{ total: { requests: number } }>(`${base}/api/cost/summary`);
      return s.total.requests === 6;
    });
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

  const tileText = async (page: import('playwright-core').Page, label: string): Promise<string> =>
    (await page
      .locator('#cost-tiles .tile', { has: page.locator('.k', { hasText: label }) })
      .first()
      .textContent()) ?? '';
  const rows = async (page: import('playwright-core').Page, dim: string): Promise<string[][]> =>
    page
      .locator(`table.groups[data-dim="${dim}"] tbody tr`)
      .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));

  it('model=gpt-4o from the navigation: the tiles, the chart and the tables are gpt-4o calls, and the page says so', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    // All spend first: 6 requests, no filter strip.
    await page.goto(`${base}/#/cost?range=1h`);
    await page.locator('#cost-tiles').waitFor();
    expect(await tileText(page, 'spend in range')).toContain('6 requests');
    expect(await page.locator('#cost-filter').count()).toBe(0);
    const allSpend = (await getJson<{ total: { cost_usd: number } }>(`${base}/api/cost/summary`)).total.cost_usd;

    // The Overview's model link, then the nav's Cost: model=gpt-4o is carried.
    await page.goto(`${base}/#/overview?range=1h&model=gpt-4o`);
    await page.locator('#nav a[data-page="cost"]').click();
    await page.locator('#cost-filter').waitFor();
    expect(page.url()).toContain('model=gpt-4o');
    expect(await page.locator('#cost-filter').textContent()).toContain('model = gpt-4o');
    expect(await tileText(page, 'spend in range')).toContain('4 requests');
    const stats = await getJson<{ cost_usd: number; requests: number }>(`${base}/api/stats/summary?model=gpt-4o`);
    expect(stats.requests).toBe(4);
    expect(stats.cost_usd).toBeGreaterThan(0);
    expect(stats.cost_usd).toBeLessThan(allSpend);
    expect(await tileText(page, 'month to date, all spend')).toBeTruthy();

    // By team: red's 3 gpt-4o calls and blue's 1 (blue's gpt-4o-mini calls not counted); by model: gpt-4o alone.
    const team = await rows(page, 'team');
    expect(team.map((r) => [r[0], r[3]])).toEqual([
      ['red', '3'],
      ['blue', '1'],
    ]);
    expect((await rows(page, 'model')).map((r) => r[0])).toEqual(['gpt-4o']);
    // By user is all spend only: said, with a link to this filter's calls.
    const link = page.locator('#cost-filter-calls');
    expect(await link.getAttribute('href')).toContain('model=gpt-4o');
    // The spend chart is drawn.
    expect(await page.locator('#chart-cost').count()).toBe(1);

    // "show all spend" leaves the filter.
    await page.locator('#cost-filter a').click();
    await until(async () => (await page.locator('#cost-filter').count()) === 0);
    await until(async () => (await tileText(page, 'spend in range')).includes('6 requests'));
    expect(pageErrors).toEqual([]);
    await page.close();
  }, 60_000);
});
