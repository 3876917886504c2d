// A block budget holds when calls are billed for prompt tokens their body does not carry (decision 48). The admission
// estimate read only the body, so:
// - an OpenAI Responses call continuing an earlier response (`previous_response_id`) is billed the whole earlier
//   conversation, which the upstream prepends, for a body of a few bytes: 20 concurrent chained calls reserved almost
//   nothing, all went, and spent several times the limit. The estimate now adds the earlier response's input + output
//   tokens, remembered when it settled. The official `openai` client through llmscope to the simulator (which bills
//   the chain as OpenAI does).
// - a Claude call asking for Anthropic's 1-hour prompt cache (`cache_control: {ttl: "1h"}`) writes its prompt at
//   2 x input, and the estimate priced it at the 5-minute cache's 1.25 x. @anthropic-ai/sdk to the simulator.
// The same under `serve --workers 2`: qa-cost-budget-hidden-prompt-workers.test.ts.
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { LlmCall } from '../../src/calls/index.js';
import { createCostModule } from '../../src/cost/index.js';
import { type Billed, BUDGETS, chainedResponses, hourCacheCalls } from './budget-hidden-prompt.js';
import { type Stack, startStack } from './helpers.js';

const billed = (c: LlmCall): Billed => ({ ...c, cacheWritePrice: c.price?.cacheWrite ?? null });

describe('a block budget under concurrent calls billed for a prompt their body does not carry', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({
      sim: { ttftMs: 300, tpotMs: 1, outputTokens: 10 },
      config: (sim) => ({
        providers: [
          { name: 'anthropic-sim', type: 'anthropic', baseUrl: sim.url, models: ['claude-*'] },
          { name: 'simulator', baseUrl: sim.url },
        ],
        budgets: BUDGETS as never,
      }),
      app: { modules: [createCostModule] },
    });
  });
  afterAll(() => s?.close());

  it('chained Responses calls (previous_response_id of a long first response) spend no more than the limit', async () => {
    await chainedResponses(s.base, 0.4, async (id) => billed(await s.callOf(id)));
  }, 60_000);

  it('streamed chained Responses calls (the id from the final event) spend no more than the limit', async () => {
    await chainedResponses(s.base, 0.4, async (id) => billed(await s.callOf(id)), { stream: true });
  }, 60_000);

  it('Claude calls writing the 1-hour prompt cache (2 x input) spend no more than the limit', async () => {
    await hourCacheCalls(s.base, 0.05, async (id) => billed(await s.callOf(id)));
  }, 60_000);
});
