// @google/genai with `apiVersion: 'v1'` (the Gemini API's stable version) through llmscope: its calls were served
// under /v1 already, but its model list and models.get (GET /v1/models, /v1/models/{m}) reached llmscope's
// OpenAI-shaped model list, which the SDK reads as no models, and a 400 in OpenAI's shape for one model. A request
// carrying Google's key header there is the Gemini SDK's: passed to the Gemini provider, as under /v1beta.
import { GoogleGenAI } from '@google/genai';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './helpers.js';

const MODEL = 'gemini-2.5-flash';

describe('reach: @google/genai on the v1 API version', () => {
  let s: Stack;
  let direct: GoogleGenAI;
  let v1: GoogleGenAI;

  beforeAll(async () => {
    s = await startStack({
      sim: { ttftMs: 5, tpotMs: 1, outputTokens: 4 },
      config: (sim) => ({
        providers: [
          { name: 'openai-sim', baseUrl: sim.url },
          { name: 'gemini-sim', type: 'gemini', baseUrl: sim.url.replace(/\/v1$/, '/v1beta'), models: ['gemini-*'] },
        ],
      }),
    });
    direct = new GoogleGenAI({ apiKey: 'AIza-not-real', httpOptions: { baseUrl: s.sim.url.replace(/\/v1$/, '') } });
    v1 = new GoogleGenAI({ apiKey: 'AIza-not-real', apiVersion: 'v1', httpOptions: { baseUrl: s.base } });
  });
  afterAll(() => s.close());

  const names = async (c: GoogleGenAI) => {
    const out: string[] = [];
    for await (const m of await c.models.list()) out.push(m.name ?? '');
    return out;
  };

  it('models.list and models.get answer the Gemini provider’s models, as direct', async () => {
    const listed = await names(v1);
    expect(listed.length).toBeGreaterThan(0);
    expect(listed.every((n) => n.startsWith('models/'))).toBe(true);
    expect(listed).toEqual(await names(direct));
    const model = await v1.models.get({ model: MODEL });
    expect(model).toMatchObject({ name: `models/${MODEL}` });
    expect(model).toEqual(await direct.models.get({ model: MODEL }));
  });

  it('generateContent and countTokens work on v1; nothing of the list is recorded; OpenAI clients keep the union list', async () => {
    const r = await v1.models.generateContent({
      model: MODEL,
      contents: 'hi',
      config: { httpOptions: { headers: { 'x-request-id': 'v1-gen' } } },
    });
    expect(r.text).toBeTruthy();
    expect((await s.callOf('v1-gen')).provider).toBe('gemini-sim');
    expect((await v1.models.countTokens({ model: MODEL, contents: 'hi' })).totalTokens).toBeGreaterThan(0);
    expect(s.calls.map((c) => c.requestId)).toEqual(['v1-gen']);
    const openai = new OpenAI({ baseURL: `${s.base}/v1`, apiKey: 'sk-test', maxRetries: 0 });
    const ids = (await openai.models.list()).data.map((m) => m.id);
    expect(ids.length).toBeGreaterThan(0);
    expect(ids.some((id) => id.startsWith('models/'))).toBe(false);
  });
});
