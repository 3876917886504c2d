// The dashboard end to end, in real Chromium (Debian's, driven by playwright-core) against the built llmscope
// (dist/: the server finds the built dashboard there) with every capability module, the simulator upstream and
// generated traffic: charts draw, a request shows its waterfall, a thumbs-down and a review label land, a firing
// alert shows and can be silenced, a hostile prompt stays text, and without the token a non-loopback bind says 401.
// Needs `npm run build` first (npm test builds).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as ModulesTs from '../../src/cli/modules.js';
import type * as ConfigTs from '../../src/config/index.js';
import type { ConfigInput } from '../../src/config/index.js';
import type * as ServerTs from '../../src/server.js';
import type * as SimulatorTs from '../../src/simulator/index.js';

const CHROMIUM = '/usr/bin/chromium';
const dist = (p: string) => new URL(`../../dist/${p}`, import.meta.url);
const built = existsSync(fileURLToPath(dist('ui/index.html'))) && existsSync(fileURLToPath(dist('server.js')));

const load = async <T>(p: string): Promise<T> => (await import(dist(p).href)) as T;

interface Stack {
  app: ServerTs.App;
  base: string;
  close(): Promise<void>;
}

async function startStack(extra: Partial<ConfigInput> = {}, traffic = true): Promise<Stack> {
  const { createApp } = await load<typeof ServerTs>('server.js');
  const { builtinModules } = await load<typeof ModulesTs>('cli/modules.js');
  const { validateConfig } = await load<typeof ConfigTs>('config/index.js');
  const { startSimulator, startTraffic } = await load<typeof SimulatorTs>('simulator/index.js');
  const sim = await startSimulator({ port: 0, ttftMs: 40, tpotMs: 3, jitter: true, seed: 5 });
  const r = validateConfig({
    server: { host: '127.0.0.1', port: 0, shutdownGrace: '2s' },
    providers: [{ name: 'simulator', baseUrl: sim.url }],
    storage: { url: 'sqlite::memory:' },
    telemetry: { logLevel: 'silent', captureContent: true },
    quality: { reviewRate: 1 },
    gpu: { collector: 'none' },
    alerts: {
      evaluationInterval: '1s',
      defaultRules: false,
      rules: [
        {
          name: 'UiTestTraffic',
          kind: 'request_rate',
          op: '>',
          threshold: 0.05,
          window: '1m',
          for: '0s',
          severity: 'warning',
          groupBy: [],
          annotations: { summary: 'test traffic is flowing' },
        },
      ],
    },
    ...extra,
  } as ConfigInput);
  if (!r.ok) throw new Error(`bad config: ${JSON.stringify(r.issues)}`);
  const app = await createApp(r.config, { modules: builtinModules() });
  const base = await app.listen();
  const t = traffic ? startTraffic({ baseUrl: `${base}/v1`, rps: 6, seed: 11 }) : null;
  return {
    app,
    base,
    async close() {
      await t?.stop();
      await app.close();
      await sim.close();
    },
  };
}

