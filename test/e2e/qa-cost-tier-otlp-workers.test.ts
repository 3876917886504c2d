// OTLP spans' service tiers under `llmscope serve --workers 2` (the built CLI): a span's
// `openai.response.service_tier` priced as in one process (qa-cost-tier-otlp.test.ts), whichever process reads the
// export. gpt-4o per 1M: flex half of $2.50 / $10, priority $4.25 / $17.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServeRun, startServeWithConfig, until } from './helpers.js';

const kv = (key: string, v: string | number) => ({
  key,
  value: typeof v === 'string' ? { stringValue: v } : { intValue: String(v) },
});

let run: ServeRun;

beforeAll(async () => {
  run = await startServeWithConfig({
    prefix: 'llmscope-tier-otlp-workers-',
    workers: 2,
    config: (dir) => ({ storage: { url: `sqlite:${join(dir, 'app.db')}` }, gpu: { collector: 'none' } }),
  });
});
afterAll(async () => {
  await run?.stop();
});

describe('OTLP service tiers priced under --workers 2', () => {
  it('flex at half price and priority at the Priority price, whichever process reads the export', async () => {
    const traces: { tier: 'flex' | 'priority'; trace: string }[] = [];
    for (let i = 0; i < 4; i++) {
      const tier = i % 2 === 0 ? 'flex' : 'priority';
      const trace = `e${i}`.repeat(16);
      const t0 = BigInt(Date.now()) * 1_000_000n;
      const r = await fetch(`${run.base}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          resourceSpans: [
            {
              scopeSpans: [
                {
                  spans: [
                    {
                      traceId: trace,
                      spanId: `${trace.slice(0, 14)}01`,
                      name: 'chat gpt-4o',
                      kind: 3,
                      startTimeUnixNano: String(t0),
                      endTimeUnixNano: String(t0 + 300_000_000n),
                      attributes: [
                        kv('gen_ai.operation.name', 'chat'),
                        kv('gen_ai.system', 'openai'),
                        kv('gen_ai.request.model', 'gpt-4o'),
                        kv('openai.response.service_tier', tier),
                        kv('gen_ai.usage.input_tokens', 1000 + i),
                        kv('gen_ai.usage.output_tokens', 200),
                      ],
                    },
                  ],
                },
              ],
            },
          ],
        }),
      });
      expect(r.status).toBe(200);
      await r.arrayBuffer();
      traces.push({ tier, trace });
    }
    for (const [i, { tier, trace }] of traces.entries()) {
      const c = await until(async () => {
        const r = await fetch(`${run.base}/api/requests?q=${trace}`);
        if (r.status !== 200) return null;
        const list = (await r.json()) as { data: { trace_id: string | null; cost_usd: number | null }[] };
        return list.data.find((x) => x.trace_id === trace) ?? null;
      });
      const [input, output] = tier === 'flex' ? [1.25, 5] : [4.25, 17];
      expect(c.cost_usd).toBeCloseTo(((1000 + i) * input + 200 * output) / 1e6, 15);
    }
  });
});
