// OpenAI service tiers are priced: a call the answer says was served at `service_tier: "flex"` costs half the
// model's standard prices (Flex is billed at Batch prices), one served at "priority" the catalog's Priority prices
// (gpt-4o $4.25 / $2.125 cached / $17 output per 1M against $2.50 / $1.25 / $10). Before, every call was priced at
// standard: a flex user's costs twice too high, priority calls too low. The official `openai` client through llmscope
// to the simulator, which answers the tier asked for as OpenAI does; chat and Responses, streamed and not.
import OpenAI from 'openai';
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
  const expectPriced = (c: Stored, per1M: [number, number, number], source: string) => {
    const [input, cached, output] = per1M;
    expect(c.cached_input_tokens).toBe(CACHED);
    expect(c.output_tokens).toBeGreaterThan(0);
    const want = ((c.input_tokens - CACHED) * input + CACHED * cached + c.output_tokens * output) / 1e6;
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
});
