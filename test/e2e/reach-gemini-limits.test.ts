// A virtual key's token limit (tpm) and budgets reserve what a call may produce: its max output tokens. Gemini's is
// in generationConfig.maxOutputTokens (@google/genai's config.maxOutputTokens), not in a top-level max_tokens, so
// a Gemini call asking for more than the key's tpm is refused as too large, in Google's error shape, as an
// Anthropic call with the same max_tokens is.
import Anthropic from '@anthropic-ai/sdk';
import { ApiError, GoogleGenAI } from '@google/genai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCostModule } from '../../src/cost/index.js';
import { type Stack, startStack } from './helpers.js';

const KEY = `lsk_${'g'.repeat(40)}`;
const ENV = 'U3_TEST_GEMINI_LIMIT_KEY';

describe('reach: a key’s tpm counts a Gemini call’s maxOutputTokens', () => {
  let s: Stack;
  let ai: GoogleGenAI;

  beforeAll(async () => {
    process.env[ENV] = KEY;
    s = await startStack({
      sim: { ttftMs: 5, tpotMs: 1, outputTokens: 8 },
      config: (sim) => ({
        providers: [
          { name: 'anthropic-sim', type: 'anthropic', baseUrl: sim.url, models: ['claude-*'] },
          { name: 'gemini-sim', type: 'gemini', baseUrl: sim.url.replace(/\/v1$/, '/v1beta'), models: ['gemini-*'] },
        ],
        keys: [{ id: 'small', keyEnv: ENV, user: 'gina', tpm: 2000 }],
      }),
      app: { modules: [createCostModule] },
    });
    ai = new GoogleGenAI({ apiKey: KEY, httpOptions: { baseUrl: s.base } });
  });
  afterAll(async () => {
    await s.close();
    delete process.env[ENV];
  });

  it('refuses a call whose maxOutputTokens alone is over the tpm, as for Anthropic’s max_tokens', async () => {
    const anthropic = new Anthropic({ baseURL: s.base, apiKey: KEY, maxRetries: 0 });
    const a = await anthropic.messages
      .create({ model: 'claude-sonnet-4-5', max_tokens: 5000, messages: [{ role: 'user', content: 'Hi' }] })
      .catch((e: unknown) => e as { status?: number });
    expect(a).toMatchObject({ status: 429 });

    const err = await ai.models
      .generateContent({ model: 'gemini-2.5-flash', contents: 'Hi', config: { maxOutputTokens: 5000 } })
      .then(() => null)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(429);
    const body = JSON.parse((err as ApiError).message) as { error: { status: string; message: string } };
    expect(body.error.status).toBe('RESOURCE_EXHAUSTED');
    expect(body.error.message).toMatch(/Request too large .* Limit 2000/);
  });

  it('lets a call with a small maxOutputTokens through', async () => {
    const r = await ai.models.generateContent({
      model: 'gemini-2.5-flash',
      contents: 'Hi',
      config: { maxOutputTokens: 100 },
    });
    expect(r.usageMetadata?.candidatesTokenCount).toBe(8);
  });
});
