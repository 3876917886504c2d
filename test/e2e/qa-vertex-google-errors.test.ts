// Claude on Vertex AI: Vertex's front end answers quota, permission and auth failures in Google's error shape
// (`{"error":{"code":429,"message":…,"status":"RESOURCE_EXHAUSTED"}}`), not Anthropic's. AnthropicVertex, through
// llmscope to a loopback upstream answering those, gets each body and status intact, and the call is recorded with
// the right status and Google's status as its error type (it was `http_429`, the type lost).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AnthropicVertex } from '@anthropic-ai/vertex-sdk';
import { OAuth2Client } from 'google-auth-library';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './helpers.js';

const STATUSES: Record<number, string> = {
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  429: 'RESOURCE_EXHAUSTED',
};
const googleError = (code: number) => ({
  error: { code, message: `Quota exceeded for aiplatform.googleapis.com (${code})`, status: STATUSES[code] },
});

const vertex = (origin: string) => {
  const authClient = new OAuth2Client();
  authClient.setCredentials({ access_token: 'ya29.client-own', expiry_date: Date.now() + 3_600_000 });
  return new AnthropicVertex({
    baseURL: `${origin}/v1`,
    region: 'us-east5',
    projectId: 'p',
    authClient,
    maxRetries: 0,
  });
};

describe('Claude on Vertex AI: Google-shaped upstream errors', () => {
  let s: Stack;
  let upstream: Server;
  beforeAll(async () => {
    upstream = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const code = Number(req.headers['x-test-status']);
        res.writeHead(code, { 'content-type': 'application/json' });
        res.end(JSON.stringify(googleError(code)));
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    s = await startStack({
      config: (sim) => ({
        providers: [
          { name: 'openai-sim', baseUrl: sim.url },
          { name: 'vertex-claude', type: 'anthropic', baseUrl: url, models: ['claude-*'] },
        ],
      }),
    });
  });
  afterAll(async () => {
    await s?.close();
    await new Promise((r) => upstream?.close(r));
  });

  it.each([
    [401, 'client_error'],
    [403, 'client_error'],
    [429, 'rate_limited'],
  ])('%i: passed to the client intact, recorded with its Google status', async (code, status) => {
    const err = await vertex(s.base)
      .messages.create(
        { model: 'claude-sonnet-4-5@20250929', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] },
        { headers: { 'x-test-status': String(code), 'x-request-id': `qa-vg-${code}` } },
      )
      .then(
        () => null,
        (e: { status?: number; error?: unknown }) => e,
      );
    expect(err?.status).toBe(code);
    expect(err?.error).toEqual(googleError(code));
    expect(await s.callOf(`qa-vg-${code}`)).toMatchObject({
      provider: 'vertex-claude',
      model: 'claude-sonnet-4-5@20250929',
      status,
      httpStatus: code,
      errorType: STATUSES[code],
      errorMessage: `Quota exceeded for aiplatform.googleapis.com (${code})`,
    });
  });
});
