// OpenAI service tiers under `llmscope serve --workers 2` (the built CLI): the tier the answer reports is read in the
// worker that served the call and travels with the call to the recorder process, which prices it (525cac2 tested one
// process). A flex call costs half of gpt-4o-mini's standard prices, a priority call the catalog's Priority prices.
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { type ServeRun, startServeWithConfig, until } from './helpers.js';

interface Stored {
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
  price: Record<string, unknown>;
}

let sim: Simulator;
let run: ServeRun;

beforeAll(async () => {
  sim = await startSimulator({ port: 0, ttftMs: 0, tpotMs: 1, outputTokens: 12 });
  run = await startServeWithConfig({
    prefix: 'llmscope-tier-workers-',
    workers: 2,
    config: (dir) => ({
      providers: [{ name: 'sim', baseUrl: sim.url }],
      storage: { url: `sqlite:${join(dir, 'app.db')}` },
      gpu: { collector: 'none' },
    }),
  });
});
afterAll(async () => {
  await run?.stop();
  await sim?.close();
});

describe('service tiers priced under --workers 2', () => {
  it('flex at half price and priority at the Priority price, whichever worker served the call', async () => {
    const client = new OpenAI({ baseURL: `${run.base}/v1`, apiKey: 'sk-test', maxRetries: 0 });
    const ids: { tier: 'flex' | 'priority'; id: string }[] = [];
    for (let i = 0; i < 4; i++)
      for (const tier of ['flex', 'priority'] as const) {
        const r = await client.chat.completions
          .create({
            model: 'gpt-4o',
            messages: [{ role: 'user', content: `say hi ${i}` }],
            service_tier: tier,
            stream: i % 2 === 0,
          })
          .withResponse();
        if (i % 2 === 0) for await (const _ of r.data as AsyncIterable<unknown>) void _;
        ids.push({ tier, id: r.response.headers.get('x-request-id') as string });
      }
    for (const { tier, id } of ids) {
      const c = await until(async () => {
        const r = await fetch(`${run.base}/api/requests/${id}`);
        return r.status === 200 ? ((await r.json()) as Stored) : null;
      });
      // gpt-4o per 1M: standard 2.50 / 10, flex half of that, priority 4.25 / 17
      const [input, output] = tier === 'flex' ? [1.25, 5] : [4.25, 17];
      expect(c.output_tokens).toBeGreaterThan(0);
      expect(c.cost_usd).toBeCloseTo((c.input_tokens * input + c.output_tokens * output) / 1e6, 15);
      expect(c.price).toMatchObject({ input: input / 1e6, output: output / 1e6 });
    }
  });
});
