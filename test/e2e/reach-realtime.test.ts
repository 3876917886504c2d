// OpenAI's Realtime API over WebSocket through llmscope, with the official `openai` client's OpenAIRealtimeWS: llmscope
// serves HTTPS (server.tls; the client always dials wss://) in front of the simulator's plain ws:// Realtime API. The
// client gets the same events as going direct; each response.done is one LlmCall (endpoint realtime) with the
// response's exact tokens and cost, TTFT from the response.create, the realtime session id as session; a cancelled
// response is recorded cancelled; a close on either side reaches the other with its code; llmscope's refusals before
// the upgrade come as HTTP in OpenAI's error shape (unknown path, a foreign browser origin, a missing virtual key, a
// spent budget), an upstream's refusal as the upstream sent it; a virtual key in the browser's subprotocol is taken
// and never reaches the upstream.
import type { EventEmitter } from 'node:events';
import { connect } from 'node:net';
import OpenAI from 'openai';
import { OpenAIRealtimeWS } from 'openai/realtime/ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { estimateInputTokens } from '../../src/cost/budgets.js';
import { costOf, createCostModule, hashKey } from '../../src/cost/index.js';
import { RealtimeMeter } from '../../src/providers/openai-realtime/index.js';
import { type Stack, selfSignedCert, startStack, until } from './helpers.js';

type Event = Record<string, unknown> & { type: string };
/** A response.done's response, as the tests read it. */
interface Done {
  id: string;
  usage: { input_tokens: number; output_tokens: number; input_token_details: { cached_tokens: number } };
}
/** An error answer's body. */
interface ErrorAnswer {
  status: number;
  body: { error: Record<string, unknown> };
}
const PRICE = { input: 4, cachedInput: 0.4, output: 16 };
const VIRTUAL_KEY = 'lsk_realtime_test_key_0123456789abcdef';
/** What a session's admission reserves on a budget: its (empty) prompt and budgets' default output cap, 4096 tokens. */
const RESERVED = costOf(
  { input: estimateInputTokens({}, 'realtime'), cachedInput: 0, output: 4096 },
  { ...PRICE, cacheWrite: PRICE.input },
);

let cert: string;
let key: string;
beforeAll(() => {
  ({ cert, key } = selfSignedCert('llmscope-rt-tls-'));
});

/** A Realtime session with the official client: to llmscope (TLS, self-signed) or straight to the simulator (plain). */
async function session(
  baseURL: string,
  opts: { headers?: Record<string, string>; model?: string; direct?: boolean; apiKey?: string } = {},
) {
  const client = new OpenAI({ baseURL, apiKey: opts.apiKey ?? 'sk-test' });
  const rt = new OpenAIRealtimeWS(
    {
      model: opts.model ?? 'gpt-realtime',
      options: {
        headers: opts.headers ?? {},
        ...(opts.direct
          ? {
              // OpenAIRealtimeWS always dials wss://; the simulator speaks plain ws://.
              createConnection: ((o: { host?: string; port?: number }) =>
                connect({ host: o.host, port: Number(o.port) })) as never,
            }
          : { rejectUnauthorized: false }),
      },
    },
    client,
  );
  const events: Event[] = [];
  rt.on('event', (e) => events.push(e as unknown as Event));
  rt.on('error', () => undefined);
  const closed = new Promise<{ code: number; reason: string }>((ok) =>
    rt.socket.once('close', (code, reason) => ok({ code, reason: reason.toString() })),
  );
  await new Promise<void>((ok, fail) => {
    rt.socket.once('open', () => ok());
    rt.socket.once('error', fail);
  });
  const count = (type: string) => events.filter((e) => e.type === type).length;
  return { rt, events, closed, count };
}

/** Two turns of a text conversation, then the client closes. */
async function twoTurns(s: Awaited<ReturnType<typeof session>>, between?: () => Promise<unknown>): Promise<void> {
  s.rt.send({ type: 'session.update', session: { type: 'realtime', instructions: 'Answer in one sentence.' } });
  s.rt.send({
    type: 'conversation.item.create',
    item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'What is a gateway?' }] },
  });
  s.rt.send({ type: 'response.create' });
  await until(() => s.count('response.done') === 1, 10_000, 5);
  await between?.();
  s.rt.send({
    type: 'conversation.item.create',
    item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'And a proxy?' }] },
  });
  s.rt.send({ type: 'response.create' });
  await until(() => s.count('response.done') === 2, 10_000, 5);
  s.rt.close();
  await s.closed;
}

