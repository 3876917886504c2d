// The three pillars linked by one request id, as an SRE wiring llmscope into a stack sees them: for one call on each
// wire format (chat streamed and not, Responses, embeddings through the official openai client; Anthropic Messages
// and Gemini; a failed call, a refused one and a budget's 429) the answer's x-request-id is the id in the call's log
// lines, its stored record, its /api/requests row and its exported span, and the trace id is the same in all of them
// (the client's traceparent continued). The exported span follows the OpenTelemetry GenAI conventions: named
// `{operation} {model}`, kind CLIENT, `gen_ai.response.finish_reasons` a string array, status ERROR with `error.type`
// on a failure.
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCostModule } from '../../src/cost/index.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import {
  getJson,
  killServe,
  type ServeRun,
  type Stack,
  simProviders,
  startServeWithConfig,
  startStack,
  until,
} from './helpers.js';

const exporter = new InMemorySpanExporter();
let s: Stack;
let client: OpenAI;

beforeAll(async () => {
  s = await startStack({
    sim: { ttftMs: 5, tpotMs: 1, outputTokens: 6 },
    config: (sim) => ({
      providers: simProviders(sim, 'openai', 'anthropic', 'gemini').map((p) =>
        p.name === 'openai-sim' ? { ...p, models: ['gpt-*', 'text-*'] } : p,
      ),
      budgets: [{ name: 'broke', scope: 'team', match: 'broke', period: 'day', limit: 0 }],
    }),
    app: { spanExporter: exporter, modules: [createCostModule] },
  });
  client = new OpenAI({ baseURL: `${s.base}/v1`, apiKey: 'sk-test', maxRetries: 0 });
});
afterAll(() => s?.close());

const traceparentFor = (n: number) =>
  `00-4bf92f3577b34da6a3ce929d0e0e47${String(n).padStart(2, '0')}-00f067aa0ba902b7-01`;

async function post(path: string, body: unknown, headers: Record<string, string>): Promise<Response> {
  const r = await fetch(`${s.base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  await r.text();
  return r;
}

/** The exported span of the call with this request id (the gateway's `{operation} {model}` span). */
async function spanOf(requestId: string): Promise<ReadableSpan> {
  for (let t = 0; t < 200; t++) {
    await s.app.ctx.recorder.flush();
    const sp = exporter.getFinishedSpans().find((x) => x.attributes['llmscope.request_id'] === requestId);
    if (sp) return sp;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no span exported for ${requestId}`);
}

