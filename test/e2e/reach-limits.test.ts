// A virtual key's token limit (tpm) and budgets reserve a call's estimate: its prompt, on the high side, and what it
// may produce. Gemini's max output is in generationConfig.maxOutputTokens (@google/genai's config.maxOutputTokens),
// not in a top-level max_tokens, so a Gemini call asking for more than the key's tpm is refused as too large, in
// Google's error shape, as an Anthropic call with the same max_tokens is. And a Claude Code conversation, dozens of
// tool_use / tool_result blocks long, is estimated near its size, not at a media part's allowance per block.
import Anthropic from '@anthropic-ai/sdk';
import { ApiError, GoogleGenAI } from '@google/genai';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCostModule } from '../../src/cost/index.js';
import { type Stack, simProviders, startStack } from './helpers.js';

const KEY = `lsk_${'g'.repeat(40)}`;
const AGENT_KEY = `lsk_${'c'.repeat(40)}`;
const BROKE_KEY = `lsk_${'b'.repeat(40)}`;
const ENV = 'U3_TEST_GEMINI_LIMIT_KEY';

describe('reach: a key’s tpm takes each format’s own estimate', () => {
  let s: Stack;
  let ai: GoogleGenAI;

  beforeAll(async () => {
    process.env[ENV] = KEY;
    process.env[`${ENV}_AGENT`] = AGENT_KEY;
    process.env[`${ENV}_BROKE`] = BROKE_KEY;
    s = await startStack({
      sim: { ttftMs: 5, tpotMs: 1, outputTokens: 8 },
      config: (sim) => ({
        providers: [
          { name: 'openai-sim', baseUrl: sim.url, models: ['gpt-*'] },
          ...simProviders(sim, 'anthropic', 'gemini'),
        ],
        keys: [
          { id: 'small', keyEnv: ENV, user: 'gina', tpm: 2000 },
          // the docs' example tpm
          { id: 'agent', keyEnv: `${ENV}_AGENT`, user: 'cody', tpm: 200000 },
          // a budget used up at once
          {
            id: 'broke',
            keyEnv: `${ENV}_BROKE`,
            user: 'bea',
            budget: { period: 'day', limit: 0.0000001, action: 'block' },
          },
        ],
      }),
      app: { modules: [createCostModule] },
    });
    ai = new GoogleGenAI({ apiKey: KEY, httpOptions: { baseUrl: s.base } });
  });
  afterAll(async () => {
    await s.close();
    delete process.env[ENV];
    delete process.env[`${ENV}_AGENT`];
    delete process.env[`${ENV}_BROKE`];
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

  it('lets a Claude Code conversation of 80 tool calls (about 11k tokens) through a 200k tpm key', async () => {
    const messages: Anthropic.MessageParam[] = [{ role: 'user', content: 'Fix the failing test in src/app.ts' }];
    for (let i = 0; i < 80; i++) {
      const id = `toolu_${String(i).padStart(4, '0')}`;
      messages.push({
        role: 'assistant',
        content: [
          { type: 'text', text: 'Let me look.' },
          { type: 'tool_use', id, name: 'Read', input: { file_path: '/repo/src/app.ts' } },
        ],
      });
      messages.push({
        role: 'user',
        content: [{ type: 'tool_result', tool_use_id: id, content: 'const a = 1;\n'.repeat(20) }],
      });
    }
    const anthropic = new Anthropic({ baseURL: s.base, apiKey: AGENT_KEY, maxRetries: 0 });
    // Claude Code's max_tokens, streamed as it does; the estimate was 184k prompt tokens before (1100 a block): 'Request too large'
    const r = await anthropic.messages
      .stream({ model: 'claude-sonnet-4-5', max_tokens: 32000, messages })
      .finalMessage();
    expect(r.usage.input_tokens).toBeLessThan(15000);
    expect(r.stop_reason).toBe('end_turn');
  });

  it('a used-up budget and a request too large fail at once in the SDKs (default retries), not after Retry-After', async () => {
    // Retry-After is the time to the budget's reset (hours): the OpenAI and Anthropic SDKs sleep that long before
    // each of their 2 retries unless told not to retry (x-should-retry: false)
    const timeout = <T>(p: Promise<T>) =>
      Promise.race([p, new Promise<string>((r) => setTimeout(() => r('still waiting after 5 s'), 5000))]);
    const anthropic = new Anthropic({ baseURL: s.base, apiKey: BROKE_KEY });
    const a = await timeout(
      anthropic.messages
        .create(
          { model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'Hi' }] },
          { headers: { 'x-request-id': 'broke-anth' } },
        )
        .catch((e: InstanceType<typeof Anthropic.APIError>) => e),
    );
    expect(a).toBeInstanceOf(Anthropic.APIError);
    expect((a as InstanceType<typeof Anthropic.APIError>).headers?.get('x-llmscope-budget')).toBe('key:broke');
    const openai = new OpenAI({ baseURL: `${s.base}/v1`, apiKey: BROKE_KEY });
    const o = await timeout(
      openai.chat.completions
        .create(
          { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] },
          { headers: { 'x-request-id': 'broke-chat' } },
        )
        .catch((e: InstanceType<typeof OpenAI.APIError>) => e),
    );
    expect(o).toBeInstanceOf(OpenAI.APIError);
    expect((o as InstanceType<typeof OpenAI.APIError>).status).toBe(429);
    // one refusal each, not three
    for (const id of ['broke-anth', 'broke-chat'])
      expect(await s.callOf(id)).toMatchObject({ status: 'rate_limited', errorType: 'budget_exceeded' });
    expect(s.calls.filter((c) => c.apiKeyId === 'broke')).toHaveLength(2);
    const big = await new Anthropic({ baseURL: s.base, apiKey: KEY }).messages
      .create({ model: 'claude-sonnet-4-5', max_tokens: 5000, messages: [{ role: 'user', content: 'Hi' }] })
      .catch((e: InstanceType<typeof Anthropic.APIError>) => e);
    expect((big as InstanceType<typeof Anthropic.APIError>).headers?.get('x-should-retry')).toBe('false');
  });
});
