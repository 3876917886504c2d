// The Responses API's WebSocket mode (wss://…/v1/responses, which the Codex CLI tries before HTTP) at a provider
// without it (vLLM; here the simulator told to refuse the upgrade 404): llmscope answers the upgrade 426, the one answer
// on which Codex goes on over HTTP at once (any other, a 404 included, costs it its reconnect retries first: a stall of
// seconds at each start). The same client's HTTP call is then served and recorded as every POST /v1/responses is.
// (A provider with the mode: responses-websocket-calls.test.ts.)
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { RequestRecord } from '../../src/simulator/index.js';
import { type Stack, startStack } from './helpers.js';

interface Answer {
  status: number;
  connection: string | undefined;
  body: { error: Record<string, unknown> };
}

describe('Responses WebSocket mode', () => {
  let s: Stack;
  const seen: RequestRecord[] = [];
  beforeAll(async () => {
    s = await startStack({ sim: { ttftMs: 5, tpotMs: 1, outputTokens: 4 } });
    s.sim.events.on('request', (r) => seen.push(r));
  });
  afterAll(async () => {
    await s?.close();
  });

  const upgrade = (path: string) =>
    new Promise<Answer>((ok, fail) => {
      const ws = new WebSocket(`${s.base.replace(/^http/, 'ws')}${path}`, {
        headers: { authorization: 'Bearer sk-test', session_id: 'codex-1', 'x-simulator-websocket': 'refuse' },
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

  it('answers the upgrade 426 in OpenAI error shape when the upstream refuses it, and the HTTP call that follows is recorded', async () => {
    const refused = await upgrade('/v1/responses');
    expect(refused.status).toBe(426);
    expect(refused.connection).toBe('close');
    expect(refused.body.error).toMatchObject({ type: 'invalid_request_error', code: 'websocket_not_supported' });
    expect(String(refused.body.error.message)).toContain('POST /v1/responses');
    // the provider was asked (its refusal is what made it 426), with the client's headers
    expect(String(refused.body.error.message)).toContain('answered the upgrade 404');
    const asked = seen.find((r) => r.method === 'GET' && r.path === '/v1/responses');
    expect(asked?.headers).toMatchObject({ session_id: 'codex-1', authorization: 'Bearer sk-test' });
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
