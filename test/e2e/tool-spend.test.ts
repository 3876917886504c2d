// Built-in tool charges as their own spend figure (decision 163), an ingested record's tool uses priced (R6) and tool
// uses without a price counted (decision 162), through the real `serve` (built CLI: needs `npm run build`), the
// official clients and the simulator. Before: /api/cost had no tool spend, a bill's web search line reconciled as
// non_api_items with the searches in the model's price_mismatch, an ingested record's price.tools added nothing to
// its cost, and an unpriced tool use was invisible.
import { existsSync } from 'node:fs';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LlmCallWire } from '../../src/calls/index.js';
import { dayStart } from '../../src/cost/pricing.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import {
  getJson,
  killServe,
  metricValue,
  parseMetrics,
  type ServeRun,
  startServeWithConfig,
  until,
} from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';

/** USD, to 1e-9 (the API's rounding). */
const r9 = (n: number): number => Math.round(n * 1e9) / 1e9;

interface Figures {
  cost_usd: number;
  tool_cost_usd: number | null;
  token_cost_usd: number | null;
}

describe('built-in tool spend (decision 163), ingest (R6) and unpriced tool uses (decision 162)', () => {
  let sim: Simulator;
  let run: ServeRun | undefined;
  beforeAll(async () => {
    sim = await startSimulator({ port: 0, ttftMs: 0, tpotMs: 0, outputTokens: 6 });
    run = await startServeWithConfig({
      prefix: 'tool-spend-',
      config: (dir) => ({
        server: { host: '127.0.0.1', port: 0, shutdownGrace: '5s' },
        providers: [
          { name: 'anthropic-sim', type: 'anthropic', baseUrl: sim.url, models: ['claude-*'] },
          { name: 'openai-sim', baseUrl: sim.url },
        ],
        storage: { url: `sqlite:${dir}/llmscope.db` },
        telemetry: { logLevel: 'warn' },
        gpu: { collector: 'none' },
      }),
    });
  }, 90_000);
  afterAll(async () => {
    killServe(run?.proc);
    await sim?.close();
  });

  const base = () => (run as ServeRun).base;
  const record = (id: string | null) =>
    until(async () => {
      const c = await getJson<LlmCallWire>(`${base()}/api/requests/${id}`).catch(() => null);
      return c !== null && c.cost_usd !== null ? c : null;
    });
  const openai = () => new OpenAI({ baseURL: `${base()}/v1`, apiKey: 'x', maxRetries: 0 });
  const today = new Date().toISOString().slice(0, 10);
  const range = `from=${new Date(dayStart(today)).toISOString()}&to=${new Date(Date.now() + 60_000).toISOString()}`;
  let gpt: LlmCallWire;
  let claude: LlmCallWire;

  it('lands the searches in /api/cost as tool spend beside the token spend', async () => {
    const { response } = await openai()
      .responses.create(
        { model: 'gpt-4o', input: 'Find the latest changelog', tools: [{ type: 'web_search' }] },
        { headers: { 'x-simulator-web-searches': '3' } },
      )
      .withResponse();
    gpt = await record(response.headers.get('x-request-id'));
    expect(gpt.price?.tools).toEqual([{ tool: 'web_search', unit_price: 0.01, units: 3 }]);
    const { response: r2 } = await new Anthropic({ baseURL: base(), apiKey: 'x', maxRetries: 0 }).messages
      .create(
        {
          model: 'claude-sonnet-4-5',
          max_tokens: 64,
          tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 5 }],
          messages: [{ role: 'user', content: 'What is the weather in Lisbon today?' }],
        },
        { headers: { 'x-simulator-web-searches': '2' } },
      )
      .withResponse();
    claude = await record(r2.headers.get('x-request-id'));
    expect(claude.price?.tools).toEqual([{ tool: 'web_search', unit_price: 0.01, units: 2 }]);
    const cost = r9((gpt.cost_usd as number) + (claude.cost_usd as number));
    const summary = await until(async () => {
      const s = await getJson<{ total: Figures; groups: (Figures & { key: string })[] }>(
        `${base()}/api/cost/summary?${range}&group_by=model`,
      );
      return Math.abs(s.total.cost_usd - cost) < 1e-9 ? s : null;
    });
    expect(summary.total.tool_cost_usd).toBe(0.05);
    expect(summary.total.token_cost_usd).toBe(r9(cost - 0.05));
    const byModel = Object.fromEntries(summary.groups.map((g) => [g.key, [g.tool_cost_usd, g.token_cost_usd]]));
    expect(byModel).toEqual({
      'gpt-4o': [0.03, r9((gpt.cost_usd as number) - 0.03)],
      'claude-sonnet-4-5': [0.02, r9((claude.cost_usd as number) - 0.02)],
    });
    const daily = await getJson<{ api_usd: number; api_tool_usd: number | null }>(`${base()}/api/cost/daily?${range}`);
    expect(daily.api_tool_usd).toBeCloseTo(0.05, 9);
  });

  it.skipIf(!existsSync(CHROMIUM))('the Cost page’s spend tile says the built-in tools’ part', async () => {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage();
      await page.goto(`${base()}/#/cost?range=1h`);
      await page.locator('#cost-tiles').waitFor();
      const text = await page
        .locator('#cost-tiles .tile', { has: page.locator('.k', { hasText: 'spend in range' }) })
        .first()
        .textContent();
      expect(text).toMatch(/, \$0\.050* of it built-in tools \(web\/file search\)/);
    } finally {
      await browser.close();
    }
  });

  it('reconciles a bill with a web search line: matched to the tool spend, the token line to the rest', async () => {
    const tokens = r9((gpt.cost_usd as number) - 0.03);
    const s = dayStart(today) / 1000;
    const line = (item: string, amount: number) =>
      `${s},${s + 86400},${today}T00:00:00+00:00,${today}T00:00:00+00:00,${amount.toFixed(9)},usd,"${item}",proj,Default,org,Acme`;
    const bill = [
      'start_time,end_time,start_time_iso,end_time_iso,amount_value,amount_currency,line_item,project_id,project_name,organization_id,organization_name',
      line('gpt-4o-2024-08-06, input', tokens),
      line('web search tool calls', 0.03),
    ].join('\n');
    const res = await fetch(`${base()}/api/cost/reconciliations?save=false`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: bill,
    });
    expect(res.status).toBe(201);
    const { report } = (await res.json()) as {
      report: {
        gap_usd: number;
        causes: { kind: string }[];
        by_model: { model: string; billed_usd: number; tracked_usd: number; gap_usd: number }[];
      };
    };
    // before: the web search line was non_api_items (+0.03) and gpt-4o's tokens a price_mismatch (-0.03)
    expect(report.causes.map((c) => c.kind)).toEqual([]);
    expect(Math.abs(report.gap_usd)).toBeLessThan(1e-6);
    const row = (m: string) => report.by_model.find((x) => x.model === m);
    expect(row('(built-in tools)')).toMatchObject({ billed_usd: 0.03, tracked_usd: 0.03, gap_usd: 0 });
    expect(Math.abs(row('gpt-4o')?.gap_usd ?? 1)).toBeLessThan(1e-6);
  });

  it('prices an ingested record’s price.tools as the proxied call’s, without cost_usd', async () => {
    const rec = (id: string, unitPrice: number | null) => ({
      request_id: id,
      started_at: new Date(Date.now() - 86_400_000).toISOString(),
      provider: 'openai-sim',
      model: 'gpt-4o',
      endpoint: 'responses',
      input_tokens: gpt.input_tokens,
      output_tokens: gpt.output_tokens,
      latency_ms: 5,
      price: { tools: [{ tool: 'web_search', unit_price: unitPrice, units: 3 }] },
    });
    const a = rec('00000000-0000-7000-8000-00000000a163', 0.01);
    const b = rec('00000000-0000-7000-8000-00000000b163', null);
    const c = rec('00000000-0000-7000-8000-00000000c163', 0.02);
    const res = await fetch(`${base()}/api/ingest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([a, b, c]),
    });
    expect(res.status).toBe(202);
    // before: the tokens only (the searches' $0.03 left out)
    expect((await record(a.request_id)).cost_usd).toBe(gpt.cost_usd);
    // no unit_price: the catalog's, as the gateway priced the call
    const fromCatalog = await record(b.request_id);
    expect(fromCatalog.cost_usd).toBe(gpt.cost_usd);
    expect(fromCatalog.price?.tools).toEqual([{ tool: 'web_search', unit_price: 0.01, units: 3 }]);
    // the record's own price per use
    expect((await record(c.request_id)).cost_usd).toBeCloseTo((gpt.cost_usd as number) + 0.03, 9);
  });

  it('counts a tool use with no price, apart from the cost, in the metric and /api/cost/unpriced', async () => {
    // web_search_preview on GPT-4 Turbo: no known price (neither a reasoning model nor GPT-4o/4.1)
    const { response } = await openai()
      .responses.create({ model: 'gpt-4-turbo', input: 'News today?', tools: [{ type: 'web_search_preview' }] })
      .withResponse();
    const c = await record(response.headers.get('x-request-id'));
    expect(c.price?.tools).toEqual([{ tool: 'web_search_preview', unit_price: null, units: 1 }]);
    const metrics = parseMetrics(await (await fetch(`${base()}/metrics`)).text());
    expect(
      metricValue(metrics, 'llmscope_unpriced_tool_uses_total', { tool: 'web_search_preview', provider: 'openai-sim' }),
    ).toBe(1);
    const unpriced = await getJson<{ models: { model: string }[]; tools: Record<string, unknown>[] }>(
      `${base()}/api/cost/unpriced`,
    );
    expect(unpriced.tools).toEqual([
      { provider: 'openai-sim', tool: 'web_search_preview', model: 'gpt-4-turbo', uses: 1, last_day: today },
    ]);
    // the model has a price: it is not among the unpriced models
    expect(unpriced.models.map((m) => m.model)).not.toContain('gpt-4-turbo');
  });
});
