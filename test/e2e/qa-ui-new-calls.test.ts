// The dashboard with this session's new kinds of call, in real Chromium (needs `npm run build`): a Responses API
// WebSocket response (one call, endpoint responses), an OTLP trace with a GenAI retrieval span (a trace span, not a
// call), and the Keys page's models (a pattern the server refuses gives a clear error). Each page renders without
// page or console errors; /api/requests filters and /api/cost/summary group-bys count the WebSocket call.
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { ResponsesWS } from 'openai/resources/responses/ws';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as ModulesTs from '../../src/cli/modules.js';
import type * as ConfigTs from '../../src/config/index.js';
import type * as ServerTs from '../../src/server.js';
import type * as SimulatorTs from '../../src/simulator/index.js';
import { until } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const dist = (p: string) => new URL(`../../dist/${p}`, import.meta.url);
const built = existsSync(fileURLToPath(dist('ui/index.html'))) && existsSync(fileURLToPath(dist('server.js')));
const load = async <T>(p: string): Promise<T> => (await import(dist(p).href)) as T;

const TRACE = 'ab12'.repeat(8);
const kv = (key: string, v: string | number) => ({
  key,
  value: typeof v === 'string' ? { stringValue: v } : { intValue: String(v) },
});

function ragExport() {
  const t0 = (BigInt(Date.now()) - 1000n) * 1_000_000n;
  const at = (ms: number) => String(t0 + BigInt(ms) * 1_000_000n);
  const span = (id: string, parent: string | null, name: string, from: number, to: number, attrs: unknown[]) => ({
    traceId: TRACE,
    spanId: id,
    ...(parent ? { parentSpanId: parent } : {}),
    name,
    kind: 1,
    startTimeUnixNano: at(from),
    endTimeUnixNano: at(to),
    attributes: attrs,
  });
  const root = '3000000000000001';
  return {
    resourceSpans: [
      {
        resource: { attributes: [kv('service.name', 'qa-rag')] },
        scopeSpans: [
          {
            spans: [
              span(root, null, 'rag.answer', 0, 900, [kv('gen_ai.operation.name', 'invoke_agent')]),
              span('3000000000000002', root, 'retrieval kb-main', 10, 120, [
                kv('gen_ai.operation.name', 'retrieval'),
                kv('gen_ai.provider.name', 'openai'),
                kv('gen_ai.request.model', 'text-embedding-3-small'),
                kv('gen_ai.data_source.id', 'kb-main'),
                kv('gen_ai.retrieval.query.text', 'refund policy for card 4242?'),
              ]),
              span('3000000000000003', root, 'chat gpt-4o-mini', 130, 850, [
                kv('gen_ai.operation.name', 'chat'),
                kv('gen_ai.provider.name', 'openai'),
                kv('gen_ai.request.model', 'gpt-4o-mini'),
                kv('gen_ai.usage.input_tokens', 300),
                kv('gen_ai.usage.output_tokens', 20),
              ]),
            ],
          },
        ],
      },
    ],
  };
}

