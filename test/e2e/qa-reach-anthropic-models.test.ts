// GET /v1/models and /v1/models/{id} are llmscope's own answer (the union of the providers' lists), which
// @anthropic-ai/sdk calls too (models.list, models.retrieve). Its errors there came in OpenAI's shape, so the SDK's
// APIError carried an OpenAI body ({"error": {"type": "invalid_request_error"}}) where every other error of the
// Anthropic routes is Anthropic's ({"type": "error", "error": {"type": "not_found_error"}}).
import Anthropic, { NotFoundError } from '@anthropic-ai/sdk';
import OpenAI, { NotFoundError as OpenAINotFound } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './helpers.js';

describe('reach: llmscope’s model list answers an Anthropic client’s errors in Anthropic’s shape', () => {
  let s: Stack;

  beforeAll(async () => {
    s = await startStack({
      config: (sim) => ({
        providers: [
          { name: 'openai-sim', baseUrl: sim.url },
          { name: 'anthropic-sim', type: 'anthropic', baseUrl: sim.url, models: ['claude-*'] },
        ],
      }),
    });
  });
  afterAll(() => s.close());

  it('models.retrieve of an unknown model: 404 not_found_error for the Anthropic SDK, OpenAI’s shape for OpenAI’s', async () => {
    const anthropic = new Anthropic({ baseURL: s.base, apiKey: 'sk-ant-not-real', maxRetries: 0 });
    const err = await anthropic.models.retrieve('no-such-model').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    const e = err as NotFoundError;
    expect(e.status).toBe(404);
    expect(e.error).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
    expect(e.message).toMatch(/no-such-model/);
    // a listed one is still answered
    expect((await anthropic.models.list()).data.length).toBeGreaterThan(0);

    const openai = new OpenAI({ baseURL: `${s.base}/v1`, apiKey: 'sk-not-real', maxRetries: 0 });
    const oe = await openai.models.retrieve('no-such-model').catch((x: unknown) => x);
    expect(oe).toBeInstanceOf(OpenAINotFound);
    expect((oe as OpenAINotFound).error).toMatchObject({ code: 'model_not_found' });
  });

  it('a method the list does not take: 405 in Anthropic’s shape, with Allow', async () => {
    const r = await fetch(`${s.base}/v1/models`, { method: 'POST', headers: { 'anthropic-version': '2023-06-01' } });
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toBe('GET, HEAD');
    expect(await r.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
  });
});
