// The dashboard's metadata views, in real Chromium (needs `npm run build`): calls sent through the gateway with the
// official `openai` client carrying `x-llmscope-meta-*` headers are grouped on the Cost page's "By metadata" card
// (`meta_by=<key>` in the URL) with the spend /api/cost/summary?group_by=meta.<key> gives, a value's link opens the
// Requests page filtered by `meta.<key>=<value>` to exactly those calls, the Requests page's metadata filters are
// added, shown and removed through the URL, and a reload shows the same view. A bad key's 400 is shown in the card;
// a range longer than storage.retention.raw is said to reach past the raw calls.
import OpenAI from 'openai';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as ConfigTs from '../../src/config/index.js';
import type * as SimulatorTs from '../../src/simulator/index.js';
import { dashboardBuilt, loadBuilt, startBuiltApp } from './built-app.js';
import { until } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';

/** The dashboard's USD format (src/ui/lib/dom.ts usd), for amounts under $1000. */
const usd = (v: number): string => {
  const a = Math.abs(v);
  if (a >= 1) return `$${v.toFixed(2)}`;
  if (a === 0) return '$0';
  if (a >= 0.01) return `$${v.toFixed(3)}`;
  return `$${v.toPrecision(2)}`;
};

/** The calls sent: request id → metadata headers (the last has none). */
const CALLS: [string, Record<string, string>][] = [
  ['ui2-acme-1', { tenant: 'acme', env: 'prod' }],
  ['ui2-acme-2', { tenant: 'acme', env: 'prod' }],
  ['ui2-acme-3', { tenant: 'acme', env: 'dev' }],
  ['ui2-globex-1', { tenant: 'globex' }],
  ['ui2-globex-2', { tenant: 'globex' }],
  ['ui2-none-1', {}],
];
const ids = (pred: (m: Record<string, string>) => boolean) =>
  CALLS.filter(([, m]) => pred(m))
    .map(([id]) => id)
    .sort();

interface Summary {
  groups: { key: string | null; cost_usd: number; requests: number }[];
  resolution: string;
}

