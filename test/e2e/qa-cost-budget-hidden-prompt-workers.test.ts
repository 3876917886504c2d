// Decision 48's budgets under `llmscope serve --workers 2` (the built CLI): a worker hands the recorder process the
// body's estimate and the ids that name a prompt the body does not carry (previous_response_id) or its 1-hour cache
// ask, and the recorder process, where calls settle, remembers each response's size. A chained call served by the
// other worker than its first turn is still estimated with that turn. See qa-cost-budget-hidden-prompt.test.ts.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { type Billed, BUDGETS, chainedResponses, hourCacheCalls } from './budget-hidden-prompt.js';
import { type ServeRun, startServeWithConfig, until } from './helpers.js';

let sim: Simulator;
let run: ServeRun;

beforeAll(async () => {
  sim = await startSimulator({ port: 0, ttftMs: 300, tpotMs: 1, outputTokens: 10 });
  run = await startServeWithConfig({
    prefix: 'llmscope-hidden-prompt-workers-',
    workers: 2,
    config: (dir) => ({
      providers: [
        { name: 'anthropic-sim', type: 'anthropic', baseUrl: sim.url, models: ['claude-*'] },
        { name: 'sim', baseUrl: sim.url },
      ],
      storage: { url: `sqlite:${join(dir, 'app.db')}` },
      gpu: { collector: 'none' },
      budgets: BUDGETS,
    }),
  });
}, 60_000);
afterAll(async () => {
  await run?.stop();
  await sim?.close();
});

async function stored(id: string): Promise<Billed> {
  const c = await until(async () => {
    const r = await fetch(`${run.base}/api/requests/${id}`);
    return r.status === 200 ? ((await r.json()) as Record<string, unknown>) : null;
  });
  const num = (v: unknown) => (typeof v === 'number' ? v : null);
  return {
    inputTokens: num(c.input_tokens),
    outputTokens: num(c.output_tokens),
    costUsd: num(c.cost_usd),
    cacheWriteInputTokens: num(c.cache_write_input_tokens),
    cacheWritePrice: num((c.price as Record<string, unknown> | null)?.cache_write),
  };
}

describe('budgets and prompts the body does not carry, under --workers 2', () => {
  it('chained Responses calls spend no more than the limit', async () => {
    await chainedResponses(run.base, 0.4, stored);
  }, 60_000);

  it('streamed chained Responses calls (the id from the final event) spend no more than the limit', async () => {
    await chainedResponses(run.base, 0.4, stored, { stream: true });
  }, 60_000);

  it('Claude calls writing the 1-hour prompt cache spend no more than the limit', async () => {
    await hourCacheCalls(run.base, 0.05, stored);
  }, 60_000);
});
