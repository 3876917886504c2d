// Gemini on Vertex AI through llmscope: the official @google/genai client with `vertexai: true` calls
// /v1beta1/projects/{p}/locations/{l}/publishers/google/models/{m}:generateContent (OAuth, Authorization: Bearer) or,
// in express mode (an API key, no project), /v1beta1/publishers/google/models/{m}:generateContent. llmscope routes these
// to its Gemini adapter (a provider of type gemini whose baseUrl is the Vertex host) and meters them as Gemini calls:
// the same answer as direct, the path, query and auth sent upstream as the client sent them, tokens, cost, TTFT.
import { GoogleGenAI } from '@google/genai';
import { OAuth2Client } from 'google-auth-library';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { costOf, createCostModule, hashKey } from '../../src/cost/index.js';
import { type RequestRecord, type Simulator, startSimulator } from '../../src/simulator/index.js';
import { type Stack, startStack } from './helpers.js';

const TTFT = 40;
const TPOT = 4;
const OUT = 12;
const MODEL = 'gemini-2.5-flash';
/** gemini-2.5-flash's catalog prices, USD per 1M tokens. */
const PRICE = { input: 0.3, cachedInput: 0.03, cacheWrite: null, output: 2.5 };
const KEY = 'lsk_e2e_vertex_models_0123456789abcdef';
const PROJECT_PATH = '/v1beta1/projects/my-proj/locations/us-central1/publishers/google/models';

const comparable = (x: unknown) =>
  JSON.parse(
    JSON.stringify(x)
      .replace(/"responseId":"[^"]*"/g, '"responseId":"X"')
      .replace(/"createTime":"[^"]*"/g, '"createTime":"X"'),
  );