async function until<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const json = async <T>(url: string, init?: RequestInit): Promise<T> => {
  const r = await fetch(url, init);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status} ${await r.text()}`);
  return (await r.json()) as T;
};

/** Opens a dashboard view in a fresh page load and waits until its data is rendered. */
async function open(page: Page, url: string): Promise<void> {
  await page.goto('about:blank');
  await page.goto(url);
  await page.waitForSelector('#view[data-ready]', { timeout: 15_000 });
}

describe.skipIf(!existsSync(CHROMIUM))('dashboard in Chromium', () => {
  let stack: Stack;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  const dialogs: string[] = [];

  beforeAll(async () => {
    if (!built) throw new Error('the dashboard is not built: run `npm run build` first');
    stack = await startStack();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    // Charts draw complete minutes only (the one still filling is left out): 3 minutes of earlier calls, ingested.
    const now = Date.now();
    const earlier = Array.from({ length: 360 }, (_, i) => ({
      request_id: `earlier-${i}`,
      started_at: now - 200_000 + i * 500,
      provider: 'simulator',
      model: 'gpt-4o-mini',
      stream: true,
      http_status: i % 40 ? 200 : 500,
      input_tokens: 100,
      output_tokens: 50,
      ttft_ms: 120,
      tpot_ms: 5,
      latency_ms: 450,
    }));
    const ing = await fetch(`${stack.base}/api/ingest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(earlier),
    });
    expect(ing.status).toBeLessThan(300);
    await until('40 recorded calls', async () => {
      const r = await json<{ data: { request_id: string }[] }>(`${stack.base}/api/requests?limit=100`);
      return r.data.filter((c) => !c.request_id.startsWith('earlier-')).length >= 40;
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it('the overview draws non-empty series in its charts', async () => {
    await open(page, `${stack.base}/#/overview?range=1h`);
    for (const id of ['chart-latency', 'chart-ttft', 'chart-tpot', 'chart-rps', 'chart-tokens', 'chart-errors']) {
      await page.waitForSelector(`#${id} .plot[data-drawn] canvas`, { timeout: 10_000 });
      const drawn = Number(await page.getAttribute(`#${id} .plot`, 'data-drawn'));
      expect(drawn, id).toBeGreaterThan(0);
    }
    const requests = await page.textContent('#tiles .tile:first-child .v');
    expect(Number(String(requests).replace(/,/g, ''))).toBeGreaterThan(0);
    // The range lives in the URL and survives a reload.
    await page.click('button[data-range="6h"]');
    await page.waitForFunction(() => location.hash.includes('range=6h'));
    expect(await page.getAttribute('button[data-range="6h"]', 'class')).toContain('active');
    expect(pageErrors).toEqual([]);
  });

  it("a request's page shows its trace as a waterfall", async () => {
    const list = await json<{ data: { request_id: string; endpoint: string; stream: boolean }[] }>(
      `${stack.base}/api/requests?status=ok&endpoint=chat.completions&limit=50`,
    );
    const live = list.data.filter((c) => !c.request_id.startsWith('earlier-'));
    const call = live.find((c) => c.stream) ?? live[0];
    expect(call).toBeDefined();
    await open(page, `${stack.base}/#/requests/${call?.request_id}`);
    const rows = await page.$$eval('#waterfall .span-row', (els) => els.length);
    expect(rows).toBeGreaterThanOrEqual(3);
    const names = await page.$$eval('#waterfall .span-name', (els) => els.map((e) => e.textContent));
    expect(names).toContain('llmscope.upstream.wait');
    const rootWidth = await page.$eval(
      '#waterfall .span-bar',
      (el) => (el as HTMLElement).getBoundingClientRect().width,
    );
    expect(rootWidth).toBeGreaterThan(100);
    expect(await page.textContent('#price')).toContain('total');
  });

  it('a thumbs-down given in the UI appears in the quality figures', async () => {
    const list = await json<{ data: { request_id: string }[] }>(`${stack.base}/api/requests?status=ok&limit=5`);
    const id = list.data[0]?.request_id as string;
    await open(page, `${stack.base}/#/requests/${id}?range=1h`);
    await page.fill('#feedback-comment', 'wrong answer');
    await page.click('#thumbs-down');
    await page.waitForFunction(() => document.querySelector('.feedback')?.textContent?.includes('wrong answer'));
    const summary = await json<{ total: { feedback: { down: number } } }>(`${stack.base}/api/quality/summary`);
    expect(summary.total.feedback.down).toBeGreaterThanOrEqual(1);
    await open(page, `${stack.base}/#/quality?range=1h`);
    const tile = await page.$$eval('#quality-figures .tile', (els) =>
      els.map((e) => ({ k: e.querySelector('.k')?.textContent, v: e.querySelector('.v')?.textContent })),
    );
    expect(Number(tile.find((t) => t.k === 'thumbs down')?.v)).toBeGreaterThanOrEqual(1);
  });

  it('a review label given with one key is saved', async () => {
    await until('a pending review item', async () => {
      const q = await json<{ data: unknown[] }>(`${stack.base}/api/quality/review?status=pending&limit=1`);
      return q.data.length > 0;
    });
    await open(page, `${stack.base}/#/quality?range=1h`);
    await page.waitForSelector('#review-item a.mono');
    const id = (await page.textContent('#review-item a.mono')) as string;
    await page.locator('body').click({ position: { x: 5, y: 5 } }); // keys go to the page, not a field
    await page.keyboard.press('h');
    await page.waitForFunction(() => document.getElementById('review-msg')?.textContent?.startsWith('saved'));
    const labeled = await json<{ data: { request_id: string; labels: { hallucination: boolean | null } | null }[] }>(
      `${stack.base}/api/quality/review?status=labeled&limit=500`,
    );
    const item = labeled.data.find((x) => x.request_id === id);
    expect(item?.labels?.hallucination).toBe(true);
  });

  it('a firing alert appears on the alerts page, and a silence can be created for it', async () => {
    await until('a firing alert', async () => {
      const a = await json<{ firing: unknown[] }>(`${stack.base}/api/alerts`);
      return a.firing.length > 0;
    });
    await open(page, `${stack.base}/#/alerts?range=1h`);
    expect(await page.textContent('#alerts-firing')).toContain('UiTestTraffic');
    await page.click('#alerts-firing button[data-silence="UiTestTraffic"]');
    // the alert's own labels follow its name (qa-ui-silence-row.test.ts)
    expect(await page.inputValue('#silence-form textarea')).toMatch(/^alertname="UiTestTraffic"(\n|$)/);
    await page.fill('#silence-form input[name=comment]', 'known: test traffic');
    await page.fill('#silence-form input[name=created_by]', 'e2e');
    await page.click('#silence-form button[type=submit]');
    await page.waitForSelector('#silences');
    expect(await page.textContent('#silences')).toContain('alertname="UiTestTraffic"');
    const s = await json<{ silences: { status: string; comment: string | null; matchers: unknown }[] }>(
      `${stack.base}/api/alerts/silences`,
    );
    expect(s.silences.some((x) => x.status === 'active' && x.comment === 'known: test traffic')).toBe(true);
  });

  it('a prompt holding HTML is shown as text and runs nothing', async () => {
    const hostile = '<img src=x onerror="window.__xss=1;alert(1)"><script>window.__xss=2</script>';
    const r = await fetch(`${stack.base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-llmscope-user': '<b onmouseover=alert(3)>mallory</b>' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: hostile }] }),
    });
    expect(r.status).toBe(200);
    await r.text();
    const id = r.headers.get('x-request-id') as string;
    await until('the hostile call recorded', async () => {
      const x = await fetch(`${stack.base}/api/requests/${id}`);
      return x.ok;
    });
    await open(page, `${stack.base}/#/requests/${id}`);
    expect(await page.textContent('#prompt')).toContain(hostile);
    expect(await page.$$eval('#prompt *', (els) => els.length)).toBe(0);
    await open(
      page,
      `${stack.base}/#/requests?range=1h&user=${encodeURIComponent('<b onmouseover=alert(3)>mallory</b>')}`,
    );
    expect(await page.textContent('#requests tbody')).toContain('<b onmouseover=alert(3)>mallory</b>');
    expect(await page.$$eval('#requests tbody b', (els) => els.length)).toBe(0);
    await page.waitForTimeout(300);
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    expect(dialogs).toEqual([]);
  });
});

describe.skipIf(!existsSync(CHROMIUM))('dashboard on a non-loopback bind', () => {
  let stack: Stack;
  let base: string;
  const TOKEN = 'ui-test-token-5b9f';

  beforeAll(async () => {
    if (!built) throw new Error('the dashboard is not built: run `npm run build` first');
    stack = await startStack(
      { server: { host: '0.0.0.0', port: 0, adminToken: TOKEN } } as Partial<ConfigInput>,
      false,
    );
    base = stack.base.replace('0.0.0.0', '127.0.0.1');
  }, 30_000);

  afterAll(async () => {
    await stack?.close();
  });

  it('answers 401 to the API and the pages without the token, and lets the token in', async () => {
    for (const path of ['/api/overview', '/api/requests', '/api/cost/summary', '/api/alerts', '/api/ui/config']) {
      const r = await fetch(`${base}${path}`);
      expect(r.status, path).toBe(401);
    }
    for (const path of ['/', '/index.html', '/assets/does-not-matter.js']) {
      const r = await fetch(`${base}${path}`);
      expect(r.status, path).toBe(401);
      expect(await r.text()).not.toContain('<script type="module"');
    }
    const ok = await fetch(`${base}/api/overview`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);

    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    try {
      const page = await browser.newPage();
      const first = await page.goto(`${base}/`);
      expect(first?.status()).toBe(401);
      await page.fill('input[name=token]', TOKEN);
      await page.click('button');
      await page.waitForSelector('#view[data-ready]', { timeout: 15_000 });
      expect(await page.textContent('#nav')).toContain('Overview');
      const r = await page.evaluate(async () => (await fetch('/api/overview')).status);
      expect(r).toBe(200);
    } finally {
      await browser.close();
    }
  });
});