describe.skipIf(!built)("the dashboard with this session's new calls", () => {
  let browser: Browser;
  let base = '';
  let close: () => Promise<void>;
  let wsId = '';
  let otlpId = '';

  beforeAll(async () => {
    const { createApp } = await load<typeof ServerTs>('server.js');
    const { builtinModules } = await load<typeof ModulesTs>('cli/modules.js');
    const { validateConfig } = await load<typeof ConfigTs>('config/index.js');
    const { startSimulator } = await load<typeof SimulatorTs>('simulator/index.js');
    const sim = await startSimulator({ port: 0, ttftMs: 2, tpotMs: 1, outputTokens: 5 });
    // a provider whose host moved: every call answered 301 (recorded upstream_error since 8255390)
    const moved = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(301, { location: `https://api.example.test${req.url}`, 'content-length': 0 });
        res.end();
      });
    });
    await new Promise<void>((res) => moved.listen(0, '127.0.0.1', () => res()));
    const movedUrl = `http://127.0.0.1:${(moved.address() as { port: number }).port}/v1`;
    const r = validateConfig({
      server: { host: '127.0.0.1', port: 0, shutdownGrace: '2s' },
      providers: [
        { name: 'simulator', baseUrl: sim.url },
        { name: 'moved', baseUrl: movedUrl, models: ['moved-*'] },
      ],
      storage: { url: 'sqlite::memory:' },
      telemetry: { logLevel: 'silent', captureContent: true },
      gpu: { collector: 'none' },
    } as ConfigTs.ConfigInput);
    if (!r.ok) throw new Error(`bad config: ${JSON.stringify(r.issues)}`);
    const app = await createApp(r.config, { modules: builtinModules() });
    base = await app.listen();
    close = async () => {
      await app.close();
      await sim.close();
      await new Promise((res) => moved.close(res));
    };

    // one Responses WebSocket response, with the official client
    const ws = new ResponsesWS(new OpenAI({ baseURL: `${base}/v1`, apiKey: 'sk-test', maxRetries: 0 }), {
      headers: { 'x-llmscope-feature': 'qa-ws' },
    });
    let doneId = '';
    ws.on('event', (e) => {
      const ev = e as unknown as { type: string; response?: { id: string } };
      if (ev.type === 'response.completed') doneId = ev.response?.id ?? '';
    });
    await new Promise((res) => setTimeout(res, 0));
    ws.send({ type: 'response.create', model: 'gpt-4o-mini', input: 'hello over a websocket' } as never);
    await until(() => doneId, 10_000, 5);
    ws.close();
    const list = await until(async () => {
      const j = (await (await fetch(`${base}/api/requests?endpoint=responses`)).json()) as {
        data: { request_id: string; endpoint: string; feature: string | null }[];
      };
      return j.data.length > 0 ? j.data : undefined;
    });
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ endpoint: 'responses', feature: 'qa-ws' });
    wsId = list[0]?.request_id as string;

    const sent = await fetch(`${base}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(ragExport()),
    });
    expect(sent.status).toBe(200);
    otlpId = await until(async () => {
      const t = (await (await fetch(`${base}/api/traces/${TRACE}`)).json()) as { calls?: { request_id: string }[] };
      return t.calls?.[0]?.request_id;
    });

    const redirected = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'qa-moved-1' },
      body: JSON.stringify({ model: 'moved-model', messages: [{ role: 'user', content: 'hi' }] }),
      redirect: 'manual',
    });
    expect(redirected.status).toBe(301);
    await until(async () => (await fetch(`${base}/api/requests/qa-moved-1`)).ok);

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
      // Chromium logs the refused POST the Keys test sends on purpose; any other console error counts
      if (m.type() === 'error' && !/Failed to load resource: .* 400/.test(m.text())) errors.push(`console ${m.text()}`);
    });
    await page.goto(`${base}/${hash}`);
    await page.waitForSelector('#view[data-ready]', { timeout: 20_000 });
    await run(page);
    await ctx.close();
    expect(errors).toEqual([]);
  }

  it("/api/requests filters and /api/cost/summary group-bys count the WebSocket call and the trace's one call", async () => {
    const all = (await (await fetch(`${base}/api/requests`)).json()) as {
      data: { endpoint: string; request_id: string }[];
    };
    // the retrieval span is no call: the WS response and the OTLP chat span only (and the redirected call)
    const others = all.data.filter((c) => c.request_id !== 'qa-moved-1');
    expect(others.map((c) => c.endpoint).sort()).toEqual(['chat.completions', 'responses']);
    const byFeature = (await (await fetch(`${base}/api/requests?feature=qa-ws`)).json()) as { data: unknown[] };
    expect(byFeature.data).toHaveLength(1);
    for (const g of ['model', 'feature', 'provider', 'key', 'day']) {
      const r = await fetch(`${base}/api/cost/summary?range=1h&group_by=${g}`);
      const body = await r.text();
      expect(r.status, body).toBe(200);
      if (g === 'feature') expect(body).toContain('qa-ws');
    }
  });

  it("a WebSocket response's page renders", async () => {
    await open(`#/requests/${encodeURIComponent(wsId)}`, async (page) => {
      const text = await page.textContent('#view');
      expect(text).toContain('responses');
      expect(text).toContain('gpt-4o-mini');
    });
  });

  it('an OTLP trace with a retrieval span: the trace page and the call page draw it, no call for it', async () => {
    await open(`#/traces/${TRACE}`, async (page) => {
      expect(await page.textContent('#view')).toContain('retrieval kb-main');
    });
    await open(`#/requests/${encodeURIComponent(otlpId)}`, async (page) => {
      const names = await page.$$eval('#waterfall .span-row .span-name', (els) => els.map((e) => e.textContent));
      expect(names).toEqual(['rag.answer', 'retrieval kb-main', 'chat gpt-4o-mini']);
      expect(await page.textContent('#view')).not.toContain('4242');
    });
  });

  it('a redirected call: listed under status upstream_error, its page says where it was sent', async () => {
    const j = (await (await fetch(`${base}/api/requests?status=upstream_error`)).json()) as {
      data: { request_id: string; http_status: number }[];
    };
    expect(j.data.map((c) => [c.request_id, c.http_status])).toEqual([['qa-moved-1', 301]]);
    await open('#/requests/qa-moved-1', async (page) => {
      const text = (await page.textContent('#view')) ?? '';
      expect(text).toContain('upstream_error');
      expect(text).toContain('https://api.example.test/v1/chat/completions');
    });
  });

  it('the Keys page creates a key with models and says why a bad pattern is refused', async () => {
    await open('#/keys', async (page) => {
      await page.fill('#create-key input[name=name]', 'qa-models');
      await page.fill('#create-key input[name=models]', 'gpt 4o');
      await page.click('#create-key button[type=submit]');
      const msg = await until(async () => {
        const t = (await page.textContent('#create-key-msg')) ?? '';
        return t && t !== 'creating…' ? t : undefined;
      });
      expect(msg).toBe(
        'could not create the key: invalid key "models.0": "gpt 4o" is not a model name or pattern (no spaces or control characters; separate several with commas)',
      );
      await page.fill('#create-key input[name=models]', 'gpt-4.1*, claude-*');
      await page.click('#create-key button[type=submit]');
      await until(async () =>
        (await page.textContent('#view'))?.includes('models: gpt-4.1*, claude-*') ? true : undefined,
      );
    });
  });
});