describe('one request id across logs, store, /api/requests and exported spans', () => {
  it('links every wire format, a failure, a refusal and a budget 429', async () => {
    const cases: { name: string; id: string; send: () => Promise<string | null>; status: string; op: string }[] = [
      {
        name: 'chat',
        id: 'qa18-chat',
        op: 'chat gpt-4o-mini',
        status: 'ok',
        send: async () => {
          const { response } = await client.chat.completions
            .create(
              { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello' }] },
              { headers: { 'x-request-id': 'qa18-chat', traceparent: traceparentFor(1) } },
            )
            .withResponse();
          return response.headers.get('x-request-id');
        },
      },
      {
        name: 'chat streamed (id generated)',
        id: '',
        op: 'chat gpt-4o-mini',
        status: 'ok',
        send: async () => {
          const { data, response } = await client.chat.completions
            .create(
              { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'Hello' }] },
              { headers: { traceparent: traceparentFor(2) } },
            )
            .withResponse();
          for await (const _ of data) {
            // drain
          }
          return response.headers.get('x-request-id');
        },
      },
      {
        name: 'responses',
        id: 'qa18-responses',
        op: 'chat gpt-4o-mini',
        status: 'ok',
        send: async () => {
          const { response } = await client.responses
            .create(
              { model: 'gpt-4o-mini', input: 'Hello' },
              { headers: { 'x-request-id': 'qa18-responses', traceparent: traceparentFor(3) } },
            )
            .withResponse();
          return response.headers.get('x-request-id');
        },
      },
      {
        name: 'embeddings',
        id: 'qa18-embeddings',
        op: 'embeddings text-embedding-3-small',
        status: 'ok',
        send: async () => {
          const { response } = await client.embeddings
            .create(
              { model: 'text-embedding-3-small', input: 'Hello' },
              { headers: { 'x-request-id': 'qa18-embeddings', traceparent: traceparentFor(4) } },
            )
            .withResponse();
          return response.headers.get('x-request-id');
        },
      },
      {
        name: 'anthropic messages',
        id: 'qa18-anthropic',
        op: 'chat claude-3-5-haiku-20241022',
        status: 'ok',
        send: async () =>
          (
            await post(
              '/v1/messages',
              { model: 'claude-3-5-haiku-20241022', max_tokens: 32, messages: [{ role: 'user', content: 'Hello' }] },
              {
                'x-request-id': 'qa18-anthropic',
                traceparent: traceparentFor(5),
                'anthropic-version': '2023-06-01',
                'x-api-key': 'k',
              },
            )
          ).headers.get('x-request-id'),
      },
      {
        name: 'gemini',
        id: 'qa18-gemini',
        op: 'generate_content gemini-2.0-flash',
        status: 'ok',
        send: async () =>
          (
            await post(
              '/v1beta/models/gemini-2.0-flash:generateContent',
              { contents: [{ role: 'user', parts: [{ text: 'Hello' }] }] },
              { 'x-request-id': 'qa18-gemini', traceparent: traceparentFor(6), 'x-goog-api-key': 'k' },
            )
          ).headers.get('x-request-id'),
      },
      {
        name: 'failed upstream',
        id: 'qa18-failed',
        op: 'chat gpt-4o-mini',
        status: 'upstream_error',
        send: async () =>
          (
            await post(
              '/v1/chat/completions',
              { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello' }] },
              { 'x-request-id': 'qa18-failed', traceparent: traceparentFor(7), 'x-simulator-fault': 'server_error' },
            )
          ).headers.get('x-request-id'),
      },
      {
        name: 'refused by llmscope',
        id: 'qa18-refused',
        op: 'chat unknown',
        status: 'client_error',
        send: async () =>
          (
            await post(
              '/v1/chat/completions',
              { messages: [{ role: 'user', content: 'Hello' }] },
              { 'x-request-id': 'qa18-refused', traceparent: traceparentFor(8) },
            )
          ).headers.get('x-request-id'),
      },
      {
        name: 'budget 429',
        id: 'qa18-budget',
        op: 'chat gpt-4o-mini',
        status: 'rate_limited',
        send: async () =>
          (
            await post(
              '/v1/chat/completions',
              { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello' }] },
              { 'x-request-id': 'qa18-budget', traceparent: traceparentFor(9), 'x-llmscope-team': 'broke' },
            )
          ).headers.get('x-request-id'),
      },
    ];
    for (const [n, c] of cases.entries()) {
      const returned = await c.send();
      if (c.id) expect(returned, c.name).toBe(c.id);
      else expect(returned, c.name).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      const id = returned as string;
      const traceId = traceparentFor(n + 1).split('-')[1] as string;
      const call = await s.callOf(id);
      expect(call.status, c.name).toBe(c.status);
      expect(call.traceId, c.name).toBe(traceId);

      const span = await spanOf(id);
      expect(span.name, c.name).toBe(c.op);
      expect(span.spanContext().traceId, c.name).toBe(traceId);
      expect(span.spanContext().spanId, c.name).toBe(call.internal?.spanId);
      expect(span.parentSpanContext?.spanId, c.name).toBe('00f067aa0ba902b7');
      expect(span.kind, `${c.name}: a GenAI call span is CLIENT`).toBe(SpanKind.CLIENT);
      if (c.status === 'ok') {
        expect(span.status.code, `${c.name}: UNSET unless it failed`).toBe(SpanStatusCode.UNSET);
        if (call.finishReason)
          expect(span.attributes['gen_ai.response.finish_reasons'], c.name).toEqual([call.finishReason]);
      } else {
        expect(span.status.code, c.name).toBe(SpanStatusCode.ERROR);
        expect(span.attributes['error.type'], c.name).toBe(call.errorType);
      }

      const row = await getJson<{ request_id: string; trace_id: string }>(`${s.base}/api/requests/${id}`);
      expect([row.request_id, row.trace_id], c.name).toEqual([id, traceId]);
      const list = await getJson<{ data: { request_id: string; trace_id: string }[] }>(
        `${s.base}/api/requests?q=${encodeURIComponent(id)}`,
      );
      expect(
        list.data.map((r) => [r.request_id, r.trace_id]),
        c.name,
      ).toEqual([[id, traceId]]);

      const lines = s.logs.filter((l) => l.request_id === id);
      expect(
        lines.map((l) => l.event),
        c.name,
      ).toContain('request_completed');
      for (const l of lines) {
        expect(l.trace_id, `${c.name}: ${l.event}`).toBe(traceId);
        expect(typeof l.time === 'string' && !Number.isNaN(Date.parse(l.time)), `${c.name}: time`).toBe(true);
        // a failed call's request_completed line is a warning (telemetry/request-log.ts failedCall)
        const failed = l.event === 'request_completed' && c.status === 'upstream_error';
        expect(l.level, `${c.name}: level`).toBe(failed ? 'warn' : 'info');
      }
    }
  });

  it("a budget's 429 writes its budget_blocked line inside the call: with the call's request, trace and span ids", async () => {
    const r = await post(
      '/v1/chat/completions',
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello' }] },
      { 'x-request-id': 'qa18-budget-line', traceparent: traceparentFor(20), 'x-llmscope-team': 'broke' },
    );
    expect(r.status).toBe(429);
    const call = await s.callOf('qa18-budget-line');
    const blocked = s.logs.filter((l) => l.event === 'budget_blocked' && l.request_id === 'qa18-budget-line');
    expect(blocked).toHaveLength(1);
    expect(blocked[0]).toMatchObject({
      budget: 'broke',
      request_id: 'qa18-budget-line',
      trace_id: call.traceId,
      span_id: call.internal?.spanId,
      provider: 'openai-sim',
      model: 'gpt-4o-mini',
    });
  });
});

describe('x-request-id on the gateway answers that are not calls', () => {
  it('GET /v1/models, an unknown /v1 or /v1beta route and a method a call route does not take return it', async () => {
    const uuid7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    const list = await client.models.list().withResponse();
    expect(list.response.headers.get('x-request-id')).toMatch(uuid7);
    const asked: [string, string, number][] = [
      ['GET', '/v1/models', 200],
      ['GET', '/v1/models/gpt-4o-mini', 200],
      ['POST', '/v1/nope', 404],
      ['POST', '/v1beta/nope', 404],
      ['GET', '/v1/embeddings', 405],
    ];
    for (const [method, path, status] of asked) {
      const r = await fetch(`${s.base}${path}`, {
        method,
        headers: {
          'x-request-id': 'qa18-not-a-call',
          ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
        },
        body: method === 'POST' ? '{}' : undefined,
      });
      await r.text();
      expect([path, r.status, r.headers.get('x-request-id')]).toEqual([path, status, 'qa18-not-a-call']);
    }
  });
});

describe('traceparent on a request passed through (not a call)', () => {
  it("reaches the upstream as the client sent it, with its tracestate: the upstream's span joins the client's trace", async () => {
    const traceparent = traceparentFor(40);
    const seen = new Promise<Record<string, unknown>>((resolve) =>
      s.sim.events.once('request', (r) => resolve(r.headers as Record<string, unknown>)),
    );
    // Anthropic's count_tokens: passed through to the provider, not a call
    const r = await fetch(`${s.base}/v1/messages/count_tokens`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'anthropic-version': '2023-06-01',
        'x-api-key': 'k',
        traceparent,
        tracestate: 'vendor=abc',
        'x-request-id': 'qa18-passed',
      },
      body: JSON.stringify({ model: 'claude-3-5-haiku-20241022', messages: [{ role: 'user', content: 'Hello' }] }),
    });
    await r.text();
    expect(r.headers.get('x-request-id')).toBe('qa18-passed');
    const upstream = await seen;
    expect([upstream.traceparent, upstream.tracestate]).toEqual([traceparent, 'vendor=abc']);
  });
});

