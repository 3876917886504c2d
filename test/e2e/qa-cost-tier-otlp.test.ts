// OpenAI service tiers are priced on OTLP spans as on gateway calls: the tier the answer says served the call, which
// GenAI's conventions put in `openai.response.service_tier` (OpenLLMetry's OpenAI instrumentation; before the OpenAI
// attributes moved, `gen_ai.openai.response.service_tier`, as opentelemetry-instrumentation-openai-v2 sends it). A
// flex call costs half the standard prices, a priority one the catalog's Priority prices (gpt-4o $4.25 / $2.125
// cached / $17 output per 1M against $2.50 / $1.25 / $10); the request's tier alone changes nothing. Before, every
// span was priced at standard.
import { execFile } from 'node:child_process';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCostModule } from '../../src/cost/index.js';
import { type Stack, startStack, until } from './helpers.js';

const kv = (key: string, v: string | number) => ({
  key,
  value: typeof v === 'string' ? { stringValue: v } : { intValue: String(v) },
});

interface Stored {
  request_id: string;
  input_tokens: number;
  cached_input_tokens: number | null;
  output_tokens: number;
  cost_usd: number;
  price: Record<string, unknown>;
}

describe('service tiers of OTLP spans', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({ app: { modules: [createCostModule] } });
  });
  afterAll(() => s?.close());

  const send = async (trace: string, attributes: unknown[]) => {
    const t0 = BigInt(Date.now()) * 1_000_000n;
    const r = await request(`${s.base}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        resourceSpans: [
          {
            resource: { attributes: [kv('service.name', 'tier-app')] },
            scopeSpans: [
              {
                spans: [
                  {
                    traceId: trace,
                    spanId: `${trace.slice(0, 14)}01`,
                    name: 'openai.chat',
                    kind: 3,
                    startTimeUnixNano: String(t0),
                    endTimeUnixNano: String(t0 + 400_000_000n),
                    attributes,
                    status: { code: 1 },
                  },
                ],
              },
            ],
          },
        ],
      }),
    });
    expect(r.statusCode).toBe(200);
    await r.body.dump();
    return until(
      async () => {
        await s.app.ctx.recorder.flush();
        const list = (await (await request(`${s.base}/api/requests?q=${trace}`)).body.json()) as {
          data: { request_id: string; trace_id: string | null }[];
        };
        const mine = list.data.filter((c) => c.trace_id === trace);
        expect(mine.length).toBeLessThanOrEqual(1);
        const id = mine[0]?.request_id;
        if (!id) return null;
        return (await (await request(`${s.base}/api/requests/${id}`)).body.json()) as Stored;
      },
      10_000,
      50,
    );
  };

  const expectPriced = (c: Stored, per1M: [number, number, number], cached: number) => {
    const [input, cachedPrice, output] = per1M;
    expect(c.input_tokens).toBe(1000);
    expect(c.cached_input_tokens ?? 0).toBe(cached);
    expect(c.output_tokens).toBe(200);
    expect(c.cost_usd).toBeCloseTo(((1000 - cached) * input + cached * cachedPrice + 200 * output) / 1e6, 15);
    expect(c.price).toEqual({
      input: input / 1e6,
      cached_input: cachedPrice / 1e6,
      output: output / 1e6,
      source: 'openai/gpt-4o',
    });
  };

  it('OpenLLMetry (openai.response.service_tier): a priority call at the Priority prices', async () => {
    const c = await send('d1'.repeat(16), [
      kv('gen_ai.system', 'openai'),
      kv('llm.request.type', 'chat'),
      kv('gen_ai.request.model', 'gpt-4o'),
      kv('gen_ai.response.model', 'gpt-4o'),
      kv('openai.request.service_tier', 'priority'),
      kv('openai.response.service_tier', 'priority'),
      kv('gen_ai.prompt.0.role', 'user'),
      kv('gen_ai.prompt.0.content', 'Name three rivers in Europe.'),
      kv('gen_ai.completion.0.role', 'assistant'),
      kv('gen_ai.completion.0.content', 'The Danube, the Rhine and the Loire.'),
      kv('gen_ai.usage.prompt_tokens', 1000),
      kv('gen_ai.usage.completion_tokens', 200),
      kv('gen_ai.usage.cache_read_input_tokens', 400),
    ]);
    expectPriced(c, [4.25, 2.125, 17], 400);
  });

  it('the older gen_ai.openai.response.service_tier, no content: a flex call at half the standard prices', async () => {
    const c = await send('d2'.repeat(16), [
      kv('gen_ai.operation.name', 'chat'),
      kv('gen_ai.system', 'openai'),
      kv('gen_ai.request.model', 'gpt-4o'),
      kv('gen_ai.response.model', 'gpt-4o'),
      kv('gen_ai.openai.request.service_tier', 'flex'),
      kv('gen_ai.openai.response.service_tier', 'flex'),
      kv('gen_ai.usage.input_tokens', 1000),
      kv('gen_ai.usage.output_tokens', 200),
    ]);
    expectPriced(c, [1.25, 0.625, 5], 0);
  });

  it('the request asked for priority, the answer says default: standard prices', async () => {
    const c = await send('d3'.repeat(16), [
      kv('gen_ai.operation.name', 'chat'),
      kv('gen_ai.system', 'openai'),
      kv('gen_ai.request.model', 'gpt-4o'),
      kv('openai.request.service_tier', 'priority'),
      kv('openai.response.service_tier', 'default'),
      kv('gen_ai.usage.input_tokens', 1000),
      kv('gen_ai.usage.output_tokens', 200),
    ]);
    expectPriced(c, [2.5, 1.25, 10], 0);
  });

  it('the Vercel AI SDK (ai.response.providerMetadata): priority gpt-4o and streamed flex gpt-5-mini, as answered', async () => {
    const run = await new Promise<{ traceId: string; tiers: string[] }>((resolve, reject) =>
      execFile(
        process.execPath,
        ['test/e2e/otlp-apps/vercel-ai-tier.cjs'],
        { env: { ...process.env, LLMSCOPE_URL: s.base, SIM_URL: s.sim.url, OTLP_FORMAT: 'protobuf' }, timeout: 60_000 },
        (err, stdout, stderr) => {
          if (err) return reject(new Error(`app failed: ${err.message}\n${stderr}`));
          resolve(JSON.parse(stdout.trim().split('\n').pop() ?? ''));
        },
      ),
    );
    expect(run.tiers).toEqual(['priority', 'flex']);
    const calls = await until(
      async () => {
        await s.app.ctx.recorder.flush();
        const list = (await (await request(`${s.base}/api/requests?q=${run.traceId}&limit=50`)).body.json()) as {
          data: { request_id: string; trace_id: string | null }[];
        };
        const mine = list.data.filter((c) => c.trace_id === run.traceId);
        if (mine.length < 2) return null;
        expect(mine).toHaveLength(2);
        return Promise.all(
          mine.map(
            async (c) =>
              (await (await request(`${s.base}/api/requests/${c.request_id}`)).body.json()) as Stored & {
                model: string;
              },
          ),
        );
      },
      10_000,
      50,
    );
    const byModel = new Map(calls.map((c) => [c.model, c]));
    const check = (c: Stored | undefined, per1M: [number, number, number], source: string) => {
      if (!c) throw new Error(`no call priced at ${source}`);
      const [input, cachedPrice, output] = per1M;
      const n = c.cached_input_tokens ?? 0;
      expect(c.output_tokens).toBeGreaterThan(0);
      expect(c.cost_usd).toBeCloseTo(
        ((c.input_tokens - n) * input + n * cachedPrice + c.output_tokens * output) / 1e6,
        15,
      );
      expect(c.price).toEqual({ input: input / 1e6, cached_input: cachedPrice / 1e6, output: output / 1e6, source });
    };
    check(byModel.get('gpt-4o'), [4.25, 2.125, 17], 'openai/gpt-4o');
    check(byModel.get('gpt-5-mini'), [0.125, 0.0125, 1], 'openai/gpt-5-mini');
  }, 90_000);

  it('/api/ingest has no tier field: a record is priced at standard unless it brings its own cost_usd', async () => {
    const record = (id: string, extra: Record<string, unknown>) => ({
      request_id: id,
      started_at: Date.now(),
      provider: 'openai',
      model: 'gpt-4o',
      input_tokens: 1000,
      output_tokens: 200,
      ...extra,
    });
    const r = await request(`${s.base}/api/ingest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([record('tier-plain', {}), record('tier-costed', { cost_usd: 0.00765 })]),
    });
    expect(r.statusCode).toBe(202);
    await r.body.dump();
    const get = (id: string) =>
      until(async () => {
        await s.app.ctx.recorder.flush();
        const res = await request(`${s.base}/api/requests/${id}`);
        if (res.statusCode === 200) return (await res.body.json()) as Stored;
        await res.body.dump();
        return null;
      });
    expectPriced(await get('tier-plain'), [2.5, 1.25, 10], 0);
    // a priority call's cost (1000 x $4.25 + 200 x $17 per 1M), as sent
    expect((await get('tier-costed')).cost_usd).toBe(0.00765);
  });
});
