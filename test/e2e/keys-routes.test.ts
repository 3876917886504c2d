// Virtual keys on every route, as each route's own clients send them: Claude Code and @anthropic-ai/sdk send the
// key as x-api-key on /v1/messages, @google/genai as x-goog-api-key on Gemini's routes, Google's REST examples and
// curl as ?key=. A call without a key is told the header its client would use, in the route's own error shape; a
// key sent that client's way is accepted and never reaches the upstream.
import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCostModule, hashKey } from '../../src/cost/index.js';
import type { RequestRecord } from '../../src/simulator/index.js';
import { jsonCall, type Stack, simProviders, startStack } from './helpers.js';

const KEY = 'lsk_e2e_routes_0123456789abcdef';

describe('virtual keys on the Anthropic and Gemini routes', () => {
  let s: Stack;
  const seen: RequestRecord[] = [];
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    jsonCall(s.base, 'POST', path, body, headers);
  const gemini = { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] };
  const messages = { model: 'claude-sonnet-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] };

  beforeAll(async () => {
    s = await startStack({
      sim: { ttftMs: 1, tpotMs: 1, outputTokens: 4 },
      config: (sim) => ({
        providers: simProviders(sim, 'openai', 'anthropic', 'gemini'),
        keys: [{ id: 'routes', hash: hashKey(KEY), user: 'svc-routes', team: 'reach' }],
      }),
      app: { modules: [createCostModule] },
    });
    s.sim.events.on('request', (r) => seen.push(r));
  });
  afterAll(() => s.close());

  it('tells a caller without a key the header its client sends, in the route’s shape', async () => {
    const anth = await post('/v1/messages', messages, { 'anthropic-version': '2023-06-01' });
    expect(anth.status).toBe(401);
    expect(anth.body).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
    const am = (anth.body.error as { message: string }).message;
    expect(am).toContain('x-api-key: lsk_');
    expect(am).not.toContain('Authorization');

    const gem = await post('/v1beta/models/gemini-2.5-flash:generateContent', gemini);
    expect(gem.status).toBe(401);
    expect(gem.body).toMatchObject({ error: { code: 401, status: 'UNAUTHENTICATED' } });
    const gm = (gem.body.error as { message: string }).message;
    expect(gm).toContain('x-goog-api-key: lsk_');
    expect(gm).toContain('?key=lsk_');
    expect(gm).not.toContain('Authorization');
    // Gemini's embeddings are recorded as embeddings calls, like OpenAI's: the hint is still Gemini's header
    const emb = await post('/v1beta/models/gemini-embedding-001:embedContent', {
      content: { parts: [{ text: 'hi' }] },
    });
    expect(emb.status).toBe(401);
    expect(emb.body).toMatchObject({ error: { code: 401, status: 'UNAUTHENTICATED' } });
    const em = (emb.body.error as { message: string }).message;
    expect(em).toContain('x-goog-api-key: lsk_');
    expect(em).not.toContain('Authorization');

    const oa = await post('/v1/chat/completions', {
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(oa.status).toBe(401);
    expect(oa.body).toMatchObject({ error: { code: 'invalid_api_key' } });
    expect((oa.body.error as { message: string }).message).toContain('Authorization: Bearer lsk_');

    // A provider key sent the client's way is told the same.
    const sk = await post('/v1/messages', messages, { 'x-api-key': 'sk-ant-real-looking' });
    expect(sk.status).toBe(401);
    expect((sk.body.error as { message: string }).message).toMatch(/not provider keys.*x-api-key: lsk_/);
    expect(seen).toEqual([]);
  });

  it('accepts the key as x-api-key from @anthropic-ai/sdk and never forwards it', async () => {
    const client = new Anthropic({ apiKey: KEY, baseURL: s.base, maxRetries: 0 });
    const msg = await client.messages.create(
      { model: 'claude-sonnet-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] },
      { headers: { 'x-request-id': 'key-anth' } },
    );
    expect(msg.type).toBe('message');
    expect(await s.callOf('key-anth')).toMatchObject({ apiKeyId: 'routes', user: 'svc-routes', team: 'reach' });
    const up = seen.find((r) => r.requestId === 'key-anth');
    expect(up?.headers['x-api-key']).toBeUndefined();
    expect(JSON.stringify(up?.headers)).not.toContain(KEY);
  });

  it('accepts the key as x-goog-api-key from @google/genai and as ?key=, which never goes upstream', async () => {
    const genai = new GoogleGenAI({ apiKey: KEY, httpOptions: { baseUrl: s.base } });
    const a = await genai.models.generateContent({
      model: 'gemini-2.5-flash',
      contents: 'hi',
      config: { httpOptions: { headers: { 'x-request-id': 'key-gem-header' } } },
    });
    expect(a.text).toBeTruthy();
    expect(await s.callOf('key-gem-header')).toMatchObject({ apiKeyId: 'routes', user: 'svc-routes' });

    for (const [id, path] of [
      ['key-gem-query', `/v1beta/models/gemini-2.5-flash:generateContent?key=${KEY}`],
      ['key-gem-sse', `/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse&key=${KEY}`],
    ] as const) {
      const r = await post(path, gemini, { 'x-request-id': id });
      expect(r.status, id).toBe(200);
      expect(await s.callOf(id)).toMatchObject({ apiKeyId: 'routes', user: 'svc-routes', status: 'ok' });
    }
    expect(seen.find((r) => r.requestId === 'key-gem-sse')?.url).toBe(
      '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse',
    );
    // countTokens (passed through unrecorded) takes it the same way.
    const count = await post(`/v1beta/models/gemini-2.5-flash:countTokens?key=${KEY}`, gemini, {
      'x-request-id': 'key-gem-count',
    });
    expect(count.status).toBe(200);
    expect(seen.find((r) => r.requestId === 'key-gem-count')?.url).toBe('/v1beta/models/gemini-2.5-flash:countTokens');
    for (const r of seen) expect(`${r.url} ${JSON.stringify(r.headers)}`).not.toContain(KEY);

    // An unknown lsk_ key in the URL is refused in Google's shape.
    const bad = await post('/v1beta/models/gemini-2.5-flash:generateContent?key=lsk_unknown', gemini);
    expect(bad.status).toBe(401);
    expect(bad.body).toMatchObject({ error: { status: 'UNAUTHENTICATED' } });
  });
});
