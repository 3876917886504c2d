// The dashboard's call page, in real Chromium. For an agent traced with OpenTelemetry (an agent run exported to
// /v1/traces as OTLP/JSON: its root span, a retrieval step, two model calls and a tool call between them), each
// model call's page draws the whole agent waterfall (every span of the trace, the call's own marked), not only the
// spans stored with that call. For a call with prompt-cache writes (Claude Code's), the price table has a cache-write
// row and its rows add up to the call's cost. Needs `npm run build` first (npm test builds).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as ConfigTs from '../../src/config/index.js';
import type * as CostTs from '../../src/cost/index.js';
import type * as ServerTs from '../../src/server.js';

const CHROMIUM = '/usr/bin/chromium';
const dist = (p: string) => new URL(`../../dist/${p}`, import.meta.url);
const built = existsSync(fileURLToPath(dist('ui/index.html'))) && existsSync(fileURLToPath(dist('server.js')));
const load = async <T>(p: string): Promise<T> => (await import(dist(p).href)) as T;

const TRACE = 'c0ffee'.padEnd(32, '1');
const kv = (key: string, v: string | number) => ({
  key,
  value: typeof v === 'string' ? { stringValue: v } : { intValue: String(v) },
});

/** An agent run of 1.2 s ending now: root, retrieval, call 1, a tool call, call 2. */
function agentExport() {
  const t0 = (BigInt(Date.now()) - 1200n) * 1_000_000n;
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
  const llm = (n: number) => [
    kv('gen_ai.operation.name', 'chat'),
    kv('gen_ai.provider.name', 'openai'),
    kv('gen_ai.request.model', 'gpt-4o-mini'),
    kv('gen_ai.usage.input_tokens', 100 * n),
    kv('gen_ai.usage.output_tokens', 10 * n),
  ];
  const root = '2000000000000001';
  return {
    resourceSpans: [
      {
        resource: { attributes: [kv('service.name', 'trace-page-agent')] },
        scopeSpans: [
          {
            spans: [
              span(root, null, 'agent.run', 0, 1200, [kv('gen_ai.operation.name', 'invoke_agent')]),
              span('2000000000000002', root, 'retrieve docs', 10, 100, [kv('openinference.span.kind', 'RETRIEVER')]),
              span('2000000000000003', root, 'chat step-1', 110, 500, llm(1)),
              span('2000000000000004', root, 'tool.search', 510, 600, [kv('gen_ai.operation.name', 'execute_tool')]),
              span('2000000000000005', root, 'chat step-2', 610, 1150, llm(2)),
            ],
          },
        ],
      },
    ],
  };
}

