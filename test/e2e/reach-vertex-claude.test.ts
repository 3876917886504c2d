// Claude on Vertex AI through llmscope: the official @anthropic-ai/vertex-sdk (AnthropicVertex, as Claude Code with
// CLAUDE_CODE_USE_VERTEX=1 and ANTHROPIC_VERTEX_BASE_URL calls it) posts Messages bodies without `model` to
// /v1/projects/{p}/locations/{l}/publishers/anthropic/models/{model}:rawPredict (:streamRawPredict streamed).
// llmscope meters them with its Anthropic adapter against the simulator speaking the same paths: the same answer as
// direct, the path, query, body and Bearer token sent upstream as the client sent them, exact tokens with cache reads
// and writes, cost at the catalog's cache-write rate for the model's @date spelling, TTFT, refusals, count-tokens
// passed through, a virtual key's models, and Anthropic's error shape for llmscope's own errors.
import { AnthropicVertex } from '@anthropic-ai/vertex-sdk';
import { OAuth2Client } from 'google-auth-library';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { costOf, createCostModule, hashKey } from '../../src/cost/index.js';
import { type RequestRecord, type Simulator, startSimulator } from '../../src/simulator/index.js';
import { type Stack, startStack } from './helpers.js';

const TTFT = 40;
const TPOT = 4;
const OUT = 12;
/** Vertex's spelling of claude-sonnet-4-20250514. */
const MODEL = 'claude-sonnet-4@20250514';
/** claude-sonnet-4's catalog prices, USD per 1M tokens. */
const PRICE = { input: 3, cachedInput: 0.3, cacheWrite: 3.75, output: 15 };
const KEY = 'lsk_e2e_vertex_claude_0123456789abcdef';
const MODELS_PATH = '/v1/projects/my-proj/locations/us-east5/publishers/anthropic/models';

const ids = (x: unknown) => JSON.parse(JSON.stringify(x).replace(/(msg|toolu|req)_[A-Za-z0-9]+/g, '$1_X'));

/** A Google auth client holding an access token (set here, so nothing is fetched). */
function authClient(): OAuth2Client {
  const c = new OAuth2Client();
  c.setCredentials({ access_token: 'ya29.test-token', expiry_date: Date.now() + 3_600_000 });
  return c;
}

/** AnthropicVertex pointed at `origin` (its base URL ends in /v1, as ANTHROPIC_VERTEX_BASE_URL does). */
const vertex = (origin: string, opts: { headers?: Record<string, string>; query?: Record<string, string> } = {}) =>
  new AnthropicVertex({
    baseURL: `${origin}/v1`,
    region: 'us-east5',
    projectId: 'my-proj',
    authClient: authClient(),
    maxRetries: 0,
    defaultHeaders: opts.headers,
    defaultQuery: opts.query,
  });

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

