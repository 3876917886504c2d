// Operation names agent frameworks write in gen_ai.operation.name that are not the GenAI conventions' own (QA46, from
// their sources), and what followed from them:
// - Semantic Kernel (Python): chat.streaming_completions was recorded as not streamed, text.completions (a legacy
//   completion) as chat.completions, and its finish reason, gen_ai.response.finish_reason (singular), the choices'
//   reasons joined as their enum prints (FinishReason.CONTENT_FILTER), was not read: a filtered answer was no refusal;
// - Spring AI and LiteLLM name an embedding `embedding`: recorded as a chat.completions call;
// - LiteLLM's otel callback writes its call type as the operation: acompletion (an async chat call) and aembedding;
//   its sync chat call says llm.request.type `completion` beside the operation `chat`, and was recorded on the
//   completions endpoint; its llm.is_streaming is Python's str(bool), "True", so no call of it was streamed.
import { describe, expect, it } from 'vitest';
import { isLlmSpan } from './index.js';
import { attributeCall, attributeSpan } from './testing.js';

const span = (attrs: Record<string, string | number>) => attributeSpan(attrs, { name: 'op' });
const call = (attrs: Record<string, string | number>) => attributeCall(attrs, { name: 'op' });

describe('OTLP spans: frameworks’ operation names', () => {
  it('Semantic Kernel: a streaming chat is streamed, its enum-printed finish reason read; text.completions is a completion', () => {
    const c = call({
      'gen_ai.operation.name': 'chat.streaming_completions',
      'gen_ai.system': 'openai',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.usage.input_tokens': 30,
      'gen_ai.usage.output_tokens': 20,
      'gen_ai.response.finish_reason': 'FinishReason.CONTENT_FILTER,FinishReason.STOP',
    });
    expect(c).toMatchObject({
      endpoint: 'chat.completions',
      stream: true,
      finishReason: 'content_filter',
      refusal: true,
    });
    const t = call({
      'gen_ai.operation.name': 'text.completions',
      'gen_ai.system': 'openai',
      'gen_ai.request.model': 'gpt-3.5-turbo-instruct',
      'gen_ai.response.finish_reason': 'stop',
    });
    expect(t).toMatchObject({ endpoint: 'completions', stream: false, finishReason: 'stop', refusal: false });
    expect(
      call({
        ...{ 'gen_ai.system': 'openai', 'gen_ai.request.model': 'gpt-4o' },
        'gen_ai.operation.name': 'chat.completions',
      }),
    ).toMatchObject({ endpoint: 'chat.completions', stream: false });
  });

  it('Semantic Kernel for .NET: its finish reasons as a JSON list of the SDK enum’s names; ContentFilter is a refusal', () => {
    const base = {
      'gen_ai.operation.name': 'chat.completions',
      'gen_ai.system': 'openai',
      'gen_ai.request.model': 'gpt-4o',
    };
    expect(call({ ...base, 'gen_ai.response.finish_reason': '["ContentFilter"]' })).toMatchObject({
      finishReason: 'ContentFilter',
      refusal: true,
    });
    expect(call({ ...base, 'gen_ai.response.finish_reason': '["Stop"]' })).toMatchObject({
      finishReason: 'Stop',
      refusal: false,
    });
    // a choice that named no reason
    expect(call({ ...base, 'gen_ai.response.finish_reason': '["N/A"]' }).finishReason).toBeNull();
  });

  it("Spring AI's and LiteLLM's `embedding` operation is an embeddings call", () => {
    const c = call({
      'gen_ai.operation.name': 'embedding',
      'gen_ai.system': 'openai',
      'gen_ai.request.model': 'text-embedding-3-small',
      'gen_ai.usage.input_tokens': '8',
      'gen_ai.usage.total_tokens': '8',
    });
    expect(c).toMatchObject({ endpoint: 'embeddings', inputTokens: 8, outputTokens: null });
    expect(
      call({
        'gen_ai.operation.name': 'aembedding',
        'gen_ai.system': 'openai',
        'gen_ai.request.model': 'text-embedding-3-small',
      }).endpoint,
    ).toBe('embeddings');
  });

  it("LiteLLM's otel callback: its chat calls, sync and async, are chat.completions, streamed when it says True", () => {
    const base = { 'gen_ai.system': 'openai', 'gen_ai.request.model': 'gpt-4o-mini' };
    expect(
      call({ ...base, 'llm.request.type': 'completion', 'gen_ai.operation.name': 'chat', 'llm.is_streaming': 'False' }),
    ).toMatchObject({ endpoint: 'chat.completions', stream: false });
    expect(
      call({
        ...base,
        'llm.request.type': 'acompletion',
        'gen_ai.operation.name': 'acompletion',
        'llm.is_streaming': 'True',
      }),
    ).toMatchObject({ endpoint: 'chat.completions', stream: true });
    // an async rerank is a rerank: kept with the trace, not a call
    expect(
      isLlmSpan(
        span({ 'gen_ai.operation.name': 'arerank', 'gen_ai.system': 'cohere', 'gen_ai.request.model': 'rerank-v3.5' }),
      ),
    ).toBe(false);
    // OpenLLMetry's legacy completion (no operation) stays a completion
    expect(call({ ...base, 'llm.request.type': 'completion' }).endpoint).toBe('completions');
  });
});
