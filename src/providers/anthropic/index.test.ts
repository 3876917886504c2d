import { describe, expect, it } from 'vitest';
import { LlmscopeError } from '../../errors.js';
import { AnthropicStreamReader, promptText, renderError, responseInfo, usageOf } from './index.js';

const read = (r: AnthropicStreamReader, o: unknown) => r.read(JSON.stringify(o));

describe('anthropic adapter', () => {
  it('counts every prompt token as input: uncached + cache reads + cache writes', () => {
    expect(
      usageOf({ input_tokens: 10, cache_read_input_tokens: 500, cache_creation_input_tokens: 200, output_tokens: 7 }),
    ).toEqual({
      inputTokens: 710,
      outputTokens: 7,
      cachedInputTokens: 500,
      reasoningTokens: 0,
      cacheWriteInputTokens: 200,
    });
  });

  it("reads the 1-hour part of cache writes from cache_creation, and keeps message_start's when message_delta omits it", () => {
    const cc = { ephemeral_5m_input_tokens: 50, ephemeral_1h_input_tokens: 150 };
    const u = { input_tokens: 10, cache_creation_input_tokens: 200, cache_creation: cc, output_tokens: 7 };
    expect(usageOf(u)).toMatchObject({ cacheWriteInputTokens: 200, cacheWrite1hInputTokens: 150 });
    expect(usageOf({ ...u, cache_creation: { ephemeral_1h_input_tokens: 0 } })).not.toHaveProperty(
      'cacheWrite1hInputTokens',
    );
    const r = new AnthropicStreamReader();
    read(r, { type: 'message_start', message: { usage: { ...u, output_tokens: 1 } } });
    const end = read(r, { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 9 } });
    expect(end?.usage).toMatchObject({ cacheWriteInputTokens: 200, cacheWrite1hInputTokens: 150, outputTokens: 9 });
    const again = read(r, {
      type: 'message_delta',
      delta: {},
      usage: { output_tokens: 9, cache_creation_input_tokens: 200, cache_creation: { ephemeral_1h_input_tokens: 0 } },
    });
    expect(again?.usage).not.toHaveProperty('cacheWrite1hInputTokens');
  });

  it('merges message_start and message_delta usage; output is unknown until message_delta', () => {
    const r = new AnthropicStreamReader();
    const start = read(r, {
      type: 'message_start',
      message: {
        usage: { input_tokens: 5, cache_read_input_tokens: 3, cache_creation_input_tokens: 2, output_tokens: 1 },
      },
    });
    expect(start?.usage).toMatchObject({ inputTokens: 10, outputTokens: null, cacheWriteInputTokens: 2 });
    expect(start?.content).toBe(false);
    const delta = read(r, { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hi' } });
    expect(delta).toMatchObject({ text: 'Hi', content: true });
    expect(
      read(r, { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{' } })
        ?.content,
    ).toBe(true);
    const end = read(r, { type: 'message_delta', delta: { stop_reason: 'refusal' }, usage: { output_tokens: 9 } });
    expect(end?.usage).toEqual({
      inputTokens: 10,
      outputTokens: 9,
      cachedInputTokens: 3,
      reasoningTokens: 0,
      cacheWriteInputTokens: 2,
    });
    expect(end?.finishReason).toBe('refusal');
    expect(end?.refusal).not.toBeNull();
    expect(read(r, { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } })?.error).toBe(
      'overloaded_error',
    );
    expect(r.read('not json')).toBeNull();
  });

  it('reads a message body: text blocks, stop_reason, refusal', () => {
    const info = responseInfo({
      content: [
        { type: 'text', text: 'a' },
        { type: 'tool_use', id: 't', name: 'x', input: {} },
        { type: 'text', text: 'b' },
      ],
      stop_reason: 'tool_use',
      usage: { input_tokens: 1, output_tokens: 2 },
    });
    expect(info).toMatchObject({ text: 'ab', finishReason: 'tool_use', refusal: null });
    expect(responseInfo({ content: [], stop_reason: 'refusal' }).refusal).not.toBeNull();
  });

  it('reads the system prompt, string and block contents and tool results, marking assistant turns', () => {
    const ranges: number[] = [];
    const text = promptText(
      {
        system: [{ type: 'text', text: 'Sys' }],
        messages: [
          { role: 'user', content: 'Q' },
          { role: 'assistant', content: [{ type: 'text', text: 'A' }] },
          {
            role: 'user',
            content: [{ type: 'tool_result', tool_use_id: 't', content: [{ type: 'text', text: 'R' }] }],
          },
        ],
      },
      'messages',
      ranges,
    );
    expect(text).toBe('Sys\nQ\nA\nR\n');
    expect(ranges).toEqual([6, 8]);
  });

  it("renders llmscope's errors in Anthropic's shape with the same status", () => {
    const r = renderError(new LlmscopeError('LLMSCOPE_ERR_BUDGET_EXCEEDED', 'budget "team" is spent'));
    expect(r.status).toBe(429);
    expect(r.body).toEqual({ type: 'error', error: { type: 'rate_limit_error', message: 'budget "team" is spent' } });
    expect(renderError(new Error('boom')).body).toMatchObject({ type: 'error', error: { type: 'api_error' } });
  });
});
