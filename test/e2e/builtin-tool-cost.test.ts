// A call's cost includes the built-in tools the provider bills per use (W9): Anthropic's web search ($10 per 1,000
// searches, usage.server_tool_use.web_search_requests), OpenAI's Responses web search ($10 per 1,000
// web_search_call items; the preview tool $25 on GPT-4o) and file search ($2.50 per 1,000 file_search_call items).
// Before, llmscope priced the tokens only: a call that searched the web cost less in llmscope than on the bill. The
// real `serve` (built CLI: needs `npm run build`), the official clients, streamed and not, against the simulator.
import { existsSync } from 'node:fs';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LlmCallWire } from '../../src/calls/index.js';
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

/** Per-million prices of the models used (the catalog's). */
const PRICES: Record<string, { input: number; output: number }> = {
  'claude-sonnet-4-5': { input: 3, output: 15 },
  'claude-haiku-4-5': { input: 1, output: 5 },
  'gpt-4o': { input: 2.5, output: 10 },
  'gpt-4.1-mini': { input: 0.4, output: 1.6 },
};

/** What the call's tokens cost (uncached: the simulator reports no cache here), rounded as costOf rounds. */
function tokenCost(c: LlmCallWire): number {
  const p = PRICES[c.model] as { input: number; output: number };
  return Math.round(((c.input_tokens ?? 0) * p.input + (c.output_tokens ?? 0) * p.output) * 1e6) / 1e12;
}

/** Tokens plus `uses` at `each` USD, rounded to 1e-12 USD. */
const withUses = (c: LlmCallWire, uses: number, each: number): number =>
  Math.round((tokenCost(c) + uses * each) * 1e12) / 1e12;

