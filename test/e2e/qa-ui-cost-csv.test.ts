// The Cost page's "Download CSV" links (C2): each card by model, user, team, feature and metadata links to
// /api/cost/summary?format=csv over the page's range and the card's grouping, every group (limit 10000), and what the
// link downloads holds the rows the card shows; under a call filter (the cards by model, team and feature then read
// the call rollups, which the CSV does not) those cards offer no link, and the metadata card, all spend, keeps its.
// In Chromium on the built app. Needs `npm run build` first.
import { existsSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../src/config/index.js';
import type * as ServerTs from '../../src/server.js';
import { startBuiltApp } from './built-app.js';
import { getJson, until } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';

describe.skipIf(!existsSync(CHROMIUM))('the Cost page’s CSV downloads, in Chromium', () => {
  let app: ServerTs.App;
  let base: string;
  let browser: Browser;
  const pageErrors: string[] = [];
  const now = Date.now();

  beforeAll(async () => {
    ({ app, base } = await startBuiltApp({
      server: { host: '127.0.0.1', port: 0, shutdownGrace: '1s' },
      storage: { url: 'sqlite::memory:', flushInterval: '0ms' },
      telemetry: { logLevel: 'silent' },
      gpu: { collector: 'none' },
    } as ConfigInput));
    const rows: [string, string, string, string][] = [
      ['gpt-4o', 'red', 'ana, "ops"', 'acme'],
      ['gpt-4o', 'red', '=1+1', 'acme'],
      ['gpt-4o-mini', 'blue', 'cy', '+tenant'],
    ];
    const calls = rows.map(([model, team, user, tenant], i) => ({
      request_id: `csv-${i}`,
      started_at: new Date(now - 120_000 + i * 1000).toISOString(),
      provider: 'openai',
      model,
      input_tokens: 1000,
      output_tokens: 100,
      latency_ms: 200,
      user,
      team,
      feature: `${team}-chat`,
      metadata: { tenant },
    }));
    const r = await fetch(`${base}/api/ingest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ calls }),
    });
    expect(r.status, await r.text()).toBe(202);
    await until(async () => {
      await app.ctx.recorder.flush();
      return (await getJson<{ total: { requests: number } }>(`${base}/api/cost/summary`)).total.requests === 3;
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  const links = async (page: Page): Promise<Record<string, string>> =>
    Object.fromEntries(
      await page
        .locator('a.csv')
        .evaluateAll((as) => as.map((a) => [a.getAttribute('data-csv') ?? '', a.getAttribute('href') ?? ''])),
    );
  const cardKeys = async (page: Page, dim: string): Promise<string[]> =>
    page
      .locator(`table.groups[data-dim="${dim}"] tbody tr`)
      .evaluateAll((trs) => trs.map((tr) => tr.querySelector('td')?.textContent ?? ''));

  it('each card links to its grouping over the page’s range, and the download holds the card’s rows', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    const before = Date.now();
    await page.goto(`${base}/#/cost?range=1h&meta_by=tenant`);
    await page.locator('#meta-groups').waitFor();
    const after = Date.now();
    const hrefs = await links(page);
    expect(Object.keys(hrefs).sort()).toEqual(['feature', 'meta.tenant', 'model', 'team', 'user']);
    for (const [dim, href] of Object.entries(hrefs)) {
      const u = new URL(href, base);
      expect(u.pathname).toBe('/api/cost/summary');
      expect(Object.fromEntries(u.searchParams)).toMatchObject({ group_by: dim, format: 'csv', limit: '10000' });
      // the page's range: the last hour, as the page was drawn
      const from = Number(u.searchParams.get('from'));
      const to = Number(u.searchParams.get('to'));
      expect(to - from).toBe(3_600_000);
      expect(to).toBeGreaterThanOrEqual(before - 1000);
      expect(to).toBeLessThanOrEqual(after + 1000);
      // what the link downloads (in the page, with its cookies): the card's keys, defused where they are formulas
      const text = await page.evaluate(async (h) => (await fetch(h)).text(), href);
      const keys = (parse(text, { columns: true }) as Record<string, string>[])
        .filter((r) => r['row'] === 'group')
        .map((r) => (r[dim] ?? '').replace(/^'(?=[=+\-@])/, ''));
      expect(keys, dim).toEqual(await cardKeys(page, dim));
    }
    expect(pageErrors).toEqual([]);
    await page.close();
  }, 60_000);

  it('under a call filter: no link on the cards read from the rollups; the metadata card, all spend, keeps its', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${base}/#/cost?range=1h&model=gpt-4o&meta_by=tenant`);
    await page.locator('#cost-filter').waitFor();
    await page.locator('#meta-groups').waitFor();
    expect(Object.keys(await links(page))).toEqual(['meta.tenant']);
    expect(pageErrors).toEqual([]);
    await page.close();
  }, 60_000);
});
