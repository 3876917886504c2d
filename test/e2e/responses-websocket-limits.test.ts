// The Responses API's WebSocket mode under server.maxConcurrentCalls: each response in flight on a WebSocket takes a
// place among the process's calls in flight, as an HTTP call does, and frees it when it ends (completed, or its
// connection closed). Over the limit a response.create gets an `error` event (503 overloaded, as the HTTP call's 503),
// counted in llmscope_gateway_shed_total{reason="concurrency"} and not recorded, and its connection stays open.
import OpenAI from 'openai';
import { ResponsesWS } from 'openai/resources/responses/ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMetrics, type Stack, startStack, until } from './helpers.js';

const TERMINAL = new Set(['response.completed', 'response.failed', 'response.incomplete', 'error']);
type Ev = Record<string, unknown> & { type: string };

function connect(baseURL: string) {
  const client = new OpenAI({ baseURL, apiKey: 'sk-test', maxRetries: 0 });
  const ws = new ResponsesWS(client);
  const events: Ev[] = [];
  ws.on('event', (e) => events.push(e as unknown as Ev));
  ws.on('error', () => undefined);
  /** Sends a response.create; `done` resolves with its events once a terminal one came. */
  const send = (input: string) => {
    const from = events.length;
    ws.send({ type: 'response.create', model: 'gpt-4o-mini', input } as never);
    return until(() => events.slice(from).some((e) => TERMINAL.has(e.type)) && events.slice(from), 15_000, 5);
  };
  return { ws, events, send };
}

describe('Responses WebSocket responses count against server.maxConcurrentCalls', () => {
  let s: Stack;
  let wsSeen = 0;
  beforeAll(async () => {
    s = await startStack({
      sim: { ttftMs: 600, tpotMs: 5, outputTokens: 4 },
      config: { server: { host: '127.0.0.1', port: 0, maxConcurrentCalls: 2 } },
    });
    s.sim.events.on('request', (r) => {
      if (r.method === 'WS') wsSeen++;
    });
  });
  afterAll(() => s?.close());

  const shed = async () =>
    parseMetrics(await s.app.ctx.registry.metrics()).get('llmscope_gateway_shed_total{reason="concurrency"}') ?? 0;

  it('refuses a response.create and an HTTP call over the limit, and frees the places when responses end', async () => {
    const base = `${s.base}/v1`;
    const a = connect(base);
    const b = connect(base);
    const c = connect(base);
    const aDone = a.send('one');
    const bDone = b.send('two');
    await until(() => wsSeen === 2, 10_000, 5);

    // two responses in flight: a third, on another connection, is refused as an HTTP call would be
    const refused = await c.send('three');
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({
      type: 'error',
      status: 503,
      error: { type: 'server_error', code: 'overloaded' },
    });
    expect(String((refused[0]?.error as { message: string } | undefined)?.message)).toContain(
      'server.maxConcurrentCalls',
    );
    const http = new OpenAI({ baseURL: base, apiKey: 'sk-test', maxRetries: 0 });
    const err = await http.responses.create({ model: 'gpt-4o-mini', input: 'over HTTP' }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    expect(await shed()).toBe(2);
    expect(wsSeen).toBe(2);

    // both end: their places are free, and the refused connection goes on
    expect((await aDone).at(-1)?.type).toBe('response.completed');
    expect((await bDone).at(-1)?.type).toBe('response.completed');
    await s.waitForCalls(2);
    const again = await c.send('three, again');
    expect(again.at(-1)?.type).toBe('response.completed');

    // a connection closed mid-response frees its place too (the response recorded cancelled)
    const a2 = a.send('cut short');
    const b2 = b.send('cut short too');
    void a2.catch(() => undefined);
    void b2.catch(() => undefined);
    await until(() => wsSeen === 5, 10_000, 5);
    expect((await c.send('while full'))[0]).toMatchObject({ type: 'error', status: 503 });
    a.ws.close();
    b.ws.close();
    await until(() => s.calls.filter((x) => x.status === 'cancelled').length === 2, 10_000, 5);
    const last = await c.send('after the closes');
    expect(last.at(-1)?.type).toBe('response.completed');

    // the refusals were counted, never recorded as calls
    expect(await shed()).toBe(3);
    await s.waitForCalls(5);
    expect(s.calls.filter((x) => x.httpStatus === 503)).toHaveLength(0);
    c.ws.close();
  });
});
