// A block budget holds under concurrent Claude calls that write their prompt to the prompt cache: a cache write costs
// the model's cache-write price (1.25 x input for the 5-minute cache), and the admission estimate priced the prompt at
// the input price, so calls whose prompt counts about its estimate (code, numbers: ~1 token for 3 characters) cost
// 25% more than they reserved and together overspent the budget. The estimate now prices the prompt at the
// cache-write price where the model has one. @anthropic-ai/sdk through llmscope to the simulator.
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCostModule } from '../../src/cost/index.js';
import { type Stack, startStack } from './helpers.js';

const LIMIT = 0.05;
// 12,000 digits: ~4,000 tokens, about what characters / 3 estimates
const PROMPT = Array.from({ length: 12_000 }, (_, i) => String((i * 7919) % 10)).join('');
const CALLS = 20;

describe('a block budget under concurrent calls writing the prompt cache', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({
      sim: { ttftMs: 300, tpotMs: 1, outputTokens: 10 },
      config: (sim) => ({
        providers: [{ name: 'anthropic-sim', type: 'anthropic', baseUrl: sim.url, models: ['claude-*'] }],
        budgets: [{ name: 'per-user', scope: 'user', period: 'day', limit: LIMIT, action: 'block' }],
      }),
      app: { modules: [createCostModule] },
    });
  });
  afterAll(() => s?.close());

  it('the admitted calls, each writing its whole prompt to the cache, spend no more than the limit', async () => {
    const client = new Anthropic({ baseURL: s.base, apiKey: 'x', maxRetries: 0 });
    const ids = await Promise.all(
      Array.from({ length: CALLS }, async () => {
        try {
          const r = await client.messages
            .create(
              {
                model: 'claude-sonnet-4-5',
                max_tokens: 10,
                messages: [
                  { role: 'user', content: [{ type: 'text', text: PROMPT, cache_control: { type: 'ephemeral' } }] },
                ],
              },
              // the simulator reports this many written tokens, at most the prompt's
              { headers: { 'x-llmscope-user': 'cache-writer', 'x-simulator-cache-write-tokens': '100000' } },
            )
            .withResponse();
          return r.response.headers.get('x-request-id');
        } catch (err) {
          expect((err as { status?: number }).status).toBe(429);
          return null;
        }
      }),
    );
    const admitted = ids.filter((id): id is string => id !== null);
    expect(admitted.length).toBeGreaterThan(0);
    expect(admitted.length).toBeLessThan(CALLS);
    const calls = await Promise.all(admitted.map((id) => s.callOf(id)));
    for (const c of calls) {
      expect(c.cacheWriteInputTokens).toBeGreaterThan(3_000);
      expect(c.cacheWriteInputTokens).toBe(c.inputTokens);
    }
    expect(calls.reduce((sum, c) => sum + (c.costUsd ?? 0), 0)).toBeLessThanOrEqual(LIMIT);
  }, 60_000);
});
