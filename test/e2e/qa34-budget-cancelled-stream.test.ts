// A budget charges a cancelled Anthropic stream what its record costs (QA34). An Anthropic stream reports its input
// tokens in message_start and its output only in message_delta at the end, so a stream the client leaves half-way has
// input usage and no output count when the gateway settles it; the recorder then counts the output streamed so far
// with the tokenizer, and the record is priced on it. The budget must add that price, not the input-only one.
import Anthropic from '@anthropic-ai/sdk';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCostModule } from '../../src/cost/index.js';
import { type Stack, simProviders, startStack } from './helpers.js';

interface Bucket {
  value: string | null;
  spent_usd: number;
  reserved_usd: number;
  in_flight: number;
}

describe('budgets: a cancelled stream', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({
      sim: { ttftMs: 5, tpotMs: 10, outputTokens: 400 },
      config: (sim) => ({
        providers: simProviders(sim, 'openai', 'anthropic'),
        budgets: [{ name: 'per-user', scope: 'user', period: 'day', limit: 10, action: 'block' }],
      }),
      app: { modules: [createCostModule] },
    });
  });
  afterAll(() => s.close());

  async function bucketOf(user: string): Promise<Bucket | undefined> {
    for (let t = 0; t < 100; t++) {
      const r = await request(`${s.base}/api/cost/budgets`);
      const body = (await r.body.json()) as { budgets: { buckets: Bucket[] }[] };
      const b = body.budgets[0]?.buckets.find((x) => x.value === user);
      if (b && b.in_flight === 0 && b.reserved_usd === 0) return b;
      await new Promise((res) => setTimeout(res, 20));
    }
    return undefined;
  }

  it("adds the Anthropic stream's cost with the output streamed before the client left", async () => {
    const client = new Anthropic({ baseURL: s.base, apiKey: 'sk-ant-test', maxRetries: 0 });
    const ac = new AbortController();
    let deltas = 0;
    try {
      const stream = await client.messages.create(
        {
          model: 'claude-sonnet-4-5',
          max_tokens: 1000,
          stream: true,
          messages: [{ role: 'user', content: 'tell me a long story' }],
        },
        { headers: { 'x-llmscope-user': 'ann', 'x-request-id': 'qa34-cut-anthropic' }, signal: ac.signal },
      );
      for await (const e of stream) if (e.type === 'content_block_delta' && ++deltas === 30) ac.abort();
    } catch {
      /* aborted */
    }
    const call = await s.callOf('qa34-cut-anthropic');
    await s.app.ctx.recorder.flush();
    expect(call.status).toBe('cancelled');
    expect(call.outputTokens).toBeGreaterThanOrEqual(29);
    expect(call.costUsd).toBeGreaterThan(0);
    const bucket = await bucketOf('ann');
    // Before: the budget added the input tokens' price only (8 × $3 per 1M), not the ~30 output tokens' $15 per 1M.
    expect(bucket?.spent_usd).toBeCloseTo(call.costUsd as number, 12);
  });
});
