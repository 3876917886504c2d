import pino from 'pino';
import { describe, expect, it, vi } from 'vitest';
import type { LlmCall } from '../../calls/index.js';
import { LlmscopeError } from '../../errors.js';
import type { Admission, GatewayHook } from '../../gateway/proxy.js';
import { ModelRouter } from '../../gateway/routing.js';
import { MAX_EVENT_CHARS, StreamMeter } from '../../gateway/sse.js';
import type { Upstream } from '../../gateway/upstream.js';
import { responsesStreamReader } from './index.js';
import { BACKLOG_HIGH_BYTES, MAX_OPEN_RESPONSES, ResponsesWsSession } from './ws.js';

const provider = (name: string, models: string[]) => ({
  name,
  type: 'openai-compatible' as const,
  baseUrl: `http://${name}/v1`,
  models,
  headers: {},
  connections: 1,
  timeout: '1s',
});
const PROVIDERS = [provider('openai', ['gpt-*', 'o*']), provider('vllm', ['meta-llama/*'])];
const ROUTES = [{ model: 'fast', provider: 'openai', upstreamModel: 'gpt-4o-mini' }];

const usage = (input: number, output: number, cached = 0, reasoning = 0) => ({
  input_tokens: input,
  input_tokens_details: { cached_tokens: cached },
  output_tokens: output,
  output_tokens_details: { reasoning_tokens: reasoning },
  total_tokens: input + output,
});
const ev = (type: string, data: Record<string, unknown> = {}, streamId?: string) =>
  Buffer.from(JSON.stringify({ type, ...data, ...(streamId ? { stream_id: streamId } : {}) }));
const created = (id: string, model = 'gpt-4o-mini-2024-07-18', streamId?: string) =>
  ev('response.created', { response: { id, object: 'response', status: 'in_progress', model } }, streamId);
const delta = (text: string, streamId?: string) =>
  ev('response.output_text.delta', { item_id: 'msg_1', output_index: 0, content_index: 0, delta: text }, streamId);
const completed = (id: string, u: unknown, streamId?: string, status = 'completed') =>
  ev(
    `response.${status}`,
    {
      response: {
        id,
        status,
        output: [{ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'x' }] }],
        usage: u,
        ...(status === 'failed' ? { error: { code: 'server_error', message: 'The model failed.' } } : {}),
      },
    },
    streamId,
  );
const create = (body: Record<string, unknown>) => Buffer.from(JSON.stringify({ type: 'response.create', ...body }));
const settle = () => new Promise((r) => setImmediate(r));
const until = async (f: () => boolean) => {
  for (let k = 0; k < 200 && !f(); k++) await settle();
  expect(f()).toBe(true);
};

function session(
  hooks: GatewayHook[] = [],
  headers: Record<string, string> = {},
  flow?: { pause(): void; resume(): void },
) {
  const calls: LlmCall[] = [];
  const replies: Record<string, unknown>[] = [];
  const forwarded: string[] = [];
  const released: Admission[] = [];
  const up = { provider: PROVIDERS[0], host: 'openai', port: 80 } as unknown as Upstream;
  const s = new ResponsesWsSession(
    {
      recorder: { record: (c: LlmCall) => calls.push(c) } as never,
      logger: pino({ level: 'silent' }),
      hooks,
      router: new ModelRouter(PROVIDERS, ROUTES, ['openai-responses', 'openai-compatible']),
      up,
      release: (a) => released.push(a),
    },
    { traceId: 't'.repeat(32), parentSpanId: null, headers, metadata: null },
    (text) => replies.push(JSON.parse(text)),
    flow,
  );
  const send = async (data: Buffer, at: number) => {
    s.client(data, false, at, (out) => forwarded.push(String(out)));
    await settle();
  };
  const receive = (data: Buffer, at: number) => s.server(data, false, at);
  return { s, calls, replies, forwarded, released, send, receive };
}

