import { describe, expect, it } from 'vitest';
import { LlmscopeError } from '../../errors.js';
import { promptTextOf } from '../index.js';
import {
  errorTypeOf,
  fastGeminiChunk,
  geminiAdapter,
  geminiStreamReader,
  promptText,
  readParsedChunk,
  responseInfo,
  usageOf,
} from './index.js';

describe('gemini adapter', () => {
  it('takes the model and streaming from the path, and builds the upstream path with the routed model', () => {
    expect(geminiAdapter.matchPath?.('/v1beta/models/gemini-2.5-flash:generateContent')).toBe('generate_content');
    expect(geminiAdapter.matchPath?.('/v1beta/models/gemini-2.5-flash')).toBeNull();
    const url = '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse';
    expect(geminiAdapter.requestFacts?.(url)).toEqual({ model: 'gemini-2.5-flash', stream: true });
    expect(geminiAdapter.upstreamPath('generate_content', url, 'gemini-2.5-pro')).toBe(
      '/models/gemini-2.5-pro:streamGenerateContent?alt=sse',
    );
  });

  it('reads the embedding methods as embeddings calls: path, prompt text, usageMetadata', () => {
    const url = '/v1beta/models/gemini-embedding-001:batchEmbedContents';
    expect(geminiAdapter.matchPath?.(url)).toBe('embeddings');
    expect(geminiAdapter.matchPath?.('/v1/models/text-embedding-004:embedContent')).toBe('embeddings');
    expect(geminiAdapter.requestFacts?.(url)).toEqual({ model: 'gemini-embedding-001', stream: false });
    expect(geminiAdapter.upstreamPath('embeddings', `${url}?x=1`, 'gemini-embedding-002')).toBe(
      '/models/gemini-embedding-002:batchEmbedContents?x=1',
    );
    // no longer passed through unrecorded; countTokens still is
    expect(geminiAdapter.passThroughPath?.('/v1/models/gemini-embedding-001:embedContent')).toBeNull();
    expect(geminiAdapter.passThroughPath?.('/v1/models/gemini-2.5-flash:countTokens')?.model).toBe('gemini-2.5-flash');
    const one = { content: { parts: [{ text: 'a' }, { text: 'b' }] } };
    const many = { requests: [{ content: { parts: [{ text: 'x' }] } }, { content: { parts: [{ text: 'y' }] } }] };
    expect(promptText(one, 'embeddings')).toBe('ab');
    expect(promptText(many, 'embeddings')).toBe('x\ny');
    expect(promptTextOf(many, 'embeddings')).toBe('x\ny');
    expect(promptTextOf({ model: 'm', input: ['x', 'y'] }, 'embeddings')).toBe('x\ny');
    expect(responseInfo({ embeddings: [], usageMetadata: { promptTokenCount: 7 } }, 'embeddings').usage).toEqual({
      inputTokens: 7,
      outputTokens: 0,
      cachedInputTokens: 0,
      reasoningTokens: 0,
      cacheWriteInputTokens: 0,
    });
    expect(responseInfo({ embedding: { values: [1] } }, 'embeddings').usage).toBeNull();
    expect(geminiAdapter.params(many)).toEqual({});
  });

  it('counts thoughts as output and reasoning; promptTokenCount already holds the cached tokens', () => {
    expect(
      usageOf({ promptTokenCount: 100, candidatesTokenCount: 20, thoughtsTokenCount: 30, cachedContentTokenCount: 60 }),
    ).toEqual({
      inputTokens: 100,
      outputTokens: 50,
      cachedInputTokens: 60,
      reasoningTokens: 30,
      cacheWriteInputTokens: 0,
    });
  });

  it("counts the prompt tokens of Gemini's own tool use (Google Search grounding) as input", () => {
    const u = {
      promptTokenCount: 10,
      candidatesTokenCount: 40,
      toolUsePromptTokenCount: 350,
      thoughtsTokenCount: 5,
      totalTokenCount: 405,
    };
    expect(usageOf(u)).toMatchObject({ inputTokens: 360, outputTokens: 45 });
    // the stream's fast reader agrees
    const chunk = `{"candidates":[{"content":{"parts":[{"text":"Hi"}],"role":"model"},"index":0}],"usageMetadata":${JSON.stringify(u)},"modelVersion":"gemini-2.5-flash"}`;
    expect(fastGeminiChunk(chunk)?.usage).toEqual(usageOf(u));
  });

  it('reads text (not thoughts), finish reasons, safety blocks and prompt blocks', () => {
    const body = {
      candidates: [{ content: { parts: [{ text: 'plan', thought: true }, { text: 'Hi' }] }, finishReason: 'STOP' }],
    };
    expect(responseInfo(body)).toMatchObject({ text: 'Hi', finishReason: 'STOP', refusal: null });
    expect(responseInfo({ candidates: [{ finishReason: 'SAFETY' }] }).refusal).toBe('SAFETY');
    expect(responseInfo({ promptFeedback: { blockReason: 'PROHIBITED_CONTENT' } })).toMatchObject({
      refusal: 'PROHIBITED_CONTENT',
      finishReason: 'PROHIBITED_CONTENT',
    });
    const chunk = geminiStreamReader.read(
      JSON.stringify({ candidates: [{ content: { parts: [{ functionCall: { name: 'f' } }] } }] }),
    );
    expect(chunk?.content).toBe(true);
  });

  it('reads the system instruction and contents, marking the model turns', () => {
    const ranges: number[] = [];
    const text = promptText(
      {
        systemInstruction: { parts: [{ text: 'Sys' }] },
        contents: [
          { role: 'user', parts: [{ text: 'Q' }] },
          { role: 'model', parts: [{ text: 'A' }] },
        ],
      },
      'generate_content',
      ranges,
    );
    expect(text).toBe('Sys\nQ\nA\n');
    expect(ranges).toEqual([6, 8]);
  });

  it("renders llmscope's errors in Google's shape", () => {
    const r = geminiAdapter.renderError(new LlmscopeError('LLMSCOPE_ERR_BUDGET_EXCEEDED', 'spent'));
    expect(r).toMatchObject({
      status: 429,
      body: { error: { code: 429, message: 'spent', status: 'RESOURCE_EXHAUSTED' } },
    });
  });
});

