// Prompt-cache counts under the names Pydantic AI and Mastra give them (QA46, from their sources): Pydantic AI's
// usage writes its cache reads and writes, and the provider's other details, as gen_ai.usage.details.<key>
// (cache_read_tokens, cache_write_tokens, reasoning_tokens); Mastra's OpenTelemetry exporter (@mastra/otel-exporter)
// as gen_ai.usage.cached_input_tokens and gen_ai.usage.cache_write_tokens. None was read: a call that read 4,000 of its
// 5,000 prompt tokens from the cache was priced as 5,000 uncached ones (about 4x an OpenAI call's cost), its writes
// at the plain input price.
import { describe, expect, it } from 'vitest';
import { attributeCall } from './testing.js';

const call = (attrs: Record<string, string | number>) => attributeCall(attrs);

describe('OTLP spans: frameworks’ prompt-cache counts', () => {
  it("Pydantic AI's gen_ai.usage.details.cache_read_tokens / cache_write_tokens / reasoning_tokens", () => {
    const c = call({
      'gen_ai.operation.name': 'chat',
      'gen_ai.system': 'openai',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.usage.input_tokens': 5000,
      'gen_ai.usage.output_tokens': 300,
      'gen_ai.usage.details.cache_read_tokens': 4000,
      'gen_ai.usage.details.reasoning_tokens': 120,
    });
    expect(c).toMatchObject({ inputTokens: 5000, cachedInputTokens: 4000, reasoningTokens: 120 });
    const w = call({
      'gen_ai.operation.name': 'chat',
      'gen_ai.system': 'anthropic',
      'gen_ai.request.model': 'claude-sonnet-4-5',
      'gen_ai.usage.input_tokens': 3000,
      'gen_ai.usage.output_tokens': 10,
      'gen_ai.usage.details.cache_write_tokens': 2500,
    });
    expect(w).toMatchObject({ inputTokens: 3000, cacheWriteInputTokens: 2500 });
  });

  it("Mastra's gen_ai.usage.cached_input_tokens / cache_write_tokens", () => {
    const c = call({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'mastra.span.type': 'model_generation',
      'gen_ai.usage.input_tokens': 5000,
      'gen_ai.usage.output_tokens': 40,
      'gen_ai.usage.cached_input_tokens': 4000,
      'gen_ai.usage.cache_write_tokens': 0,
    });
    expect(c).toMatchObject({ inputTokens: 5000, cachedInputTokens: 4000, cacheWriteInputTokens: 0 });
  });
});
