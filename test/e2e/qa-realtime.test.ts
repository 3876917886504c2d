// QA of Realtime sessions through llmscope with a raw `ws` client (no event_id on its events, as the SDKs send them):
// a response.create the upstream refuses while a response is running must not start the next response's clock.
// And an HTTP call that offers another upgrade (curl --http2 and Java's HttpClient send `Upgrade: h2c` on http://)
// is still answered as HTTP, though llmscope now listens for WebSocket upgrades.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type Stack, startStack, until } from './helpers.js';

type Ev = Record<string, unknown> & { type: string };

async function open(url: string) {
  const ws = new WebSocket(url, { headers: { authorization: 'Bearer sk-test' } });
  const events: Ev[] = [];
  ws.on('message', (d, binary) => {
    if (!binary) events.push(JSON.parse(d.toString()) as Ev);
  });
  ws.on('error', () => undefined);
  const closed = new Promise<number>((ok) => ws.once('close', (code) => ok(code)));
  await new Promise<void>((ok, fail) => {
    ws.once('open', () => ok());
    ws.once('error', fail);
  });
  const count = (t: string) => events.filter((e) => e.type === t).length;
  return { ws, events, closed, count };
}

describe('Realtime through llmscope, as a raw client sends it', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({ sim: { ttftMs: 30, tpotMs: 10, outputTokens: 20 } });
  });
  afterAll(() => s.close());
  const realtime = () => s.calls.filter((c) => c.endpoint === 'realtime');

  it('a response.create refused while one runs (no event_id) does not time the next response from itself', async () => {
    const c = await open(`${s.base.replace(/^http/, 'ws')}/v1/realtime?model=gpt-realtime`);
    c.ws.send(JSON.stringify({ type: 'response.create' }));
    c.ws.send(JSON.stringify({ type: 'response.create' }));
    await until(() => c.count('response.done') === 1, 10_000, 5);
    const refused = c.events.find((e) => e.type === 'error') as unknown as { error: { code: string; event_id: null } };
    expect(refused.error).toMatchObject({ code: 'conversation_already_has_active_response', event_id: null });
    await until(() => realtime().length === 1, 10_000, 5);
    c.ws.send(JSON.stringify({ type: 'response.create' }));
    await until(() => c.count('response.done') === 2, 10_000, 5);
    const [first, second] = await until(() => (realtime().length === 2 ? realtime() : null), 10_000, 5);
    c.ws.close();
    await c.closed;
    // The second response was asked for after the first was done: before the fix, its start was the refused
    // response.create's (sent with the first), so its TTFT and latency included the whole first response.
    expect(second?.startedAt).toBeGreaterThanOrEqual(first?.endedAt as number);
    expect(second?.ttftMs).toBeLessThan(second?.latencyMs as number);
  });

  it('answers an HTTP call offering an h2c upgrade as HTTP, at the gateway and at the simulator', async () => {
    const post = (url: string, body: string) =>
      new Promise<{ status: number; body: string }>((ok, fail) => {
        const req = request(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            connection: 'Upgrade, HTTP2-Settings',
            upgrade: 'h2c',
            'http2-settings': 'AAMAAABkAARAAAAAAAIAAAAA',
          },
        });
        req.on('response', (res) => {
          let text = '';
          res.on('data', (d) => {
            text += d;
          });
          res.on('end', () => ok({ status: res.statusCode ?? 0, body: text }));
        });
        req.on('upgrade', (res) => fail(new Error(`upgraded: ${res.statusCode}`)));
        req.on('error', fail);
        req.end(body);
      });
    const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] });
    for (const url of [`${s.base}/v1/chat/completions`, `${s.sim.url}/chat/completions`]) {
      const r = await post(url, body);
      // Before: 404 'no WebSocket route at /v1/chat/completions' (the simulator's: 'Invalid URL (GET ...)')
      expect(r.status, r.body).toBe(200);
      expect(JSON.parse(r.body).object).toBe('chat.completion');
    }
    await until(() => s.calls.some((c) => c.endpoint === 'chat.completions'), 10_000, 5);
  });
});