describe('fastGeminiChunk', () => {
  const usage = {
    promptTokenCount: 3,
    candidatesTokenCount: 2,
    totalTokenCount: 5,
    thoughtsTokenCount: 1,
    promptTokensDetails: [{ modality: 'TEXT', tokenCount: 3 }],
  };
  const chunk = (text: string, extra: Record<string, unknown> = {}, finish?: string) =>
    JSON.stringify({
      candidates: [
        { content: { parts: [{ text }], role: 'model' }, ...(finish ? { finishReason: finish } : {}), index: 0 },
      ],
      usageMetadata: usage,
      modelVersion: 'gemini-2.5-flash',
      responseId: 'r1',
      ...extra,
    });
  const answered: [string, string][] = [
    ['a text chunk as the simulator and Google write it', chunk('Many')],
    ['escaped quotes, backslashes and unicode', chunk('say "hi" \\ é 世界 🙂 {"text":"x"}')],
    ['an empty text', chunk('')],
    ['the last chunk with its finish reason', chunk('.', {}, 'STOP')],
    ['a safety stop (a refusal)', chunk('', {}, 'SAFETY')],
    [
      'usage as the last member',
      JSON.stringify({ candidates: [{ content: { parts: [{ text: 'x' }], role: 'model' } }], usageMetadata: usage }),
    ],
    ['no usage', JSON.stringify({ candidates: [{ content: { parts: [{ text: 'x' }], role: 'model' }, index: 0 }] })],
  ];
  it.each(answered)('reads %s as the parser does', (_name, data) => {
    const fast = fastGeminiChunk(data);
    expect(fast).not.toBeNull();
    expect(fast).toEqual(readParsedChunk(data));
  });

  const left: [string, string][] = [
    [
      'a thought part',
      JSON.stringify({ candidates: [{ content: { parts: [{ text: 'hmm', thought: true }], role: 'model' } }] }),
    ],
    [
      'two parts',
      JSON.stringify({ candidates: [{ content: { parts: [{ text: 'a' }, { text: 'b' }], role: 'model' } }] }),
    ],
    [
      'a function call',
      JSON.stringify({
        candidates: [{ content: { parts: [{ functionCall: { name: 'f', args: {} } }], role: 'model' } }],
      }),
    ],
    ['safety ratings', chunk('x', {}).replace('"index":0', '"index":0,"safetyRatings":[]')],
    ['a prompt feedback', chunk('x', { promptFeedback: { blockReason: 'SAFETY' } })],
    ['an error member', chunk('x', { error: { code: 500, status: 'INTERNAL' } })],
    ['a second candidates member', chunk('x', { candidates: [] }).replace(/^\{"candidates":\[\],/, '{')],
    ['usage followed by an object', chunk('x').replace('"modelVersion"', '"x":{"modelVersion":1},"modelVersion"')],
    ['spaces', JSON.stringify(JSON.parse(chunk('x')), null, 1)],
    ['not JSON', chunk('x').slice(0, -3)],
  ];
  it.each(left)('leaves %s to the parser', (_name, data) => {
    const fast = fastGeminiChunk(data);
    if (fast !== null) expect(fast).toEqual(readParsedChunk(data));
    else expect(fast).toBeNull();
  });

  it('reads a whole simulated stream as the parser does', () => {
    const reader = geminiAdapter.streamReader('generate_content');
    for (const [i, t] of ['Many', ' stop', ' often', '.'].entries()) {
      const data = chunk(t, {}, i === 3 ? 'STOP' : undefined);
      // the model and response id the first chunk names (the span's) aside
      const { responseModel: _model, responseId: _id, ...read } = reader.read(data) ?? {};
      expect(read).toEqual(readParsedChunk(data));
    }
  });
});

describe('errorTypeOf', () => {
  it("reads Google's error, also as the one-element array a stream without alt=sse answers", () => {
    const e = { error: { code: 429, message: 'quota', status: 'RESOURCE_EXHAUSTED' } };
    expect(errorTypeOf(e)).toBe('RESOURCE_EXHAUSTED');
    expect(errorTypeOf([e])).toBe('RESOURCE_EXHAUSTED');
    expect(errorTypeOf([])).toBeNull();
  });

  it('marks RESOURCE_EXHAUSTED in a stream as a rate limit, not INTERNAL', () => {
    const e = (status: string) => JSON.stringify({ error: { code: 429, message: 'quota', status } });
    expect(geminiStreamReader.read(e('RESOURCE_EXHAUSTED'))).toMatchObject({
      error: 'RESOURCE_EXHAUSTED',
      rateLimited: true,
    });
    expect(geminiStreamReader.read(e('INTERNAL'))?.rateLimited).toBeFalsy();
  });

  it("a stream chunk's usage before the last: output unknown without candidatesTokenCount, thoughts kept", () => {
    const text = (usage: object, finish?: string) =>
      `{"candidates":[{"content":{"parts":[{"text":"Hi"}],"role":"model"}${finish ? `,"finishReason":"${finish}"` : ''},"index":0}],"usageMetadata":${JSON.stringify(usage)},"modelVersion":"gemini-2.5-flash"}`;
    const early = text({ promptTokenCount: 8, totalTokenCount: 8 });
    for (const read of [fastGeminiChunk, readParsedChunk, (d: string) => geminiStreamReader.read(d)])
      expect(read(early)?.usage).toMatchObject({ inputTokens: 8, outputTokens: null });
    // thinking reported so far is billed output, kept
    expect(readParsedChunk(text({ promptTokenCount: 8, thoughtsTokenCount: 30 }))?.usage?.outputTokens).toBe(30);
    // the chunk that finishes the stream says the output, 0 when it leaves the count out (nothing generated)
    expect(readParsedChunk(text({ promptTokenCount: 8, totalTokenCount: 8 }, 'STOP'))?.usage?.outputTokens).toBe(0);
    expect(fastGeminiChunk(text({ promptTokenCount: 8, candidatesTokenCount: 3 }, 'STOP'))?.usage?.outputTokens).toBe(
      3,
    );
    // a whole body is read as before
    expect(responseInfo({ usageMetadata: { promptTokenCount: 8, totalTokenCount: 8 } }).usage?.outputTokens).toBe(0);
  });

  it('several candidates (candidateCount): the answer is candidate 0, whatever its place in a chunk', () => {
    const part = (text: string, index: number, finish?: string) => ({
      content: { parts: [{ text }], role: 'model' },
      ...(finish ? { finishReason: finish } : {}),
      index,
    });
    // a chunk of candidate 1 alone says nothing of the answer
    const other = JSON.stringify({ candidates: [part('B', 1, 'SAFETY')], modelVersion: 'gemini-2.5-flash' });
    for (const read of [readParsedChunk, (d: string) => geminiStreamReader.read(d)])
      expect(read(other)).toMatchObject({ text: '', finishReason: null, refusal: null });
    // candidate 0 after candidate 1 in one chunk or body
    const both = { candidates: [part('B', 1, 'MAX_TOKENS'), part('A', 0, 'STOP')] };
    expect(readParsedChunk(JSON.stringify(both))).toMatchObject({ text: 'A', finishReason: 'STOP', content: true });
    expect(responseInfo(both)).toMatchObject({ text: 'A', finishReason: 'STOP' });
    // a candidate without an index is candidate 0 (the API leaves 0 out in some answers)
    expect(responseInfo({ candidates: [{ content: { parts: [{ text: 'A' }] }, finishReason: 'STOP' }] }).text).toBe(
      'A',
    );
  });
});
