// The dashboard's actions say why they failed (QA16): an on-call engineer who creates a silence with a matcher the
// server refuses, expires a silence while llmscope is unreachable, or gives feedback or a review label on a call
// that was erased meanwhile, reads what went wrong beside the button. Before, the expire button dropped every
// failure (nothing happened on the page), and the others used the wording of a failed load: "could not load the
// silence: ..." for a create, and for a 404 "no feedback yet — this llmscope does not serve it (capability not
// enabled)" when the call was gone. Needs `npm run build` first (npm test builds).
import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../src/config/index.js';
import type * as ServerTs from '../../src/server.js';
import { startBuiltApp } from './built-app.js';

const CHROMIUM = '/usr/bin/chromium';

describe.skipIf(!existsSync(CHROMIUM))('dashboard actions that fail say why, in Chromium', () => {
  let app: ServerTs.App;
  let base: string;
  let browser: Browser;
  let closed = false;
  const pageErrors: string[] = [];

  const call = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${base}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: r.status, text: await r.text() };
  };

  beforeAll(async () => {
    ({ app, base } = await startBuiltApp({
      server: { host: '127.0.0.1', port: 0, shutdownGrace: '1s' },
      storage: { url: 'sqlite::memory:', flushInterval: '0ms' },
      telemetry: { logLevel: 'silent', captureContent: true },
      gpu: { collector: 'none' },
      quality: { reviewRate: 1 },
      alerts: { defaultRules: false },
    } as ConfigInput));
    const now = Date.now();
    const calls = ['kept-1', 'gone-1', 'gone-2'].map((id, i) => ({
      request_id: id,
      started_at: new Date(now - 60_000 + i * 1000).toISOString(),
      provider: 'openai',
      model: 'gpt-4o-mini',
      input_tokens: 100,
      output_tokens: 20,
      latency_ms: 300,
      user: id.startsWith('gone') ? 'leaver' : 'stayer',
      team: 'search',
    }));
    const ing = await call('POST', '/api/ingest', { calls });
    expect(ing.status, ing.text).toBe(202);
    await app.ctx.recorder.flush();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    if (!closed) await app?.close();
    expect(pageErrors).toEqual([]);
  });

  async function open(hash: string): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${base}/${hash}`);
    await page.waitForSelector('#view[data-ready]', { timeout: 15_000 });
    return page;
  }

  it('a silence the server refuses: "could not create the silence" and the reason', async () => {
    const page = await open('#/alerts');
    await page.fill('#silence-form textarea', 'model=gpt 4o');
    await page.click('#silence-form button[type=submit]');
    await page.waitForFunction(() => !/creating/.test(document.querySelector('#silence-msg')?.textContent ?? 'x'));
    const msg = (await page.textContent('#silence-msg')) ?? '';
    expect(msg).toMatch(/^could not create the silence: invalid body "matchers\.0": a matcher like/);
    await page.close();
  });

  it('feedback and a review label on a call erased meanwhile: the server’s 404 reason, not "capability not enabled"', async () => {
    const req = await open('#/requests/gone-1');
    const queue = await open('#/quality');
    await queue.waitForSelector('#review-list li', { timeout: 10_000 });
    // the queue's first item is the newest call, gone-2: erase both of the user's calls behind the open pages
    expect(await queue.textContent('#review-list li')).toContain('gone-2');
    const erased = await call('DELETE', '/api/users/leaver/data');
    expect(erased.status, erased.text).toBe(200);

    await req.click('#thumbs-down');
    await req.waitForFunction(() => !/sending/.test(document.querySelector('#feedback-msg')?.textContent ?? 'x'));
    const fb = (await req.textContent('#feedback-msg')) ?? '';
    expect(fb).toMatch(/^could not record the feedback: no call with request_id "gone-1"/);
    expect(fb).not.toMatch(/capability|could not load/);

    await queue.click('#label-hallucinated');
    await queue.waitForFunction(() => !/saving/.test(document.querySelector('#review-msg')?.textContent ?? 'x'));
    const label = (await queue.textContent('#review-msg')) ?? '';
    expect(label).toMatch(/^could not save the label: no call with request_id "gone-2"/);
    expect(label).not.toMatch(/capability|could not load/);
    await req.close();
    await queue.close();
  });

  it('expiring a silence while llmscope is unreachable says so beside the button (it did nothing before)', async () => {
    const made = await call('POST', '/api/alerts/silences', { matchers: ['alertname="Anything"'], duration: '1h' });
    expect(made.status, made.text).toBe(201);
    const page = await open('#/alerts');
    await page.waitForSelector('#silences button');
    await app.close();
    closed = true;
    await page.click('#silences button');
    await page.waitForFunction(
      () => !/^$|expiring/.test(document.querySelector('#silences [data-expire-msg]')?.textContent ?? ''),
      undefined,
      { timeout: 10_000 },
    );
    expect(await page.textContent('#silences [data-expire-msg]')).toMatch(
      /^could not expire the silence: cannot reach llmscope/,
    );
    await page.close();
  });
});

describe.skipIf(!existsSync(CHROMIUM))('the reviewed-sample tile after labels outside the sample, in Chromium', () => {
  let app: ServerTs.App;
  let browser: Browser;

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('says the labels were not from the random sample instead of a bare "–" beside "1 labeled"', async () => {
    const started = await startBuiltApp({
      server: { host: '127.0.0.1', port: 0, shutdownGrace: '1s' },
      storage: { url: 'sqlite::memory:', flushInterval: '0ms' },
      telemetry: { logLevel: 'silent' },
      gpu: { collector: 'none' },
      quality: { reviewRate: 0 },
      alerts: { defaultRules: false },
    } as ConfigInput);
    app = started.app;
    const { base } = started;
    const post = async (path: string, body: unknown) => {
      const x = await fetch(`${base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: x.status, text: await x.text() };
    };
    const call = { request_id: 'disliked', started_at: new Date(Date.now() - 30_000).toISOString(), model: 'gpt-4o' };
    expect((await post('/api/ingest', { calls: [{ ...call, provider: 'openai', latency_ms: 200 }] })).status).toBe(202);
    await app.ctx.recorder.flush();
    // a thumbs-down queues the call for review (not by random sample); an engineer labels it
    const fb = await post('/api/feedback', { request_id: 'disliked', rating: 'down' });
    expect(fb.status, fb.text).toBeLessThan(300);
    const label = await post('/api/quality/review', { request_id: 'disliked', hallucination: true });
    expect(label.status, label.text).toBe(200);
    const summary = (await (await fetch(`${base}/api/quality/summary`)).json()) as {
      total: { reviewed: { sampled: number; labeled_total: number; rate: number | null } };
    };
    expect(summary.total.reviewed).toMatchObject({ sampled: 0, labeled_total: 1, rate: null });

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${base}/#/quality`);
    await page.waitForSelector('#view[data-ready]', { timeout: 15_000 });
    expect(await page.textContent('#quality-figures')).toContain(
      '1 labeled, none from the random sample (only those count here)',
    );
  });
});
