// Budgets hold under concurrency for prompts in Chinese, Japanese or Korean: a CJK character is about one token, and
// the admission estimate counted it as a third of one (chars / 3), so 30 concurrent calls each reserving a third of
// their prompt's cost all fitted a budget they then overspent. The estimate is now UTF-8 bytes / 3 (unchanged for
// ASCII). Real clients (openai, @anthropic-ai/sdk) through llmscope to the simulator, which counts tokens with a
// real tokenizer.
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCostModule } from '../../src/cost/index.js';
import { type Stack, startStack } from './helpers.js';

const LIMIT = 0.05;
const PROMPT = '预算控制在并发情况下必须保持有效，否则团队会超支。'.repeat(60); // 1,500 characters, ~900 tokens
const CALLS = 30;

describe('a block budget under concurrent CJK prompts', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({
      sim: { ttftMs: 300, tpotMs: 1, outputTokens: 50 },
      config: (sim) => ({
        providers: [
          { name: 'openai-sim', baseUrl: sim.url },
          { name: 'anthropic-sim', type: 'anthropic', baseUrl: sim.url, models: ['claude-*'] },
        ],
        budgets: [{ name: 'per-user', scope: 'user', period: 'day', limit: LIMIT, action: 'block' }],
      }),
      app: { modules: [createCostModule] },
    });
  });
  afterAll(() => s?.close());

  /** Settles the calls that were answered and sums their recorded cost. */
  async function spentOf(ids: (string | null)[]): Promise<number> {
    const calls = await Promise.all(ids.filter((id): id is string => id !== null).map((id) => s.callOf(id)));
    for (const c of calls) expect(c.costUsd).toBeGreaterThan(0);
    return calls.reduce((sum, c) => sum + (c.costUsd ?? 0), 0);
  }

  it('chat completions: the admitted calls spend no more than the limit', async () => {
    const client = new OpenAI({ baseURL: `${s.base}/v1`, apiKey: 'x', maxRetries: 0 });
    const ids = await Promise.all(
      Array.from({ length: CALLS }, async () => {
        try {
          const r = await client.chat.completions
            .create(
              { model: 'gpt-4o', max_tokens: 50, messages: [{ role: 'user', content: PROMPT }] },
              { headers: { 'x-llmscope-user': 'zh-chat' } },
            )
            .withResponse();
          return r.response.headers.get('x-request-id');
        } catch (err) {
          expect((err as { status?: number }).status).toBe(429);
          return null;
        }
      }),
    );
    const admitted = ids.filter((x) => x !== null).length;
    expect(admitted).toBeGreaterThan(0);
    expect(admitted).toBeLessThan(CALLS);
    expect(await spentOf(ids)).toBeLessThanOrEqual(LIMIT);
  }, 60_000);

  it('Anthropic messages: the admitted calls spend no more than the limit', async () => {
    const client = new Anthropic({ baseURL: s.base, apiKey: 'x', maxRetries: 0 });
    const ids = await Promise.all(
      Array.from({ length: CALLS }, async () => {
        try {
          const r = await client.messages
            .create(
              { model: 'claude-sonnet-4-5', max_tokens: 50, messages: [{ role: 'user', content: PROMPT }] },
              { headers: { 'x-llmscope-user': 'zh-messages' } },
            )
            .withResponse();
          return r.response.headers.get('x-request-id');
        } catch (err) {
          expect((err as { status?: number }).status).toBe(429);
          return null;
        }
      }),
    );
    const admitted = ids.filter((x) => x !== null).length;
    expect(admitted).toBeGreaterThan(0);
    expect(admitted).toBeLessThan(CALLS);
    expect(await spentOf(ids)).toBeLessThanOrEqual(LIMIT);
  }, 60_000);
});
