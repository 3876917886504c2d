// A chat completions or completions stream that fails after it began: OpenAI (and vLLM, LiteLLM) send the error as
// an event, `data: {"error": {...}}`, on a stream answered 200, and the openai SDK raises it as an APIError. The
// client gets the same bytes as direct, and the call is recorded as failed (upstream_error, with the error's type)
// with the tokens streamed before it, as a Responses `response.failed` or an Anthropic `event: error` is; it was
// recorded `ok` before.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './helpers.js';

describe('reach: an error event in a chat completions stream', () => {
  let s: Stack;

  beforeAll(async () => {
    s = await startStack({ sim: { ttftMs: 5, tpotMs: 1, outputTokens: 8 } });
  });
  afterAll(() => s.close());

  const streamed = async (base: string, id: string, endpoint: 'chat' | 'completions') => {
    const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'sk-test', maxRetries: 0 });
    const headers = { 'x-simulator-stream-error': 'server_error', 'x-request-id': id };
    const text: string[] = [];
    try {
      if (endpoint === 'chat') {
        const stream = await client.chat.completions.create(
          { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }], stream: true },
          { headers },
        );
        for await (const c of stream) text.push(c.choices[0]?.delta.content ?? '');
      } else {
        const stream = await client.completions.create(
          { model: 'gpt-3.5-turbo-instruct', prompt: 'Hi', stream: true },
          { headers },
        );
        for await (const c of stream) text.push(c.choices[0]?.text ?? '');
      }
    } catch (err) {
      return { text: text.join(''), err: err as InstanceType<typeof OpenAI.APIError> };
    }
    throw new Error('the stream did not fail');
  };

  it.each(['chat', 'completions'] as const)(
    '%s: the SDK raises the same error; the call is upstream_error',
    async (endpoint) => {
      const direct = await streamed(s.sim.url.replace(/\/v1$/, ''), `d-${endpoint}`, endpoint);
      const via = await streamed(s.base, `err-${endpoint}`, endpoint);
      expect(via.err).toBeInstanceOf(OpenAI.APIError);
      expect([via.text, via.err.constructor, via.err.error]).toEqual([
        direct.text,
        direct.err.constructor,
        direct.err.error,
      ]);
      expect(via.text.length).toBeGreaterThan(0);

      const call = await s.callOf(`err-${endpoint}`);
      expect({ status: call.status, http: call.httpStatus, type: call.errorType, message: call.errorMessage }).toEqual({
        status: 'upstream_error',
        http: 200,
        type: 'server_error',
        // what the stream said of it, for the request page
        message: 'The server had an error while processing your request. Sorry about that!',
      });
      // what streamed before the error was output all the same (4 of the 8 tokens)
      expect(call.outputTokens).toBe(4);
      expect(call.ttftMs).not.toBeNull();
    },
  );
});
