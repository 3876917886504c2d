// An upstream that refuses `stream_options` (Azure OpenAI before api-version 2024-09-01-preview: 400 "Unrecognized
// request argument supplied: stream_options"; some OpenAI-compatible servers' "extra fields not permitted"). llmscope
// adds the field to a stream whose client did not ask for usage; when the upstream refuses it, the call is sent again
// without it before anything reaches the client, metered with the tokenizer, and the provider is remembered so its
// later streams go once. A client's own stream_options is never touched; another 400 reaches the client as sent.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCostModule } from '../../src/cost/index.js';
import { type RequestRecord, type Simulator, startSimulator } from '../../src/simulator/index.js';
import { type Stack, startStack, until } from './helpers.js';

let s: Stack;
let plain: Simulator;
let fastapi: Simulator;
const refusing: RequestRecord[] = [];
const direct: RequestRecord[] = [];
const strict: RequestRecord[] = [];
beforeAll(async () => {
  plain = await startSimulator({ ttftMs: 1, tpotMs: 1, outputTokens: 6 });
  plain.events.on('request', (r) => direct.push(r));
  fastapi = await startSimulator({ ttftMs: 1, tpotMs: 1, outputTokens: 5, refuseStreamOptions: 'pydantic' });
  fastapi.events.on('request', (r) => strict.push(r));
  s = await startStack({
    sim: { ttftMs: 1, tpotMs: 1, outputTokens: 6, refuseStreamOptions: true },
    config: (sim) => ({
      gpu: { collector: 'none' },
      providers: [
        { name: 'plain', baseUrl: plain.url, models: ['plain-*'] },
        { name: 'fastapi', baseUrl: fastapi.url, models: ['fastapi-*'] },
        { name: 'azure-old', baseUrl: sim.url },
      ],
      routes: [
        { model: 'plain-gpt-4o-mini', provider: 'plain', upstreamModel: 'gpt-4o-mini' },
        { model: 'fastapi-llama', provider: 'fastapi', upstreamModel: 'llama-3.1-8b-instruct' },
      ],
    }),
    app: { modules: [createCostModule] },
  });
  s.sim.events.on('request', (r) => refusing.push(r));
});
afterAll(async () => {
  await s?.close();
  await plain?.close();
  await fastapi?.close();
});

const client = () => new OpenAI({ baseURL: `${s.base}/v1`, apiKey: 'sk-test', maxRetries: 0 });
const streamText = async (id: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) => {
  const stream = await client().chat.completions.create(
    { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello there' }], stream: true, ...extra },
    { headers: { 'x-request-id': id, ...headers } },
  );
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
  return text;
};
const upstreamBodies = (id: string) =>
  refusing.filter((r) => r.requestId === id).map((r) => r.body as Record<string, unknown>);
const refusalLogs = () => s.logs.filter((l) => l.event === 'upstream_refuses_stream_options');

describe('an upstream that refuses stream_options', () => {
  it('gets the stream again without the field; the client gets the stream, the record tokens and cost', async () => {
    const text = await streamText('so-first');
    expect(text.length).toBeGreaterThan(0);
    const sent = upstreamBodies('so-first');
    expect(sent.length).toBe(2);
    expect(sent[0]?.stream_options).toEqual({ include_usage: true });
    expect(sent[1]).not.toHaveProperty('stream_options');
    const call = await s.callOf('so-first');
    expect(call).toMatchObject({ httpStatus: 200, status: 'ok', provider: 'azure-old', tokenSource: 'tokenizer' });
    expect(call.inputTokens).toBeGreaterThan(0);
    expect(call.outputTokens).toBe(6);
    expect(call.costUsd).toBeGreaterThan(0);
    const logs = await until(() => (refusalLogs().length > 0 ? refusalLogs() : null));
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({ level: 'warn', provider: 'azure-old' });
  });

  it('is remembered: the next stream goes upstream once, without the field, and is logged no more', async () => {
    const text = await streamText('so-second');
    expect(text.length).toBeGreaterThan(0);
    const sent = upstreamBodies('so-second');
    expect(sent.length).toBe(1);
    expect(sent[0]).not.toHaveProperty('stream_options');
    const call = await s.callOf('so-second');
    expect(call).toMatchObject({ httpStatus: 200, tokenSource: 'tokenizer', outputTokens: 6 });
    expect(call.costUsd).toBeGreaterThan(0);
    expect(refusalLogs()).toHaveLength(1);
  });

  it('passes a client’s own stream_options untouched (its 400 reaches the client, as it would direct)', async () => {
    const err = await streamText('so-client', { stream_options: { include_usage: true } }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.message).toContain('Unrecognized request argument supplied: stream_options');
    const sent = upstreamBodies('so-client');
    expect(sent.length).toBe(1);
    expect(sent[0]?.stream_options).toEqual({ include_usage: true });
  });
});

describe('a FastAPI server that forbids extra fields (422)', () => {
  it('gets the stream again without the field, its model rewritten by a route, the stream metered', async () => {
    const text = await streamText('fastapi-first', { model: 'fastapi-llama' });
    expect(text.length).toBeGreaterThan(0);
    const sent = strict.filter((r) => r.requestId === 'fastapi-first').map((r) => r.body as Record<string, unknown>);
    expect(sent.length).toBe(2);
    expect(sent[0]?.stream_options).toEqual({ include_usage: true });
    expect(sent[1]).not.toHaveProperty('stream_options');
    expect(sent[1]?.model).toBe('llama-3.1-8b-instruct');
    expect(await s.callOf('fastapi-first')).toMatchObject({
      httpStatus: 200,
      provider: 'fastapi',
      tokenSource: 'tokenizer',
      outputTokens: 5,
    });
    await until(() => refusalLogs().some((l) => l.provider === 'fastapi') || null);
    await streamText('fastapi-second', { model: 'fastapi-llama' });
    expect(strict.filter((r) => r.requestId === 'fastapi-second').length).toBe(1);
  });
});

describe('an upstream that takes stream_options', () => {
  it('answers a stream with exact usage, and its other 400s reach the client as sent, once', async () => {
    const text = await streamText('plain-ok', { model: 'plain-gpt-4o-mini' });
    expect(text.length).toBeGreaterThan(0);
    expect((await s.callOf('plain-ok')).tokenSource).toBe('usage');
    const err = await streamText(
      'plain-400',
      { model: 'plain-gpt-4o-mini' },
      { 'x-simulator-fault': 'bad_request' },
    ).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.param).toBe('temperature');
    expect(direct.filter((r) => r.requestId === 'plain-400').length).toBe(1);
    expect(await s.callOf('plain-400')).toMatchObject({ httpStatus: 400, provider: 'plain' });
    expect(refusalLogs().filter((l) => l.provider === 'plain')).toHaveLength(0);
  });
});
