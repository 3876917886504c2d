// The Responses API's WebSocket mode through llmscope, with the official `openai` client's ResponsesWS against the
// simulator speaking it: the same events as direct, each response.create forwarded unchanged and recorded as one call
// (exact tokens and cost, TTFT against the simulator's exact delay), several responses on one connection, a close
// mid-response recorded cancelled with what was streamed, a virtual key's model allow-list answered with an `error`
// event (and recorded), and a message that is not JSON answered with an `error` event on a connection that goes on.
import OpenAI from 'openai';
import { ResponsesWS } from 'openai/resources/responses/ws';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { LlmCall } from '../../src/calls/index.js';
import { costOf, createCostModule, hashKey } from '../../src/cost/index.js';
import type { FirstTokenRecord, RequestRecord } from '../../src/simulator/index.js';
import { metricValue, parseMetrics, type Stack, startStack, until } from './helpers.js';

const TTFT = 40;
const TPOT = 4;
const OUT = 12;
/** gpt-4o-mini's catalog prices, USD per 1M tokens. */
const PRICE = { input: 0.15, cachedInput: 0.075, cacheWrite: null, output: 0.6 };
const KEY = 'lsk_e2e_responses_ws_0123456789abcdef';
const TERMINAL = new Set(['response.completed', 'response.failed', 'response.incomplete', 'error']);

type Ev = Record<string, unknown> & { type: string };

/** Events without what differs per call (ids, timestamps). */
const comparable = (x: unknown) =>
  JSON.parse(
    JSON.stringify(x)
      .replace(/"(resp|msg|fc|call|rs)_[A-Za-z0-9]+"/g, '"$1_X"')
      .replace(/"created_at":\d+/g, '"created_at":0'),
  );

/** A ResponsesWS connection of the official client, and every event it got (`error` events included). */
function connect(baseURL: string, apiKey: string, headers: Record<string, string> = {}) {
  const client = new OpenAI({ baseURL, apiKey, maxRetries: 0 });
  const ws = new ResponsesWS(client, { headers });
  const events: Ev[] = [];
  const errors: unknown[] = [];
  ws.on('event', (e) => events.push(e as unknown as Ev));
  ws.on('error', (e) => errors.push(e));
  const closed = new Promise<void>((r) => ws.on('close', () => r()));
  /** Sends a response.create and resolves with its events once the last one (a terminal event) came. */
  const create = async (body: Record<string, unknown>): Promise<Ev[]> => {
    const from = events.length;
    ws.send({ type: 'response.create', ...body } as never);
    await until(() => events.slice(from).some((e) => TERMINAL.has(e.type)), 10_000, 5);
    return events.slice(from);
  };
  return { ws, events, errors, closed, create };
}

