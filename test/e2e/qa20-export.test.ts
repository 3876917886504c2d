// The spans llmscope exports (telemetry.otlpEndpoint) as a tracing backend reads them:
// - decision 58: `gen_ai.provider.name` is the GenAI conventions' well-known value for the provider (`openai`,
//   `anthropic`, `gcp.gemini` from the wire format; `azure.ai.openai`, `aws.bedrock`, `gcp.vertex_ai` ... from the
//   host), never the configured name, which goes in `llmscope.provider`; the stored call keeps the configured name;
// - decision 59: a client's traceparent with flags 00 (not sampled) is honoured: the call is recorded and listed, its
//   spans are not exported, and the upstream gets 00 too (ParentBased sampling).
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { wellKnownProvider } from '../../src/telemetry/provider-name.js';
import { getJson, type Stack, simProviders, startStack, until } from './helpers.js';

const exporter = new InMemorySpanExporter();
let s: Stack;

beforeAll(async () => {
  s = await startStack({
    sim: { ttftMs: 2, tpotMs: 1, outputTokens: 4 },
    config: (sim) => ({
      // configured names that are not the conventions' values
      providers: simProviders(sim, 'openai', 'anthropic', 'gemini').map((p) => ({
        ...p,
        name: p.name === 'openai-sim' ? 'team-gpt' : p.name === 'anthropic-sim' ? 'claude-prod' : 'gem',
      })),
    }),
    app: { spanExporter: exporter },
  });
});
afterAll(() => s?.close());

const traceparent = (n: number, flags: '00' | '01') =>
  `00-5bf92f3577b34da6a3ce929d0e0e47${String(n).padStart(2, '0')}-00f067aa0ba902b7-${flags}`;