describe('ResponsesWsSession', () => {
  it('forwards a response.create as sent and records its events as the streamed HTTP call', async () => {
    const t = session([], { session_id: 'codex-7', 'x-llmscope-team': 'agents' });
    const msg = create({ model: 'gpt-4o-mini', instructions: 'Be brief.', input: 'hi there', max_output_tokens: 64 });
    await t.send(msg, 1000);
    expect(t.forwarded).toEqual([msg.toString()]);
    t.receive(created('resp_1'), 1010);
    t.receive(delta('Hel'), 1040);
    t.receive(delta('lo'), 1044);
    t.receive(delta('!'), 1048);
    expect(t.calls).toHaveLength(0);
    t.receive(completed('resp_1', usage(20, 9, 4, 6)), 1050);
    expect(t.calls).toHaveLength(1);
    expect(t.calls[0]).toMatchObject({
      requestId: 'resp_1',
      provider: 'openai',
      model: 'gpt-4o-mini',
      endpoint: 'responses',
      stream: true,
      status: 'ok',
      httpStatus: 200,
      inputTokens: 20,
      cachedInputTokens: 4,
      outputTokens: 9,
      reasoningTokens: 6,
      tokenSource: 'usage',
      ttftMs: 40,
      tpotMs: 1,
      latencyMs: 50,
      finishReason: 'stop',
      session: 'codex-7',
      team: 'agents',
      requestBytes: msg.length,
    });
    expect(t.calls[0]?.internal).toMatchObject({
      promptText: 'Be brief.\nhi there',
      outputText: 'Hello!',
      responseModel: 'gpt-4o-mini-2024-07-18',
      params: { max_tokens: 64 },
    });
  });

  it('sends a route alias upstream as its model, and records the next response apart', async () => {
    const t = session();
    await t.send(create({ model: 'fast', input: 'a' }), 0);
    expect(JSON.parse(t.forwarded[0] as string)).toEqual({ type: 'response.create', model: 'gpt-4o-mini', input: 'a' });
    t.receive(created('resp_a'), 5);
    t.receive(completed('resp_a', usage(3, 1)), 9);
    await t.send(create({ model: 'gpt-4o', input: 'b', previous_response_id: 'resp_a' }), 20);
    t.receive(created('resp_b'), 25);
    t.receive(delta('b'), 30);
    t.receive(completed('resp_b', usage(5, 1), undefined, 'incomplete'), 31);
    expect(t.calls.map((c) => [c.requestId, c.model, c.inputTokens, c.ttftMs, c.finishReason])).toEqual([
      ['resp_a', 'fast', 3, null, 'stop'],
      ['resp_b', 'gpt-4o', 5, 10, 'incomplete'],
    ]);
  });

  it('keeps responses on their stream_id lanes apart', async () => {
    const t = session();
    await t.send(create({ model: 'gpt-4o', input: 'one', stream_id: 'a' }), 0);
    await t.send(create({ model: 'gpt-4o', input: 'two', stream_id: 'b' }), 1);
    t.receive(created('resp_a', 'gpt-4o', 'a'), 2);
    t.receive(created('resp_b', 'gpt-4o', 'b'), 3);
    t.receive(delta('A', 'a'), 10);
    t.receive(delta('B', 'b'), 21);
    t.receive(completed('resp_b', usage(2, 1), 'b'), 22);
    t.receive(completed('resp_a', usage(1, 1), 'a'), 30);
    expect(t.calls.map((c) => [c.requestId, c.internal?.outputText, c.ttftMs, c.inputTokens])).toEqual([
      ['resp_b', 'B', 20, 2],
      ['resp_a', 'A', 10, 1],
    ]);
  });

  it('records an error before the response started with its status, and a failed response as upstream_error', async () => {
    const t = session();
    await t.send(create({ model: 'gpt-4o', input: 'x' }), 0);
    t.receive(
      ev('error', { status: 429, error: { type: 'tokens', code: 'rate_limit_exceeded', message: 'Slow down.' } }),
      3,
    );
    await t.send(create({ model: 'gpt-4o', input: 'y' }), 10);
    t.receive(created('resp_f'), 12);
    t.receive(delta('partial'), 15);
    t.receive(completed('resp_f', usage(4, 2), undefined, 'failed'), 16);
    expect(t.calls[0]).toMatchObject({ status: 'rate_limited', httpStatus: 429, errorMessage: 'Slow down.' });
    expect(t.calls[1]).toMatchObject({
      requestId: 'resp_f',
      status: 'upstream_error',
      httpStatus: 200,
      errorType: 'server_error',
      finishReason: 'error',
      outputTokens: 2,
    });
  });

  it('records the responses a closed connection cut: cancelled by the client, upstream_stream_cut by the upstream', async () => {
    for (const [by, status, http, type] of [
      ['client', 'cancelled', 499, 'client_closed_request'],
      ['upstream', 'upstream_error', 502, 'upstream_stream_cut'],
    ] as const) {
      const t = session();
      await t.send(create({ model: 'gpt-4o', input: 'long' }), 0);
      t.receive(created('resp_c'), 2);
      t.receive(delta('so far'), 8);
      t.s.end(20, by);
      expect(t.calls).toHaveLength(1);
      expect(t.calls[0]).toMatchObject({
        requestId: 'resp_c',
        status,
        httpStatus: http,
        errorType: type,
        outputTokens: null,
        tokenSource: null,
        ttftMs: 8,
        latencyMs: 20,
        finishReason: null,
      });
      expect(t.calls[0]?.internal?.outputText).toBe('so far');
      // nothing is metered after the end
      t.receive(delta('late'), 30);
      expect(t.calls).toHaveLength(1);
    }
  });

  it('answers bad JSON, a missing model and a model of another provider with error events, forwarding none', async () => {
    const t = session();
    await t.send(Buffer.from('{"type": "response.create", '), 0);
    await t.send(create({ input: 'no model' }), 1);
    await t.send(create({ model: 'meta-llama/Llama-3-8B', input: 'elsewhere', stream_id: 'x' }), 2);
    await t.send(Buffer.from('{"type":"session.ping"}'), 3);
    expect(t.forwarded).toEqual(['{"type":"session.ping"}']);
    expect(t.replies).toMatchObject([
      { type: 'error', status: 400, error: { type: 'invalid_request_error', code: 'invalid_json' } },
      { type: 'error', status: 400, error: { code: 'missing_model', param: 'model' } },
      { type: 'error', status: 404, stream_id: 'x', error: { code: 'model_not_found', param: 'model' } },
    ]);
    expect(JSON.stringify(t.replies[2])).toContain('provider \\"vllm\\"');
    expect(t.calls.map((c) => [c.status, c.httpStatus, c.errorType, c.internal?.ownError])).toEqual([
      ['client_error', 400, 'invalid_json', true],
      ['client_error', 400, 'missing_model', true],
      ['client_error', 404, 'model_not_found', true],
    ]);
  });

  it('admits each response through the hooks, releasing and answering a refusal, settling an admitted call', async () => {
    const settled: [Admission, LlmCall][] = [];
    const hook: GatewayHook = {
      name: 'test',
      async authenticate(a) {
        a.attribution.apiKeyId = 'key-1';
      },
      admit(a) {
        if (a.model === 'o1') throw new LlmscopeError('LLMSCOPE_ERR_MODEL_NOT_ALLOWED', 'not o1');
        a.state.seen = a.model;
      },
      settle: (a, c) => settled.push([a, c]),
    };
    const t = session([hook]);
    await t.send(create({ model: 'o1', input: 'x' }), 0);
    await t.send(create({ model: 'gpt-4o', input: 'y' }), 1);
    expect(t.replies).toMatchObject([{ type: 'error', status: 403, error: { code: 'model_not_allowed' } }]);
    expect(t.released.map((a) => a.model)).toEqual(['o1']);
    expect(t.forwarded.map((f) => JSON.parse(f).model)).toEqual(['gpt-4o']);
    t.receive(created('resp_ok'), 3);
    t.receive(completed('resp_ok', usage(1, 1)), 4);
    expect(t.calls.map((c) => [c.model, c.status, c.apiKeyId])).toEqual([
      ['o1', 'client_error', 'key-1'],
      ['gpt-4o', 'ok', 'key-1'],
    ]);
    expect(settled.map(([a, c]) => [a.state.seen, c.requestId])).toEqual([['gpt-4o', 'resp_ok']]);
  });

  it('refuses a response past MAX_OPEN_RESPONSES in flight on one connection, until one finishes', async () => {
    const t = session();
    for (let k = 0; k < MAX_OPEN_RESPONSES; k++)
      t.s.client(create({ model: 'gpt-4o', input: `${k}` }), false, k, () => {});
    await t.send(create({ model: 'gpt-4o', input: 'one too many' }), 500);
    expect(t.replies).toMatchObject([{ type: 'error', status: 503, error: { code: 'overloaded' } }]);
    t.receive(created('resp_0'), 501);
    t.receive(completed('resp_0', usage(1, 1)), 502);
    await t.send(create({ model: 'gpt-4o', input: 'now there is room' }), 503);
    expect(t.replies).toHaveLength(1);
    expect(t.forwarded.map((f) => JSON.parse(f).input)).toEqual(['now there is room']);
  });

  it('stops reading the client while its messages wait for an admission, and reads on once they are through', async () => {
    const flow: string[] = [];
    let open!: () => void;
    const gate = new Promise<void>((r) => {
      open = r;
    });
    const hook: GatewayHook = { name: 'slow', authenticate: () => gate };
    const t = session([hook], {}, { pause: () => flow.push('pause'), resume: () => flow.push('resume') });
    const big = 'x'.repeat(1024 * 1024);
    const n = Math.ceil(BACKLOG_HIGH_BYTES / big.length) + 1;
    for (let k = 0; k < n; k++)
      t.s.client(create({ model: 'gpt-4o', input: big }), false, k, (o) => t.forwarded.push(String(o)));
    await settle();
    expect(flow.length).toBeGreaterThan(0);
    expect(flow.every((f) => f === 'pause')).toBe(true);
    expect(t.forwarded).toHaveLength(0);
    open();
    await until(() => t.forwarded.length === n);
    expect(flow.at(-1)).toBe('resume');
  });

  it('reads multi-MB events as the HTTP stream meter does, skimmed, never parsing one whole', async () => {
    // An image generation's events: partial images and the finished item hold MBs of base64, and the final event
    // repeats it beside the usage.
    const image = 'iVBORw0KGgo'.repeat(300_000); // 3.3 MB
    const item = { id: 'ig_1', type: 'image_generation_call', status: 'completed', result: image };
    const events = [
      created('resp_img'),
      ev('response.image_generation_call.partial_image', { item_id: 'ig_1', partial_image_b64: image }),
      ev('response.output_item.done', { output_index: 0, item }),
      delta('Here it is.'),
      ev('response.completed', {
        response: { id: 'resp_img', status: 'completed', output: [item], usage: usage(50, 1_600, 0, 64) },
      }),
    ];
    expect(events.filter((e) => e.length > MAX_EVENT_CHARS)).toHaveLength(3);
    // the HTTP path: the same events as SSE, in 64 KiB reads
    const http = new StreamMeter('responses', false, responsesStreamReader);
    const sse = Buffer.from(events.map((e) => `event: x\ndata: ${e}\n\n`).join(''));
    for (let o = 0; o < sse.length; o += 65_536) http.push(sse.subarray(o, o + 65_536), 100);
    http.end(100);
    expect(http.overlong).toBe(3);

    const t = session();
    await t.send(create({ model: 'gpt-4o-mini', input: 'draw a cat', tools: [{ type: 'image_generation' }] }), 0);
    const parse = vi.spyOn(JSON, 'parse');
    try {
      for (const e of events) t.receive(e, 100);
      const whole = parse.mock.calls.filter(([text]) => String(text).length > MAX_EVENT_CHARS);
      expect(whole).toHaveLength(0);
    } finally {
      parse.mockRestore();
    }
    expect(t.calls).toHaveLength(1);
    const call = t.calls[0] as LlmCall;
    expect(call).toMatchObject({
      requestId: 'resp_img',
      status: 'ok',
      inputTokens: http.usage?.inputTokens,
      outputTokens: http.usage?.outputTokens,
      reasoningTokens: http.usage?.reasoningTokens,
      finishReason: http.finishReason,
      tokenSource: 'usage',
    });
    expect([call.inputTokens, call.outputTokens, call.finishReason]).toEqual([50, 1_600, 'stop']);
    expect(call.internal?.outputText).toBe(http.text.kept().text);
  });
});