describe("serve --workers 2: the budget line a gateway worker's call makes in the recorder", () => {
  let sim: Simulator;
  let run: ServeRun | undefined;
  beforeAll(async () => {
    sim = await startSimulator({ port: 0, seed: 1, ttftMs: 1, tpotMs: 1, outputTokens: 4 });
    run = await startServeWithConfig({
      prefix: 'qa18-workers-',
      workers: 2,
      config: (dir) => ({
        providers: [{ name: 'openai-sim', baseUrl: sim.url }],
        storage: { url: `sqlite:${dir}/calls.db` },
        gpu: { collector: 'none' },
        budgets: [{ name: 'broke', scope: 'team', match: 'broke', period: 'day', limit: 0 }],
      }),
    });
  }, 90_000);
  afterAll(async () => {
    killServe(run?.proc);
    await sim?.close();
  });

  it("carries the request id the client got back, as the call's request_completed line does", async () => {
    const base = run?.base as string;
    const r = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-llmscope-team': 'broke', traceparent: traceparentFor(30) },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello' }] }),
    });
    await r.text();
    expect(r.status).toBe(429);
    const id = r.headers.get('x-request-id') as string;
    expect(id).toBeTruthy();
    const linesOf = () =>
      (run?.stdout.join('') ?? '').split('\n').flatMap((l) => {
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch {
          return []; // the last line, still being written
        }
      });
    // The call's own line is written once the recorder has it; the budget's line was written before the 429 left.
    const completed = await until(
      () => linesOf().find((l) => l.event === 'request_completed' && l.request_id === id),
      20_000,
    );
    expect(completed.trace_id).toBe(traceparentFor(30).split('-')[1]);
    const blocked = linesOf().filter((l) => l.event === 'budget_blocked');
    expect(blocked).toHaveLength(1);
    expect(blocked[0]).toMatchObject({
      budget: 'broke',
      request_id: id,
      trace_id: completed.trace_id,
      span_id: completed.span_id,
      provider: 'openai-sim',
      model: 'gpt-4o-mini',
    });
  });
});
