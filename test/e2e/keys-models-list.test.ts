// The model list seen through a virtual key with `models` (as LiteLLM does): GET /v1/models lists only the models the
// key may call (names or patterns, matched as its calls are), and GET /v1/models/{id} of another is 404
// model_not_found, in OpenAI's shape (the official client) and Anthropic's. Without a key, or with a key without
// models, the list is the whole one; an unknown lsk_ key is refused.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCostModule, hashKey } from '../../src/cost/index.js';
import { jsonCall, type Stack, simProviders, startStack } from './helpers.js';

const LIMITED = 'lsk_e2e_models_list_limited_0123456789ab';
const OPEN = 'lsk_e2e_models_list_open_0123456789abcdef';

let s: Stack;
beforeAll(async () => {
  s = await startStack({
    sim: { ttftMs: 1, tpotMs: 1, outputTokens: 4 },
    config: (sim) => ({
      gpu: { collector: 'none' },
      providers: simProviders(sim, 'openai', 'anthropic'),
      routes: [{ model: 'house-model', provider: 'openai-sim', upstreamModel: 'gpt-4o' }],
      keys: [
        { id: 'limited', hash: hashKey(LIMITED), models: ['GPT-4.1*', 'text-embedding-3-small'] },
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
    expect(await ids(LIMITED)).toEqual(['gpt-4.1', 'gpt-4.1-mini', 'text-embedding-3-small']);
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
      'gpt-4.1',
      'gpt-4.1-mini',
      'text-embedding-3-small',
    ]);
    const one = await jsonCall(s.base, 'GET', '/v1/models/claude-sonnet-4', undefined, headers);
    expect(one.status).toBe(404);
    expect(one.body).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
  });

  it('refuses an unknown lsk_ key', async () => {
    const err = await client('lsk_e2e_models_list_unknown_0123456789')
      .models.list()
      .catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
  });
});
