// OpenAI service tiers are priced: a call the answer says was served at `service_tier: "flex"` costs half the
// model's standard prices (Flex is billed at Batch prices), one served at "priority" the catalog's Priority prices
// (gpt-4o $4.25 / $2.125 cached / $17 output per 1M against $2.50 / $1.25 / $10). Before, every call was priced at
// standard: a flex user's costs twice too high, priority calls too low. The official `openai` client through llmscope
// to the simulator, which answers the tier asked for as OpenAI does; chat and Responses, streamed and not.
import OpenAI from 'openai';
import { ResponsesWS } from 'openai/resources/responses/ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCostModule } from '../../src/cost/index.js';
import { type Stack, startStack, until } from './helpers.js';

interface Stored {
  input_tokens: number;
  cached_input_tokens: number;
  output_tokens: number;
  cost_usd: number;
  price: Record<string, unknown>;
}

const CACHED = 24;

describe('service tiers priced from the answer', () => {
  let s: Stack;
  let client: OpenAI;
  beforeAll(async () => {
    s = await startStack({
      sim: { ttftMs: 0, tpotMs: 1, outputTokens: 20 },
      app: { modules: [createCostModule] },
    });
    client = new OpenAI({
      baseURL: `${s.base}/v1`,
      apiKey: 'sk-test',
      maxRetries: 0,
      defaultHeaders: { 'x-simulator-cached-tokens': String(CACHED) },
    });
  });
  afterAll(() => s?.close());

  const stored = (id: string | null) =>
    until(async () => {
      const r = await fetch(`${s.base}/api/requests/${id}`);
      return r.status === 200 ? ((await r.json()) as Stored) : null;
    });

  /** The record's cost is its tokens at `per1M` (input, cached input, output), and its price says those. */
  const expectPriced = (c: Stored, per1M: [number, number, number], source: string, cachedTokens = CACHED) => {
    const [input, cached, output] = per1M;
    const n = c.cached_input_tokens;
    expect(n).toBe(cachedTokens);
    expect(c.output_tokens).toBeGreaterThan(0);
    const want = ((c.input_tokens - n) * input + n * cached + c.output_tokens * output) / 1e6;
    expect(c.cost_usd).toBeCloseTo(want, 15);
    expect(c.price).toEqual({ input: input / 1e6, cached_input: cached / 1e6, output: output / 1e6, source });
  };

  const prompt = 'Classify the sentiment of this review in one word: the service was slow but the food was great. ';

  it('chat completions: flex at half price, priority at the Priority price, default at standard', async () => {
    const flex = await client.chat.completions
      .create({ model: 'gpt-4o', messages: [{ role: 'user', content: prompt }], service_tier: 'flex' })
      .withResponse();
    expect(flex.data.service_tier).toBe('flex');
    const priority = await client.chat.completions
      .create({
        model: 'gpt-4o',
        messages: [{ role: 'user', content: prompt }],
        service_tier: 'priority',
        stream: true,
      })
      .withResponse();
    for await (const _ of priority.data) {
      /* drain */
    }
    const auto = await client.chat.completions
      .create({ model: 'gpt-4o', messages: [{ role: 'user', content: prompt }], service_tier: 'auto', stream: true })
      .withResponse();
    for await (const _ of auto.data) {
      /* drain */
    }
    expectPriced(await stored(flex.response.headers.get('x-request-id')), [1.25, 0.625, 5], 'openai/gpt-4o');
    expectPriced(await stored(priority.response.headers.get('x-request-id')), [4.25, 2.125, 17], 'openai/gpt-4o');
    expectPriced(await stored(auto.response.headers.get('x-request-id')), [2.5, 1.25, 10], 'openai/gpt-4o');
  });

  it('Responses API: flex streamed at half price, priority at the Priority price', async () => {
    const flex = await client.responses
      .create({ model: 'gpt-5', input: prompt, service_tier: 'flex', stream: true })
      .withResponse();
    let tier: string | null | undefined;
    for await (const e of flex.data) if (e.type === 'response.completed') tier = e.response.service_tier;
    expect(tier).toBe('flex');
    const priority = await client.responses
      .create({ model: 'o3', input: prompt, service_tier: 'priority' })
      .withResponse();
    expect(priority.data.service_tier).toBe('priority');
    expectPriced(await stored(flex.response.headers.get('x-request-id')), [0.625, 0.0625, 5], 'openai/gpt-5');
    expectPriced(await stored(priority.response.headers.get('x-request-id')), [3.5, 0.875, 14], 'openai/o3');
  });

  it('a background response polled to its end, and a response over the Responses WebSocket, priced at flex', async () => {
    const queued = await client.responses.create(
      { model: 'gpt-5', input: prompt, service_tier: 'flex', background: true },
      { headers: { 'x-request-id': 'tier-background' } },
    );
    const done = await until(async () => {
      const r = await client.responses.retrieve(queued.id);
      return r.status === 'completed' ? r : null;
    });
    expect(done.service_tier).toBe('flex');
    const bg = await stored('tier-background');
    expectPriced(bg, [0.625, 0.0625, 5], 'openai/gpt-5', bg.cached_input_tokens);

    const ws = new ResponsesWS(client);
    const events: { type: string; response?: { id: string; service_tier?: string | null } }[] = [];
    ws.on('event', (e) => events.push(e as never));
    try {
      ws.send({ type: 'response.create', model: 'gpt-4o', input: prompt, service_tier: 'priority' } as never);
      const completed = await until(() => events.find((e) => e.type === 'response.completed'));
      expect(completed.response?.service_tier).toBe('priority');
      const c = await stored(completed.response?.id ?? null);
      expectPriced(c, [4.25, 2.125, 17], 'openai/gpt-4o', c.cached_input_tokens);
    } finally {
      ws.close();
    }
  });
});
