// A body that is not JSON is refused 400 invalid_json, and the refusal is recorded as a call. Node's JSON.parse error
// quotes the start of the text it could not read (`Unexpected token 'J', "Jane Doe, "... is not valid JSON`), and
// llmscope's own messages are kept whole even with content capture off (they are meant to name a provider, a model or
// a limit, never the call's text): the quote went into the stored error_message. It is left out now, on the HTTP
// routes of each wire format and on the Responses API's WebSocket mode; the position and the token stay.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type Stack, simProviders, startStack, until } from './helpers.js';

const BODY = 'Zorvath account 4111 1111 1111 1111 belongs to Tessaridge';

describe('a body that is not JSON', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({
      config: (sim) => ({ providers: simProviders(sim, 'anthropic', 'gemini', 'openai') }) as never,
    });
  });
  afterAll(() => s?.close());

  it('is refused and recorded without the start of the body in its message', async () => {
    const paths = [
      '/v1/chat/completions',
      '/v1/messages',
      '/v1/responses',
      '/v1beta/models/gemini-2.0-flash:generateContent',
    ];
    for (const p of paths) {
      const r = await request(`${s.base}${p}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', 'x-request-id': `bad-${p}` },
        body: BODY,
      });
      expect(r.statusCode, p).toBe(400);
      const answer = await r.body.text();
      expect(answer, p).toContain("Unexpected token 'Z'");
      expect(answer, p).not.toContain('Zorvath');
    }
    // The Responses API's WebSocket mode: the simulator speaks it.
    const ws = new WebSocket(`${s.base.replace(/^http/, 'ws')}/v1/responses`, {
      headers: { authorization: 'Bearer sk-test' },
    });
    ws.on('error', () => undefined);
    const events: string[] = [];
    ws.on('message', (d) => events.push(d.toString()));
    await new Promise((ok, fail) => {
      ws.once('open', ok);
      ws.once('error', fail);
    });
    ws.send(BODY);
    await until(() => events.length > 0, 10_000, 10);
    ws.close();
    expect(events[0]).toContain('invalid_json');
    expect(events[0]).not.toContain('Zorvath');
    const calls = await until(() => (s.calls.length >= 5 ? s.calls : null), 10_000, 10);
    const stored = JSON.stringify(calls.map((c) => c.errorMessage));
    expect(stored).toContain('not valid JSON');
    for (const w of ['Zorvath', 'Zorvath ac']) expect(stored).not.toContain(w);
  });
});
