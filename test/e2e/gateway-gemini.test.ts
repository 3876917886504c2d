// Gemini's generateContent / streamGenerateContent through llmscope with the official @google/genai client, against
// the simulator speaking Gemini's wire format: the same answers as direct, the model and streaming from the path,
// TTFT against the simulator's exact delay, usageMetadata with cached and thoughts tokens, exact cost, safety
// blocks as refusals, and Google's error shape for llmscope's own errors.
import { GoogleGenAI } from '@google/genai';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LlmCall } from '../../src/calls/index.js';
import { costOf, createCostModule } from '../../src/cost/index.js';
import { type RequestRecord, startSimulator } from '../../src/simulator/index.js';
import { type Stack, simProviders, startStack } from './helpers.js';

const TTFT = 40;
const TPOT = 4;
const OUT = 12;
const MODEL = 'gemini-2.5-flash';
/** gemini-2.5-flash's catalog prices, USD per 1M tokens. */
const PRICE = { input: 0.3, cachedInput: 0.03, cacheWrite: null, output: 2.5 };

const comparable = (x: unknown) => JSON.parse(JSON.stringify(x).replace(/"responseId":"[^"]*"/g, '"responseId":"X"'));

describe('gateway: Gemini generateContent with @google/genai', () => {
  let s: Stack;
  let direct: GoogleGenAI;
  let via: GoogleGenAI;
  const seen: RequestRecord[] = [];
  const client = (baseUrl: string) => new GoogleGenAI({ apiKey: 'gemini-test-key', httpOptions: { baseUrl } });
  const callOf = async (id: string): Promise<LlmCall> => {
    for (let t = 0; t < 200; t++) {
      const c = s.calls.find((x) => x.requestId === id);
      if (c) return c;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`call ${id} not recorded`);
  };

  beforeAll(async () => {
    const sim = await startSimulator({ port: 0, seed: 1, ttftMs: TTFT, tpotMs: TPOT, outputTokens: OUT });
    s = await startStack({
      sim: { ttftMs: TTFT, tpotMs: TPOT, outputTokens: OUT },
      config: {
        providers: simProviders(sim, 'openai', 'gemini'),
      },
      app: { modules: [createCostModule] },
    });
    const close = s.close;
    s.close = async () => {
      await close();
      await sim.close();
    };
    sim.events.on('request', (r) => seen.push(r));
    direct = client(sim.url.replace(/\/v1$/, ''));
    via = client(s.base);
  });
  afterAll(() => s.close());

  it('answers generateContent like the upstream, with cached and thoughts tokens and exact cost', async () => {
    const headers = { 'x-simulator-cached-tokens': '8', 'x-simulator-reasoning-tokens': '5' };
    const req = { model: MODEL, contents: 'Tell me about rivers, please, in a few words. '.repeat(4) };
    const a = await direct.models.generateContent({ ...req, config: { httpOptions: { headers } } });
    const b = await via.models.generateContent({
      ...req,
      config: { httpOptions: { headers: { ...headers, 'x-request-id': 'gem-plain' } } },
    });
    expect(comparable(b.candidates)).toEqual(comparable(a.candidates));
    expect(b.usageMetadata).toEqual(a.usageMetadata);
    expect(b.text).toBe(a.text);
    const u = b.usageMetadata;
    const call = await callOf('gem-plain');
    expect(call).toMatchObject({
      provider: 'gemini-sim',
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
    const up = seen.find((r) => r.requestId === 'gem-plain');
    expect(up?.path).toBe(`/v1beta/models/${MODEL}:generateContent`);
    expect(up?.headers['x-goog-api-key']).toBe('gemini-test-key');
    expect(call.costUsd).toBe(costOf({ input: u?.promptTokenCount ?? 0, cachedInput: 8, output: OUT + 5 }, PRICE));
  });

  it('streams the same chunks as direct, with TTFT from the first text chunk', async () => {
    const req = { model: MODEL, contents: 'Stream a poem' };
    const drain = async (it: AsyncIterable<unknown>) => {
      const out: unknown[] = [];
      for await (const c of it) out.push((c as { candidates?: unknown; usageMetadata?: unknown }).candidates);
      return out;
    };
    await drain(await via.models.generateContentStream(req)); // warm-up
    const a = await drain(await direct.models.generateContentStream(req));
    const ids = ['gem-stream-1', 'gem-stream-2', 'gem-stream-3'];
    const b = await drain(
      await via.models.generateContentStream({
        ...req,
        config: { httpOptions: { headers: { 'x-request-id': ids[0] as string } } },
      }),
    );
    expect(comparable(b)).toEqual(comparable(a));
    for (const id of ids.slice(1))
      await drain(
        await via.models.generateContentStream({
          ...req,
          config: { httpOptions: { headers: { 'x-request-id': id } } },
        }),
      );
    const calls = await Promise.all(ids.map(callOf));
    for (const c of calls) {
      expect(c).toMatchObject({
        stream: true,
        status: 'ok',
        outputTokens: OUT,
        finishReason: 'STOP',
        tokenSource: 'usage',
      });
      expect(c.ttftMs).toBeGreaterThanOrEqual(TTFT);
    }
    expect(Math.min(...calls.map((c) => Math.abs((c.ttftMs ?? 0) - TTFT)))).toBeLessThan(5);
    expect(seen.find((r) => r.requestId === 'gem-stream-1')?.path).toBe(
      `/v1beta/models/${MODEL}:streamGenerateContent`,
    );
  });

  it('records a safety block as a refusal', async () => {
    const r = await via.models.generateContent({
      model: MODEL,
      contents: 'Something unsafe',
      config: { httpOptions: { headers: { 'x-request-id': 'gem-safety', 'x-simulator-fault': 'refusal' } } },
    });
    expect(r.candidates?.[0]?.finishReason).toBe('SAFETY');
    expect(await callOf('gem-safety')).toMatchObject({ refusal: true, finishReason: 'SAFETY', status: 'ok' });
  });

  it("answers llmscope's own errors in Google's shape", async () => {
    const r = await request(`${s.base}/v1beta/models/claude-x:generateContent`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"contents":[{"parts":[{"text":"hi"}]}]}',
    });
    expect(r.statusCode).toBe(404);
    expect(await r.body.json()).toMatchObject({ error: { code: 404, status: 'NOT_FOUND' } });
    const bad = await request(`${s.base}/v1beta/models/${MODEL}:generateContent`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"contents": [',
    });
    expect(bad.statusCode).toBe(400);
    expect(await bad.body.json()).toMatchObject({ error: { code: 400, status: 'INVALID_ARGUMENT' } });
    // A path under /v1beta that llmscope does not serve, or one the upstream does not (passed through): a 404 in
    // Google's shape too, which @google/genai reads as an ApiError with status 404.
    for (const [method, path] of [
      ['GET', '/v1beta/files'],
      ['POST', '/v1beta/cachedContents'],
      ['POST', `/v1beta/models/${MODEL}`],
    ] as const) {
      const r404 = await request(`${s.base}${path}`, {
        method,
        headers: { 'content-type': 'application/json' },
        body: method === 'POST' ? '{"contents":[{"parts":[{"text":"hi"}]}]}' : undefined,
      });
      expect(r404.statusCode).toBe(404);
      const b = (await r404.body.json()) as { error: { code: number; status: string; message: string } };
      expect(b).toMatchObject({ error: { code: 404, status: 'NOT_FOUND' } });
      expect(b.error.message).toContain(path);
    }
    // A pass-through for a model no Gemini provider serves
    const err = await new GoogleGenAI({ apiKey: 'k', httpOptions: { baseUrl: s.base } }).models
      .countTokens({ model: 'claude-x', contents: 'hi' })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 404 });
    expect((err as Error).message).toMatch(/no provider of type gemini serves model .*claude-x/);
  });

  it('passes countTokens and the model list through to the Gemini provider, unrecorded; embeddings go there too', async () => {
    const id = (x: string) => ({ httpOptions: { headers: { 'x-request-id': x } } });
    const contents = 'How many tokens is this sentence, please?';
    const a = await direct.models.countTokens({ model: MODEL, contents });
    const b = await via.models.countTokens({ model: MODEL, contents, config: id('gem-count') });
    expect(b.totalTokens).toBeGreaterThan(0);
    expect(b.totalTokens).toBe(a.totalTokens);

    // @google/genai's embedContent is batchEmbedContents on the Gemini API
    const EMBED = 'gemini-embedding-001';
    const req = { model: EMBED, contents: ['rivers', 'mountains'], config: { outputDimensionality: 8 } };
    const ea = await direct.models.embedContent(req);
    const eb = await via.models.embedContent({ ...req, config: { ...req.config, ...id('gem-embed') } });
    expect(eb.embeddings).toHaveLength(2);
    expect(eb.embeddings?.[0]?.values).toHaveLength(8);
    expect(eb.embeddings).toEqual(ea.embeddings);
    // and :embedContent itself, as Google's REST docs and other clients send it
    const one = await request(`${s.base}/v1beta/models/${EMBED}:embedContent`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-goog-api-key': 'k', 'x-request-id': 'gem-embed-1' },
      body: JSON.stringify({ content: { parts: [{ text: 'rivers' }] }, outputDimensionality: 8 }),
    });
    expect(one.statusCode).toBe(200);
    expect(((await one.body.json()) as { embedding: unknown }).embedding).toEqual({
      values: ea.embeddings?.[0]?.values,
    });

    const model = await via.models.get({ model: MODEL, config: id('gem-model') });
    expect(model).toMatchObject({ name: `models/${MODEL}` });
    expect(model).toEqual(await direct.models.get({ model: MODEL }));
    const names = async (c: GoogleGenAI) => {
      const out: string[] = [];
      for await (const m of await c.models.list()) out.push(m.name as string);
      return out;
    };
    const listed = await names(via);
    expect(listed.length).toBeGreaterThan(0);
    expect(listed).toEqual(await names(direct));

    const paths = Object.fromEntries(
      ['gem-count', 'gem-embed', 'gem-embed-1', 'gem-model'].map((x) => [x, seen.find((r) => r.requestId === x)]),
    );
    expect(paths['gem-count']?.path).toBe(`/v1beta/models/${MODEL}:countTokens`);
    expect(paths['gem-count']?.headers['x-goog-api-key']).toBe('gemini-test-key');
    expect(paths['gem-embed']?.path).toBe(`/v1beta/models/${EMBED}:batchEmbedContents`);
    expect(paths['gem-embed-1']?.path).toBe(`/v1beta/models/${EMBED}:embedContent`);
    // countTokens and the models are no LLM calls; the embeddings are (reach-gemini-embed.test.ts). Both embeddings
    // recorded first (a fixed wait is no proof of that on a busy machine), then a moment for any unwanted record.
    await Promise.all([callOf('gem-embed'), callOf('gem-embed-1')]);
    await new Promise((r) => setTimeout(r, 200));
    expect(s.calls.filter((c) => c.requestId === 'gem-count' || c.requestId === 'gem-model')).toEqual([]);
    expect(s.calls.filter((c) => c.requestId.startsWith('gem-embed')).map((c) => c.endpoint)).toEqual([
      'embeddings',
      'embeddings',
    ]);
  });
});
