// Gemini's embeddings through llmscope, as an app calls them: @google/genai's models.embedContent (the Gemini API's
// :batchEmbedContents) and :embedContent over REST, against the simulator. Each is a recorded call on the
// `embeddings` endpoint, as OpenAI's /v1/embeddings are: tokens from the answer's usageMetadata (else counted with
// the tokenizer, as embeddings without usage are), priced from the catalog, the answer byte for byte what the
// provider sent. (They passed through unrecorded before: no call, no tokens, no cost.)
import { GoogleGenAI } from '@google/genai';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countTokens } from '../../src/calls/tokens.js';
import { costOf, createCostModule } from '../../src/cost/index.js';
import { type RequestRecord, startSimulator } from '../../src/simulator/index.js';
import { type Stack, simProviders, startStack } from './helpers.js';

const EMBED = 'gemini-embedding-001';
/** gemini-embedding-001's catalog price, USD per 1M input tokens (https://ai.google.dev/gemini-api/docs/pricing). */
const PRICE = { input: 0.15, cachedInput: 0.15, cacheWrite: null, output: 0 };
const TEXTS = ['The Danube flows through ten countries.', 'Mont Blanc is the highest mountain in the Alps.'];

describe('reach: Gemini embeddings are recorded calls', () => {
  let s: Stack;
  let simUrl: string;
  let direct: GoogleGenAI;
  let via: GoogleGenAI;
  const seen: RequestRecord[] = [];
  const client = (baseUrl: string) => new GoogleGenAI({ apiKey: 'gemini-test-key', httpOptions: { baseUrl } });
  /** POSTs a Gemini method over REST; the answer's status and exact bytes. */
  const post = async (base: string, path: string, body: unknown, headers: Record<string, string> = {}) => {
    const r = await request(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-goog-api-key': 'gemini-test-key', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: r.statusCode, text: await r.body.text() };
  };

  beforeAll(async () => {
    const sim = await startSimulator({ port: 0, seed: 1 });
    simUrl = sim.url.replace(/\/v1$/, '');
    s = await startStack({
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
    direct = client(simUrl);
    via = client(s.base);
  });
  afterAll(() => s.close());

  it('@google/genai models.embedContent: recorded with the usage tokens and exact cost, the same embeddings', async () => {
    const req = { model: EMBED, contents: TEXTS, config: { outputDimensionality: 8 } };
    const a = await direct.models.embedContent(req);
    const b = await via.models.embedContent({
      ...req,
      config: { ...req.config, httpOptions: { headers: { 'x-request-id': 'gem-embed-sdk' } } },
    });
    expect(b.embeddings).toHaveLength(2);
    expect(b.embeddings).toEqual(a.embeddings);
    // what the provider billed: the same request's usageMetadata, asked direct
    const billed = JSON.parse((await post(simUrl, `/v1beta/models/${EMBED}:batchEmbedContents`, batch(TEXTS))).text)
      .usageMetadata.promptTokenCount;
    expect(billed).toBeGreaterThan(10);
    const call = await s.callOf('gem-embed-sdk');
    expect(call).toMatchObject({
      provider: 'gemini-sim',
      model: EMBED,
      endpoint: 'embeddings',
      stream: false,
      status: 'ok',
      httpStatus: 200,
      inputTokens: billed,
      outputTokens: 0,
      tokenSource: 'usage',
    });
    expect(call.costUsd).toBe(costOf({ input: billed, cachedInput: 0, output: 0 }, PRICE));
    expect(seen.find((r) => r.requestId === 'gem-embed-sdk')?.path).toBe(`/v1beta/models/${EMBED}:batchEmbedContents`);
  });

  it(':embedContent and :batchEmbedContents over REST: the answer byte for byte as direct, recorded', async () => {
    const one = { content: { parts: [{ text: TEXTS[0] }] }, outputDimensionality: 8 };
    const d1 = await post(simUrl, `/v1beta/models/${EMBED}:embedContent`, one);
    const v1 = await post(s.base, `/v1beta/models/${EMBED}:embedContent`, one, { 'x-request-id': 'gem-embed-one' });
    expect(v1.status).toBe(200);
    expect(v1.text).toBe(d1.text);
    const c1 = await s.callOf('gem-embed-one');
    expect(c1).toMatchObject({ endpoint: 'embeddings', inputTokens: countTokens(TEXTS[0] as string) });
    expect(c1.tokenSource).toBe('usage');

    const d2 = await post(simUrl, `/v1beta/models/${EMBED}:batchEmbedContents`, batch(TEXTS));
    const v2 = await post(s.base, `/v1beta/models/${EMBED}:batchEmbedContents`, batch(TEXTS), {
      'x-request-id': 'gem-embed-batch',
    });
    expect(v2.text).toBe(d2.text);
    const c2 = await s.callOf('gem-embed-batch');
    expect(c2.inputTokens).toBe(JSON.parse(d2.text).usageMetadata.promptTokenCount);
    expect(c2.costUsd).toBeGreaterThan(0);
  });

  it('an answer without usageMetadata is counted with the tokenizer, as embeddings without usage are', async () => {
    const h = { 'x-simulator-usage': 'none' };
    const one = { content: { parts: [{ text: TEXTS[1] }] } };
    const v1 = await post(s.base, `/v1beta/models/${EMBED}:embedContent`, one, { ...h, 'x-request-id': 'gem-nu-1' });
    expect(JSON.parse(v1.text).usageMetadata).toBeUndefined();
    const c1 = await s.callOf('gem-nu-1');
    expect(c1).toMatchObject({ endpoint: 'embeddings', tokenSource: 'tokenizer', outputTokens: 0 });
    expect(c1.inputTokens).toBe(countTokens(TEXTS[1] as string));
    expect(c1.costUsd).toBe(costOf({ input: c1.inputTokens ?? 0, cachedInput: 0, output: 0 }, PRICE));

    await post(s.base, `/v1beta/models/${EMBED}:batchEmbedContents`, batch(TEXTS), {
      ...h,
      'x-request-id': 'gem-nu-2',
    });
    const c2 = await s.callOf('gem-nu-2');
    // the texts one a line, as OpenAI's input array is counted
    expect(c2.inputTokens).toBe(countTokens(TEXTS.join('\n')));
    expect(c2.tokenSource).toBe('tokenizer');
  });

  it("llmscope's own errors on the embeddings routes come in Google's shape", async () => {
    const bad = await post(s.base, `/v1beta/models/${EMBED}:embedContent`, '{not json');
    expect(bad.status).toBe(400);
    const e = JSON.parse(bad.text).error;
    expect(e).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT' });
    expect(e.message).toContain('"content": {"parts"');
    const unserved = await post(s.base, '/v1beta/models/text-embedding-004:embedContent', {
      content: { parts: [{ text: 'x' }] },
    });
    expect(unserved.status).toBe(404);
    expect(JSON.parse(unserved.text).error.status).toBe('NOT_FOUND');
    expect(JSON.parse(unserved.text).error.message).toMatch(
      /no provider of type gemini serves model "text-embedding-004"/,
    );
    const get = await request(`${s.base}/v1beta/models/${EMBED}:embedContent`, { method: 'GET' });
    expect(get.statusCode).toBe(405);
    expect(((await get.body.json()) as { error: { status: string } }).error.status).toBe('INVALID_ARGUMENT');
  });
});

function batch(texts: readonly string[]) {
  return { requests: texts.map((t) => ({ model: `models/${EMBED}`, content: { parts: [{ text: t }] } })) };
}
