// llmscope_websocket_sessions{kind}: the WebSocket sessions open now (QA39's decision 4). A Realtime voice session can
// stay open for half an hour with no response running, so the calls' metrics say nothing of it; this gauge says how
// many sessions each kind holds open, Realtime's and the Responses API's WebSocket mode, and goes back down as they
// close.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type Stack, startStack, until } from './helpers.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ config: { gpu: { collector: 'none' } } });
});
afterAll(async () => {
  await stack?.close();
});

const open = (path: string) =>
  new Promise<WebSocket>((ok, fail) => {
    const ws = new WebSocket(`${stack.base.replace(/^http/, 'ws')}${path}`, {
      headers: { authorization: 'Bearer sk-test' },
    });
    ws.once('open', () => ok(ws));
    ws.once('unexpected-response', (_q, res) => fail(new Error(`upgrade refused: ${res.statusCode}`)));
    ws.once('error', fail);
  });

const gauge = async (): Promise<Record<string, number>> => {
  const text = await (await fetch(`${stack.base}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^llmscope_websocket_sessions\{kind="(\w+)"\} (\d+)$/gm))
    out[m[1] as string] = Number(m[2]);
  return out;
};

describe('llmscope_websocket_sessions', () => {
  it('counts the sessions open now by kind, and goes down as they close', async () => {
    // before: no such series
    expect(await gauge()).toEqual({ realtime: 0, responses: 0 });
    const a = await open('/v1/realtime?model=gpt-realtime');
    const b = await open('/v1/realtime?model=gpt-realtime');
    const c = await open('/v1/responses');
    expect(await until(async () => ((await gauge()).realtime === 2 ? gauge() : null))).toEqual({
      realtime: 2,
      responses: 1,
    });
    a.close();
    c.close();
    expect(
      await until(async () => {
        const g = await gauge();
        return g.realtime === 1 && g.responses === 0 ? g : null;
      }),
    ).toEqual({ realtime: 1, responses: 0 });
    b.close();
    expect(await until(async () => ((await gauge()).realtime === 0 ? gauge() : null))).toEqual({
      realtime: 0,
      responses: 0,
    });
  });
});
