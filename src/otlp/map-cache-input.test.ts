// The record's input_tokens is the whole prompt (cache reads and writes included); spans that copy Anthropic's own
// input_tokens (which leaves them out) are read as such when their input is smaller than its cached parts.
import { describe, expect, it } from 'vitest';
import { attributeCall } from './testing.js';

const call = (attrs: Record<string, string | number>) => attributeCall(attrs, { name: 'llm' });

describe('OTLP spans: cached input tokens', () => {
  it("the AI SDK 5's Anthropic doGenerate (input_tokens without the 5,000 read from the cache): input is the whole prompt", () => {
    const c = call({
      'ai.operationId': 'ai.generateText.doGenerate',
      'ai.model.provider': 'anthropic.messages',
      'ai.model.id': 'claude-sonnet-4-5',
      'ai.usage.inputTokens': 10,
      'ai.usage.outputTokens': 50,
      'ai.usage.cachedInputTokens': 5000,
    });
    expect(c).toMatchObject({ inputTokens: 5010, cachedInputTokens: 5000, outputTokens: 50 });
  });

  it("the AI SDK 5 and 4 on Anthropic: input is always input_tokens alone, the cache writes (and 4's reads) in the provider metadata", () => {
    // a large uncached rest beside the cache reads: not smaller than them, still without them
    expect(
      call({
        'ai.operationId': 'ai.streamText.doStream',
        'ai.model.provider': 'anthropic.messages',
        'ai.model.id': 'claude-sonnet-4-5',
        'ai.usage.inputTokens': 6000,
        'ai.usage.outputTokens': 50,
        'ai.usage.cachedInputTokens': 5000,
        'ai.response.providerMetadata': JSON.stringify({
          anthropic: { cacheCreationInputTokens: 2118, usage: { input_tokens: 6000 } },
        }),
      }),
    ).toMatchObject({ inputTokens: 13118, cachedInputTokens: 5000, cacheWriteInputTokens: 2118 });
    expect(
      call({
        'ai.operationId': 'ai.generateText.doGenerate',
        'ai.model.provider': 'vertex.anthropic.messages',
        'ai.model.id': 'claude-sonnet-4-5',
        'ai.usage.promptTokens': 40,
        'ai.usage.completionTokens': 9,
        'ai.response.providerMetadata': JSON.stringify({
          anthropic: { cacheCreationInputTokens: 0, cacheReadInputTokens: 30 },
        }),
      }),
    ).toMatchObject({ inputTokens: 70, cachedInputTokens: 30, cacheWriteInputTokens: 0 });
  });

  it('GenAI attributes from an Anthropic instrumentation that copied input_tokens (reads and writes left out)', () => {
    const c = call({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'anthropic',
      'gen_ai.request.model': 'claude-sonnet-4-5',
      'gen_ai.usage.input_tokens': 10,
      'gen_ai.usage.output_tokens': 50,
      'gen_ai.usage.cache_read.input_tokens': 5000,
      'gen_ai.usage.cache_creation.input_tokens': 200,
    });
    expect(c).toMatchObject({ inputTokens: 5210, cachedInputTokens: 5000, cacheWriteInputTokens: 200 });
  });

  it('an input that already includes its cached parts is kept (AI SDK 6, OpenLLMetry, OpenAI)', () => {
    expect(
      call({
        'ai.operationId': 'ai.streamText.doStream',
        'ai.model.provider': 'anthropic.messages',
        'ai.model.id': 'claude-sonnet-4-5',
        'ai.usage.inputTokens': 5210,
        'ai.usage.inputTokenDetails.cacheReadTokens': 5000,
        'ai.usage.inputTokenDetails.cacheWriteTokens': 200,
        'ai.usage.outputTokens': 50,
      }),
    ).toMatchObject({ inputTokens: 5210, cachedInputTokens: 5000, cacheWriteInputTokens: 200 });
    expect(
      call({
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'openai',
        'gen_ai.request.model': 'gpt-4o',
        'gen_ai.usage.input_tokens': 2006,
        'gen_ai.usage.cache_read.input_tokens': 1920,
        'gen_ai.usage.output_tokens': 300,
      }),
    ).toMatchObject({ inputTokens: 2006, cachedInputTokens: 1920 });
  });

  it("OpenLLMetry's gen_ai.usage.reasoning_tokens are the call's reasoning tokens", () => {
    const c = call({
      'gen_ai.system': 'openai',
      'llm.request.type': 'chat',
      'gen_ai.request.model': 'o4-mini',
      'gen_ai.usage.input_tokens': 100,
      'gen_ai.usage.output_tokens': 420,
      'gen_ai.usage.reasoning_tokens': 384,
    });
    expect(c.reasoningTokens).toBe(384);
  });
});