/** Events without their random ids (event, session, response, item, conversation) and clock times. */
const normalized = (events: Event[]) =>
  JSON.parse(
    JSON.stringify(events, (k, v) =>
      k === 'expires_at' ? 0 : typeof v === 'string' ? v.replace(/^(event|sess|resp|item|conv)_\w+$/, '$1_') : v,
    ),
  );

const realtimeCalls = (s: Stack) => s.calls.filter((c) => c.endpoint === 'realtime');

describe('Realtime over WebSocket through llmscope', () => {
  let s: Stack;
  const firstTokens = new Map<string, number>();
  beforeAll(async () => {
    s = await startStack({
      sim: { ttftMs: 40, tpotMs: 4, outputTokens: 8 },
      config: {
        server: { host: '127.0.0.1', port: 0, shutdownGrace: '5s', tls: { cert, key } },
        pricing: { models: [{ model: 'gpt-realtime', ...PRICE }] },
      },
      app: { modules: [createCostModule] },
    });
    s.sim.events.on('first-token', (r) => firstTokens.set(r.requestId, r.sentMs));
  });
  afterAll(() => s.close());

  it('gives the client the same events as going direct, and records each response with exact tokens, cost and TTFT', async () => {
    expect(s.base).toMatch(/^https:/);
    const direct = await session(s.sim.url, { direct: true });
    await twoTurns(direct);
    const via = await session(`${s.base}/v1`);
    // The second turn once the first is recorded: client, llmscope and simulator share this process, and the first
    // call's recording (store, pricing) would otherwise delay the simulator's reading of the second response.create
    // but not llmscope's, which would time it from earlier than the simulator does.
    await twoTurns(via, async () => {
      await until(() => realtimeCalls(s).length === 1, 10_000, 5);
      await s.app.ctx.recorder.flush();
    });
    expect(normalized(via.events)).toEqual(normalized(direct.events));
    expect(via.events.filter((e) => e.type === 'response.output_text.delta')).toHaveLength(16);

    const calls = await until(() => (realtimeCalls(s).length === 2 ? realtimeCalls(s) : null), 10_000);
    await s.app.ctx.recorder.flush();
    const sessionId = (via.events[0]?.session as { id: string } | undefined)?.id;
    const dones = via.events.filter((e) => e.type === 'response.done').map((e) => e.response as unknown as Done);
    const offBy: number[] = [];
    for (const [k, call] of calls.entries()) {
      const done = dones[k] as unknown as Done;
      const u = done.usage;
      expect(call).toMatchObject({
        requestId: done.id,
        endpoint: 'realtime',
        provider: 'simulator',
        model: 'gpt-realtime',
        stream: true,
        status: 'ok',
        httpStatus: 200,
        finishReason: 'stop',
        session: sessionId,
        inputTokens: u.input_tokens,
        outputTokens: 8,
        cachedInputTokens: u.input_token_details.cached_tokens,
        tokenSource: 'usage',
      });
      expect(call.costUsd).toBe(
        costOf(
          { input: u.input_tokens, cachedInput: u.input_token_details.cached_tokens, output: 8 },
          { ...PRICE, cacheWrite: PRICE.input },
        ),
      );
      // TTFT from the response.create to the first delta: the simulator's 40 ms, as it measured its own
      // (llmscope's clock starts before the simulator's: never less than its 40 ms)
      expect(call.ttftMs).toBeGreaterThanOrEqual(40);
      offBy.push(Math.abs((call.ttftMs as number) - (firstTokens.get(done.id) as number)));
      expect(call.latencyMs).toBeGreaterThanOrEqual(call.ttftMs as number);
      expect(call.tpotMs).not.toBeNull();
    }
    // TTFT within 5 ms of the simulator's own measure, best of the two (one process runs client, llmscope and upstream)
    expect(Math.min(...offBy)).toBeLessThan(5);
    // the second turn's prompt is the whole conversation so far
    expect(calls[1]?.inputTokens).toBeGreaterThan(calls[0]?.inputTokens as number);
  });

  it('records a response the client cancels as cancelled, with the tokens sent', async () => {
    const before = realtimeCalls(s).length;
    const c = await session(`${s.base}/v1`, {
      headers: { 'x-simulator-ttft-ms': '0', 'x-simulator-tpot-ms': '30', 'x-simulator-output-tokens': '40' },
    });
    c.rt.send({ type: 'response.create' });
    await until(() => c.count('response.output_text.delta') >= 2, 10_000, 5);
    c.rt.send({ type: 'response.cancel' });
    await until(() => c.count('response.done') === 1, 10_000, 5);
    const done = c.events.find((e) => e.type === 'response.done')?.response as unknown as Done;
    c.rt.close();
    const call = await until(() => realtimeCalls(s)[before], 10_000);
    expect(call).toMatchObject({
      requestId: done.id,
      status: 'cancelled',
      finishReason: 'cancelled',
      errorType: 'client_cancelled',
      outputTokens: done.usage.output_tokens,
    });
    expect(done.usage.output_tokens).toBeLessThan(40);
  });

  it('records a failed response as upstream_error with its code and the tokens it reported', async () => {
    const before = realtimeCalls(s).length;
    const c = await session(`${s.base}/v1`, {
      headers: { 'x-simulator-ttft-ms': '0', 'x-simulator-tpot-ms': '0', 'x-simulator-stream-error': 'server_error' },
    });
    c.rt.send({ type: 'response.create' });
    await until(() => c.count('response.done') === 1, 10_000, 5);
    const done = c.events.find((e) => e.type === 'response.done')?.response as unknown as Done & { status: string };
    c.rt.close();
    expect(done.status).toBe('failed');
    const call = await until(() => realtimeCalls(s)[before], 10_000);
    expect(call).toMatchObject({
      status: 'upstream_error',
      finishReason: 'error',
      errorType: 'server_error',
      errorMessage: 'The response failed: server_error.',
      outputTokens: done.usage.output_tokens,
      inputTokens: done.usage.input_tokens,
    });
  });

  it('passes a close on either side to the other, code and reason; a response cut by it is recorded', async () => {
    const closes: { code: number; reason: string }[] = [];
    (s.sim.events as EventEmitter).on('realtime-close', (c) => closes.push(c));
    const before = realtimeCalls(s).length;
    const c = await session(`${s.base}/v1`, {
      headers: { 'x-simulator-ttft-ms': '0', 'x-simulator-tpot-ms': '30', 'x-simulator-output-tokens': '40' },
    });
    c.rt.send({ type: 'response.create' });
    await until(() => c.count('response.output_text.delta') >= 1, 10_000, 5);
    c.rt.close({ code: 4001, reason: 'user hung up' });
    expect(await c.closed).toMatchObject({ code: 4001 });
    // (other sessions' closes may come in too)
    expect(await until(() => closes.find((x) => x.code === 4001), 10_000, 5)).toEqual({
      code: 4001,
      reason: 'user hung up',
    });
    const call = await until(() => realtimeCalls(s)[before], 10_000);
    expect(call).toMatchObject({
      status: 'cancelled',
      httpStatus: 499,
      errorType: 'client_closed_request',
      tokenSource: 'tokenizer',
    });
    // the output its deltas had streamed, counted: at least the one the client saw, fewer than the 40 asked for (each
    // of the simulator's deltas is one token)
    expect(call.outputTokens).toBeGreaterThanOrEqual(1);
    expect(call.outputTokens).toBeLessThan(40);

    // The upstream going away (the simulator shutting down: 1001) reaches the client with its code and reason; the
    // response it cut is recorded as an HTTP stream the provider cuts, counted with the tokenizer.
    const other = await startStack({
      sim: { ttftMs: 0, tpotMs: 0 },
      config: { server: { host: '127.0.0.1', port: 0, shutdownGrace: '5s', tls: { cert, key } } },
    });
    try {
      const d = await session(`${other.base}/v1`, {
        headers: { 'x-simulator-ttft-ms': '0', 'x-simulator-tpot-ms': '30', 'x-simulator-output-tokens': '40' },
      });
      d.rt.send({ type: 'response.create' });
      await until(() => d.count('response.output_text.delta') >= 1, 10_000, 5);
      await other.sim.close();
      expect(await d.closed).toEqual({ code: 1001, reason: 'simulator shutting down' });
      const cut = await until(() => realtimeCalls(other)[0], 10_000);
      expect(cut).toMatchObject({
        status: 'upstream_error',
        httpStatus: 502,
        errorType: 'upstream_stream_cut',
        tokenSource: 'tokenizer',
      });
      expect(cut?.outputTokens).toBeGreaterThanOrEqual(1);
    } finally {
      await other.close();
    }
  });

  it('passes the browser form: subprotocols (the key among them) and OpenAI-Beta reach the upstream; beta events are metered', async () => {
    const seen: Record<string, unknown>[] = [];
    const listen = (r: { path: string; headers: Record<string, unknown> }) => {
      if (r.path === '/v1/realtime') seen.push(r.headers);
    };
    s.sim.events.on('request', listen as never);
    const before = realtimeCalls(s).length;
    const url = `${s.base.replace(/^https/, 'wss')}/v1/realtime?model=gpt-realtime`;
    const ws = new WebSocket(url, ['realtime', 'openai-insecure-api-key.sk-browser-key', 'openai-beta.realtime-v1'], {
      rejectUnauthorized: false,
      headers: { 'OpenAI-Beta': 'realtime=v1' },
    });
    const events: Event[] = [];
    ws.on('message', (d) => events.push(JSON.parse(d.toString())));
    await new Promise((ok, fail) => {
      ws.once('open', ok);
      ws.once('error', fail);
    });
    expect(ws.protocol).toBe('realtime');
    ws.send(JSON.stringify({ type: 'response.create' }));
    await until(() => events.some((e) => e.type === 'response.done'), 10_000, 5);
    // a binary frame reaches the upstream too (the simulator, which reads only JSON text, says so)
    ws.send(Buffer.from([0x80, 0x81, 0x82]));
    const err = await until(() => events.find((e) => e.type === 'error'), 10_000, 5);
    expect((err.error as { code: string }).code).toBe('invalid_json');
    ws.close();
    s.sim.events.off('request', listen as never);
    expect(events.filter((e) => e.type === 'response.text.delta')).toHaveLength(8);
    expect(String(seen[0]?.['sec-websocket-protocol']).split(/, */)).toEqual([
      'realtime',
      'openai-insecure-api-key.sk-browser-key',
      'openai-beta.realtime-v1',
    ]);
    expect(seen[0]?.['openai-beta']).toBe('realtime=v1');
    const call = await until(() => realtimeCalls(s)[before], 10_000);
    expect(call.ttftMs).not.toBeNull();
    expect(call.outputTokens).toBe(8);
  });

  it('closes open sessions with 1001 when llmscope stops, on both sides, and stops without waiting for them', async () => {
    const other = await startStack({
      sim: { ttftMs: 0, tpotMs: 0 },
      config: { server: { host: '127.0.0.1', port: 0, shutdownGrace: '5s', tls: { cert, key } } },
    });
    const closes: { code: number; reason: string }[] = [];
    (other.sim.events as EventEmitter).on('realtime-close', (c) => closes.push(c));
    try {
      const d = await session(`${other.base}/v1`);
      const t0 = Date.now();
      await other.app.close();
      expect(Date.now() - t0).toBeLessThan(4000);
      expect(await d.closed).toEqual({ code: 1001, reason: 'llmscope is shutting down' });
      await until(() => closes.length === 1, 10_000, 5);
      expect(closes[0]).toEqual({ code: 1001, reason: 'llmscope is shutting down' });
    } finally {
      await other.close();
    }
  });

  it('fails open: a metering error stops the metering of that session, never its relay', async () => {
    const before = realtimeCalls(s).length;
    const read = RealtimeMeter.prototype.server;
    RealtimeMeter.prototype.server = () => {
      throw new Error('injected meter failure');
    };
    try {
      const c = await session(`${s.base}/v1`);
      c.rt.send({ type: 'response.create' });
      await until(() => c.count('response.done') === 1, 10_000, 5);
      c.rt.send({ type: 'response.create' });
      await until(() => c.count('response.done') === 2, 10_000, 5);
      c.rt.close();
      await c.closed;
      expect(c.count('response.output_text.delta')).toBe(16);
    } finally {
      RealtimeMeter.prototype.server = read;
    }
    await until(() => s.logs.find((l) => l.event === 'realtime_meter_failed'), 10_000);
    await s.app.ctx.recorder.flush();
    expect(realtimeCalls(s).length).toBe(before);
  });

  it("refuses before the upgrade in OpenAI's error shape, and passes an upstream's refusal as it was", async () => {
    const answer = (path: string, headers: Record<string, string> = {}, protocols: string[] = []) =>
      new Promise<ErrorAnswer>((ok, fail) => {
        const ws = new WebSocket(`${s.base.replace(/^https/, 'wss')}${path}`, protocols, {
          rejectUnauthorized: false,
          headers,
        });
        ws.on('unexpected-response', (_req, res) => {
          let body = '';
          res.on('data', (c: Buffer) => {
            body += c;
          });
          res.on('end', () => ok({ status: res.statusCode ?? 0, body: JSON.parse(body) }));
        });
        ws.on('open', () => fail(new Error('upgraded')));
        ws.on('error', () => undefined);
      });
    const notFound = await answer('/v1/realtimes?model=gpt-realtime');
    expect(notFound.status).toBe(404);
    expect(notFound.body.error).toMatchObject({ type: 'not_found_error', code: 'not_found' });
    const foreign = await answer('/v1/realtime?model=gpt-realtime', { origin: 'https://evil.example.com' });
    expect(foreign.status).toBe(403);
    expect(foreign.body.error.code).toBe('forbidden');
    const limited = await answer('/v1/realtime?model=gpt-realtime', { 'x-simulator-fault': 'rate_limit' });
    expect(limited.status).toBe(429);
    expect(limited.body.error.type).toBe('requests');
  });
});