async function post(path: string, body: unknown, headers: Record<string, string>): Promise<string> {
  const r = await fetch(`${s.base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  await r.text();
  expect(r.status).toBe(200);
  return r.headers.get('x-request-id') as string;
}

async function spansOf(requestId: string, wait = true): Promise<ReadableSpan[]> {
  for (let t = 0; t < (wait ? 200 : 1); t++) {
    await s.app.ctx.recorder.flush();
    const root = exporter.getFinishedSpans().find((x) => x.attributes['llmscope.request_id'] === requestId);
    if (root) return exporter.getFinishedSpans().filter((x) => x.spanContext().traceId === root.spanContext().traceId);
    if (wait) await new Promise((r) => setTimeout(r, 25));
  }
  if (wait) throw new Error(`no span exported for ${requestId}`);
  return [];
}

const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello' }] };

describe('exported gen_ai.provider.name (decision 58)', () => {
  it("names the conventions' provider, the configured name in llmscope.provider; the store keeps the configured name", async () => {
    const cases: {
      path: string;
      body: unknown;
      headers: Record<string, string>;
      configured: string;
      wellKnown: string;
    }[] = [
      { path: '/v1/chat/completions', body: chat, headers: {}, configured: 'team-gpt', wellKnown: 'openai' },
      {
        path: '/v1/messages',
        body: { model: 'claude-3-5-haiku-20241022', max_tokens: 16, messages: [{ role: 'user', content: 'Hi' }] },
        headers: { 'anthropic-version': '2023-06-01', 'x-api-key': 'k' },
        configured: 'claude-prod',
        wellKnown: 'anthropic',
      },
      {
        path: '/v1beta/models/gemini-2.0-flash:generateContent',
        body: { contents: [{ role: 'user', parts: [{ text: 'Hi' }] }] },
        headers: { 'x-goog-api-key': 'k' },
        configured: 'gem',
        wellKnown: 'gcp.gemini',
      },
    ];
    for (const [n, c] of cases.entries()) {
      const id = await post(c.path, c.body, { ...c.headers, traceparent: traceparent(n + 1, '01') });
      const spans = await spansOf(id);
      const named = spans.filter((x) => x.attributes['gen_ai.provider.name'] !== undefined);
      // the call's span and its llmscope.route child
      expect(named.length, c.configured).toBeGreaterThanOrEqual(2);
      for (const sp of named) {
        expect(sp.attributes['gen_ai.provider.name'], `${c.configured}: ${sp.name}`).toBe(c.wellKnown);
        expect(sp.attributes['llmscope.provider'], `${c.configured}: ${sp.name}`).toBe(c.configured);
      }
      expect((await s.callOf(id)).provider).toBe(c.configured);
      const row = await getJson<{ provider: string; spans: { attributes: Record<string, unknown> }[] }>(
        `${s.base}/api/requests/${id}`,
      );
      expect(row.provider).toBe(c.configured);
      // the stored trace is llmscope's own: the configured name, as before
      expect(row.spans.find((x) => x.attributes['gen_ai.provider.name'] !== undefined)?.attributes).toMatchObject({
        'gen_ai.provider.name': c.configured,
      });
    }
  });

  it('tells providers apart by host where the wire format does not', () => {
    const p = (baseUrl: string, type: 'openai-compatible' | 'anthropic' | 'gemini' = 'openai-compatible') =>
      wellKnownProvider({ name: 'x', type, baseUrl });
    expect(p('https://api.openai.com/v1')).toBe('openai');
    expect(p('https://my-res.openai.azure.com/openai/deployments/gpt4o')).toBe('azure.ai.openai');
    expect(p('https://my-res.services.ai.azure.com/models')).toBe('azure.ai.inference');
    expect(p('https://bedrock-runtime.us-east-1.amazonaws.com/openai/v1')).toBe('aws.bedrock');
    expect(p('https://generativelanguage.googleapis.com/v1beta/openai')).toBe('gcp.gemini');
    expect(p('https://us-east5-aiplatform.googleapis.com/v1', 'anthropic')).toBe('gcp.vertex_ai');
    expect(p('https://aiplatform.googleapis.com/v1', 'gemini')).toBe('gcp.vertex_ai');
    expect(p('https://api.anthropic.com/v1/', 'anthropic')).toBe('anthropic');
    expect(p('https://api.mistral.ai/v1')).toBe('mistral_ai');
    expect(p('https://api.groq.com/openai/v1')).toBe('groq');
    expect(p('https://api.deepseek.com')).toBe('deepseek');
    expect(p('https://api.x.ai/v1')).toBe('x_ai');
    // an OpenAI-compatible server the conventions have no name for: `openai`, as they ask of such clients
    expect(p('http://10.0.0.5:8000/v1')).toBe('openai');
    expect(p('http://127.0.0.1:9/v1', 'anthropic')).toBe('anthropic');
    expect(p('http://127.0.0.1:9/v1beta', 'gemini')).toBe('gcp.gemini');
  });
});

describe('client traceparent not sampled (decision 59)', () => {
  it('records and lists the call, exports none of its spans, and sends 00 upstream', async () => {
    const seen = new Promise<Record<string, unknown>>((resolve) =>
      s.sim.events.once('request', (r) => resolve(r.headers as Record<string, unknown>)),
    );
    const tp = traceparent(20, '00');
    const traceId = tp.split('-')[1] as string;
    const id = await post('/v1/chat/completions', chat, { traceparent: tp, 'x-request-id': 'qa20-unsampled' });
    expect(String((await seen).traceparent)).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-00$`));
    const call = await s.callOf(id);
    expect([call.status, call.traceId, call.inputTokens !== null]).toEqual(['ok', traceId, true]);
    await s.app.ctx.recorder.flush();
    const row = await getJson<{ request_id: string; trace_id: string }>(`${s.base}/api/requests/${id}`);
    expect([row.request_id, row.trace_id]).toEqual([id, traceId]);

    // a sampled call after it is exported (so the unsampled one had its chance to be)
    const after = await post('/v1/chat/completions', chat, { traceparent: traceparent(21, '01') });
    expect((await spansOf(after)).length).toBeGreaterThan(0);
    expect(exporter.getFinishedSpans().filter((x) => x.spanContext().traceId === traceId)).toEqual([]);
    expect(await spansOf(id, false)).toEqual([]);
  });

  it('a sampled traceparent (01) and none at all send 01 upstream, as before', async () => {
    for (const tp of [traceparent(22, '01'), undefined]) {
      const seen = new Promise<Record<string, unknown>>((resolve) =>
        s.sim.events.once('request', (r) => resolve(r.headers as Record<string, unknown>)),
      );
      await post('/v1/chat/completions', chat, tp ? { traceparent: tp } : {});
      expect(String((await seen).traceparent)).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    }
  });
});

describe('Realtime over WebSocket: an unsampled upgrade (decision 59)', () => {
  /** One response over a Realtime session opened with this traceparent; the recorded call. */
  async function oneResponse(traceparent: string) {
    const ws = new WebSocket(`${s.base.replace(/^http/, 'ws')}/v1/realtime?model=gpt-realtime`, {
      headers: { authorization: 'Bearer sk-test', traceparent },
    });
    const types: string[] = [];
    ws.on('message', (d) => types.push((JSON.parse(String(d)) as { type: string }).type));
    await new Promise<void>((ok, fail) => {
      ws.once('open', () => ok());
      ws.once('error', fail);
    });
    ws.send(JSON.stringify({ type: 'response.create' }));
    await until(() => types.includes('response.done'), 10_000, 5);
    ws.close();
    const traceId = traceparent.split('-')[1] as string;
    await until(() => s.calls.some((c) => c.endpoint === 'realtime' && c.traceId === traceId), 10_000, 5);
    await s.app.ctx.recorder.flush();
    return traceId;
  }

  it("records the session's response, exports none of its spans; a sampled session's are exported", async () => {
    const unsampled = await oneResponse(traceparent(30, '00'));
    const sampled = await oneResponse(traceparent(31, '01'));
    const exported = (t: string) => exporter.getFinishedSpans().filter((x) => x.spanContext().traceId === t);
    expect(exported(sampled).length).toBeGreaterThan(0);
    expect(exported(unsampled)).toEqual([]);
  });
});
