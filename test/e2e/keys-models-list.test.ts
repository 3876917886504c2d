// The model list seen through a virtual key with `models` (as LiteLLM does): GET /v1/models lists only the models the
// key may call (names or patterns, matched as its calls are), and GET /v1/models/{id} of another is 404
// model_not_found, in OpenAI's shape (the official client) and Anthropic's; Gemini's GET /v1beta/models likewise, in
// Google's shape. Without a key, or with a key without
// models, the list is the whole one; an unknown lsk_ key is refused.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCostModule, hashKey } from '../../src/cost/index.js';
import { SIMULATOR_DEFAULTS } from '../../src/simulator/index.js';
import { jsonCall, type Stack, simProviders, startStack } from './helpers.js';

const LIMITED = 'lsk_e2e_models_list_limited_0123456789ab';
const OPEN = 'lsk_e2e_models_list_open_0123456789abcdef';

let s: Stack;
beforeAll(async () => {
  s = await startStack({
    sim: {
      ttftMs: 1,
      tpotMs: 1,
      outputTokens: 4,
      models: [...SIMULATOR_DEFAULTS.models, 'gemini-2.5-flash', 'gemini-2.5-pro'],
    },
    config: (sim) => ({
      gpu: { collector: 'none' },
      providers: simProviders(sim, 'openai', 'anthropic', 'gemini'),
      routes: [{ model: 'house-model', provider: 'openai-sim', upstreamModel: 'gpt-4o' }],
      keys: [
        { id: 'limited', hash: hashKey(LIMITED), models: ['GPT-4.1*', 'text-embedding-3-small', 'gemini-2.?-flash'] },
        { id: 'open', hash: hashKey(OPEN) },
      ],
    }),
    app: { modules: [createCostModule] },
  });
});
afterAll(async () => {
  await s?.close();
});

const client = (key: string) => new OpenAI({ baseURL: `${s.base}/v1`, apiKey: key, maxRetries: 0 });
const ids = async (key: string) => {
  const out: string[] = [];
  for await (const m of client(key).models.list()) out.push(m.id);
  return out.sort();
};

describe('GET /v1/models with a virtual key', () => {
  it('lists only the key’s models (patterns in any case), the whole list otherwise', async () => {
    expect(await ids(LIMITED)).toEqual(['gemini-2.5-flash', 'gpt-4.1', 'gpt-4.1-mini', 'text-embedding-3-small']);
    const all = await ids(OPEN);
    expect(all).toContain('gpt-4o');
    expect(all).toContain('house-model');
    expect(all).toContain('gpt-4.1-mini');
    const anonymous = await jsonCall(s.base, 'GET', '/v1/models');
    expect(anonymous.status).toBe(200);
    expect((anonymous.body.data as { id: string }[]).map((m) => m.id).sort()).toEqual(all);
  });

  it('answers another model 404 model_not_found; an allowed one as listed', async () => {
    const c = client(LIMITED);
    expect((await c.models.retrieve('gpt-4.1-mini')).id).toBe('gpt-4.1-mini');
    const err = await c.models.retrieve('gpt-4o').catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect(err.code).toBe('model_not_found');
    const alias = await c.models.retrieve('house-model').catch((e) => e);
    expect(alias).toBeInstanceOf(OpenAI.NotFoundError);
    expect((await client(OPEN).models.retrieve('house-model')).id).toBe('house-model');
  });

  it('holds for an Anthropic client, in Anthropic’s shape', async () => {
    const headers = { 'x-api-key': LIMITED, 'anthropic-version': '2023-06-01' };
    const list = await jsonCall(s.base, 'GET', '/v1/models', undefined, headers);
    expect(list.status).toBe(200);
    expect((list.body.data as { id: string }[]).map((m) => m.id).sort()).toEqual([
      'gemini-2.5-flash',
      'gpt-4.1',
      'gpt-4.1-mini',
      'text-embedding-3-small',
    ]);
    const one = await jsonCall(s.base, 'GET', '/v1/models/claude-sonnet-4', undefined, headers);
    expect(one.status).toBe(404);
    expect(one.body).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
  });

  it('holds for Gemini’s GET /v1beta/models, in Google’s shape', async () => {
    const names = async (key: string) => {
      const r = await jsonCall(s.base, 'GET', '/v1beta/models', undefined, { 'x-goog-api-key': key });
      expect(r.status).toBe(200);
      return (r.body.models as { name: string }[]).map((m) => m.name).sort();
    };
    expect(await names(LIMITED)).toEqual([
      'models/gemini-2.5-flash',
      'models/gpt-4.1',
      'models/gpt-4.1-mini',
      'models/text-embedding-3-small',
    ]);
    expect(await names(OPEN)).toContain('models/gemini-2.5-pro');
    const ok = await jsonCall(s.base, 'GET', '/v1beta/models/gemini-2.5-flash', undefined, {
      'x-goog-api-key': LIMITED,
    });
    expect(ok.status).toBe(200);
    expect(ok.body.name).toBe('models/gemini-2.5-flash');
    const no = await jsonCall(s.base, 'GET', '/v1beta/models/gemini-2.5-pro', undefined, { 'x-goog-api-key': LIMITED });
    expect(no.status).toBe(404);
    expect(no.body).toMatchObject({ error: { code: 404, status: 'NOT_FOUND' } });
    // a call to it is still refused 403, as before
    const call = await jsonCall(
      s.base,
      'POST',
      '/v1beta/models/gemini-2.5-pro:generateContent',
      { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] },
      { 'x-goog-api-key': LIMITED },
    );
    expect(call.status).toBe(403);
  });

  it('refuses an unknown lsk_ key', async () => {
    const err = await client('lsk_e2e_models_list_unknown_0123456789')
      .models.list()
      .catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
  });
});