describe('reach: Claude on Vertex AI with @anthropic-ai/vertex-sdk', () => {
  let s: Stack;
  let sim: Simulator;
  const seen: RequestRecord[] = [];
  /** What the simulator called directly received. */
  const seenDirect: RequestRecord[] = [];
  const id = (x: string, headers: Record<string, string> = {}) => ({ headers: { ...headers, 'x-request-id': x } });
  const msg = {
    max_tokens: 100,
    system: 'You are terse.',
    messages: [{ role: 'user' as const, content: 'Tell me about the sea, at some length please. '.repeat(20) }],
  };

  beforeAll(async () => {
    sim = await startSimulator({ port: 0, seed: 1, ttftMs: TTFT, tpotMs: TPOT, outputTokens: OUT });
    sim.events.on('request', (r) => seenDirect.push(r));
    s = await startStack({
      sim: { ttftMs: TTFT, tpotMs: TPOT, outputTokens: OUT },
      config: (upstream) => ({
        providers: [
          { name: 'openai-sim', baseUrl: upstream.url },
          // the Vertex host, no path: the client's /v1/projects/... goes after it as sent
          { name: 'vertex-sim', type: 'anthropic', baseUrl: upstream.url.replace(/\/v1$/, ''), models: ['claude-*'] },
        ],
      }),
      app: { modules: [createCostModule] },
    });
    s.sim.events.on('request', (r) => seen.push(r));
  });
  afterAll(async () => {
    await s?.close();
    await sim?.close();
  });
  const direct = () => sim.url.replace(/\/v1$/, '');

  it('rawPredict: the same answer as direct, recorded with exact tokens, cache writes, cost and model', async () => {
    const headers = { 'x-simulator-cached-tokens': '20', 'x-simulator-cache-write-tokens': '10' };
    const a = await vertex(direct()).messages.create({ model: MODEL, ...msg }, { headers });
    const b = await vertex(s.base).messages.create({ model: MODEL, ...msg }, id('vc-plain', headers));
    expect(ids(b)).toEqual(ids(a));
    expect(b.usage).toMatchObject({ cache_read_input_tokens: 20, cache_creation_input_tokens: 10, output_tokens: OUT });
    const u = b.usage;
    const call = await s.callOf('vc-plain');
    expect(call).toMatchObject({
      provider: 'vertex-sim',
      model: MODEL,
      endpoint: 'messages',
      stream: false,
      status: 'ok',
      inputTokens: u.input_tokens + 30,
      outputTokens: OUT,
      cachedInputTokens: 20,
      cacheWriteInputTokens: 10,
      tokenSource: 'usage',
      finishReason: 'end_turn',
      refusal: false,
    });
    expect(call.costUsd).toBe(
      costOf({ input: u.input_tokens + 30, cachedInput: 20, cacheWriteInput: 10, output: OUT }, PRICE),
    );
    expect(call.price?.cacheWrite).toBeCloseTo(PRICE.cacheWrite / 1e6, 15);
    const up = seen.find((r) => r.requestId === 'vc-plain');
    expect(up?.url).toBe(`${MODELS_PATH}/${MODEL}:rawPredict`);
    expect(up?.headers.authorization).toBe('Bearer ya29.test-token');
    // the body as the client sent it: no model, Vertex's anthropic_version
    expect(up?.body).toEqual(seenDirect[0]?.body);
    expect(up?.body).toMatchObject({ anthropic_version: expect.any(String), max_tokens: 100 });
    expect(up?.body).not.toHaveProperty('model');
  });

  it('streamRawPredict: the same events as direct, TTFT within 5 ms, the path and query passed on', async () => {
    const events = async (c: AnthropicVertex, x?: string) => {
      const out: unknown[] = [];
      const stream = await c.messages.create({ model: MODEL, ...msg, stream: true }, x ? id(x) : undefined);
      for await (const e of stream) out.push(e);
      return ids(out);
    };
    const via = vertex(s.base, { query: { trace: 'on' } });
    await events(via); // warm-up
    const a = await events(vertex(direct(), { query: { trace: 'on' } }));
    const xs = ['vc-stream-1', 'vc-stream-2', 'vc-stream-3'];
    for (const x of xs) expect(await events(via, x)).toEqual(a);
    const calls = await Promise.all(xs.map((x) => s.callOf(x)));
    for (const c of calls) {
      expect(c).toMatchObject({
        provider: 'vertex-sim',
        model: MODEL,
        endpoint: 'messages',
        stream: true,
        status: 'ok',
        outputTokens: OUT,
        finishReason: 'end_turn',
        tokenSource: 'usage',
      });
      expect(c.ttftMs).toBeGreaterThanOrEqual(TTFT);
      expect(c.costUsd).toBe(costOf({ input: c.inputTokens ?? 0, cachedInput: 0, output: OUT }, PRICE));
    }
    expect(Math.min(...calls.map((c) => Math.abs((c.ttftMs ?? 0) - TTFT)))).toBeLessThan(5);
    const up = seen.find((r) => r.requestId === 'vc-stream-1');
    expect(up?.url).toBe(`${MODELS_PATH}/${MODEL}:streamRawPredict?trace=on`);
    expect(up?.headers.authorization).toBe('Bearer ya29.test-token');
  });

  it('passes count-tokens through unrecorded; a refusal is recorded as one', async () => {
    const body = { model: MODEL, messages: [{ role: 'user' as const, content: 'How many tokens is this?' }] };
    const a = await vertex(direct()).messages.countTokens(body);
    const b = await vertex(s.base).messages.countTokens(body, id('vc-count'));
    expect(b.input_tokens).toBeGreaterThan(0);
    expect(b).toEqual(a);
    const up = seen.find((r) => r.requestId === 'vc-count');
    expect(up?.url).toBe(`${MODELS_PATH}/count-tokens:rawPredict`);
    expect(up?.headers.authorization).toBe('Bearer ya29.test-token');

    const r = await vertex(s.base).messages.create(
      { model: MODEL, ...msg },
      id('vc-refusal', { 'x-simulator-fault': 'refusal' }),
    );
    expect(r.stop_reason).toBe('refusal');
    expect(await s.callOf('vc-refusal')).toMatchObject({ refusal: true, finishReason: 'refusal', status: 'ok' });
    expect(s.calls.some((c) => c.requestId === 'vc-count')).toBe(false);
  });

  it("llmscope's errors are in Anthropic's shape, as the Vertex SDK reads them", async () => {
    // a dot segment in the project or location would name another path upstream: refused, never sent
    for (const [x, path] of [
      ['vc-dots-1', `/v1/projects/..%2F..%2Fv1/locations/us-east5/publishers/anthropic/models/${MODEL}:rawPredict`],
      [
        'vc-dots-2',
        `/v1/projects/my-proj/locations/.%2Fus-east5/publishers/anthropic/models/${MODEL}:streamRawPredict`,
      ],
    ] as const) {
      const r = await post(
        `${s.base}${path}`,
        { anthropic_version: 'vertex-2023-10-16', ...msg },
        { 'x-request-id': x },
      );
      expect(r.statusCode, path).toBe(400);
      expect(await r.body.json(), path).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
      expect(seen.some((y) => y.requestId === x)).toBe(false);
    }
    // a model no provider of type anthropic serves: 404 not_found_error, which the SDK reads as its error
    const err = await vertex(s.base)
      .messages.create({ model: 'gemini-2.5-flash', ...msg }, id('vc-none'))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 404, error: { type: 'error', error: { type: 'not_found_error' } } });
    expect(seen.some((y) => y.requestId === 'vc-none')).toBe(false);
    // a Host that is not a loopback name (DNS rebinding) on the loopback bind: 403 permission_error
    const port = new URL(s.base).port;
    const rebind = await post(`${s.base}${MODELS_PATH}/${MODEL}:rawPredict`, msg, {
      host: `rebind.attacker.example:${port}`,
    });
    expect(rebind.statusCode).toBe(403);
    expect(await rebind.body.json()).toMatchObject({ type: 'error', error: { type: 'permission_error' } });
  });
});

