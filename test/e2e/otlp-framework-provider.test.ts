// Decision 165 through serve's OTLP receiver with the cost capability loaded: a Strands Agents chat span
// (gen_ai.system `strands-agents`) on a Bedrock model id is recorded under `bedrock`, a Google ADK call_llm span
// (`gcp.vertex.agent`) on Gemini under `google`, each priced; a model the catalog does not know keeps the framework's
// name. Before, every such call was recorded under the framework's name.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCostModule } from '../../src/cost/index.js';
import { type Stack, startStack, until } from './helpers.js';

const kv = (key: string, v: string | number) => ({
  key,
  value: typeof v === 'string' ? { stringValue: v } : { intValue: String(v) },
});

interface Stored {
  provider: string;
  model: string;
  cost_usd: number | null;
}

describe('OTLP calls of agent frameworks under serve: the model’s provider (decision 165)', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({ app: { modules: [createCostModule] } });
  });
  afterAll(() => s?.close());

  const send = async (trace: string, name: string, attributes: unknown[]) => {
    const t0 = BigInt(Date.now()) * 1_000_000n;
    const r = await request(`${s.base}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        resourceSpans: [
          {
            resource: { attributes: [kv('service.name', 'agent-app')] },
            scopeSpans: [
              {
                spans: [
                  {
                    traceId: trace,
                    spanId: `${trace.slice(0, 14)}01`,
                    name,
                    kind: 1,
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
        const id = list.data.find((c) => c.trace_id === trace)?.request_id;
        if (!id) return null;
        return (await (await request(`${s.base}/api/requests/${id}`)).body.json()) as Stored;
      },
      10_000,
      50,
    );
  };

  const usage = [kv('gen_ai.usage.input_tokens', 1000), kv('gen_ai.usage.output_tokens', 200)];

  it('Strands Agents on a Bedrock id: bedrock, priced', async () => {
    const c = await send('e1'.repeat(16), 'chat', [
      kv('gen_ai.system', 'strands-agents'),
      kv('gen_ai.operation.name', 'chat'),
      kv('gen_ai.request.model', 'us.anthropic.claude-sonnet-4-20250514-v1:0'),
      ...usage,
    ]);
    expect(c).toMatchObject({ provider: 'bedrock', model: 'us.anthropic.claude-sonnet-4-20250514-v1:0' });
    // Claude Sonnet 4: $3 / $15 per 1M
    expect(c.cost_usd).toBeCloseTo((1000 * 3 + 200 * 15) / 1e6, 12);
  });

  it('Google ADK on Gemini: google; an unknown model keeps the framework', async () => {
    const gemini = await send('e2'.repeat(16), 'call_llm', [
      kv('gen_ai.system', 'gcp.vertex.agent'),
      kv('gen_ai.request.model', 'gemini-2.0-flash'),
      ...usage,
    ]);
    expect(gemini.provider).toBe('google');
    expect(gemini.cost_usd).toBeGreaterThan(0);
    const tuned = await send('e3'.repeat(16), 'call_llm', [
      kv('gen_ai.system', 'gcp.vertex.agent'),
      kv('gen_ai.request.model', 'projects/p/locations/us-central1/endpoints/123'),
      ...usage,
    ]);
    expect(tuned.provider).toBe('gcp.vertex.agent');
  });
});