describe.skipIf(!dashboardBuilt)('the dashboard: spend by a metadata key, requests filtered by metadata', () => {
  let browser: Browser;
  let base = '';
  let close: () => Promise<void>;

  beforeAll(async () => {
    const { startSimulator } = await loadBuilt<typeof SimulatorTs>('simulator/index.js');
    const sim = await startSimulator({ port: 0, ttftMs: 2, tpotMs: 1, outputTokens: 40 });
    const { app, base: listening } = await startBuiltApp({
      server: { host: '127.0.0.1', port: 0, shutdownGrace: '2s' },
      providers: [{ name: 'simulator', baseUrl: sim.url }],
      // raw calls kept 2 days: a 7-day range reaches past them
      storage: { url: 'sqlite::memory:', retention: { raw: '2d' } },
      telemetry: { logLevel: 'silent' },
      gpu: { collector: 'none' },
    } as ConfigTs.ConfigInput);
    base = listening;
    close = async () => {
      await app.close();
      await sim.close();
    };

    const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'sk-test', maxRetries: 0 });
    for (const [i, [id, meta]] of CALLS.entries()) {
      const headers: Record<string, string> = { 'x-request-id': id };
      for (const [k, v] of Object.entries(meta)) headers[`x-llmscope-meta-${k}`] = v;
      await client.chat.completions.create(
        { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `call ${i} `.repeat(20 * (i + 1)) }] },
        { headers },
      );
    }
    await until(async () => {
      const j = (await (await fetch(`${base}/api/requests?limit=50`)).json()) as { data: { cost_usd: number }[] };
      return j.data.length === CALLS.length && j.data.every((c) => c.cost_usd > 0);
    });

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await close?.();
  });

  async function open(hash: string, run: (page: Page) => Promise<void>): Promise<void> {
    const ctx = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    const page = await ctx.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      // Chromium logs the 400 the bad-key test asks for on purpose; any other console error counts
      if (m.type() === 'error' && !/Failed to load resource: .* 400/.test(m.text())) errors.push(`console ${m.text()}`);
    });
    await page.goto(`${base}/${hash}`);
    await page.waitForSelector('#view[data-ready]', { timeout: 20_000 });
    await run(page);
    await ctx.close();
    expect(errors).toEqual([]);
  }

  /** Waits for the view to render again after the URL changed (each render sets a new data-ready). */
  async function rendered(page: Page, before: string | null): Promise<void> {
    await page.waitForFunction(
      (b) => {
        const v = document.querySelector('#view') as HTMLElement;
        return v.dataset.ready !== undefined && v.dataset.ready !== b;
      },
      before,
      { timeout: 20_000 },
    );
  }
  const ready = (page: Page) => page.getAttribute('#view', 'data-ready');

  const metaRows = (page: Page) =>
    page.$$eval('#meta-groups tbody tr', (trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent?.trim() ?? '')),
    );
  const requestIds = async (page: Page) =>
    (await page.$$eval('#requests tbody tr', (trs) => trs.map((tr) => (tr as HTMLElement).dataset.id ?? ''))).sort();

  it("the Cost page's By metadata card: chosen key in the URL, /api's spend per value, links to the filtered Requests", async () => {
    const api = (await (
      await fetch(`${base}/api/cost/summary?group_by=meta.tenant&from=${Date.now() - 3_600_000}`)
    ).json()) as Summary;
    expect(api.resolution).toBe('call');
    expect(api.groups.map((g) => [g.key, g.requests])).toEqual(
      expect.arrayContaining([
        ['acme', 3],
        ['globex', 2],
        [null, 1],
      ]),
    );
    const expected = api.groups.map((g) => [g.key ?? '(none)', usd(g.cost_usd), String(g.requests)]);

    await open('#/cost?range=1h', async (page) => {
      expect(await page.textContent('#view')).toContain('choose a metadata key');
      // the key field suggests the keys on recent calls
      const suggested = await page.$$eval('#meta-by datalist option', (os) => os.map((o) => o.getAttribute('value')));
      expect(suggested).toEqual(['env', 'tenant']);
      const before = await ready(page);
      await page.fill('#meta-by input[name=meta_by]', 'tenant');
      await page.click('#meta-by button[type=submit]');
      await rendered(page, before);
      expect(new URL(page.url()).hash).toBe('#/cost?range=1h&meta_by=tenant');
      const rows = await metaRows(page);
      // value, spend, share, requests, $/req: the same figures as /api
      expect(rows.map((r) => [r[0], r[1], r[3]])).toEqual(expected);
      expect(await page.textContent('#meta-retention')).toBe(
        'summed from raw calls, kept 2 days (storage.retention.raw)',
      );
      expect(await page.getAttribute('#meta-retention', 'class')).toBe('muted');

      // the URL round-trips: a reload shows the same card
      await page.reload();
      await page.waitForSelector('#meta-groups');
      expect(await metaRows(page)).toEqual(rows);
      expect(await page.inputValue('#meta-by input[name=meta_by]')).toBe('tenant');

      // a value's link: the Requests page over the same range, filtered to exactly that value's calls
      const link = page.locator('#meta-groups a', { hasText: 'acme' });
      expect(await link.getAttribute('href')).toBe('#/requests?range=1h&meta.tenant=acme');
      const atCost = await ready(page);
      await link.click();
      await rendered(page, atCost);
      await page.waitForSelector('#requests');
      expect(await requestIds(page)).toEqual(ids((m) => m.tenant === 'acme'));
      expect(await page.inputValue('#request-filters input[name="meta.tenant"]')).toBe('acme');
    });
  });

  it('the Requests page: metadata filters added, combined, shown, removed and kept across a reload', async () => {
    await open('#/requests?range=1h', async (page) => {
      expect(await requestIds(page)).toEqual(ids(() => true));
      // add one: key=value in the metadata field
      let before = await ready(page);
      await page.fill('#request-filters input[name=meta]', 'Tenant=acme');
      await page.click('#request-filters button[type=submit]');
      await rendered(page, before);
      expect(new URL(page.url()).hash).toBe('#/requests?range=1h&meta.tenant=acme');
      expect(await requestIds(page)).toEqual(ids((m) => m.tenant === 'acme'));
      // and a second: both must match
      before = await ready(page);
      await page.fill('#request-filters input[name=meta]', 'env=prod');
      await page.click('#request-filters button[type=submit]');
      await rendered(page, before);
      expect(await requestIds(page)).toEqual(ids((m) => m.tenant === 'acme' && m.env === 'prod'));
      expect(await page.inputValue('#request-filters input[name="meta.tenant"]')).toBe('acme');
      expect(await page.inputValue('#request-filters input[name="meta.env"]')).toBe('prod');

      await page.reload();
      await page.waitForSelector('#requests');
      expect(await requestIds(page)).toEqual(ids((m) => m.tenant === 'acme' && m.env === 'prod'));

      // something that is not key=value is refused by the field, the URL unchanged
      const hash = new URL(page.url()).hash;
      await page.fill('#request-filters input[name=meta]', 'tenant');
      await page.click('#request-filters button[type=submit]');
      expect(await page.$eval('#request-filters input[name=meta]', (i) => (i as HTMLInputElement).validity.valid)).toBe(
        false,
      );
      expect(new URL(page.url()).hash).toBe(hash);
      await page.fill('#request-filters input[name=meta]', '');

      // removed: emptied and applied
      before = await ready(page);
      await page.fill('#request-filters input[name="meta.env"]', '');
      await page.click('#request-filters button[type=submit]');
      await rendered(page, before);
      expect(new URL(page.url()).hash).toBe('#/requests?range=1h&meta.tenant=acme');
      expect(await requestIds(page)).toEqual(ids((m) => m.tenant === 'acme'));
      expect(await page.$('#request-filters input[name="meta.env"]')).toBeNull();
      // clear drops them all
      before = await ready(page);
      await page.click('#request-filters button.link');
      await rendered(page, before);
      expect(await requestIds(page)).toEqual(ids(() => true));
    });
  });

  it("a bad key's 400 is shown in the card; a range past storage.retention.raw is said to be", async () => {
    await open('#/cost?range=1h&meta_by=a%20b', async (page) => {
      const text = (await page.textContent('#meta-error')) ?? '';
      expect(text).toContain('could not load spend by meta.a b: ');
      expect(text).toContain('group_by');
      // the rest of the page still renders
      expect(await page.$('#cost-tiles')).not.toBeNull();
    });
    await open('#/cost?range=7d&meta_by=tenant', async (page) => {
      expect(await page.getAttribute('#meta-retention', 'class')).toBe('bad');
      expect(await page.textContent('#meta-retention')).toBe(
        'summed from raw calls, kept 2 days (storage.retention.raw): this range starts earlier, so its calls from before then are not counted here',
      );
      expect((await metaRows(page)).map((r) => r[0])).toEqual(expect.arrayContaining(['acme', 'globex', '(none)']));
    });
    const cfg = (await (await fetch(`${base}/api/ui/config`)).json()) as Record<string, unknown>;
    expect(cfg).toEqual({ trace_url_template: null, raw_retention_ms: 2 * 86_400_000 });
  });
});
