// A call's events on its request page, in real Chromium on the built app (QA49; needs `npm run build`): on a call of
// `npm run demo` the first-token event read {"llmscope.ttft_ms":145.0478515625} beside a TTFT tile of 145 ms, every
// digit of the measured float. Numbers with a fraction are shown to three decimals (the microsecond) now. The call's
// detail is a real one with that attribute's value set to the float the demo showed (a measured TTFT's digits vary).
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../src/config/index.js';
import type * as ServerTs from '../../src/server.js';
import type * as SimulatorTs from '../../src/simulator/index.js';
import { dashboardBuilt, loadBuilt, startBuiltApp } from './built-app.js';
import { until } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';

interface Ev {
  name: string;
  attributes?: Record<string, unknown>;
}

describe.skipIf(!existsSync(CHROMIUM) || !dashboardBuilt)("a call's event attributes on its request page", () => {
  let app: ServerTs.App;
  let base: string;
  let sim: Awaited<ReturnType<typeof SimulatorTs.startSimulator>>;
  let browser: Browser;

  beforeAll(async () => {
    const { startSimulator } = await loadBuilt<typeof SimulatorTs>('simulator/index.js');
    sim = await startSimulator({ port: 0, ttftMs: 5, tpotMs: 1, outputTokens: 5 });
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

  it('shows llmscope.ttft_ms 145.0478515625 as 145.048', async () => {
    const r = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-demo' },
      body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'Hello' }] }),
    });
    await r.text();
    const id = r.headers.get('x-request-id') as string;
    await until(async () => (await fetch(`${base}/api/requests/${id}`)).status === 200);
    const detail = (await (await fetch(`${base}/api/requests/${id}`)).json()) as {
      events: Ev[];
      spans: { events: Ev[] }[];
    };
    const all = [...detail.events, ...detail.spans.flatMap((s) => s.events)];
    const first = all.filter((e) => e.name === 'gen_ai.first_token');
    expect(first.length).toBeGreaterThan(0);
    // and a fraction under 1, as an OTLP event may carry (a price): kept to four significant digits, not rounded to 0
    for (const e of first) e.attributes = { 'llmscope.ttft_ms': 145.0478515625, cost_usd: 0.00001155 };

    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.route(`**/api/requests/${id}`, (route) =>
      route.fulfill({ contentType: 'application/json', body: JSON.stringify(detail) }),
    );
    await page.goto(`${base}/#/requests/${id}`);
    await page.waitForSelector('ul.events li', { timeout: 20_000 });
    const text = (await page.textContent('ul.events')) as string;
    // before: {"llmscope.ttft_ms":145.0478515625}
    expect(text).toContain('{"llmscope.ttft_ms":145.048,"cost_usd":0.00001155}');
    expect(pageErrors).toEqual([]);
    await page.close();
  });
});