describe("reach: a virtual key's models on Claude on Vertex AI", () => {
  let s: Stack;
  const seen: RequestRecord[] = [];
  /** The virtual key replaces the Google token (a header the client sets wins over its OAuth one). */
  const client = () => vertex(s.base, { headers: { authorization: `Bearer ${KEY}` } });
  const msg = { max_tokens: 20, messages: [{ role: 'user' as const, content: 'hi' }] };
  beforeAll(async () => {
    s = await startStack({
      sim: { ttftMs: 1, tpotMs: 1, outputTokens: 4 },
      config: (upstream) => ({
        providers: [
          { name: 'openai-sim', baseUrl: upstream.url },
          { name: 'vertex-sim', type: 'anthropic', baseUrl: upstream.url.replace(/\/v1$/, ''), models: ['claude-*'] },
        ],
        keys: [{ id: 'vc-sonnet', hash: hashKey(KEY), team: 'gcp', models: ['claude-sonnet-4@*'] }],
      }),
      app: { modules: [createCostModule] },
    });
    s.sim.events.on('request', (r) => seen.push(r));
  });
  afterAll(() => s?.close());

  it('an allowed model passes; another is refused 403 before the upstream is asked', async () => {
    const ok = await client().messages.create({ model: MODEL, ...msg }, { headers: { 'x-request-id': 'vc-key' } });
    expect(ok.content.length).toBeGreaterThan(0);
    expect(await s.callOf('vc-key')).toMatchObject({ apiKeyId: 'vc-sonnet', team: 'gcp', status: 'ok', model: MODEL });
    const up = seen.find((x) => x.requestId === 'vc-key');
    expect(up?.path).toBe(`${MODELS_PATH}/${MODEL}:rawPredict`);
    expect(up?.headers.authorization).toBeUndefined(); // the virtual key stays in llmscope
    const err = await client()
      .messages.create({ model: 'claude-opus-4@20250514', ...msg }, { headers: { 'x-request-id': 'vc-key-opus' } })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 403, error: { type: 'error', error: { type: 'permission_error' } } });
    expect(seen.some((x) => x.requestId === 'vc-key-opus')).toBe(false);
    expect(await s.callOf('vc-key-opus')).toMatchObject({
      errorType: 'model_not_allowed',
      model: 'claude-opus-4@20250514',
    });
  });
});