describe('reach: Gemini on Vertex AI with @google/genai (vertexai: true)', () => {
  let s: Stack;
  let sim: Simulator;
  const seen: RequestRecord[] = [];
  /** Express mode: an API key, no project. */
  const express = (baseUrl: string, apiKey = 'vertex-express-key') =>
    new GoogleGenAI({ vertexai: true, apiKey, httpOptions: { baseUrl } });
  /** A project and location, Google auth: an OAuth access token (set here, so nothing is fetched). */
  const oauth = (baseUrl: string) => {
    const authClient = new OAuth2Client();
    authClient.setCredentials({ access_token: 'ya29.test-token', expiry_date: Date.now() + 3_600_000 });
    return new GoogleGenAI({
      vertexai: true,
      project: 'my-proj',
      location: 'us-central1',
      googleAuthOptions: { authClient },
      httpOptions: { baseUrl },
    });
  };
  const id = (x: string) => ({ httpOptions: { headers: { 'x-request-id': x } } });

  beforeAll(async () => {
    sim = await startSimulator({ port: 0, seed: 1, ttftMs: TTFT, tpotMs: TPOT, outputTokens: OUT });
    s = await startStack({
      sim: { ttftMs: TTFT, tpotMs: TPOT, outputTokens: OUT },
      config: (upstream) => ({
        providers: [
          { name: 'openai-sim', baseUrl: upstream.url },
          // the Vertex host, no path: the client's /v1beta1/projects/... goes after it as sent
          { name: 'vertex-sim', type: 'gemini', baseUrl: upstream.url.replace(/\/v1$/, ''), models: ['gemini-*'] },
        ],
      }),
      app: { modules: [createCostModule] },
    });
    s.sim.events.on('request', (r) => seen.push(r));
  });
  afterAll(async () => {
    await s?.close();
    await sim?.close();
  });
  const direct = () => sim.url.replace(/\/v1$/, '');

  it('express mode: the same answer as direct, recorded with exact tokens, cost and model', async () => {
    const headers = { 'x-simulator-cached-tokens': '8', 'x-simulator-reasoning-tokens': '5' };
    const req = { model: MODEL, contents: 'Tell me about rivers, please, in a few words. '.repeat(4) };
    const a = await express(direct()).models.generateContent({ ...req, config: { httpOptions: { headers } } });
    const b = await express(s.base).models.generateContent({
      ...req,
      config: { httpOptions: { headers: { ...headers, 'x-request-id': 'vx-plain' } } },
    });
    expect(comparable(b.candidates)).toEqual(comparable(a.candidates));
    expect(b.usageMetadata).toEqual(a.usageMetadata);
    expect(b.text).toBe(a.text);
    const u = b.usageMetadata;
    const call = await s.callOf('vx-plain');
    expect(call).toMatchObject({
      provider: 'vertex-sim',
      model: MODEL,
      endpoint: 'generate_content',
      stream: false,
      status: 'ok',
      inputTokens: u?.promptTokenCount,
      outputTokens: OUT + 5,
      cachedInputTokens: 8,
      reasoningTokens: 5,
      tokenSource: 'usage',
      finishReason: 'STOP',
      refusal: false,
    });
    expect(call.costUsd).toBe(costOf({ input: u?.promptTokenCount ?? 0, cachedInput: 8, output: OUT + 5 }, PRICE));
    const up = seen.find((r) => r.requestId === 'vx-plain');
    expect(up?.path).toBe(`/v1beta1/publishers/google/models/${MODEL}:generateContent`);
    expect(up?.headers['x-goog-api-key']).toBe('vertex-express-key');
  });

  it('project and location with an OAuth token: streamed and not, path and Bearer token passed on, TTFT', async () => {
    const req = { model: MODEL, contents: 'Stream a poem' };
    const a = await oauth(direct()).models.generateContent(req);
    const b = await oauth(s.base).models.generateContent({ ...req, config: id('vx-oauth') });
    expect(comparable(b.candidates)).toEqual(comparable(a.candidates));
    expect(await s.callOf('vx-oauth')).toMatchObject({ provider: 'vertex-sim', model: MODEL, outputTokens: OUT });
    const up = seen.find((r) => r.requestId === 'vx-oauth');
    expect(up?.path).toBe(`${PROJECT_PATH}/${MODEL}:generateContent`);
    expect(up?.headers.authorization).toBe('Bearer ya29.test-token');

    const drain = async (it: AsyncIterable<unknown>) => {
      const out: unknown[] = [];
      for await (const c of it) out.push((c as { candidates?: unknown }).candidates);
      return out;
    };
    await drain(await oauth(s.base).models.generateContentStream(req)); // warm-up
    const sa = await drain(await oauth(direct()).models.generateContentStream(req));
    const ids = ['vx-stream-1', 'vx-stream-2', 'vx-stream-3'];
    for (const x of ids) {
      const sb = await drain(await oauth(s.base).models.generateContentStream({ ...req, config: id(x) }));
      expect(comparable(sb)).toEqual(comparable(sa));
    }
    const calls = await Promise.all(ids.map((x) => s.callOf(x)));
    for (const c of calls) {
      expect(c).toMatchObject({
        provider: 'vertex-sim',
        model: MODEL,
        stream: true,
        status: 'ok',
        outputTokens: OUT,
        finishReason: 'STOP',
        tokenSource: 'usage',
      });
      expect(c.ttftMs).toBeGreaterThanOrEqual(TTFT);
      expect(c.costUsd).toBeGreaterThan(0);
    }
    expect(Math.min(...calls.map((c) => Math.abs((c.ttftMs ?? 0) - TTFT)))).toBeLessThan(5);
    const sup = seen.find((r) => r.requestId === 'vx-stream-1');
    expect(sup?.url).toBe(`${PROJECT_PATH}/${MODEL}:streamGenerateContent?alt=sse`);
    expect(sup?.headers.authorization).toBe('Bearer ya29.test-token');
  });

  it('passes countTokens through; a safety block is a refusal', async () => {
    const contents = 'How many tokens is this sentence, please?';
    const a = await oauth(direct()).models.countTokens({ model: MODEL, contents });
    const b = await oauth(s.base).models.countTokens({ model: MODEL, contents, config: id('vx-count') });
    expect(b.totalTokens).toBeGreaterThan(0);
    expect(b.totalTokens).toBe(a.totalTokens);
    expect(seen.find((r) => r.requestId === 'vx-count')?.path).toBe(`${PROJECT_PATH}/${MODEL}:countTokens`);

    const r = await express(s.base).models.generateContent({
      model: MODEL,
      contents: 'Something unsafe',
      config: { httpOptions: { headers: { 'x-request-id': 'vx-safety', 'x-simulator-fault': 'refusal' } } },
    });
    expect(r.candidates?.[0]?.finishReason).toBe('SAFETY');
    expect(await s.callOf('vx-safety')).toMatchObject({ refusal: true, finishReason: 'SAFETY', status: 'ok' });
  });

  it("llmscope's errors are in Google's shape", async () => {
    // a dot segment in the project would name another path upstream: refused, never sent
    const dots = await request(
      `${s.base}/v1/projects/..%2F..%2Fv1beta/locations/x/publishers/google/models/${MODEL}:generateContent`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': 'vx-dots' },
        body: '{"contents":[{"parts":[{"text":"hi"}]}]}',
      },
    );
    expect(dots.statusCode).toBe(400);
    expect(await dots.body.json()).toMatchObject({ error: { code: 400, status: 'INVALID_ARGUMENT' } });
    expect(seen.some((x) => x.requestId === 'vx-dots')).toBe(false);
    // a model no provider serves: 404 in Google's shape
    const none = await request(`${s.base}/v1/publishers/google/models/claude-x:generateContent?key=k`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"contents":[{"parts":[{"text":"hi"}]}]}',
    });
    expect(none.statusCode).toBe(404);
    expect(await none.body.json()).toMatchObject({ error: { code: 404, status: 'NOT_FOUND' } });
  });

  it('express mode with ?key= on /v1: the query goes upstream unchanged', async () => {
    const r = await request(`${s.base}/v1/publishers/google/models/${MODEL}:streamGenerateContent?alt=sse&key=AQ.k1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'vx-query' },
      body: '{"contents":[{"parts":[{"text":"hi"}]}]}',
    });
    expect(r.statusCode).toBe(200);
    expect(await r.body.text()).toContain('"finishReason":"STOP"');
    expect(seen.find((x) => x.requestId === 'vx-query')?.url).toBe(
      `/v1/publishers/google/models/${MODEL}:streamGenerateContent?alt=sse&key=AQ.k1`,
    );
    expect(await s.callOf('vx-query')).toMatchObject({ stream: true, status: 'ok', outputTokens: OUT });
  });
});

describe("reach: a virtual key's models on Vertex AI paths", () => {
  let s: Stack;
  const seen: RequestRecord[] = [];
  const express = (apiKey: string) => new GoogleGenAI({ vertexai: true, apiKey, httpOptions: { baseUrl: s.base } });
  const id = (x: string) => ({ httpOptions: { headers: { 'x-request-id': x } } });
  beforeAll(async () => {
    s = await startStack({
      sim: { ttftMs: 1, tpotMs: 1, outputTokens: 4 },
      config: (upstream) => ({
        providers: [
          { name: 'openai-sim', baseUrl: upstream.url },
          { name: 'vertex-sim', type: 'gemini', baseUrl: upstream.url.replace(/\/v1$/, ''), models: ['gemini-*'] },
        ],
        keys: [{ id: 'vx-flash', hash: hashKey(KEY), team: 'gcp', models: [MODEL] }],
      }),
      app: { modules: [createCostModule] },
    });
    s.sim.events.on('request', (r) => seen.push(r));
  });
  afterAll(() => s?.close());

  it('an allowed model passes; another is refused 403 before the upstream is asked', async () => {
    const ok = await express(KEY).models.generateContent({ model: MODEL, contents: 'hi', config: id('vx-key') });
    expect(ok.text?.length).toBeGreaterThan(0);
    expect(await s.callOf('vx-key')).toMatchObject({ apiKeyId: 'vx-flash', team: 'gcp', status: 'ok', model: MODEL });
    expect(seen.find((x) => x.requestId === 'vx-key')?.path).toBe(
      `/v1beta1/publishers/google/models/${MODEL}:generateContent`,
    );
    const err = await express(KEY)
      .models.generateContent({ model: 'gemini-2.5-pro', contents: 'hi', config: id('vx-key-pro') })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 403 });
    expect(seen.some((x) => x.requestId === 'vx-key-pro')).toBe(false);
    expect(await s.callOf('vx-key-pro')).toMatchObject({ errorType: 'model_not_allowed' });
  });
});
