// The Responses API's WebSocket mode with virtual keys (QA36): a response.create refused before a live key admitted it
// (it names no model; the connection's key was revoked since it opened) was recorded under the team, user, feature,
// session and metadata the upgrade's headers claimed, whatever the key allows its headers to say. Now, as on the HTTP
// route, such a refusal keeps none of them; a response the key admits is the key's.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createCostModule } from '../../src/cost/index.js';
import { jsonCall, type Stack, startStack, until } from './helpers.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    sim: { ttftMs: 2, tpotMs: 1, outputTokens: 4 },
    config: { gpu: { collector: 'none' } },
    app: { modules: [createCostModule] },
  });
});
afterAll(async () => {
  await stack?.close();
});

type Ev = Record<string, unknown> & { type: string };

describe('Responses WebSocket: refusals before a live key admitted the response', () => {
  it("record none of the upgrade's claims; an admitted response is the key's", async () => {
    const made = await jsonCall(stack.base, 'POST', '/api/keys', { name: 'red', team: 'red', user: 'carol' });
    expect(made.status).toBe(201);
    const ws = new WebSocket(`${stack.base.replace('http', 'ws')}/v1/responses`, {
      headers: {
        authorization: `Bearer ${made.body.key as string}`,
        'x-llmscope-team': 'blue',
        'x-llmscope-user': 'bob@blue.example',
        'x-llmscope-meta-ticket': 'T-1',
      },
    });
    const events: Ev[] = [];
    ws.on('message', (d) => events.push(JSON.parse(String(d)) as Ev));
    await new Promise((ok, no) => {
      ws.once('open', ok);
      ws.once('error', no);
    });
    const send = async (m: Record<string, unknown>) => {
      const from = events.length;
      ws.send(JSON.stringify({ type: 'response.create', ...m }));
      return until(() => events.slice(from).find((e) => e.type === 'response.completed' || e.type === 'error'));
    };
    const who = (c: { team: unknown; user: unknown; metadata: unknown }) => [c.team, c.user, c.metadata];

    expect((await send({ model: 'gpt-4o-mini', input: 'hi' })).type).toBe('response.completed');
    const ok = await stack.waitForCalls(1);
    expect(who(ok[0] as never)).toEqual(['red', 'carol', { ticket: 'T-1' }]);

    // no model: refused before the key is read for it. Before: team blue, user bob@blue.example.
    expect((await send({ input: 'hi' })).type).toBe('error');
    // the key revoked while the connection is open: the next response is refused 401
    expect((await jsonCall(stack.base, 'POST', `/api/keys/${made.body.id}/revoke`)).status).toBe(200);
    const revoked = await send({ model: 'gpt-4o-mini', input: 'hi' });
    expect(revoked.type).toBe('error');
    expect(revoked.status).toBe(401);
    const calls = await stack.waitForCalls(3);
    for (const c of calls.slice(1)) expect(who(c as never)).toEqual([null, null, null]);
    ws.close();
  });
});
