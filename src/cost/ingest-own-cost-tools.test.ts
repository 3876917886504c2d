// Decision 184 (b): a record sent to POST /api/ingest with its own cost_usd and price.tools (as GET /api/requests
// lists a call that searched the web) was stored with price null, so its searches counted as token spend: an
// exported call ingested back lost its tool spend (tool_cost_usd, /api/cost/daily's api_tool_usd). Its price.tools
// are now kept as the tool part of its cost, capped at its cost_usd (the tokens' part is the rest); cost_usd as sent.
import { describe, expect, it } from 'vitest';
import { ingestRecordSchema, recordToCall } from '../api/ingest.js';
import { callToWire, type LlmCall } from '../calls/index.js';
import { parseBody } from '../http/index.js';
import { costConfigOf } from './config.js';
import { priceEnricher } from './per-call.js';
import { PriceBook } from './pricing.js';
import { SpendQueries } from './spend-queries.js';
import { MemorySpendStore } from './storage/memory.js';
import { deltasOf } from './storage/types.js';

const DAY = '2026-12-06';
const T = Date.parse(`${DAY}T10:00:00Z`);

/** A Claude call that searched the web twice and fetched a page, as GET /api/requests/:id lists it. */
const exported = {
  request_id: 'own-cost-1',
  started_at: T,
  latency_ms: 1200,
  provider: 'anthropic',
  model: 'claude-sonnet-4-5',
  endpoint: 'messages',
  input_tokens: 1000,
  output_tokens: 100,
  cost_usd: 0.0245,
  price: {
    input: 0.000003,
    cached_input: 3e-7,
    output: 0.000015,
    tools: [
      { tool: 'web_search', unit_price: 0.01, units: 2 },
      { tool: 'web_fetch', unit_price: 0, units: 1 },
    ],
    source: 'anthropic/claude-sonnet-4-5',
  },
  source: 'gateway',
};

/** The records ingested, as the recorder stores them (the price enricher runs; a record's cost_usd wins). */
function ingested(records: unknown[]): LlmCall[] {
  const enricher = priceEnricher(new PriceBook(costConfigOf({}).pricing));
  return records.map((r) => {
    const call = recordToCall(parseBody(ingestRecordSchema, r));
    enricher.enrich(call);
    return call;
  });
}

async function spendOf(calls: LlmCall[]) {
  const store = new MemorySpendStore();
  await store.apply(deltasOf(calls, () => false));
  const q = new SpendQueries(store, costConfigOf({}).costs, [], () => T + 3_600_000, 2 * 86_400_000);
  const summary = await q.summary({ from: T - 3_600_000, to: T + 3_600_000, groupBy: 'model' });
  const [daily] = await q.daily(DAY, DAY);
  return { total: summary.total, daily };
}

describe('ingest: a record with its own cost_usd and price.tools (decision 184 (b))', () => {
  it('keeps its tool uses as its tool spend, its cost_usd as sent (an exported call taken back)', async () => {
    const [call] = ingested([exported]) as [LlmCall];
    const wire = callToWire(call);
    expect(wire.cost_usd).toBe(0.0245);
    // before: price null, so tool_cost_usd 0 and the searches counted as the tokens' spend
    expect(wire.price).toEqual(exported.price);
    const { total, daily } = await spendOf([call]);
    expect(total).toMatchObject({ cost_usd: 0.0245, tool_cost_usd: 0.02, token_cost_usd: 0.0045 });
    expect(daily).toMatchObject({ api_usd: 0.0245, api_tool_usd: 0.02 });
  });

  it('caps the tool part at its cost_usd: the tokens part is never below 0', async () => {
    const [call] = ingested([{ ...exported, request_id: 'own-cost-2', cost_usd: 0.015 }]) as [LlmCall];
    expect(call.costUsd).toBe(0.015);
    const { total, daily } = await spendOf([call]);
    expect(total).toMatchObject({ cost_usd: 0.015, tool_cost_usd: 0.015, token_cost_usd: 0 });
    expect(daily).toMatchObject({ api_usd: 0.015, api_tool_usd: 0.015 });
  });

  it('a record from elsewhere without token prices: its uses summed per tool, unpriced uses no part of the cost', async () => {
    const [call] = ingested([
      {
        ...exported,
        request_id: 'own-cost-3',
        cost_usd: 0.1,
        price: {
          tools: [
            { tool: 'web_search', unit_price: 0.01, units: 2 },
            { tool: 'web_search', unit_price: 0.01, units: 3 },
            { tool: 'file_search', unit_price: 0.0025, units: 0 },
            { tool: 'web_search_preview', unit_price: null, units: 1 },
          ],
        },
      },
    ]) as [LlmCall];
    expect(callToWire(call).price).toEqual({
      input: 0,
      cached_input: 0,
      output: 0,
      tools: [
        { tool: 'web_search', unit_price: 0.01, units: 5 },
        { tool: 'web_search_preview', unit_price: null, units: 1 },
      ],
      source: 'ingest',
    });
    const { total } = await spendOf([call]);
    expect(total).toMatchObject({ cost_usd: 0.1, tool_cost_usd: 0.05, token_cost_usd: 0.05 });
  });

  it('a record with its own cost_usd and no tool uses keeps price null, as before', () => {
    const zero = { ...exported.price, tools: [{ tool: 'web_search', unit_price: 0.01, units: 0 }] };
    const { price: _, ...noPrice } = exported;
    for (const r of [noPrice, { ...exported, price: zero }]) expect((ingested([r])[0] as LlmCall).price).toBeNull();
  });
});
