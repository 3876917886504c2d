// Upstream errors of each shape through llmscope, with each route's official SDK against the simulator: a rate
// limit (429 with retry-after), an overloaded API (Anthropic's 529 overloaded_error, OpenAI's and Google's 503) and
// a refused request (400 invalid_request_error / INVALID_ARGUMENT). The client gets the upstream's answer
// unchanged (its SDK raises its usual error class with the same status and body as direct), and each call is
// recorded with the status, http_status and error_type the upstream's error says.
import Anthropic from '@anthropic-ai/sdk';
import { ApiError, GoogleGenAI } from '@google/genai';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, simProviders, startStack } from './helpers.js';

const CASES = [
  { fault: 'rate_limit', status: 429, recorded: 'rate_limited' },
  { fault: 'overloaded', status: 503, recorded: 'upstream_error' },
  { fault: 'bad_request', status: 400, recorded: 'client_error' },
] as const;
/** error_type by route, for each fault: the type (Anthropic, OpenAI) or status (Google) in the upstream's body. */
const TYPES = {
  messages: { rate_limit: 'rate_limit_error', overloaded: 'overloaded_error', bad_request: 'invalid_request_error' },
  responses: { rate_limit: 'requests', overloaded: 'server_error', bad_request: 'invalid_request_error' },
  chat: { rate_limit: 'requests', overloaded: 'server_error', bad_request: 'invalid_request_error' },
  gemini: { rate_limit: 'RESOURCE_EXHAUSTED', overloaded: 'UNAVAILABLE', bad_request: 'INVALID_ARGUMENT' },
} as const;

/** An answer where an error was expected: fails the test's instanceof check. */
const noError = (): never => {
  throw new Error('the call did not fail');
};

describe('reach: upstream errors of each shape, on each route', () => {
  let s: Stack;
  let simOrigin: string;

  beforeAll(async () => {
    s = await startStack({
      sim: { ttftMs: 5, tpotMs: 1, outputTokens: 4 },
      config: (sim) => ({
        providers: simProviders(sim, 'openai', 'anthropic', 'gemini'),
      }),
    });
    simOrigin = s.sim.url.replace(/\/v1$/, '');
  });
  afterAll(() => s.close());

  const expectRecorded = async (id: string, status: number, recorded: string, errorType: string) => {
    const call = await s.callOf(id);
    expect({ status: call.status, http: call.httpStatus, type: call.errorType }).toEqual({
      status: recorded,
      http: status,
      type: errorType,
    });
    expect(call.costUsd).toBeNull();
  };

  it.each(CASES)('Anthropic Messages: $fault', async ({ fault, status, recorded }) => {
    const anthropicStatus = fault === 'overloaded' ? 529 : status;
    const call = (base: string, id: string) =>
      new Anthropic({ baseURL: base, apiKey: 'sk-ant-test', maxRetries: 0 }).messages
        .create(
          { model: 'claude-sonnet-4-5', max_tokens: 20, messages: [{ role: 'user', content: 'Hi' }] },
          { headers: { 'x-simulator-fault': fault, 'x-request-id': id } },
        )
        .then(noError)
        .catch((e: unknown) => e as InstanceType<typeof Anthropic.APIError>);
    const [direct, via] = [await call(simOrigin, `d-anth-${fault}`), await call(s.base, `anth-${fault}`)];
    expect(via).toBeInstanceOf(Anthropic.APIError);
    expect(via.constructor).toBe(direct.constructor);
    expect([via.status, via.error]).toEqual([anthropicStatus, direct.error]);
    if (fault === 'rate_limit') expect(via.headers?.get('retry-after')).toBe('1');
    await expectRecorded(`anth-${fault}`, anthropicStatus, recorded, TYPES.messages[fault]);
  });

  it.each(CASES)('OpenAI Responses and chat completions: $fault', async ({ fault, status, recorded }) => {
    const client = (base: string) => new OpenAI({ baseURL: `${base}/v1`, apiKey: 'sk-test', maxRetries: 0 });
    const responses = (base: string, id: string) =>
      client(base)
        .responses.create(
          { model: 'gpt-4o-mini', input: 'Hi', stream: true },
          { headers: { 'x-simulator-fault': fault, 'x-request-id': id } },
        )
        .then(noError)
        .catch((e: unknown) => e as InstanceType<typeof OpenAI.APIError>);
    const [direct, via] = [
      await responses(s.sim.url.replace(/\/v1$/, ''), 'd'),
      await responses(s.base, `resp-${fault}`),
    ];
    expect(via).toBeInstanceOf(OpenAI.APIError);
    expect(via.constructor).toBe(direct.constructor);
    expect([via.status, via.error]).toEqual([status, direct.error]);
    await expectRecorded(`resp-${fault}`, status, recorded, TYPES.responses[fault]);

    const chat = await client(s.base)
      .chat.completions.create(
        { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] },
        { headers: { 'x-simulator-fault': fault, 'x-request-id': `chat-${fault}` } },
      )
      .catch((e: unknown) => e as InstanceType<typeof OpenAI.APIError>);
    expect(chat).toBeInstanceOf(OpenAI.APIError);
    expect((chat as InstanceType<typeof OpenAI.APIError>).status).toBe(status);
    await expectRecorded(`chat-${fault}`, status, recorded, TYPES.chat[fault]);
  });

  it.each(CASES)('Gemini generateContent and its stream: $fault', async ({ fault, status, recorded }) => {
    const ai = (base: string, id: string) =>
      new GoogleGenAI({
        apiKey: 'g-test',
        httpOptions: { baseUrl: base, headers: { 'x-simulator-fault': fault, 'x-request-id': id } },
      });
    const generate = (base: string, id: string) =>
      ai(base, id)
        .models.generateContent({ model: 'gemini-2.5-flash', contents: 'Hi' })
        .then(() => null)
        .catch((e: unknown) => e as ApiError);
    const [direct, via] = [await generate(simOrigin, 'd'), await generate(s.base, `gem-${fault}`)];
    expect(via).toBeInstanceOf(ApiError);
    expect([via?.status, via?.message]).toEqual([status, direct?.message]);
    await expectRecorded(`gem-${fault}`, status, recorded, TYPES.gemini[fault]);

    const streamed = await ai(s.base, `gem-stream-${fault}`)
      .models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'Hi' })
      .then(() => null)
      .catch((e: unknown) => e as ApiError);
    expect(streamed?.status).toBe(status);
    await expectRecorded(`gem-stream-${fault}`, status, recorded, TYPES.gemini[fault]);
  });
});
