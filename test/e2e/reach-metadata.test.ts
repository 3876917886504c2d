// Call metadata on every way in, on SQLite and on PostgreSQL, as each client sends it: x-llmscope-meta-* headers from
// the official @anthropic-ai/sdk (Messages, streamed), @google/genai (generateContent and its stream) and openai
// (responses.create), and llmscope.meta.* attributes on OTLP spans (resource and the AI SDK's telemetry metadata).
// Every call is found by /api/requests?meta.<key>=<value> and summed by /api/cost/summary?group_by=meta.<key>.
import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import OpenAI from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCostModule } from '../../src/cost/index.js';
import { startPostgres, type TestPostgres } from '../pg.js';
import { type Stack, simProviders, startStack } from './helpers.js';

let pg: TestPostgres | undefined;
beforeAll(async () => {
  pg = await startPostgres();
}, 60_000);
afterAll(async () => {
  await pg?.stop();
});

const stores: [string, () => Promise<string>][] = [
  ['sqlite', async () => 'sqlite::memory:'],
  ['postgres', async () => (pg as TestPostgres).freshSchemaUrl()],
];

describe.each(stores)('metadata from every client on %s', (_name, storageUrl) => {
  let s: Stack;
  beforeAll(async () => {
    const url = await storageUrl();
    s = await startStack({
      sim: { ttftMs: 1, tpotMs: 0, outputTokens: 5 },
      config: (sim) => ({
        storage: { url },
        providers: simProviders(sim, 'openai', 'anthropic', 'gemini'),
      }),
      app: { modules: [createCostModule] },
    });
  });
  afterAll(() => s?.close());

  const get = async (path: string) => {
    const r = await request(`${s.base}${path}`);
    return { status: r.statusCode, body: (await r.body.json()) as Record<string, unknown> };
  };

  it('Anthropic, Gemini, Responses and OTLP calls are filtered and grouped by their metadata', async () => {
    const meta = { 'x-llmscope-meta-tenant': 'umbrella', 'x-llmscope-meta-run': 'r1' };
    const anthropic = new Anthropic({ baseURL: s.base, apiKey: 'sk-ant-test', maxRetries: 0, defaultHeaders: meta });
    const stream = anthropic.messages.stream(
      { model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'Hi' }] },
      { headers: { 'x-request-id': 'meta-anthropic' } },
    );
    await stream.finalMessage();
    const google = new GoogleGenAI({ apiKey: 'g-test', httpOptions: { baseUrl: s.base, headers: meta } });
    await google.models.generateContent({
      model: 'gemini-2.5-flash',
      contents: 'Hi',
      config: { httpOptions: { headers: { 'x-request-id': 'meta-gemini' } } },
    });
    for await (const _ of await google.models.generateContentStream({
      model: 'gemini-2.5-flash',
      contents: 'Hi again',
      config: { httpOptions: { headers: { 'x-request-id': 'meta-gemini-stream' } } },
    }));
    const openai = new OpenAI({ baseURL: `${s.base}/v1`, apiKey: 'sk-test', maxRetries: 0, defaultHeaders: meta });
    await openai.responses.create({ model: 'gpt-4o-mini', input: 'Hi' }, { headers: { 'x-request-id': 'meta-resp' } });

    // an OTLP span: the tenant on the resource, the run in the AI SDK's telemetry metadata
    const kv = (key: string, v: string | number) => ({
      key,
      value: typeof v === 'string' ? { stringValue: v } : { intValue: String(v) },
    });
    const now = BigInt(Date.now()) * 1_000_000n;
    const otlp = await request(`${s.base}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        resourceSpans: [
          {
            resource: { attributes: [kv('service.name', 'meta-app'), kv('llmscope.meta.tenant', 'umbrella')] },
            scopeSpans: [
              {
                spans: [
                  {
                    traceId: 'ab'.repeat(16),
                    spanId: 'ab'.repeat(8),
                    name: 'ai.generateText.doGenerate',
                    kind: 3,
                    startTimeUnixNano: String(now - 500_000_000n),
                    endTimeUnixNano: String(now),
                    attributes: [
                      kv('ai.operationId', 'ai.generateText.doGenerate'),
                      kv('ai.model.id', 'gpt-4o-mini'),
                      kv('ai.model.provider', 'openai.chat'),
                      kv('ai.usage.inputTokens', 10),
                      kv('ai.usage.outputTokens', 4),
                      kv('ai.telemetry.metadata.llmscope.meta.run', 'r1'),
                    ],
                  },
                ],
              },
            ],
          },
        ],
      }),
    });
    expect(otlp.statusCode).toBe(200);
    await otlp.body.text();
    await s.waitForCalls(5);
    await s.app.ctx.recorder.flush();

    const found = await get('/api/requests?meta.tenant=umbrella&meta.run=r1&limit=50');
    const rows = found.body.data as { request_id: string; endpoint: string; metadata: Record<string, string> }[];
    expect(rows.map((r) => r.endpoint).sort()).toEqual([
      'chat.completions',
      'generate_content',
      'generate_content',
      'messages',
      'responses',
    ]);
    for (const r of rows) expect(r.metadata).toEqual({ tenant: 'umbrella', run: 'r1' });
    const grouped = await get('/api/cost/summary?group_by=meta.tenant');
    expect(grouped.status).toBe(200);
    const groups = grouped.body.groups as { key: string | null; requests: number; cost_usd: number }[];
    const umbrella = groups.find((g) => g.key === 'umbrella');
    expect(umbrella?.requests).toBe(5);
    expect(umbrella?.cost_usd).toBeGreaterThan(0);
  });
});
