// A virtual key's model allow-list (`models`), with the official OpenAI client against the simulator: a key
// limited to some models calls them, and is refused any other with 403 model_not_allowed before the upstream is
// asked, in each route's own error shape (OpenAI's, Anthropic's, Gemini's); the refusal is recorded with the key's
// attribution. Patterns are the routes' globs. Config keys take `models` too; rotating a key keeps it.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createCostModule, hashKey } from '../../src/cost/index.js';
import type { RequestRecord } from '../../src/simulator/index.js';
import { jsonCall, type Stack, simProviders, startStack, until } from './helpers.js';

const CONFIG_KEY = 'lsk_e2e_models_config_0123456789abcdef';

let s: Stack;
const seen: RequestRecord[] = [];
beforeAll(async () => {
  s = await startStack({
    sim: { ttftMs: 1, tpotMs: 1, outputTokens: 4 },
    config: (sim) => ({
      gpu: { collector: 'none' },
      providers: simProviders(sim, 'openai', 'anthropic', 'gemini'),
      keys: [{ id: 'cfg-mini', hash: hashKey(CONFIG_KEY), team: 'cfg', models: ['gpt-4o-mini'] }],
    }),
    app: { modules: [createCostModule] },
  });
  s.sim.events.on('request', (r) => seen.push(r));
});
afterAll(async () => {
  await s?.close();
});

const api = (method: 'GET' | 'POST', path: string, body?: unknown) => jsonCall(s.base, method, path, body);
const post = (path: string, body: unknown, headers: Record<string, string>) =>
  jsonCall(s.base, 'POST', path, body, headers);

const client = (key: string) => new OpenAI({ baseURL: `${s.base}/v1`, apiKey: key, maxRetries: 0 });
const chat = (c: OpenAI, model: string, id: string) =>
  c.chat.completions.create(
    { model, messages: [{ role: 'user', content: 'hello there' }] },
    { headers: { 'x-request-id': id } },
  );

