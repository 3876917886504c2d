// The simulator's Responses API WebSocket mode: the same events as the streamed POST /v1/responses, one message each
// (with the response.create's stream_id when it named one), error events for what is not a valid response.create (the
// connection goes on), faults as error events with their status, and the upgrade refused 404 on request.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type Simulator, startSimulator } from './server.js';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ ttftMs: 0, tpotMs: 0, outputTokens: 6, seed: 5 });
});
afterAll(() => sim.close());

type Event = Record<string, unknown> & { type: string };
const TERMINAL = new Set(['response.completed', 'response.failed', 'response.incomplete', 'error']);
const comparable = (x: unknown) =>
  JSON.parse(
    JSON.stringify(x)
      .replace(/"(resp|msg|fc|call|rs)_[A-Za-z0-9]+"/g, '"$1_X"')
      .replace(/"created_at":\d+/g, '"created_at":0'),
  );

async function open(headers: Record<string, string> = {}) {
  const ws = new WebSocket(`${sim.url.replace(/^http/, 'ws')}/responses`, { headers });
  const events: Event[] = [];
  ws.on('message', (d) => events.push(JSON.parse(String(d))));
  await new Promise((ok, fail) => {
    ws.once('open', ok);
    ws.once('error', fail);
  });
  const send = async (msg: unknown) => {
    const from = events.length;
    ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
    for (let t = 0; t < 400 && !events.slice(from).some((e) => TERMINAL.has(e.type)); t++)
      await new Promise((r) => setTimeout(r, 5));
    return events.slice(from);
  };
  return { ws, send };
}

async function sse(body: unknown, headers: Record<string, string> = {}): Promise<Event[]> {
  const r = await fetch(`${sim.url}/responses`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ ...(body as object), stream: true }),
  });
  return (await r.text())
    .split('\n')
    .filter((l) => l.startsWith('data: '))
    .map((l) => JSON.parse(l.slice(6)));
}

describe('simulator: Responses WebSocket mode', () => {
  it('answers each response.create with the streamed POST’s events, one message each, one response after another', async () => {
    const headers = { 'x-simulator-reasoning-tokens': '3', 'x-simulator-cached-tokens': '2' };
    const body = { model: 'gpt-4o-mini', input: 'hello', reasoning: { summary: 'auto' } };
    const want = await sse(body, headers);
    const c = await open(headers);
    const first = await c.send({ type: 'response.create', ...body });
    expect(comparable(first)).toEqual(comparable(want));
    const second = await c.send({ type: 'response.create', ...body, stream_id: 'lane-1' });
    expect(second.every((e) => e.stream_id === 'lane-1')).toBe(true);
    expect(comparable(second.map(({ stream_id: _, ...e }) => e))).toEqual(comparable(want));
    c.ws.close();
  });

  it('answers what is not a valid response.create with an error event, and goes on', async () => {
    const c = await open();
    expect(await c.send('{not json')).toMatchObject([
      { type: 'error', status: 400, error: { type: 'invalid_request_error', code: 'invalid_json' } },
    ]);
    expect(await c.send({ type: 'session.update' })).toMatchObject([
      { type: 'error', status: 400, error: { param: 'type' } },
    ]);
    expect(await c.send({ type: 'response.create', input: 'x', stream_id: 's' })).toMatchObject([
      { type: 'error', status: 400, stream_id: 's', error: { param: 'model' } },
    ]);
    expect(await c.send({ type: 'response.create', model: 'm', input: 'x', background: true })).toMatchObject([
      { type: 'error', status: 400, error: { param: 'background' } },
    ]);
    expect((await c.send({ type: 'response.create', model: 'm', input: 'x' })).at(-1)?.type).toBe('response.completed');
    c.ws.close();
  });

  it('answers a fault with an error event of its status, and refuses the upgrade 404 when told', async () => {
    const c = await open({ 'x-simulator-fault': 'rate_limit' });
    expect(await c.send({ type: 'response.create', model: 'm', input: 'x' })).toMatchObject([
      { type: 'error', status: 429, error: { type: 'requests', code: 'rate_limit_exceeded' } },
    ]);
    c.ws.close();
    const status = await new Promise<number>((ok) => {
      const ws = new WebSocket(`${sim.url.replace(/^http/, 'ws')}/responses`, {
        headers: { 'x-simulator-websocket': 'refuse' },
      });
      ws.on('unexpected-response', (_q, res) => ok(res.statusCode ?? 0));
      ws.on('error', () => undefined);
    });
    expect(status).toBe(404);
  });
});