describe('Realtime: virtual keys and budgets at the upgrade', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({
      sim: { ttftMs: 0, tpotMs: 0, outputTokens: 4 },
      config: {
        server: { host: '127.0.0.1', port: 0, shutdownGrace: '5s', tls: { cert, key } },
        keys: [
          { id: 'voice-app', hash: hashKey(VIRTUAL_KEY), team: 'voice' },
          { id: 'spent', hash: hashKey(`${VIRTUAL_KEY}x`), team: 'broke' },
          { id: 'tight', hash: hashKey(`${VIRTUAL_KEY}t`), team: 'tight' },
          { id: 'once', hash: hashKey(`${VIRTUAL_KEY}o`), team: 'once' },
        ],
        budgets: [
          { name: 'broke-daily', scope: 'team', match: 'broke', period: 'day', limit: 0, action: 'block' },
          // room for two sessions' reservations at once, not three
          { name: 'tight-daily', scope: 'team', match: 'tight', period: 'day', limit: RESERVED * 2.5, action: 'block' },
          // room for one response's reservation, not for a second one after the first spent $0.016
          { name: 'once-daily', scope: 'team', match: 'once', period: 'day', limit: RESERVED + 0.008, action: 'block' },
        ],
        pricing: { models: [{ model: 'gpt-realtime', ...PRICE }] },
      },
      app: { modules: [createCostModule] },
    });
  });
  afterAll(() => s.close());

  const refusal = (protocols: string[]) =>
    new Promise<ErrorAnswer>((ok, fail) => {
      const ws = new WebSocket(`${s.base.replace(/^https/, 'wss')}/v1/realtime?model=gpt-realtime`, protocols, {
        rejectUnauthorized: false,
      });
      ws.on('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => {
          body += c;
        });
        res.on('end', () => ok({ status: res.statusCode ?? 0, body: JSON.parse(body) }));
      });
      ws.on('open', () => fail(new Error('upgraded')));
      ws.on('error', () => undefined);
    });

  it('needs a virtual key; one in the subprotocol is taken and never reaches the upstream; a spent budget is 429', async () => {
    const none = await refusal(['realtime']);
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('invalid_api_key');
    const broke = await refusal(['realtime', `openai-insecure-api-key.${VIRTUAL_KEY}x`]);
    expect(broke.status).toBe(429);
    expect(broke.body.error.code).toBe('budget_exceeded');

    const seen: Record<string, unknown>[] = [];
    const listen = (r: { path: string; headers: Record<string, unknown> }) => void seen.push(r.headers);
    s.sim.events.on('request', listen as never);
    const c = await session(`${s.base}/v1`, { apiKey: VIRTUAL_KEY });
    c.rt.send({ type: 'response.create' });
    await until(() => c.count('response.done') === 1, 10_000, 5);
    c.rt.send({ type: 'response.create' });
    await until(() => c.count('response.done') === 2, 10_000, 5);
    c.rt.close();
    s.sim.events.off('request', listen as never);
    expect(seen[0]?.authorization).toBeUndefined();
    const calls = await until(() => (realtimeCalls(s).length === 2 ? realtimeCalls(s) : null), 10_000);
    for (const call of calls) expect(call).toMatchObject({ apiKeyId: 'voice-app', team: 'voice', status: 'ok' });
  });
  it('releases what an admission reserved when no response uses it: sessions without one, an upgrade the upstream refused', async () => {
    const url = `${s.base.replace(/^https/, 'wss')}/v1/realtime?model=gpt-realtime`;
    const protocols = ['realtime', `openai-insecure-api-key.${VIRTUAL_KEY}t`];
    // five sessions one after the other, none asking for a response: each holds a reservation while open
    for (let k = 0; k < 5; k++) {
      const ws = new WebSocket(url, protocols, { rejectUnauthorized: false });
      await new Promise((ok, fail) => {
        ws.once('open', ok);
        ws.once('error', fail);
      });
      ws.close();
      await new Promise((r) => ws.once('close', r));
    }
    // an upgrade admitted, then refused by the upstream
    const limited = await new Promise<number>((ok) => {
      const ws = new WebSocket(url, protocols, {
        rejectUnauthorized: false,
        headers: { 'x-simulator-fault': 'rate_limit' },
      });
      ws.on('unexpected-response', (_req, res) => ok(res.statusCode ?? 0));
      ws.on('error', () => undefined);
    });
    expect(limited).toBe(429);
    // still admitted, and a response goes through and is recorded
    const c = await session(`${s.base}/v1`, { apiKey: `${VIRTUAL_KEY}t` });
    c.rt.send({ type: 'response.create' });
    await until(() => c.count('response.done') === 1, 10_000, 5);
    c.rt.close();
    const call = await until(() => realtimeCalls(s).find((x) => x.team === 'tight'), 10_000);
    expect(call.status).toBe('ok');
  });
  it('admits each later response again: one its budget refuses ends the session (error event, 1008 on both sides)', async () => {
    const closes: { code: number; reason: string }[] = [];
    (s.sim.events as EventEmitter).on('realtime-close', (x) => closes.push(x));
    const c = await session(`${s.base}/v1`, {
      apiKey: `${VIRTUAL_KEY}o`,
      headers: { 'x-simulator-output-tokens': '1000' },
    });
    c.rt.send({ type: 'response.create' });
    await until(() => c.count('response.done') === 1, 10_000, 5);
    c.rt.send({ type: 'response.create' });
    const closed = await c.closed;
    expect(closed.code).toBe(1008);
    expect(closed.reason).toMatch(/budget/);
    const err = c.events.find((e) => e.type === 'error')?.error as Record<string, unknown>;
    expect(err).toMatchObject({ type: 'budget_exceeded', code: 'budget_exceeded' });
    expect(await until(() => closes.find((x) => x.code === 1008), 10_000, 5)).toBeTruthy();
    const calls = await until(() => {
      const mine = realtimeCalls(s).filter((x) => x.team === 'once');
      return mine.length === 2 ? mine : null;
    }, 10_000);
    expect(calls[0]).toMatchObject({ status: 'ok', outputTokens: 1000 });
  });
});
