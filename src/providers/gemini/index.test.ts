import { describe, expect, it } from 'vitest';
import { LlmscopeError } from '../../errors.js';
import { geminiAdapter, geminiStreamReader, promptText, responseInfo, usageOf } from './index.js';

describe('gemini adapter', () => {
  it('takes the model and streaming from the path, and builds the upstream path with the routed model', () => {
    expect(geminiAdapter.matchPath?.('/v1beta/models/gemini-2.5-flash:generateContent')).toBe('generate_content');
    expect(geminiAdapter.matchPath?.('/v1beta/models/gemini-2.5-flash')).toBeNull();
    const url = '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse';
    expect(geminiAdapter.requestFacts?.(url)).toEqual({ model: 'gemini-2.5-flash', stream: true });
    expect(geminiAdapter.upstreamPath('generate_content', url, 'gemini-2.5-pro')).toBe(
      '/models/gemini-2.5-pro:streamGenerateContent?alt=sse',
    );
  });

  it('counts thoughts as output and reasoning; promptTokenCount already holds the cached tokens', () => {
    expect(
      usageOf({ promptTokenCount: 100, candidatesTokenCount: 20, thoughtsTokenCount: 30, cachedContentTokenCount: 60 }),
    ).toEqual({
      inputTokens: 100,
      outputTokens: 50,
      cachedInputTokens: 60,
      reasoningTokens: 30,
      cacheWriteInputTokens: 0,
    });
  });

  it('reads text (not thoughts), finish reasons, safety blocks and prompt blocks', () => {
    const body = {
      candidates: [{ content: { parts: [{ text: 'plan', thought: true }, { text: 'Hi' }] }, finishReason: 'STOP' }],
    };
    expect(responseInfo(body)).toMatchObject({ text: 'Hi', finishReason: 'STOP', refusal: null });
    expect(responseInfo({ candidates: [{ finishReason: 'SAFETY' }] }).refusal).toBe('SAFETY');
    expect(responseInfo({ promptFeedback: { blockReason: 'PROHIBITED_CONTENT' } })).toMatchObject({
      refusal: 'PROHIBITED_CONTENT',
      finishReason: 'PROHIBITED_CONTENT',
    });
    const chunk = geminiStreamReader.read(
      JSON.stringify({ candidates: [{ content: { parts: [{ functionCall: { name: 'f' } }] } }] }),
    );
    expect(chunk?.content).toBe(true);
  });

  it('reads the system instruction and contents, marking the model turns', () => {
    const ranges: number[] = [];
    const text = promptText(
      {
        systemInstruction: { parts: [{ text: 'Sys' }] },
        contents: [
          { role: 'user', parts: [{ text: 'Q' }] },
          { role: 'model', parts: [{ text: 'A' }] },
        ],
      },
      'generate_content',
      ranges,
    );
    expect(text).toBe('Sys\nQ\nA\n');
    expect(ranges).toEqual([6, 8]);
  });

  it("renders llmscope's errors in Google's shape", () => {
    const r = geminiAdapter.renderError(new LlmscopeError('LLMSCOPE_ERR_BUDGET_EXCEEDED', 'spent'));
    expect(r).toMatchObject({
      status: 429,
      body: { error: { code: 429, message: 'spent', status: 'RESOURCE_EXHAUSTED' } },
    });
  });
});
