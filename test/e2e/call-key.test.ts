// Which virtual key made a call (decision 65): the record's `api_key_id` on `/api/requests`, its detail and the
// `?api_key_id=` filter, through a real `llmscope serve` called by the official openai client with a key from the
// config and a key made on `/api/keys`. The key's id, never the key; null on an ingested call. In real Chromium, a
// call's page shows its key, linked to the Requests page filtered to that key's calls.
import { existsSync } from 'node:fs';
import OpenAI from 'openai';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashKey } from '../../src/cost/index.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { dashboardBuilt } from './built-app.js';
import { getJson, jsonCall, type ServeRun, startServeWithConfig, until } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';

const CONFIG_KEY = 'lsk_call_key_config_0123456789abcdef';

interface Call {
  request_id: string;
  api_key_id: string | null;
  user: string | null;
}

let sim: Simulator;
let serve: ServeRun;
/** The stored key made by the first case. */
let storedId = '';

beforeAll(async () => {
  sim = await startSimulator({ port: 0, ttftMs: 0, tpotMs: 0, outputTokens: 3 });
  serve = await startServeWithConfig({
    prefix: 'llmscope-call-key-',
    config: (dir) => ({
      server: { host: '127.0.0.1' },
      providers: [{ name: 'sim', baseUrl: sim.url }],
      storage: { url: `sqlite:${dir}/calls.db` },
      keys: [{ id: 'ci-config', hash: hashKey(CONFIG_KEY), user: 'svc-ci', team: 'platform' }],
      telemetry: { logLevel: 'warn' },
      gpu: { collector: 'none' },
    }),
  });
}, 60_000);

afterAll(async () => {
  await serve?.stop();
  await sim?.close();
});

describe('the virtual key on the call record', () => {
  it('names the key that made each call, filters by it, and never shows the key itself', async () => {
    const made = await jsonCall(serve.base, 'POST', '/api/keys', { name: 'ci-stored', user: 'svc-stored' });
    expect(made.status).toBe(201);
    const stored = made.body as { id: string; key: string };
    expect(stored.id).toMatch(/^key_/);

    const body = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'hi' }] };
    const viaConfig = new OpenAI({ apiKey: CONFIG_KEY, baseURL: `${serve.base}/v1`, maxRetries: 0 });
    const viaStored = new OpenAI({ apiKey: stored.key, baseURL: `${serve.base}/v1`, maxRetries: 0 });
    for (const id of ['ck-1', 'ck-2'])
      await viaConfig.chat.completions.create(body, { headers: { 'x-request-id': id } });
    const stream = await viaStored.chat.completions.create(
      { ...body, stream: true },
      { headers: { 'x-request-id': 'sk-1' } },
    );
    for await (const _ of stream) {
      // drain
    }
    const ingested = await jsonCall(serve.base, 'POST', '/api/ingest', {
      request_id: 'in-1',
      started_at: new Date().toISOString(),
      provider: 'openai',
      model: 'gpt-4o-mini',
      input_tokens: 10,
      output_tokens: 5,
    });
    expect(ingested.status).toBeLessThan(300);

    const all = await until(async () => {
      const r = await getJson<{ data: Call[] }>(`${serve.base}/api/requests`);
      return r.data.length === 4 ? r.data : null;
    });
    const keyOf = Object.fromEntries(all.map((c) => [c.request_id, c.api_key_id]));
    expect(keyOf).toEqual({ 'ck-1': 'ci-config', 'ck-2': 'ci-config', 'sk-1': stored.id, 'in-1': null });

    const byKey = async (id: string) =>
      (await getJson<{ data: Call[] }>(`${serve.base}/api/requests?api_key_id=${encodeURIComponent(id)}`)).data
        .map((c) => c.request_id)
        .sort();
    expect(await byKey('ci-config')).toEqual(['ck-1', 'ck-2']);
    expect(await byKey(stored.id)).toEqual(['sk-1']);
    expect(await byKey('key_nobody')).toEqual([]);

    const detail = await getJson<Call>(`${serve.base}/api/requests/sk-1`);
    expect(detail.api_key_id).toBe(stored.id);
    expect(detail.user).toBe('svc-stored');
    const text = JSON.stringify(await getJson(`${serve.base}/api/requests?limit=10`));
    expect(text).not.toContain(stored.key);
    expect(text).not.toContain(CONFIG_KEY);

    // after the key is revoked its calls keep its id, and still list by it
    expect((await jsonCall(serve.base, 'POST', `/api/keys/${stored.id}/revoke`)).status).toBe(200);
    expect(await byKey(stored.id)).toEqual(['sk-1']);
    storedId = stored.id;
  });

  it.skipIf(!dashboardBuilt || !existsSync(CHROMIUM))(
    "shows the key on a call's page, linked to the Requests page filtered to its calls",
    async () => {
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
      });
      try {
        const page = await browser.newPage();
        const errors: string[] = [];
        page.on('pageerror', (e) => errors.push(e.message));
        await page.goto(`${serve.base}/#/requests/ck-1?range=1h`);
        await page.waitForSelector('#key-link', { timeout: 20_000 });
        expect(await page.textContent('#key-link')).toBe('ci-config');
        await page.click('#key-link');
        await page.waitForSelector('#requests tbody tr', { timeout: 20_000 });
        const ids = async () =>
          (
            await page.$$eval('#requests tbody tr', (trs) => trs.map((tr) => (tr as HTMLElement).dataset.id ?? ''))
          ).sort();
        expect(await ids()).toEqual(['ck-1', 'ck-2']);
        expect(await page.inputValue('#request-filters input[name="api_key_id"]')).toBe('ci-config');
        // the filter typed on the Requests page
        await page.fill('#request-filters input[name="api_key_id"]', storedId);
        await page.click('#request-filters button[type=submit]');
        await page.waitForFunction(() => document.querySelectorAll('#requests tbody tr').length === 1, null, {
          timeout: 20_000,
        });
        expect(await ids()).toEqual(['sk-1']);
        expect(errors).toEqual([]);
      } finally {
        await browser.close();
      }
    },
    60_000,
  );

  it('refuses an over-long api_key_id filter with 400 naming the parameter', async () => {
    const r = await jsonCall(serve.base, 'GET', `/api/requests?api_key_id=${'k'.repeat(300)}`);
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.body)).toContain('api_key_id');
  });
});
