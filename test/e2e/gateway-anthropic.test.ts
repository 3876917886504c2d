// Anthropic's Messages API through llmscope with the official @anthropic-ai/sdk, against the simulator speaking
// Anthropic's wire format: answers byte-identical to going direct, headers passed through unchanged, TTFT against
// the simulator's exact delay, exact tokens with cache reads and writes, cost at the cache-write rate, cancellation,
// refusals, tool use, mid-stream errors and Anthropic's error shape for llmscope's own errors.
import Anthropic from '@anthropic-ai/sdk';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LlmCall } from '../../src/calls/index.js';
import { costOf, createCostModule } from '../../src/cost/index.js';
import type { RequestRecord } from '../../src/simulator/index.js';
import { metricValue, parseMetrics, type Stack, simProviders, startStack } from './helpers.js';

const TTFT = 40;
const TPOT = 4;
const OUT = 12;
const MODEL = 'claude-sonnet-4-5';
/** claude-sonnet-4-5's catalog prices, USD per 1M tokens. */
const PRICE = { input: 3, cachedInput: 0.3, cacheWrite: 3.75, output: 15 };

const ids = (s: string) => s.replace(/(msg|toolu|req)_[A-Za-z0-9]+/g, '$1_X');

describe('gateway: Anthropic Messages API with @anthropic-ai/sdk', () => {
  let s: Stack;
  let direct: Anthropic;
  let via: Anthropic;
  let simOrigin: string;
  const seen: RequestRecord[] = [];

  const client = (baseURL: string, headers: Record<string, string> = {}) =>
    new Anthropic({ baseURL, apiKey: 'sk-ant-test-not-real', maxRetries: 0, defaultHeaders: headers });

  beforeAll(async () => {
    s = await startStack({
      sim: { ttftMs: TTFT, tpotMs: TPOT, outputTokens: OUT },
      config: (sim) => ({
        providers: simProviders(sim, 'openai', 'anthropic'),
      }),
      app: { modules: [createCostModule] },
    });
    const sim = s.sim;
    simOrigin = sim.url.replace(/\/v1$/, '');
    sim.events.on('request', (r) => seen.push(r));
    direct = client(simOrigin);
    via = client(s.base);
  });
  afterAll(() => s.close());

  it('answers a non-streamed message like the upstream and records exact tokens, cache writes and cost', async () => {
    const headers = { 'x-simulator-cached-tokens': '20', 'x-simulator-cache-write-tokens': '10' };
    const body = {
      model: MODEL,
      max_tokens: 100,
      system: 'You are terse.',
      messages: [{ role: 'user' as const, content: 'Tell me about the sea, at some length please. '.repeat(20) }],
    };
    const a = await direct.messages.create(body, { headers });
    const b = await via.messages.create(body, { headers: { ...headers, 'x-request-id': 'anth-plain' } });
    expect({ ...b, id: 'x' }).toEqual({ ...a, id: 'x' });
    expect(b.usage.cache_read_input_tokens).toBe(20);
    expect(b.usage.cache_creation_input_tokens).toBe(10);
    const call = await s.callOf('anth-plain');
    const u = b.usage;
    expect(call).toMatchObject({
      provider: 'anthropic-sim',
      endpoint: 'messages',
      status: 'ok',
      stream: false,
      inputTokens: u.input_tokens + 20 + 10,
      outputTokens: OUT,
      cachedInputTokens: 20,
      cacheWriteInputTokens: 10,
      tokenSource: 'usage',
      finishReason: 'end_turn',
      refusal: false,
    });
    const expected =
      (u.input_tokens * PRICE.input + 20 * PRICE.cachedInput + 10 * PRICE.cacheWrite + OUT * PRICE.output) / 1e6;
    expect(call.costUsd).toBeCloseTo(expected, 12);
    expect(call.costUsd).toBe(
      costOf({ input: u.input_tokens + 30, cachedInput: 20, cacheWriteInput: 10, output: OUT }, { ...PRICE }),
    );
    expect(call.price?.cacheWrite).toBeCloseTo(PRICE.cacheWrite / 1e6, 15);
    const server = call.spans.find((sp) => sp.kind === 'server');
    expect(server?.attributes['gen_ai.usage.cache_creation.input_tokens']).toBe(10);
    expect(server?.attributes['gen_ai.usage.cache_read.input_tokens']).toBe(20);
    // The record as the API serves it, from the store (written within storage.flushInterval).
    let wire: Record<string, unknown> = {};
    for (let t = 0; t < 100 && wire.request_id === undefined; t++) {
      const r = await request(`${s.base}/api/requests/anth-plain`);
      wire = (await r.body.json()) as Record<string, unknown>;
      if (wire.request_id === undefined) await new Promise((ok) => setTimeout(ok, 50));
    }
    expect(wire.cache_write_input_tokens).toBe(10);
    const m = parseMetrics(await (await request(`${s.base}/metrics`)).body.text());
    const labels = { provider: 'anthropic-sim', model: MODEL };
    expect(metricValue(m, 'llm_tokens_total', { ...labels, type: 'cache_write_input' })).toBe(10);
    expect(metricValue(m, 'llm_tokens_total', { ...labels, type: 'cached_input' })).toBe(20);
    expect(wire.endpoint).toBe('messages');
  });

  it('prices 1-hour cache writes at 2 × input (5-minute ones at 1.25 ×), streamed and not', async () => {
    const headers = { 'x-simulator-cache-write-tokens': '30', 'x-simulator-cache-write-1h-tokens': '20' };
    const body = {
      model: MODEL,
      max_tokens: 100,
      messages: [{ role: 'user' as const, content: 'Keep this for an hour, please. '.repeat(20) }],
    };
    const plain = await via.messages.create(body, { headers: { ...headers, 'x-request-id': 'anth-1h' } });
    expect(plain.usage.cache_creation).toEqual({ ephemeral_5m_input_tokens: 10, ephemeral_1h_input_tokens: 20 });
    const stream = await via.messages.create(
      { ...body, stream: true },
      { headers: { ...headers, 'x-request-id': 'anth-1h-stream' } },
    );
    for await (const _ of stream) {
      /* drain */
    }
    const uncached = plain.usage.input_tokens;
    const expected = (uncached * 3 + 10 * 3.75 + 20 * 6 + OUT * 15) / 1e6;
    for (const id of ['anth-1h', 'anth-1h-stream']) {
      const call = await s.callOf(id);
      expect(call, id).toMatchObject({ inputTokens: uncached + 30, cacheWriteInputTokens: 30, outputTokens: OUT });
      expect(call.costUsd, id).toBe(Math.round(expected * 1e12) / 1e12);
      // The applied cache-write price is what the 30 written tokens cost on average: the record still adds up.
      expect(call.price?.cacheWrite, id).toBeCloseTo((10 * 3.75 + 20 * 6) / 30 / 1e6, 18);
      const p = call.price as NonNullable<LlmCall['price']>;
      const fromRecord = uncached * p.input + 30 * (p.cacheWrite ?? 0) + OUT * p.output;
      expect(Math.round(fromRecord * 1e12) / 1e12, id).toBe(call.costUsd);
    }
  });

  it('streams byte-identical to direct, with TTFT from the first content_block_delta and usage from both events', async () => {
    const body = JSON.stringify({
      model: MODEL,
      max_tokens: 200,
      stream: true,
      messages: [{ role: 'user', content: 'Stream me something' }],
    });
    const h = {
      'content-type': 'application/json',
      'x-api-key': 'sk-ant-test',
      'anthropic-version': '2023-06-01',
      'x-simulator-cached-tokens': '5',
      'x-simulator-cache-write-tokens': '3',
    };
    // A warm-up stream: the first one through a fresh process also pays for JIT compilation, not what this measures.
    await (await request(`${s.base}/v1/messages`, { method: 'POST', headers: h, body })).body.text();
    const rawDirect = await (
      await request(`${simOrigin}/v1/messages`, { method: 'POST', headers: h, body })
    ).body.text();
    const rv = await request(`${s.base}/v1/messages`, {
      method: 'POST',
      headers: { ...h, 'x-request-id': 'anth-raw' },
      body,
    });
    expect(rv.headers['content-type']).toMatch(/^text\/event-stream/);
    const rawVia = await rv.body.text();
    expect(ids(rawVia)).toBe(ids(rawDirect));
    const up = seen.find((r) => r.requestId === 'anth-raw');
    expect(up?.headers['x-api-key']).toBe('sk-ant-test');
    expect(up?.headers['anthropic-version']).toBe('2023-06-01');
    expect(rawVia).toContain('event: message_delta');
    const call = await s.callOf('anth-raw');
    expect(call).toMatchObject({ endpoint: 'messages', stream: true, status: 'ok', outputTokens: OUT });
    expect(call.cachedInputTokens).toBe(5);
    expect(call.cacheWriteInputTokens).toBe(3);
    expect(call.tokenSource).toBe('usage');
    expect(call.finishReason).toBe('end_turn');
    // The simulator sends message_start at once and the first delta at TTFT: TTFT is measured from the delta.
    // Two more: no systematic error, so the best of three is within 5 ms (a loaded machine adds hiccups).
    for (const id of ['anth-ttft-2', 'anth-ttft-3'])
      await (
        await request(`${s.base}/v1/messages`, { method: 'POST', headers: { ...h, 'x-request-id': id }, body })
      ).body.text();
    const timed = [call, await s.callOf('anth-ttft-2'), await s.callOf('anth-ttft-3')];
    const best = (xs: number[]) => Math.min(...xs);
    for (const c of timed) expect(c.ttftMs).toBeGreaterThanOrEqual(TTFT);
    expect(best(timed.map((c) => Math.abs((c.ttftMs ?? 0) - TTFT)))).toBeLessThan(5);
    expect(best(timed.map((c) => Math.abs((c.tpotMs ?? 0) - TPOT)))).toBeLessThan(2);
  });

  it('gives the SDK the same streamed events as direct, and passes anthropic-version/anthropic-beta unchanged', async () => {
    const beta = 'prompt-caching-2024-07-31,token-efficient-tools-2025-02-19';
    const body = {
      model: MODEL,
      max_tokens: 200,
      messages: [{ role: 'user' as const, content: 'Hello via the SDK' }],
      stream: true as const,
    };
    const collect = async (c: Anthropic, id: string) => {
      const out: unknown[] = [];
      for await (const e of await c.messages.create(body, { headers: { 'anthropic-beta': beta, 'x-request-id': id } }))
        out.push(e);
      return JSON.parse(ids(JSON.stringify(out)));
    };
    const before = seen.length;
    const a = await collect(direct, 'anth-sdk-direct');
    const b = await collect(via, 'anth-sdk-via');
    expect(b).toEqual(a);
    const up = seen.slice(before).filter((r) => r.path === '/v1/messages');
    const d = up.find((r) => r.requestId === 'anth-sdk-direct');
    const v = up.find((r) => r.requestId === 'anth-sdk-via');
    expect(v?.headers['anthropic-version']).toBe(d?.headers['anthropic-version']);
    expect(v?.headers['anthropic-version']).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(v?.headers['anthropic-beta']).toBe(beta);
    // This SDK sends its key as a bearer token; it reaches the upstream as the client sent it.
    expect(v?.headers.authorization).toBe(d?.headers.authorization);
    expect(v?.headers.authorization).toBe('Bearer sk-ant-test-not-real');
    const call = await s.callOf('anth-sdk-via');
    expect(call.ttftMs).toBeGreaterThanOrEqual(TTFT);
  });

  it('records a cancelled stream as cancelled, with the input from usage and the output seen so far', async () => {
    const ac = new AbortController();
    const stream = await via.messages.create(
      { model: MODEL, max_tokens: 500, messages: [{ role: 'user', content: 'A long one' }], stream: true },
      { headers: { 'x-request-id': 'anth-cancel', 'x-simulator-output-tokens': '200' }, signal: ac.signal },
    );
    let deltas = 0;
    let input = 0;
    try {
      for await (const e of stream) {
        if (e.type === 'message_start') input = e.message.usage.input_tokens;
        if (e.type === 'content_block_delta' && ++deltas === 5) ac.abort();
      }
    } catch {
      /* aborted */
    }
    const call = await s.callOf('anth-cancel');
    expect(call.status).toBe('cancelled');
    expect(call.inputTokens).toBe(input);
    expect(call.outputTokens).toBeGreaterThanOrEqual(5);
    expect(call.outputTokens).toBeLessThan(200);
    expect(call.tokenSource).toBe('tokenizer');
    expect(call.costUsd).toBeGreaterThan(0);
  });

  it('records tool_use, refusals and a mid-stream error with the right finish reason and status', async () => {
    const msg = { model: MODEL, max_tokens: 100, messages: [{ role: 'user' as const, content: 'Weather?' }] };
    const tool = await via.messages.create(msg, {
      headers: {
        'x-request-id': 'anth-tool',
        'x-simulator-tool-call': '{"name":"get_weather","arguments":{"city":"Oslo"}}',
      },
    });
    expect(tool.stop_reason).toBe('tool_use');
    expect(tool.content[0]).toMatchObject({ type: 'tool_use', name: 'get_weather', input: { city: 'Oslo' } });
    expect(await s.callOf('anth-tool')).toMatchObject({ finishReason: 'tool_use', status: 'ok' });

    const refused = await via.messages.create(msg, {
      headers: { 'x-request-id': 'anth-refusal', 'x-simulator-fault': 'refusal' },
    });
    expect(refused.stop_reason).toBe('refusal');
    expect(await s.callOf('anth-refusal')).toMatchObject({ finishReason: 'refusal', refusal: true });

    const streamed = await via.messages.create(
      { ...msg, stream: true },
      { headers: { 'x-request-id': 'anth-refusal-stream', 'x-simulator-fault': 'refusal' } },
    );
    for await (const _ of streamed) {
      /* drain */
    }
    expect(await s.callOf('anth-refusal-stream')).toMatchObject({
      finishReason: 'refusal',
      refusal: true,
      stream: true,
    });

    const failing = await via.messages.create(
      { ...msg, stream: true },
      { headers: { 'x-request-id': 'anth-overloaded', 'x-simulator-stream-error': 'overloaded_error' } },
    );
    await expect(
      (async () => {
        for await (const _ of failing) {
          /* drain */
        }
      })(),
    ).rejects.toThrow(/Overloaded/);
    expect(await s.callOf('anth-overloaded')).toMatchObject({
      status: 'upstream_error',
      errorType: 'overloaded_error',
      errorMessage: 'Overloaded',
      httpStatus: 200,
    });
  });

  it('takes cache_write_input_tokens on /api/ingest too, priced at the cache-write rate', async () => {
    const r = await request(`${s.base}/api/ingest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        request_id: 'anth-ingest',
        started_at: new Date().toISOString(),
        provider: 'anthropic',
        model: MODEL,
        endpoint: 'messages',
        input_tokens: 1000,
        cached_input_tokens: 600,
        cache_write_input_tokens: 300,
        output_tokens: 50,
      }),
    });
    expect(r.statusCode).toBe(202);
    await r.body.text();
    const call = await s.callOf('anth-ingest');
    expect(call.cacheWriteInputTokens).toBe(300);
    expect(call.costUsd).toBeCloseTo((100 * 3 + 600 * 0.3 + 300 * 3.75 + 50 * 15) / 1e6, 12);
  });

  it("forwards Claude Code's request shape unchanged: tools, tool results, thinking, cache_control, metadata", async () => {
    const body = {
      model: MODEL,
      max_tokens: 4096,
      system: [{ type: 'text' as const, text: 'You are Claude Code.', cache_control: { type: 'ephemeral' as const } }],
      messages: [
        { role: 'user' as const, content: 'List the files' },
        {
          role: 'assistant' as const,
          content: [{ type: 'tool_use' as const, id: 'toolu_1', name: 'Bash', input: { command: 'ls' } }],
        },
        {
          role: 'user' as const,
          content: [{ type: 'tool_result' as const, tool_use_id: 'toolu_1', content: 'a.ts\nb.ts' }],
        },
      ],
      tools: [
        { name: 'Bash', description: 'Run a command', input_schema: { type: 'object' as const, properties: {} } },
      ],
      thinking: { type: 'enabled' as const, budget_tokens: 1024 },
      metadata: { user_id: 'user_abc' },
      stream: true as const,
    };
    // Claude Code posts to /v1/messages?beta=true: the query reaches the upstream too.
    const stream = await via.messages.create(body, {
      headers: { 'x-request-id': 'anth-claude-code' },
      query: { beta: 'true' },
    });
    for await (const _ of stream) {
      /* drain */
    }
    const up = seen.find((r) => r.requestId === 'anth-claude-code');
    expect(up?.body).toEqual(body);
    expect(up?.url).toBe('/v1/messages?beta=true');
    const call = await s.callOf('anth-claude-code');
    expect(call).toMatchObject({ status: 'ok', endpoint: 'messages', tokenSource: 'usage' });
  });

  it('passes count_tokens through to the Anthropic provider', async () => {
    const body = { model: MODEL, messages: [{ role: 'user' as const, content: 'How many tokens is this?' }] };
    const a = await direct.messages.countTokens(body);
    const b = await via.messages.countTokens(body);
    expect(b).toEqual(a);
    expect(b.input_tokens).toBeGreaterThan(0);
  });

  it("answers llmscope's own errors in Anthropic's shape", async () => {
    const bad = await request(`${s.base}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"max_tokens": 5, "messages": []}',
    });
    expect(bad.statusCode).toBe(400);
    const body = (await bad.body.json()) as { type: string; error: { type: string; message: string } };
    expect(body.type).toBe('error');
    expect(body.error.type).toBe('invalid_request_error');
    expect(body.error.message).toMatch(/no "model"/);

    const err = await via.messages
      .create({ model: 'gpt-4o', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.NotFoundError);
    expect((err as InstanceType<typeof Anthropic.NotFoundError>).error).toMatchObject({
      type: 'error',
      error: { type: 'not_found_error' },
    });
    expect((err as Error).message).toMatch(/no provider of type anthropic serves model "gpt-4o"/);

    const get = await request(`${s.base}/v1/messages`, { method: 'GET' });
    expect(get.statusCode).toBe(405);
    expect(((await get.body.json()) as { type: string }).type).toBe('error');
  });
});