describe('Responses WebSocket mode through llmscope', () => {
  let s: Stack;
  const seen: RequestRecord[] = [];
  const firstTokens: FirstTokenRecord[] = [];
  beforeAll(async () => {
    s = await startStack({
      sim: { ttftMs: TTFT, tpotMs: TPOT, outputTokens: OUT },
      app: { modules: [createCostModule] },
    });
    s.sim.events.on('request', (r) => seen.push(r));
    s.sim.events.on('first-token', (f) => firstTokens.push(f));
  });
  afterAll(() => s?.close());

  it('gets the same events as direct, forwards each response.create unchanged, and records each response', async () => {
    const headers = { 'x-simulator-cached-tokens': '10', 'x-simulator-reasoning-tokens': '7', session_id: 'codex-ws' };
    const body = {
      model: 'gpt-4o-mini',
      instructions: 'You are terse.',
      input: [{ role: 'user', content: 'say hello to the websocket' }],
      reasoning: { effort: 'low', summary: 'auto' },
      store: false,
    };
    const direct = connect(s.sim.url, 'sk-test', headers);
    const want = await direct.create(body);
    direct.ws.close();
    const via = connect(`${s.base}/v1`, 'sk-test', headers);
    const first = await via.create(body);
    expect(comparable(first)).toEqual(comparable(want));
    expect(first.map((e) => e.type)).toContain('response.output_text.delta');
    const done = first.at(-1) as Ev & { response: { id: string; usage: Record<string, never> } };
    expect(done.type).toBe('response.completed');

    // a second response on the same connection, continuing the first (store:false: the connection's own state)
    const second = await via.create({
      model: 'gpt-4o-mini',
      input: 'and again',
      previous_response_id: done.response.id,
    });
    const done2 = second.at(-1) as Ev & { response: { id: string } };
    expect(done2.type).toBe('response.completed');
    // and a third, for the best of three TTFTs below
    const third = await via.create({
      model: 'gpt-4o-mini',
      input: 'once more',
      previous_response_id: done2.response.id,
    });
    const done3 = third.at(-1) as Ev & { response: { id: string } };
    expect(done3.type).toBe('response.completed');
    const forwarded = seen.filter((r) => r.method === 'WS').map((r) => r.body);
    expect(forwarded.at(-3)).toEqual({ type: 'response.create', ...body });
    expect(forwarded.at(-2)).toEqual({
      type: 'response.create',
      model: 'gpt-4o-mini',
      input: 'and again',
      previous_response_id: done.response.id,
    });

    const calls: LlmCall[] = [
      await s.callOf(done.response.id),
      await s.callOf(done2.response.id),
      await s.callOf(done3.response.id),
    ];
    const u = done.response.usage as unknown as { input_tokens: number };
    const input = u.input_tokens;
    expect(calls[0]).toMatchObject({
      endpoint: 'responses',
      stream: true,
      status: 'ok',
      httpStatus: 200,
      provider: 'simulator',
      model: 'gpt-4o-mini',
      inputTokens: input,
      cachedInputTokens: 10,
      outputTokens: OUT + 7,
      reasoningTokens: 7,
      tokenSource: 'usage',
      finishReason: 'stop',
      session: 'codex-ws',
    });
    expect(calls[0]?.costUsd).toBe(costOf({ input, cachedInput: 10, output: OUT + 7 }, PRICE));
    expect(calls[0]?.costUsd).toBeCloseTo(((input - 10) * 0.15 + 10 * 0.075 + (OUT + 7) * 0.6) / 1e6, 12);
    const u2 = (done2.response as unknown as { usage: { input_tokens: number } }).usage;
    expect(calls[1]).toMatchObject({ status: 'ok', inputTokens: u2.input_tokens, outputTokens: OUT + 7 });
    expect(calls[1]?.costUsd).toBe(costOf({ input: u2.input_tokens, cachedInput: 10, output: OUT + 7 }, PRICE));
    for (const c of calls) {
      // the answer starts after the reasoning tokens: a reasoning summary delta is the first output
      expect(c.ttftMs).toBeGreaterThanOrEqual(TTFT);
      expect(c.tpotMs).not.toBeNull();
    }
    // Against the simulator's own TTFT (its first delta sent, from the message's arrival): no systematic error, the
    // best of three within 5 ms (one scheduling hiccup on a loaded machine adds more).
    const deltas = calls.map((c) => {
      const sim = firstTokens.find((f) => f.requestId === c.requestId);
      expect(sim).toBeDefined();
      return Math.abs((c.ttftMs ?? 0) - (sim?.sentMs ?? 0));
    });
    expect(Math.min(...deltas)).toBeLessThan(5);
    expect(calls[0]?.traceId).toBe(calls[1]?.traceId);
    // the same log line, store row and metrics as an HTTP call
    await until(() => s.logs.find((l) => l.event === 'request_completed' && l.request_id === done.response.id));
    const row = await until(async () => {
      const r = await request(`${s.base}/api/requests/${done.response.id}`);
      if (r.statusCode === 200) return (await r.body.json()) as Record<string, unknown>;
      await r.body.dump();
      return null;
    });
    expect(row).toMatchObject({ endpoint: 'responses', input_tokens: input, cached_input_tokens: 10 });
    const m = parseMetrics(await (await request(`${s.base}/metrics`)).body.text());
    const labels = { provider: 'simulator', model: 'gpt-4o-mini', endpoint: 'responses', status: 'ok' };
    expect(metricValue(m, 'llm_requests_total', labels)).toBe(3);
    via.ws.close();
  });

  it('records a response whose connection the client closed mid-stream as cancelled, with the tokens streamed', async () => {
    const via = connect(`${s.base}/v1`, 'sk-test', {
      'x-simulator-ttft-ms': '20',
      'x-simulator-tpot-ms': '40',
      'x-simulator-output-tokens': '60',
    });
    via.ws.send({ type: 'response.create', model: 'gpt-4o-mini', input: 'a long one' } as never);
    await until(() => via.events.filter((e) => e.type === 'response.output_text.delta').length >= 3, 10_000, 5);
    via.ws.close();
    const created = via.events.find((e) => e.type === 'response.created') as Ev & { response: { id: string } };
    const call = await s.callOf(created.response.id);
    expect(call).toMatchObject({
      endpoint: 'responses',
      status: 'cancelled',
      httpStatus: 499,
      errorType: 'client_closed_request',
      tokenSource: 'tokenizer',
      finishReason: null,
    });
    // the output its deltas had streamed, counted: at least the three the client saw, fewer than the 60 asked for
    // (each of the simulator's deltas is one token); the prompt counted too
    expect(call.outputTokens).toBeGreaterThanOrEqual(1);
    expect(call.outputTokens).toBeLessThan(60);
    expect(call.inputTokens).toBeGreaterThan(0);
    expect(call.ttftMs).toBeGreaterThanOrEqual(20);
  });

  it('records a response the provider cut (the connection dropped) as upstream_stream_cut, with the tokens streamed', async () => {
    const via = connect(`${s.base}/v1`, 'sk-test', { 'x-simulator-fault': 'cut', 'x-simulator-output-tokens': '20' });
    via.ws.send({ type: 'response.create', model: 'gpt-4o-mini', input: 'cut me off' } as never);
    await via.closed;
    const created = via.events.find((e) => e.type === 'response.created') as Ev & { response: { id: string } };
    expect(via.events.some((e) => e.type === 'response.output_text.delta')).toBe(true);
    expect(via.events.some((e) => e.type === 'response.completed')).toBe(false);
    const call = await s.callOf(created.response.id);
    expect(call).toMatchObject({
      status: 'upstream_error',
      httpStatus: 502,
      errorType: 'upstream_stream_cut',
      tokenSource: 'tokenizer',
    });
    expect(call.outputTokens).toBeGreaterThanOrEqual(1);
    expect(call.outputTokens).toBeLessThan(20);
  });

  it('answers a message that is not JSON with an error event, and the connection goes on', async () => {
    const via = connect(`${s.base}/v1`, 'sk-test');
    await until(() => via.ws.socket?.readyState === 1, 10_000, 5);
    via.ws.sendRaw('{"type": "response.create", "model": ');
    await until(() => via.events.some((e) => e.type === 'error'), 10_000, 5);
    expect(via.events.find((e) => e.type === 'error')).toMatchObject({
      type: 'error',
      status: 400,
      error: { type: 'invalid_request_error', code: 'invalid_json' },
    });
    const next = await via.create({ model: 'gpt-4o-mini', input: 'still there?' });
    expect(next.at(-1)?.type).toBe('response.completed');
    via.ws.close();
  });
});

