// A rate limit the provider reports inside a stream that began with 200 (Anthropic's `event: error` of type
// rate_limit_error, OpenAI's chat `data: {"error": {"type": "requests", "code": "rate_limit_exceeded"}}`, a Responses
// response.failed with code rate_limit_exceeded) was recorded `upstream_error`, while the same rate limit answered as
// HTTP 429 is `rate_limited`. The official clients stream from the simulator, which reports each half-way.
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './helpers.js';

describe('reach: a rate limit reported inside a stream is recorded rate_limited, as its 429 is', () => {
  let s: Stack;
  let openai: OpenAI;
  let anthropic: Anthropic;

  beforeAll(async () => {
    s = await startStack({
      sim: { ttftMs: 5, tpotMs: 1, outputTokens: 6 },
      config: (sim) => ({
        providers: [
          { name: 'openai-sim', baseUrl: sim.url },
          { name: 'anthropic-sim', type: 'anthropic', baseUrl: sim.url, models: ['claude-*'] },
        ],
      }),
    });
    openai = new OpenAI({ baseURL: `${s.base}/v1`, apiKey: 'sk-not-real', maxRetries: 0 });
    anthropic = new Anthropic({ baseURL: s.base, apiKey: 'sk-ant-not-real', maxRetries: 0 });
  });
  afterAll(() => s.close());

  const failed = async (iterate: () => Promise<void>) => {
    const err = await iterate().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
  };

  it('chat completions: the error object with code rate_limit_exceeded', async () => {
    await failed(async () => {
      const stream = await openai.chat.completions.create(
        { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }], stream: true },
        { headers: { 'x-simulator-stream-error': 'rate_limit_exceeded', 'x-request-id': 'rl-chat' } },
      );
      for await (const _ of stream);
    });
    const c = await s.callOf('rl-chat');
    expect(c).toMatchObject({ status: 'rate_limited', httpStatus: 200, errorType: 'requests' });
    expect(c.errorMessage).toMatch(/Rate limit reached/);
  });

  it('Anthropic: event error of type rate_limit_error; overloaded_error stays upstream_error, as its 529 is', async () => {
    const stream = (id: string, type: string) =>
      failed(async () => {
        const st = anthropic.messages.stream(
          { model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'Hi' }] },
          { headers: { 'x-simulator-stream-error': type, 'x-request-id': id } },
        );
        for await (const _ of st);
      });
    await stream('rl-anthropic', 'rate_limit_error');
    expect(await s.callOf('rl-anthropic')).toMatchObject({ status: 'rate_limited', errorType: 'rate_limit_error' });
    await stream('ol-anthropic', 'overloaded_error');
    expect(await s.callOf('ol-anthropic')).toMatchObject({ status: 'upstream_error', errorType: 'overloaded_error' });
  });

  it('Responses: response.failed with code rate_limit_exceeded; server_error stays upstream_error', async () => {
    const stream = async (id: string, code: string) => {
      const st = await openai.responses.create(
        { model: 'gpt-4o-mini', input: 'Hi', stream: true },
        { headers: { 'x-simulator-stream-error': code, 'x-request-id': id } },
      );
      let last = '';
      for await (const e of st) last = e.type;
      expect(last).toBe('response.failed');
    };
    await stream('rl-responses', 'rate_limit_exceeded');
    expect(await s.callOf('rl-responses')).toMatchObject({ status: 'rate_limited', errorType: 'rate_limit_exceeded' });
    await stream('se-responses', 'server_error');
    expect(await s.callOf('se-responses')).toMatchObject({ status: 'upstream_error', errorType: 'server_error' });
  });
});
