// Google credentials held by llmscope (providers[].googleCredentials): an upstream that answers 401 to the minted token
// (revoked, or expired before its stated expiry) made every later call fail with the same cached token until its
// expiry (an hour). Now a 401 to llmscope's own token drops it, and the next call mints another (Google's libraries
// refresh on a 401 too); the 401 itself reaches the client intact. A client's own Bearer answered 401 drops nothing.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyFile, startTokenEndpoint, type TokenEndpoint } from './google-service-account.js';
import { type Stack, startStack } from './helpers.js';

const PATH = '/v1/projects/my-proj/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929';
const body = { anthropic_version: 'vertex-2023-10-16', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] };
const UNAUTHENTICATED = {
  error: { code: 401, message: 'Request had invalid authentication credentials.', status: 'UNAUTHENTICATED' },
};

/** Vertex as far as this test needs: ya29.minted-1 (and a client's ya29.revoked) refused 401, any other token served. */
const refused = new Set(['Bearer ya29.minted-1', 'Bearer ya29.revoked']);
const got: { path: string; authorization: string | undefined }[] = [];
async function startVertex(): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      got.push({ path: req.url ?? '', authorization: req.headers.authorization });
      res.writeHead(refused.has(req.headers.authorization ?? '') ? 401 : 200, { 'content-type': 'application/json' });
      if (refused.has(req.headers.authorization ?? '')) return res.end(JSON.stringify(UNAUTHENTICATED));
      if (req.url?.includes('count-tokens')) return res.end(JSON.stringify({ input_tokens: 3 }));
      res.end(
        JSON.stringify({
          id: 'msg_1',
          type: 'message',
          role: 'assistant',
          model: 'claude-sonnet-4-5',
          content: [{ type: 'text', text: 'Hello' }],
          stop_reason: 'end_turn',
          stop_sequence: null,
          usage: { input_tokens: 3, output_tokens: 1 },
        }),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

const post = (url: string, payload: unknown, headers: Record<string, string> = {}) =>
  request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(payload),
  });

describe('Google credentials: a token the upstream refuses (401) is dropped and minted again', () => {
  let tokens: TokenEndpoint;
  let vertex: { url: string; close(): Promise<void> };
  let s: Stack;
  beforeAll(async () => {
    tokens = await startTokenEndpoint();
    vertex = await startVertex();
    const file = keyFile('sa.json', tokens.url);
    s = await startStack({
      config: (sim) => ({
        providers: [
          { name: 'openai-sim', baseUrl: sim.url },
          {
            name: 'vertex-claude',
            type: 'anthropic',
            baseUrl: vertex.url,
            models: ['claude-*'],
            googleCredentials: file,
          },
        ],
      }),
    });
  });
  afterAll(async () => {
    await s?.close();
    await vertex?.close();
    await tokens?.close();
  });

  it('rawPredict: the 401 goes to the client, the next call carries a new token', async () => {
    const r1 = await post(`${s.base}${PATH}:rawPredict`, body, { 'x-request-id': 'qa-v401-1' });
    expect(r1.statusCode).toBe(401);
    expect(await r1.body.json()).toEqual(UNAUTHENTICATED);
    expect(await s.callOf('qa-v401-1')).toMatchObject({ httpStatus: 401, errorType: 'UNAUTHENTICATED' });
    const r2 = await post(`${s.base}${PATH}:rawPredict`, body, { 'x-request-id': 'qa-v401-2' });
    expect(r2.statusCode).toBe(200);
    expect(await r2.body.json()).toMatchObject({ type: 'message' });
    expect(got.map((g) => g.authorization)).toEqual(['Bearer ya29.minted-1', 'Bearer ya29.minted-2']);
    // the new token is kept: one more call mints nothing
    const r3 = await post(`${s.base}${PATH}:rawPredict`, body);
    expect(r3.statusCode).toBe(200);
    await r3.body.dump();
    expect(tokens.minted).toEqual(['ya29.minted-1', 'ya29.minted-2']);
  });

  it("a client's own token refused 401 leaves llmscope's alone", async () => {
    const r = await post(`${s.base}${PATH}:rawPredict`, body, { authorization: 'Bearer ya29.revoked' });
    expect(r.statusCode).toBe(401);
    await r.body.dump();
    const ok = await post(`${s.base}${PATH}:rawPredict`, body);
    expect(ok.statusCode).toBe(200);
    await ok.body.dump();
    expect(got.at(-1)?.authorization).toBe('Bearer ya29.minted-2');
    expect(tokens.minted).toEqual(['ya29.minted-1', 'ya29.minted-2']);
  });
  it('count-tokens (passed through): a 401 to the token drops it too', async () => {
    refused.add('Bearer ya29.minted-2');
    const count = `${s.base}/v1/projects/my-proj/locations/us-east5/publishers/anthropic/models/count-tokens:rawPredict`;
    const r = await post(count, { model: 'claude-sonnet-4-5@20250929', messages: body.messages });
    expect(r.statusCode).toBe(401);
    expect(await r.body.json()).toEqual(UNAUTHENTICATED);
    const ok = await post(`${s.base}${PATH}:rawPredict`, body);
    expect(ok.statusCode).toBe(200);
    await ok.body.dump();
    expect(got.at(-2)).toMatchObject({
      path: expect.stringContaining('count-tokens'),
      authorization: 'Bearer ya29.minted-2',
    });
    expect(got.at(-1)?.authorization).toBe('Bearer ya29.minted-3');
  });
});
