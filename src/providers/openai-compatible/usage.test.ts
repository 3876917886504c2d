import { describe, expect, it } from 'vitest';
import { promptText, usageOf, withoutRanges } from './index.js';

describe('usageOf', () => {
  it('reads OpenAI chat usage, cached and reasoning tokens included', () => {
    expect(
      usageOf({
        prompt_tokens: 1200,
        completion_tokens: 300,
        prompt_tokens_details: { cached_tokens: 1024 },
        completion_tokens_details: { reasoning_tokens: 200 },
      }),
    ).toEqual({
      inputTokens: 1200,
      outputTokens: 300,
      cachedInputTokens: 1024,
      reasoningTokens: 200,
      cacheWriteInputTokens: 0,
    });
  });

  it("reads DeepSeek's cache hits (prompt_cache_hit_tokens, part of prompt_tokens) as cached input", () => {
    expect(
      usageOf({
        prompt_tokens: 1200,
        prompt_cache_hit_tokens: 1024,
        prompt_cache_miss_tokens: 176,
        completion_tokens: 300,
        completion_tokens_details: { reasoning_tokens: 120 },
      }),
    ).toEqual({
      inputTokens: 1200,
      outputTokens: 300,
      cachedInputTokens: 1024,
      reasoningTokens: 120,
      cacheWriteInputTokens: 0,
    });
  });

  it("reads the Responses API's names, where input_tokens already counts the cached ones", () => {
    expect(usageOf({ input_tokens: 1200, output_tokens: 30, input_tokens_details: { cached_tokens: 1000 } })).toEqual({
      inputTokens: 1200,
      outputTokens: 30,
      cachedInputTokens: 1000,
      reasoningTokens: 0,
      cacheWriteInputTokens: 0,
    });
  });

  it("adds Anthropic's cache reads and writes to its input_tokens, which leaves them out", () => {
    expect(
      usageOf({
        input_tokens: 10,
        cache_read_input_tokens: 5000,
        cache_creation_input_tokens: 2000,
        output_tokens: 5,
      }),
    ).toEqual({
      inputTokens: 7010,
      outputTokens: 5,
      cachedInputTokens: 5000,
      reasoningTokens: 0,
      cacheWriteInputTokens: 2000,
    });
  });

  it("takes the cached count from Anthropic's field when prompt_tokens (which includes it) is given too", () => {
    expect(usageOf({ prompt_tokens: 5010, completion_tokens: 5, cache_read_input_tokens: 5000 })).toEqual({
      inputTokens: 5010,
      outputTokens: 5,
      cachedInputTokens: 5000,
      reasoningTokens: 0,
      cacheWriteInputTokens: 0,
    });
  });

  it('reads embeddings usage (no completion tokens) and gives null for no usage', () => {
    expect(usageOf({ prompt_tokens: 8, total_tokens: 8 })).toEqual({
      inputTokens: 8,
      outputTokens: 0,
      cachedInputTokens: 0,
      reasoningTokens: 0,
      cacheWriteInputTokens: 0,
    });
    expect(usageOf(null)).toBeNull();
    expect(usageOf({ total_tokens: 3 })).toBeNull();
  });
});

describe('promptText and the assistant ranges', () => {
  const body = {
    messages: [
      { role: 'system', content: 'Sources: opened in 1937.' },
      { role: 'user', content: 'When did it open?' },
      { role: 'assistant', content: 'It opened in 1952.' },
      { role: 'user', content: [{ type: 'text', text: 'Sure?' }] },
    ],
  };
  it('counts every message for tokens, but leaves the model’s own turns out of the evidence', () => {
    const ranges: number[] = [];
    const text = promptText(body, 'chat.completions', ranges);
    expect(text).toBe('Sources: opened in 1937.\nWhen did it open?\nIt opened in 1952.\nSure?\n');
    expect(withoutRanges(text, ranges)).toBe('Sources: opened in 1937.\nWhen did it open?\nSure?\n');
    const none: number[] = [];
    promptText({ messages: body.messages.slice(0, 2) }, 'chat.completions', none);
    expect(none).toEqual([]);
    const completions: number[] = [];
    expect(promptText({ prompt: 'x' }, 'completions', completions)).toBe('x');
    expect(completions).toEqual([]);
  });
});
