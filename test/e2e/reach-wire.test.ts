// Reach as a user sends it: the wire shapes real clients use beside the official JS SDKs, sent through llmscope
// against the simulator — the Vercel AI SDK's OpenAI provider (the Responses API), Claude Code's extended thinking,
// Gemini's streamGenerateContent without alt=sse (one JSON array, as curl and REST callers stream), a prompt Gemini
// blocks (promptFeedback.blockReason), a cancelled array stream and an error answered as an array.
import { createOpenAI } from '@ai-sdk/openai';
import { GoogleGenAI } from '@google/genai';
import { generateText, streamText } from 'ai';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { costOf, createCostModule } from '../../src/cost/index.js';
import type { Simulator } from '../../src/simulator/index.js';
import { type Stack, simProviders, startStack } from './helpers.js';

const TTFT = 40;
const TPOT = 4;
const OUT = 12;
const GEMINI = 'gemini-2.5-flash';
/** gemini-2.5-flash's catalog prices, USD per 1M tokens. */
const GEMINI_PRICE = { input: 0.3, cachedInput: 0.03, cacheWrite: null, output: 2.5 };

describe('reach: raw wire shapes through llmscope', () => {
  let s: Stack;
  let sim: Simulator;
  const post = async (base: string, path: string, body: unknown, headers: Record<string, string> = {}) => {
    const r = await request(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: r.statusCode, headers: r.headers, text: await r.body.text() };
  };

  beforeAll(async () => {
    s = await startStack({
      sim: { ttftMs: TTFT, tpotMs: TPOT, outputTokens: OUT },
      config: (sim) => ({
        // the answer's text is checked on the record (thinking is not part of it)
        telemetry: { captureContent: true, logLevel: 'info' },
        providers: simProviders(sim, 'openai', 'anthropic', 'gemini'),
      }),
      app: { modules: [createCostModule] },
    });
    sim = s.sim;
  });
  afterAll(() => s.close());

  it("the Vercel AI SDK's @ai-sdk/openai (the Responses API by default) gets what it gets direct, and each call is recorded", async () => {
    const direct = createOpenAI({ baseURL: sim.url, apiKey: 'sk-test' });
    const via = createOpenAI({ baseURL: `${s.base}/v1`, apiKey: 'sk-test' });
    const headers = { 'x-simulator-cached-tokens': '2', 'x-simulator-reasoning-tokens': '3' };
    const run = async (p: typeof direct, id: string) => {
      const a = await generateText({
        model: p('gpt-4o-mini'),
        prompt: 'Name three rivers.',
        maxRetries: 0,
        headers: { ...headers, 'x-request-id': `${id}-gen` },
      });
      const st = streamText({
        model: p('gpt-4o-mini'),
        prompt: 'A haiku about rain.',
        maxRetries: 0,
        headers: { 'x-request-id': `${id}-stream` },
      });
      let text = '';
      for await (const d of st.textStream) text += d;
      return [a.text, a.usage.raw, a.finishReason, text, (await st.usage).raw, await st.finishReason];
    };
    expect(await run(via, 'aisdk')).toEqual(await run(direct, 'aisdk-direct'));
    const gen = await s.callOf('aisdk-gen');
    expect(gen).toMatchObject({ endpoint: 'responses', status: 'ok', stream: false, cachedInputTokens: 2 });
    expect(gen).toMatchObject({ reasoningTokens: 3, outputTokens: OUT + 3, finishReason: 'stop' });
    const streamed = await s.callOf('aisdk-stream');
    expect(streamed).toMatchObject({ endpoint: 'responses', status: 'ok', stream: true, outputTokens: OUT });
    expect(streamed.ttftMs).toBeGreaterThanOrEqual(TTFT);
    expect(streamed.costUsd).toBeGreaterThan(0);
  });

  it("Codex's Responses request (reasoning summary, encrypted reasoning, store: false): same stream, TTFT from the summary", async () => {
    const body = {
      model: 'gpt-5-codex',
      instructions: 'You are Codex.',
      input: [
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Fix the test.' }] },
        { type: 'function_call', call_id: 'call_1', name: 'shell', arguments: '{"cmd":["ls"]}' },
        { type: 'function_call_output', call_id: 'call_1', output: 'a.ts\nb.ts' },
      ],
      tools: [{ type: 'function', name: 'shell', parameters: { type: 'object', properties: {} }, strict: false }],
      tool_choice: 'auto',
      parallel_tool_calls: false,
      reasoning: { effort: 'medium', summary: 'auto' },
      store: false,
      stream: true,
      include: ['reasoning.encrypted_content'],
      prompt_cache_key: 'session-1',
    };
    const headers = { 'x-simulator-reasoning-tokens': '5', 'openai-beta': 'responses=experimental' };
    const sameIds = (t: string) =>
      t
        .replace(/"(resp|rs|msg|fc|call)_[A-Za-z0-9]+"/g, '"$1_X"')
        .replace(/"created_at":\d+/g, '"created_at":0')
        .replace(/"encrypted_content":"[^"]*"/g, '"encrypted_content":"E"');
    const direct = await post(sim.url.replace(/\/v1$/, ''), '/v1/responses', body, headers);
    expect(direct.text).toContain('response.reasoning_summary_text.delta');
    expect(direct.text).toContain('"encrypted_content"');
    // six calls: the closest TTFT of three was 5.7 ms off in a clean-clone CI on a loaded host (the simulator's own
    // timer late, in the test's process), where the others' closest stayed under 5
    const ids = ['codex-1', 'codex-2', 'codex-3', 'codex-4', 'codex-5', 'codex-6'];
    for (const id of ids) {
      const via = await post(s.base, '/v1/responses', body, { ...headers, 'x-request-id': id });
      expect(sameIds(via.text)).toBe(sameIds(direct.text));
    }
    const calls = await Promise.all(ids.map(s.callOf));
    for (const c of calls)
      expect(c).toMatchObject({
        endpoint: 'responses',
        status: 'ok',
        stream: true,
        reasoningTokens: 5,
        outputTokens: OUT + 5,
        finishReason: 'stop',
        tokenSource: 'usage',
      });
    // the summary's first delta comes at the simulator's TTFT; the answer's text only after the 5 reasoning tokens
    expect(Math.min(...calls.map((c) => Math.abs((c.ttftMs ?? -100) - TTFT)))).toBeLessThan(5);
  });

  it('Gemini thought summaries (includeThoughts) through @google/genai: same chunks, TTFT from the first thought', async () => {
    const root = sim.url.replace(/\/v1$/, '');
    const client = (baseUrl: string) => new GoogleGenAI({ apiKey: 'k', httpOptions: { baseUrl } });
    const req = (id: string) => ({
      model: GEMINI,
      contents: 'Think, then answer.',
      config: {
        thinkingConfig: { includeThoughts: true, thinkingBudget: 1024 },
        httpOptions: { headers: { 'x-simulator-reasoning-tokens': '6', 'x-request-id': id } },
      },
    });
    const drain = async (it: AsyncIterable<{ candidates?: unknown }>) => {
      const out: unknown[] = [];
      for await (const c of it) out.push(c.candidates);
      return out;
    };
    const direct = await drain(await client(root).models.generateContentStream(req('gem-thoughts-direct')));
    expect(JSON.stringify(direct)).toContain('"thought":true');
    const ids = ['gem-thoughts-1', 'gem-thoughts-2', 'gem-thoughts-3'];
    for (const id of ids)
      expect(await drain(await client(s.base).models.generateContentStream(req(id)))).toEqual(direct);
    const answer = (direct as { content?: { parts?: { text?: string; thought?: boolean }[] } }[][])
      .flatMap((c) => c[0]?.content?.parts ?? [])
      .filter((p) => !p.thought)
      .map((p) => p.text)
      .join('');
    const calls = await Promise.all(ids.map(s.callOf));
    for (const c of calls) {
      expect(c).toMatchObject({ stream: true, status: 'ok', outputTokens: OUT + 6, reasoningTokens: 6 });
      expect(c.content?.output).toBe(answer);
    }
    expect(Math.min(...calls.map((c) => Math.abs((c.ttftMs ?? -100) - TTFT)))).toBeLessThan(5);
    const plain = await client(s.base).models.generateContent(req('gem-thoughts-plain'));
    expect(plain.candidates?.[0]?.content?.parts?.map((p) => p.thought === true)).toEqual([true, false]);
    expect(await s.callOf('gem-thoughts-plain')).toMatchObject({ outputTokens: OUT + 6, status: 'ok' });
    expect((await s.callOf('gem-thoughts-plain')).content?.output).toBe(plain.text);
  });

  it('a Gemini answer blocked by the safety filters mid-stream: the text so far passes, the call is a refusal', async () => {
    const root = sim.url.replace(/\/v1$/, '');
    const client = (baseUrl: string) => new GoogleGenAI({ apiKey: 'k', httpOptions: { baseUrl } });
    const req = (id: string) => ({
      model: GEMINI,
      contents: 'Tell me a story.',
      config: { httpOptions: { headers: { 'x-simulator-safety-after': '5', 'x-request-id': id } } },
    });
    const drain = async (it: AsyncIterable<{ text?: string; candidates?: { finishReason?: string }[] }>) => {
      let text = '';
      let finish: string | undefined;
      for await (const c of it) {
        text += c.text ?? '';
        finish = c.candidates?.[0]?.finishReason ?? finish;
      }
      return { text, finish };
    };
    const direct = await drain(await client(root).models.generateContentStream(req('gem-safety-direct')));
    expect(direct.finish).toBe('SAFETY');
    expect(direct.text.length).toBeGreaterThan(0);
    expect(await drain(await client(s.base).models.generateContentStream(req('gem-safety')))).toEqual(direct);
    const c = await s.callOf('gem-safety');
    expect(c).toMatchObject({ stream: true, status: 'ok', finishReason: 'SAFETY', refusal: true, outputTokens: 5 });
    expect(c.content?.output).toBe(direct.text);
    expect(Math.abs((c.ttftMs ?? -100) - TTFT)).toBeLessThan(50);
    // not streamed: the blocked candidate alone, no text
    const plain = await client(s.base).models.generateContent(req('gem-safety-plain'));
    expect(plain.candidates?.[0]?.finishReason).toBe('SAFETY');
    expect(plain.text).toBeUndefined();
    expect(await s.callOf('gem-safety-plain')).toMatchObject({
      finishReason: 'SAFETY',
      refusal: true,
      outputTokens: 5,
    });
  });

  describe("Claude Code's extended thinking (a thinking block before the answer)", () => {
    const body = (stream: boolean) => ({
      model: 'claude-sonnet-4-5',
      max_tokens: 4096,
      thinking: { type: 'enabled', budget_tokens: 1024 },
      system: [{ type: 'text', text: 'You are Claude Code.', cache_control: { type: 'ephemeral' } }],
      messages: [{ role: 'user', content: 'Plan the change, then answer.' }],
      stream,
    });
    const headers = { 'x-simulator-reasoning-tokens': '6', 'anthropic-version': '2023-06-01' };
    const sameIds = (t: string) => t.replace(/"(msg|toolu)_[^"]*"/g, '"ID"');
    /** The text of a stream's text or thinking deltas. */
    const deltas = (stream: string, kind: 'text' | 'thinking') =>
      stream
        .split('\n')
        .filter((l) => l.startsWith('data: '))
        .map((l) => JSON.parse(l.slice(6)) as { delta?: { type: string; text?: string; thinking?: string } })
        .filter((e) => e.delta?.type === `${kind}_delta`)
        .map((e) => e.delta?.[kind] ?? '')
        .join('');

    it('streams the thinking block through unchanged; TTFT from the first thinking delta, thinking counted as output', async () => {
      const direct = await post(sim.url.replace(/\/v1$/, ''), '/v1/messages?beta=true', body(true), headers);
      expect(direct.text).toContain('"thinking_delta"');
      expect(direct.text).toContain('"signature_delta"');
      expect(deltas(direct.text, 'thinking').length).toBeGreaterThan(0);
      const ids = ['anth-think-1', 'anth-think-2', 'anth-think-3'];
      for (const id of ids) {
        const via = await post(s.base, '/v1/messages?beta=true', body(true), { ...headers, 'x-request-id': id });
        expect(sameIds(via.text)).toBe(sameIds(direct.text));
      }
      const calls = await Promise.all(ids.map(s.callOf));
      for (const c of calls) {
        expect(c).toMatchObject({ status: 'ok', stream: true, outputTokens: OUT + 6, finishReason: 'end_turn' });
        // the answer's text, not the thinking
        expect(c.content?.output).toBe(deltas(direct.text, 'text'));
      }
      expect(Math.min(...calls.map((c) => Math.abs((c.ttftMs ?? -100) - TTFT)))).toBeLessThan(5);
    });

    it('answers a non-streamed call with the thinking block first, counted in output_tokens', async () => {
      const r = await post(s.base, '/v1/messages', body(false), { ...headers, 'x-request-id': 'anth-think-plain' });
      const msg = JSON.parse(r.text) as {
        content: { type: string; text?: string }[];
        usage: { output_tokens: number };
      };
      expect(msg.content.map((b) => b.type)).toEqual(['thinking', 'text']);
      expect(msg.usage.output_tokens).toBe(OUT + 6);
      const c = await s.callOf('anth-think-plain');
      expect(c).toMatchObject({ status: 'ok', outputTokens: OUT + 6, finishReason: 'end_turn' });
      expect(c.content?.output).toBe(msg.content[1]?.text);
    });
  });

  describe('Gemini streamGenerateContent without alt=sse (a JSON array)', () => {
    const path = `/v1beta/models/${GEMINI}:streamGenerateContent`;
    const body = {
      systemInstruction: { parts: [{ text: 'Answer in one line.' }] },
      contents: [{ role: 'user', parts: [{ text: 'Tell me about rivers, please.' }] }],
    };
    const sameIds = (t: string) => t.replace(/"responseId": "[^"]*"/g, '"responseId": "X"');

    it('passes the array through byte for byte and records tokens, TTFT, TPOT and cost', async () => {
      const headers = { 'x-goog-api-key': 'k', 'x-simulator-cached-tokens': '4', 'x-simulator-reasoning-tokens': '3' };
      const direct = await post(sim.url.replace(/\/v1$/, ''), path, body, headers);
      expect(direct.headers['content-type']).toMatch(/^application\/json/);
      const ids = ['gem-array-1', 'gem-array-2', 'gem-array-3'];
      const via = [];
      for (const id of ids) via.push(await post(s.base, path, body, { ...headers, 'x-request-id': id }));
      for (const v of via) {
        expect(v.status).toBe(200);
        expect(v.headers['content-type']).toBe(direct.headers['content-type']);
        expect(sameIds(v.text)).toBe(sameIds(direct.text));
      }
      const elements = JSON.parse(direct.text) as { usageMetadata: { promptTokenCount: number } }[];
      expect(elements.length).toBe(OUT);
      const prompt = elements[0]?.usageMetadata.promptTokenCount ?? 0;
      const calls = await Promise.all(ids.map(s.callOf));
      for (const c of calls)
        expect(c).toMatchObject({
          provider: 'gemini-sim',
          model: GEMINI,
          endpoint: 'generate_content',
          stream: true,
          status: 'ok',
          inputTokens: prompt,
          cachedInputTokens: 4,
          outputTokens: OUT + 3,
          reasoningTokens: 3,
          tokenSource: 'usage',
          finishReason: 'STOP',
          refusal: false,
          costUsd: costOf({ input: prompt, cachedInput: 4, output: OUT + 3 }, GEMINI_PRICE),
        });
      // TTFT from the first element with a part (the thoughts come first: 3 tokens at TPOT each), within 5 ms.
      const expected = TTFT + 3 * TPOT;
      expect(Math.min(...calls.map((c) => Math.abs((c.ttftMs ?? -100) - expected)))).toBeLessThan(5);
      for (const c of calls) expect(c.tpotMs).toBeGreaterThan(0);
    });

    it('records a prompt Gemini blocks (promptFeedback.blockReason) as a refusal, streamed or not', async () => {
      const headers = { 'x-simulator-fault': 'content_filter' };
      const streamed = await post(s.base, path, body, { ...headers, 'x-request-id': 'gem-array-blocked' });
      const [element] = JSON.parse(streamed.text) as {
        promptFeedback?: { blockReason?: string };
        candidates?: unknown;
      }[];
      expect(element?.promptFeedback?.blockReason).toBe('SAFETY');
      expect(element?.candidates).toBeUndefined();
      const plain = await post(s.base, `/v1beta/models/${GEMINI}:generateContent`, body, {
        ...headers,
        'x-request-id': 'gem-blocked',
      });
      expect(JSON.parse(plain.text).promptFeedback.blockReason).toBe('SAFETY');
      for (const id of ['gem-array-blocked', 'gem-blocked'])
        expect(await s.callOf(id)).toMatchObject({
          status: 'ok',
          refusal: true,
          finishReason: 'SAFETY',
          outputTokens: 0,
          tokenSource: 'usage',
        });
    });

    it('records a cancelled array stream as cancelled, with the usage of the elements seen so far', async () => {
      const ac = new AbortController();
      const r = await request(`${s.base}${path}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-request-id': 'gem-array-cancel',
          'x-simulator-output-tokens': '200',
        },
        body: JSON.stringify(body),
        signal: ac.signal,
      });
      let seen = '';
      try {
        for await (const chunk of r.body) {
          seen += chunk.toString();
          if ((seen.match(/"candidatesTokenCount"/g) ?? []).length >= 3) ac.abort();
        }
      } catch {
        /* aborted */
      }
      const c = await s.callOf('gem-array-cancel');
      expect(c).toMatchObject({ status: 'cancelled', stream: true, tokenSource: 'usage' });
      expect(c.outputTokens).toBeGreaterThanOrEqual(3);
      expect(c.outputTokens).toBeLessThan(200);
      expect(c.ttftMs).toBeGreaterThanOrEqual(TTFT);
    });

    it('records an upstream error answered as a one-element array with its status', async () => {
      const r = await post(s.base, path, body, { 'x-simulator-fault': 'rate_limit', 'x-request-id': 'gem-array-429' });
      expect(r.status).toBe(429);
      expect(JSON.parse(r.text)[0].error.status).toBe('RESOURCE_EXHAUSTED');
      expect(await s.callOf('gem-array-429')).toMatchObject({
        status: 'rate_limited',
        errorType: 'RESOURCE_EXHAUSTED',
      });
    });

    it("answers llmscope's own errors on it as Google does, a one-element array; with alt=sse one object", async () => {
      const direct = await post(sim.url.replace(/\/v1$/, ''), path, body, { 'x-simulator-fault': 'rate_limit' });
      expect(Array.isArray(JSON.parse(direct.text))).toBe(true);
      const cases = [
        // not JSON: 400 INVALID_ARGUMENT
        [path, '{"contents": [', 400, 'INVALID_ARGUMENT'],
        // a model no Gemini provider serves: 404 NOT_FOUND (the key in the query too)
        ['/v1beta/models/claude-x:streamGenerateContent?key=k', body, 404, 'NOT_FOUND'],
      ] as const;
      for (const [p, b, status, code] of cases) {
        const r = await post(s.base, p, b);
        expect(r.status).toBe(status);
        expect(JSON.parse(r.text)).toEqual([{ error: { code: status, message: expect.any(String), status: code } }]);
        const sse = await post(s.base, `${p}${p.includes('?') ? '&' : '?'}alt=sse`, b);
        expect(sse.status).toBe(status);
        expect(JSON.parse(sse.text)).toEqual({ error: { code: status, message: expect.any(String), status: code } });
      }
      // generateContent's stay one object
      const plain = await post(s.base, `/v1beta/models/${GEMINI}:generateContent`, '{"contents": [');
      expect(JSON.parse(plain.text)).toMatchObject({ error: { code: 400, status: 'INVALID_ARGUMENT' } });
    });
  });
});