describe('a virtual key’s models', () => {
  let key: string;
  let keyId: string;

  it('is stored and listed; an allowed model passes, another is refused 403 model_not_allowed in OpenAI’s shape', async () => {
    const c = await api('POST', '/api/keys', {
      name: 'cheap',
      user: 'svc-cheap',
      team: 'search',
      models: ['gpt-4o-mini', 'claude-*', 'gemini-2.?-flash', 'text-embedding-3-small'],
    });
    expect(c.status).toBe(201);
    expect(c.body.models).toEqual(['gpt-4o-mini', 'claude-*', 'gemini-2.?-flash', 'text-embedding-3-small']);
    key = c.body.key as string;
    keyId = c.body.id as string;
    const list = await api('GET', '/api/keys');
    const listed = (list.body.keys as { name: string; models: string[] }[]).find((k) => k.name === 'cheap');
    expect(listed?.models).toEqual(['gpt-4o-mini', 'claude-*', 'gemini-2.?-flash', 'text-embedding-3-small']);

    const oa = client(key);
    const ok = await chat(oa, 'gpt-4o-mini', 'models-ok');
    expect(ok.choices[0]?.message.content).toBeTruthy();
    const emb = await oa.embeddings.create({ model: 'text-embedding-3-small', input: 'hi' });
    expect(emb.data.length).toBe(1);

    const err = await chat(oa, 'gpt-4o', 'models-refused').catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(err.status).toBe(403);
    expect(err.code).toBe('model_not_allowed');
    expect(err.type).toBe('permission_error');
    expect(err.param).toBe('model');
    expect(err.message).toContain('"gpt-4o"');
    expect(err.message).toContain('"cheap"');
    expect(err.message).not.toContain(key);
    const resp = await oa.responses.create({ model: 'gpt-4o-mini', input: 'hi' });
    expect(resp.output_text.length).toBeGreaterThan(0);
    const respErr = await oa.responses.create({ model: 'o3', input: 'hi' }).catch((e) => e);
    expect(respErr).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(respErr.code).toBe('model_not_allowed');
    const embErr = await oa.embeddings.create({ model: 'text-embedding-3-large', input: 'hi' }).catch((e) => e);
    expect(embErr).toBeInstanceOf(OpenAI.PermissionDeniedError);
    // refused before the upstream, and recorded with the key's attribution like the key's other refusals
    expect(seen.some((r) => r.requestId === 'models-refused')).toBe(false);
    expect(seen.some((r) => r.requestId === 'models-ok')).toBe(true);
    const refused = await s.callOf('models-refused');
    expect(refused).toMatchObject({
      httpStatus: 403,
      status: 'client_error',
      errorType: 'model_not_allowed',
      apiKeyId: keyId,
      user: 'svc-cheap',
      team: 'search',
      model: 'gpt-4o',
    });
    // a key without models still calls anything
    const open = await api('POST', '/api/keys', { name: 'open' });
    expect(open.body.models).toEqual([]);
    expect((await chat(client(open.body.key as string), 'gpt-4o', 'models-open')).choices.length).toBe(1);
  });

  it('matches patterns (any case) and answers /v1/messages and Gemini in their own shapes', async () => {
    const messages = (model: string) => ({ model, max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] });
    const anthHeaders = { 'x-api-key': key, 'anthropic-version': '2023-06-01' };
    const a = await post('/v1/messages', messages('claude-sonnet-4-5'), anthHeaders);
    expect(a.status).toBe(200);
    expect(a.body.type).toBe('message');
    const upper = await post('/v1/messages', messages('Claude-Haiku-4-5'), anthHeaders);
    expect(upper.status).toBe(200);

    const ref = await post('/v1/messages', messages('opus-4'), { ...anthHeaders, 'x-request-id': 'models-anth' });
    expect(ref.status).toBe(403);
    expect(ref.body).toMatchObject({ type: 'error', error: { type: 'permission_error' } });
    expect((ref.body.error as { message: string }).message).toContain('"opus-4"');
    expect(seen.some((r) => r.requestId === 'models-anth')).toBe(false);

    const gemini = { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] };
    const g = await post('/v1beta/models/gemini-2.5-flash:generateContent', gemini, { 'x-goog-api-key': key });
    expect(g.status).toBe(200);
    const gs = await post('/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse', gemini, {
      'x-goog-api-key': key,
    });
    expect(gs.status).toBe(200);
    expect(gs.body.text).toContain('data: ');
    const gp = await post('/v1beta/models/gemini-2.5-pro:generateContent', gemini, { 'x-goog-api-key': key });
    expect(gp.status).toBe(403);
    expect(gp.body).toMatchObject({ error: { code: 403, status: 'PERMISSION_DENIED' } });
    expect((gp.body.error as { message: string }).message).toContain('"gemini-2.5-pro"');
  });

  it('refuses a Realtime session for a model outside the list before it is upgraded', async () => {
    const answer = await new Promise<{ status: number; body: { error: { code: string; message: string } } }>(
      (ok, fail) => {
        const ws = new WebSocket(`${s.base.replace(/^http/, 'ws')}/v1/realtime?model=gpt-realtime`, ['realtime'], {
          headers: { authorization: `Bearer ${key}` },
        });
        ws.on('unexpected-response', (_req, res) => {
          let body = '';
          res.on('data', (c: Buffer) => {
            body += c;
          });
          res.on('end', () => ok({ status: res.statusCode ?? 0, body: JSON.parse(body) }));
        });
        ws.on('open', () => {
          ws.close();
          fail(new Error('upgraded'));
        });
        ws.on('error', () => undefined);
      },
    );
    expect(answer.status).toBe(403);
    expect(answer.body.error.code).toBe('model_not_allowed');
    expect(answer.body.error.message).toContain('"gpt-realtime"');
  });

  it('keeps models through rotation', async () => {
    const rot = await api('POST', `/api/keys/${keyId}/rotate`);
    expect(rot.status).toBe(200);
    expect(rot.body.models).toEqual(['gpt-4o-mini', 'claude-*', 'gemini-2.?-flash', 'text-embedding-3-small']);
    const oa = client(rot.body.key as string);
    expect((await chat(oa, 'gpt-4o-mini', 'models-rot-ok')).choices.length).toBe(1);
    const err = await chat(oa, 'gpt-4o', 'models-rot-refused').catch((e) => e);
    expect(err.status).toBe(403);
    expect(err.code).toBe('model_not_allowed');
  });

  it('holds for a config key with models', async () => {
    const oa = client(CONFIG_KEY);
    expect((await chat(oa, 'gpt-4o-mini', 'models-cfg-ok')).choices.length).toBe(1);
    const err = await chat(oa, 'gpt-4o', 'models-cfg-refused').catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(err.code).toBe('model_not_allowed');
    expect(err.message).toContain('"cfg-mini"');
    const list = await api('GET', '/api/keys');
    const cfg = (list.body.keys as { name: string; source: string; models: string[] }[]).find(
      (k) => k.name === 'cfg-mini',
    );
    expect(cfg).toMatchObject({ source: 'config', models: ['gpt-4o-mini'] });
    const rec = await until(async () => {
      const c = await s.callOf('models-cfg-refused');
      return c.errorType ? c : null;
    });
    expect(rec).toMatchObject({ apiKeyId: 'cfg-mini', team: 'cfg', errorType: 'model_not_allowed' });
  });
});
