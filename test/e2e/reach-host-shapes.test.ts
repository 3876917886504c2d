// On a loopback bind, a gateway call without a virtual key addressed by a name that is not loopback (DNS rebinding,
// or a container reaching the host as host.docker.internal) is refused 403 host_not_allowed — in the route's own
// error shape, as every error llmscope raises on a route is: Anthropic's on /v1/messages (its SDKs and Claude Code
// read `{"type": "error", "error": {...}}`), Google's on /v1beta, OpenAI's elsewhere. Nothing is recorded.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, simProviders, startStack } from './helpers.js';

const HOST = 'host.docker.internal';

describe('reach: the loopback Host check answers in the route’s shape', () => {
  let s: Stack;
  let port: string;

  beforeAll(async () => {
    s = await startStack({
      sim: { ttftMs: 0, tpotMs: 0 },
      config: (sim) => ({
        server: { host: '127.0.0.1', port: 0, shutdownGrace: '5s' },
        providers: simProviders(sim, 'openai', 'anthropic', 'gemini'),
      }),
    });
    port = new URL(s.base).port;
  });
  afterAll(() => s.close());

  const post = async (path: string, body: unknown, host = `${HOST}:${port}`) => {
    const r = await request(`${s.base}${path}`, {
      method: 'POST',
      headers: { host, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify(body),
    });
    return { status: r.statusCode, body: (await r.body.json()) as Record<string, unknown> };
  };
  const messages = { model: 'claude-sonnet-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'Hi' }] };
  const gemini = { contents: [{ role: 'user', parts: [{ text: 'Hi' }] }] };

  it('Anthropic routes: 403 permission_error in Anthropic’s shape', async () => {
    for (const path of ['/v1/messages', '/v1/messages/count_tokens']) {
      const r = await post(path, messages);
      expect(r.status, path).toBe(403);
      expect(r.body, path).toMatchObject({ type: 'error', error: { type: 'permission_error' } });
      expect((r.body.error as { message: string }).message).toContain(HOST);
    }
  });

  it('Gemini routes: 403 PERMISSION_DENIED in Google’s shape', async () => {
    for (const path of [
      '/v1beta/models/gemini-2.5-flash:generateContent',
      '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse',
      '/v1beta/models/gemini-2.5-flash:countTokens',
    ]) {
      const r = await post(path, gemini);
      expect(r.status, path).toBe(403);
      expect(r.body, path).toMatchObject({ error: { code: 403, status: 'PERMISSION_DENIED' } });
    }
  });

  it('OpenAI routes keep OpenAI’s shape; nothing is recorded; a loopback Host goes through', async () => {
    const before = s.calls.length;
    const r = await post('/v1/responses', { model: 'gpt-4o-mini', input: 'Hi' });
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({ error: { type: 'permission_error', code: 'host_not_allowed' } });
    expect(s.calls.length).toBe(before);
    expect((await post('/v1/messages', messages, `localhost:${port}`)).status).toBe(200);
  });
});
