// The Responses API's WebSocket mode (wss://…/v1/responses, which the Codex CLI tries before HTTP) is not served: its
// upgrade is answered 426, the one answer on which Codex goes on over HTTP at once (any other, a 404 included, costs it
// its reconnect retries first: a stall of seconds at each start). The same client's HTTP call is then served and
// recorded as every POST /v1/responses is.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type Stack, startStack } from './helpers.js';

interface Answer {
  status: number;
  connection: string | undefined;
  body: { error: Record<string, unknown> };
}

describe('Responses WebSocket mode', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({ sim: { ttftMs: 5, tpotMs: 1, outputTokens: 4 } });
  });
  afterAll(async () => {
    await s?.close();
  });

  const upgrade = (path: string) =>
    new Promise<Answer>((ok, fail) => {
      const ws = new WebSocket(`${s.base.replace(/^http/, 'ws')}${path}`, {
        headers: { authorization: 'Bearer sk-test', session_id: 'codex-1' },
      });
      ws.on('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => {
          body += c;
        });
        res.on('end', () =>
          ok({ status: res.statusCode ?? 0, connection: res.headers.connection, body: JSON.parse(body) }),
        );
      });
      ws.on('open', () => fail(new Error('upgraded')));
      ws.on('error', () => undefined);
    });

  it('answers the upgrade 426 in OpenAI error shape, and the HTTP call that follows is recorded', async () => {
    const refused = await upgrade('/v1/responses');
    expect(refused.status).toBe(426);
    expect(refused.connection).toBe('close');
    expect(refused.body.error).toMatchObject({ type: 'invalid_request_error', code: 'websocket_not_supported' });
    expect(String(refused.body.error.message)).toContain('POST /v1/responses');
    // With a query, as some clients add one: the same answer. Another path keeps its 404.
    expect((await upgrade('/v1/responses?x=1')).status).toBe(426);
    expect((await upgrade('/v1/responsez')).status).toBe(404);

    const client = new OpenAI({ baseURL: `${s.base}/v1`, apiKey: 'sk-test', maxRetries: 0 });
    const r = await client.responses.create(
      { model: 'gpt-4o-mini', input: 'hi' },
      { headers: { 'x-request-id': 'codex-ws-fallback', session_id: 'codex-1' } },
    );
    expect(r.output_text.length).toBeGreaterThan(0);
    expect(await s.callOf('codex-ws-fallback')).toMatchObject({
      endpoint: 'responses',
      status: 'ok',
      session: 'codex-1',
    });
  });
});
