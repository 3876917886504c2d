// The service tier an OpenAI answer reports (top-level `service_tier`) is read with its usage, which carries it to
// pricing: a chat completion, a stream's usage chunk (by the fast reader and the parser alike) and a Responses
// response, streamed (`response.completed`) or not.
import { describe, expect, it } from 'vitest';
import { readEventObject, responseInfo as responsesInfo } from '../openai-responses/index.js';
import { chunkInfo, fastChunkInfo, responseInfo } from './index.js';

const usage = { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 };
const head = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o' };

describe('the service tier read with the usage', () => {
  it('a chat completion', () => {
    const body = { ...head, object: 'chat.completion', choices: [], usage, service_tier: 'flex' };
    expect(responseInfo(body, 'chat.completions').usage?.serviceTier).toBe('flex');
    expect(responseInfo({ ...body, service_tier: undefined }, 'chat.completions').usage?.serviceTier).toBeUndefined();
  });

  it("a stream's usage chunk, the fast reader agreeing with the parser", () => {
    const chunks = [
      // OpenAI's order: the tier before the choices
      JSON.stringify({ ...head, service_tier: 'priority', system_fingerprint: 'fp', choices: [], usage }),
      // after them
      JSON.stringify({ ...head, choices: [], service_tier: 'flex', usage }),
      // written twice: the later one wins, as in JSON.parse
      `{"id":"c","service_tier":"default","choices":[],"service_tier":"flex","usage":${JSON.stringify(usage)}}`,
    ];
    const want = ['priority', 'flex', 'flex'];
    chunks.forEach((data, k) => {
      const fast = fastChunkInfo(data, 'chat.completions');
      expect(fast, data).not.toBeNull();
      expect(fast).toEqual(chunkInfo(JSON.parse(data), 'chat.completions'));
      expect(fast?.usage?.serviceTier, data).toBe(want[k]);
    });
    // a content chunk (no usage) carries no tier
    const content = JSON.stringify({
      ...head,
      service_tier: 'flex',
      choices: [{ index: 0, delta: { content: 'hi' }, finish_reason: null }],
      usage: null,
    });
    expect(fastChunkInfo(content, 'chat.completions')?.usage).toBeNull();
  });

  it('a Responses response, streamed or not', () => {
    const response = {
      id: 'resp_1',
      object: 'response',
      status: 'completed',
      output: [],
      service_tier: 'flex',
      usage: { input_tokens: 10, output_tokens: 5, total_tokens: 15 },
    };
    expect(responsesInfo(response).usage?.serviceTier).toBe('flex');
    const done = readEventObject({ type: 'response.completed', response: { ...response, service_tier: 'priority' } });
    expect(done.usage?.serviceTier).toBe('priority');
  });
});