describe.skipIf(!built)('call pages in Chromium', () => {
  let browser: Browser;
  let base: string;
  let close: () => Promise<void>;
  let ids: string[] = [];

  beforeAll(async () => {
    const { createApp } = await load<typeof ServerTs>('server.js');
    const { validateConfig } = await load<typeof ConfigTs>('config/index.js');
    const { createCostModule } = await load<typeof CostTs>('cost/index.js');
    const r = validateConfig({
      server: { host: '127.0.0.1', port: 0, shutdownGrace: '2s' },
      providers: [{ name: 'simulator', baseUrl: 'http://127.0.0.1:9/v1' }],
      storage: { url: 'sqlite::memory:' },
      telemetry: { logLevel: 'silent' },
      gpu: { collector: 'none' },
    } as ConfigTs.ConfigInput);
    if (!r.ok) throw new Error(`bad config: ${JSON.stringify(r.issues)}`);
    const app = await createApp(r.config, { modules: [createCostModule] });
    base = await app.listen();
    close = () => app.close();
    const sent = await fetch(`${base}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(agentExport()),
    });
    expect(sent.status).toBe(200);
    for (let i = 0; i < 100 && ids.length < 2; i++) {
      const page = (await (await fetch(`${base}/api/traces/${TRACE}`)).json()) as { calls?: { request_id: string }[] };
      ids = (page.calls ?? []).map((c) => c.request_id);
      if (ids.length < 2) await new Promise((res) => setTimeout(res, 100));
    }
    expect(ids).toHaveLength(2);
    // a Claude Code call: most of its prompt written to the cache, some read from it
    const ingested = await fetch(`${base}/api/ingest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        request_id: 'page-cache-write',
        started_at: new Date(Date.now() - 2000).toISOString(),
        provider: 'anthropic',
        model: 'claude-sonnet-4-5',
        endpoint: 'messages',
        input_tokens: 20_000,
        cached_input_tokens: 1_000,
        cache_write_input_tokens: 18_000,
        output_tokens: 500,
      }),
    });
    expect(ingested.status).toBe(202);
    for (let i = 0; i < 100; i++) {
      if ((await fetch(`${base}/api/requests/page-cache-write`)).ok) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await close?.();
  });

  async function rowsOf(
    id: string,
  ): Promise<{ names: string[]; bold: string[]; note: string | null; overhead: string }> {
    const ctx = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    const page: Page = await ctx.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${base}/#/requests/${encodeURIComponent(id)}`);
    await page.waitForSelector('#view[data-ready]', { timeout: 20_000 });
    const names = await page.$$eval('#waterfall .span-row .span-name', (els) => els.map((e) => e.textContent ?? ''));
    const bold = await page.$$eval('#waterfall .span-row.current > summary .span-name', (els) =>
      els.map((e) => e.textContent ?? ''),
    );
    const note = (await (await page.$('#trace-note'))?.textContent()) ?? null;
    const overhead = (await (await page.$('#overhead'))?.textContent()) ?? '';
    await ctx.close();
    expect(errors).toEqual([]);
    return { names, bold, note, overhead };
  }

  it("each call's page draws the whole agent waterfall, the call's own span marked", async () => {
    const all = ['agent.run', 'retrieve docs', 'chat step-1', 'tool.search', 'chat step-2'];
    const first = await rowsOf(ids[0] as string);
    // the tree in start order under the root
    expect(first.names).toEqual(all);
    expect(first.bold).toEqual(['chat step-1']);
    expect(first.note).toMatch(/2 calls/);
    // llmscope was not in these calls' path: no overhead of its own (it read 0 ms before)
    expect(first.overhead).toMatch(/–.*not through the gateway/);
    expect(first.overhead).not.toMatch(/0 ms/);
    const second = await rowsOf(ids[1] as string);
    expect(second.names).toEqual(all);
    expect(second.bold).toEqual(['chat step-2']);
  }, 60_000);

  it("a call with cache writes: the price table's rows (input, cached, cache write, output) add up to its cost", async () => {
    const ctx = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    const page: Page = await ctx.newPage();
    await page.goto(`${base}/#/requests/page-cache-write`);
    await page.waitForSelector('#view[data-ready]', { timeout: 20_000 });
    const rows = await page.$$eval('#price tbody tr', (trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')),
    );
    await ctx.close();
    const tokens = (t: string) => Number(t.replace(/[^0-9.]/g, ''));
    const dollars = (t: string) => Number(t.replace(/[^0-9.]/g, ''));
    const lines = rows.filter((r) => r[0] !== 'total');
    expect(lines.map((r) => [r[0], tokens(r[1] ?? '')])).toEqual([
      ['input', 1_000],
      ['cached input', 1_000],
      ['cache write', 18_000],
      ['output', 500],
    ]);
    // claude-sonnet-4-5: $3 input, $0.30 cached, $3.75 cache write, $15 output per 1M
    expect(rows.find((r) => r[0] === 'cache write')?.[2]).toMatch(/\$3\.75 \/ 1M/);
    const total = dollars(rows.find((r) => r[0] === 'total')?.[3] ?? '');
    expect(total).toBeCloseTo((1_000 * 3 + 1_000 * 0.3 + 18_000 * 3.75 + 500 * 15) / 1e6, 3);
    // the rows as shown (rounded) add up to the total (without the cache-write row they were $0.013 short)
    const sum = lines.reduce((a, r) => a + dollars(r[3] ?? ''), 0);
    expect(Math.abs(sum - total)).toBeLessThan(0.002);
  }, 60_000);
});