describe('Responses WebSocket mode with virtual keys', () => {
  let s: Stack;
  const seen: RequestRecord[] = [];
  beforeAll(async () => {
    s = await startStack({
      sim: { ttftMs: 1, tpotMs: 1, outputTokens: 4 },
      config: { keys: [{ id: 'ws-mini', hash: hashKey(KEY), team: 'ws', models: ['gpt-4o-mini'] }] },
      app: { modules: [createCostModule] },
    });
    s.sim.events.on('request', (r) => seen.push(r));
  });
  afterAll(() => s?.close());

  it('refuses a model the key may not call with an error event, records the refusal, and serves the next', async () => {
    const via = connect(`${s.base}/v1`, KEY);
    const refused = await via.create({ model: 'gpt-4o', input: 'not for this key' });
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({
      type: 'error',
      status: 403,
      error: { type: 'permission_error', code: 'model_not_allowed', param: 'model' },
    });
    expect(seen.some((r) => r.method === 'WS' && (r.body as { model?: string }).model === 'gpt-4o')).toBe(false);
    const call = await until(() =>
      s.calls.find((c) => c.endpoint === 'responses' && c.errorType === 'model_not_allowed'),
    );
    expect(call).toMatchObject({ status: 'client_error', httpStatus: 403, model: 'gpt-4o', apiKeyId: 'ws-mini' });
    expect(call.team).toBe('ws');

    const ok = await via.create({ model: 'gpt-4o-mini', input: 'for this key' });
    const done = ok.at(-1) as Ev & { response: { id: string } };
    expect(done.type).toBe('response.completed');
    expect(await s.callOf(done.response.id)).toMatchObject({ status: 'ok', apiKeyId: 'ws-mini', team: 'ws' });
    // the provider never saw the virtual key
    const upgrade = seen.find((r) => r.method === 'GET' && r.path === '/v1/responses');
    expect(String(upgrade?.headers.authorization ?? '')).not.toContain(KEY);
    via.ws.close();
  });

  it('takes a browser’s key from its subprotocol, for the upgrade and each response', async () => {
    const ws = new WebSocket(`${s.base.replace(/^http/, 'ws')}/v1/responses`, [
      'realtime',
      `openai-insecure-api-key.${KEY}`,
    ]);
    const events: Ev[] = [];
    ws.on('message', (d) => events.push(JSON.parse(String(d))));
    await new Promise((ok, fail) => {
      ws.once('open', ok);
      ws.once('error', fail);
    });
    expect(ws.protocol).toBe('realtime');
    ws.send(JSON.stringify({ type: 'response.create', model: 'gpt-4o-mini', input: 'from a page' }));
    const done = (await until(() => events.find((e) => TERMINAL.has(e.type)), 10_000, 5)) as Ev & {
      response: { id: string };
    };
    expect(done.type).toBe('response.completed');
    expect(await s.callOf(done.response.id)).toMatchObject({ status: 'ok', apiKeyId: 'ws-mini' });
    ws.close();
  });

  it('refuses the upgrade itself 401 without a key', async () => {
    const via = connect(`${s.base}/v1`, 'sk-not-a-virtual-key');
    await via.closed;
    expect(String(via.errors[0])).toMatch(/401/);
  });
});