describe('built-in tools in the cost of a call', () => {
  let sim: Simulator;
  let run: ServeRun | undefined;
  beforeAll(async () => {
    sim = await startSimulator({ port: 0, ttftMs: 0, tpotMs: 0, outputTokens: 6 });
    run = await startServeWithConfig({
      prefix: 'builtin-tools-',
      config: (dir) => ({
        server: { host: '127.0.0.1', port: 0, shutdownGrace: '5s' },
        providers: [
          { name: 'anthropic-sim', type: 'anthropic', baseUrl: sim.url, models: ['claude-*'] },
          { name: 'openai-sim', baseUrl: sim.url },
        ],
        storage: { url: `sqlite:${dir}/llmscope.db` },
        telemetry: { logLevel: 'warn' },
        gpu: { collector: 'none' },
        // overrides: Haiku's searches free, GPT-4.1 mini's at $7.50 per 1,000
        pricing: {
          tools: [
            { tool: 'web_search', model: 'claude-haiku-*', perThousand: 0 },
            { tool: 'web_search', provider: 'openai-sim', model: 'gpt-4.1-mini', perThousand: 7.5 },
          ],
        },
        budgets: [{ name: 'per-user', scope: 'user', period: 'day', limit: 100, action: 'alert' }],
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
  const anthropic = () =>
    new Anthropic({ baseURL: base(), apiKey: 'x', maxRetries: 0, defaultHeaders: { 'x-llmscope-user': 'searcher' } });
  const openai = () =>
    new OpenAI({
      baseURL: `${base()}/v1`,
      apiKey: 'x',
      maxRetries: 0,
      defaultHeaders: { 'x-llmscope-user': 'searcher' },
    });
  const webSearch = { type: 'web_search_20250305' as const, name: 'web_search' as const, max_uses: 5 };
  const costs: number[] = [];
  let searched: LlmCallWire | undefined;

  it('Anthropic, not streamed: two searches at $10 per 1,000 on top of the tokens', async () => {
    const { data, response } = await anthropic()
      .messages.create(
        {
          model: 'claude-sonnet-4-5',
          max_tokens: 64,
          tools: [webSearch],
          messages: [{ role: 'user', content: 'What is the weather in Lisbon today?' }],
        },
        { headers: { 'x-simulator-web-searches': '2' } },
      )
      .withResponse();
    // the simulator answers as the API does: the searches' blocks, then the text, and their count in usage
    expect(data.content.map((b) => b.type)).toEqual([
      'server_tool_use',
      'web_search_tool_result',
      'server_tool_use',
      'web_search_tool_result',
      'text',
    ]);
    expect(data.usage.server_tool_use?.web_search_requests).toBe(2);
    const c = await record(response.headers.get('x-request-id'));
    expect(c.price?.tools).toEqual([{ tool: 'web_search', unit_price: 0.01, units: 2 }]);
    expect(c.cost_usd).toBe(withUses(c, 2, 0.01));
    expect(c.cost_usd).toBeGreaterThan(0.02);
    costs.push(c.cost_usd as number);
    searched = c;
  });

  it('Anthropic, streamed: the search counted from message_delta', async () => {
    const stream = anthropic().messages.stream({
      model: 'claude-sonnet-4-5',
      max_tokens: 64,
      tools: [webSearch],
      messages: [{ role: 'user', content: 'Latest release of Node.js?' }],
    });
    const msg = await stream.finalMessage();
    expect(msg.usage.server_tool_use?.web_search_requests).toBe(1);
    expect(msg.content.at(-1)?.type).toBe('text');
    const id = (await stream.withResponse()).response.headers.get('x-request-id');
    const c = await record(id);
    expect(c.stream).toBe(true);
    expect(c.price?.tools).toEqual([{ tool: 'web_search', unit_price: 0.01, units: 1 }]);
    expect(c.cost_usd).toBe(withUses(c, 1, 0.01));
    costs.push(c.cost_usd as number);
  });

  it('Anthropic without the tool: priced as before, no tools in the price', async () => {
    const { response } = await anthropic()
      .messages.create({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'Hi' }] })
      .withResponse();
    const c = await record(response.headers.get('x-request-id'));
    expect(c.price?.tools).toBeUndefined();
    expect(c.cost_usd).toBe(tokenCost(c));
    costs.push(c.cost_usd as number);
  });

  it('a config override zeroes a model’s searches: counted, not charged', async () => {
    const { response } = await anthropic()
      .messages.create({
        model: 'claude-haiku-4-5',
        max_tokens: 64,
        tools: [webSearch],
        messages: [{ role: 'user', content: 'Who won the match?' }],
      })
      .withResponse();
    const c = await record(response.headers.get('x-request-id'));
    expect(c.price?.tools).toEqual([{ tool: 'web_search', unit_price: 0, units: 1 }]);
    expect(c.cost_usd).toBe(tokenCost(c));
    costs.push(c.cost_usd as number);
  });

  it('Responses, not streamed: web search $10 and file search $2.50 per 1,000 calls', async () => {
    const { data, response } = await openai()
      .responses.create(
        {
          model: 'gpt-4o',
          input: 'Find the latest changelog and our deployment notes',
          tools: [{ type: 'web_search' }, { type: 'file_search', vector_store_ids: ['vs_notes'] }],
        },
        { headers: { 'x-simulator-web-searches': '3' } },
      )
      .withResponse();
    expect(data.output.map((o) => o.type)).toEqual([
      'web_search_call',
      'web_search_call',
      'web_search_call',
      'file_search_call',
      'message',
    ]);
    const c = await record(response.headers.get('x-request-id'));
    expect(c.price?.tools).toEqual([
      { tool: 'web_search', unit_price: 0.01, units: 3 },
      { tool: 'file_search', unit_price: 0.0025, units: 1 },
    ]);
    expect(c.cost_usd).toBe(Math.round((tokenCost(c) + 3 * 0.01 + 0.0025) * 1e12) / 1e12);
    costs.push(c.cost_usd as number);
  });

  it('Responses, streamed, web_search_preview on GPT-4o: $25 per 1,000', async () => {
    const stream = await openai()
      .responses.create({
        model: 'gpt-4o',
        input: 'What happened in the news today?',
        tools: [{ type: 'web_search_preview' }],
        stream: true,
      })
      .withResponse();
    const types: string[] = [];
    for await (const ev of stream.data) types.push(ev.type);
    expect(types).toContain('response.web_search_call.completed');
    const c = await record(stream.response.headers.get('x-request-id'));
    expect(c.price?.tools).toEqual([{ tool: 'web_search_preview', unit_price: 0.025, units: 1 }]);
    expect(c.cost_usd).toBe(withUses(c, 1, 0.025));
    costs.push(c.cost_usd as number);
  });

  it('Responses, a config override sets a model’s search price', async () => {
    const { response } = await openai()
      .responses.create({ model: 'gpt-4.1-mini', input: 'Search for it', tools: [{ type: 'web_search' }] })
      .withResponse();
    const c = await record(response.headers.get('x-request-id'));
    expect(c.price?.tools).toEqual([{ tool: 'web_search', unit_price: 0.0075, units: 1 }]);
    expect(c.cost_usd).toBe(withUses(c, 1, 0.0075));
    costs.push(c.cost_usd as number);
  });

  it.skipIf(!existsSync(CHROMIUM))('the request page lists the searches beside the token prices', async () => {
    const c = searched as LlmCallWire;
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage();
      await page.goto(`${base()}/#/requests/${encodeURIComponent(c.request_id)}`);
      await page.waitForSelector('#price tr.tool');
      const row = await page.$eval('#price tr.tool', (tr) =>
        [...tr.querySelectorAll('td')].map((td) => td.textContent ?? ''),
      );
      expect(row.slice(0, 3)).toEqual(['web searches', '2', '$10 / 1K']);
    } finally {
      await browser.close();
    }
  });

  it("GET /api/cost/prices gives the tools' prices per 1,000 uses, an override's where one applies", async () => {
    const claude = await getJson<{ tool_uses_per_thousand: Record<string, number | null> }>(
      `${base()}/api/cost/prices?model=claude-sonnet-4-5`,
    );
    expect(claude.tool_uses_per_thousand).toEqual({
      web_search: 10,
      web_search_preview: null,
      file_search: null,
      web_fetch: 0,
    });
    const mini = await getJson<{ tool_uses_per_thousand: Record<string, number | null> }>(
      `${base()}/api/cost/prices?model=gpt-4.1-mini&provider=openai-sim`,
    );
    expect(mini.tool_uses_per_thousand).toEqual({
      web_search: 7.5,
      web_search_preview: 25,
      file_search: 2.5,
      web_fetch: null,
    });
  });

  it('the budget and llm_cost_usd_total take the whole cost, searches included', async () => {
    const total = costs.reduce((a, b) => a + b, 0);
    const spent = await until(async () => {
      const b = await getJson<{ budgets: { buckets: { value: string | null; spent_usd: number }[] }[] }>(
        `${base()}/api/cost/budgets`,
      );
      const v = b.budgets[0]?.buckets.find((x) => x.value === 'searcher')?.spent_usd ?? 0;
      return Math.abs(v - total) < 1e-9 ? v : null;
    });
    expect(spent).toBeCloseTo(total, 9);
    const metrics = parseMetrics(await (await fetch(`${base()}/metrics`)).text());
    expect(metricValue(metrics, 'llm_cost_usd_total')).toBeCloseTo(total, 9);
  });
});
