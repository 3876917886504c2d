// Span shapes of the newer conventions and of hand-written spans. The GenAI conventions' retrieval operation (gen_ai.operation.name = retrieval: a RAG step querying a vector store
// or search index, with the provider and the embedding model it used) is a step of the trace, not a model call; its
// query and documents (gen_ai.retrieval.query.text, gen_ai.retrieval.documents) are content, never kept with it.
import { describe, expect, it } from 'vitest';
import { isLlmSpan, type OtlpSpan, spanToCall, toSpanRecord } from './index.js';

const retrieval: OtlpSpan = {
  traceId: 'ab'.repeat(16),
  spanId: 'cd'.repeat(8),
  parentSpanId: 'ef'.repeat(8),
  name: 'retrieval kb-main',
  kind: 3,
  startNs: 1_700_000_000_000_000_000n,
  endNs: 1_700_000_000_120_000_000n,
  attributes: {
    'gen_ai.operation.name': 'retrieval',
    'gen_ai.provider.name': 'openai',
    'gen_ai.request.model': 'text-embedding-3-small',
    'gen_ai.data_source.id': 'kb-main',
    'gen_ai.retrieval.query.text': 'what is the refund policy for order 1234, card ending 4242?',
    'gen_ai.retrieval.documents': JSON.stringify([{ id: 'doc-1', score: 0.91, content: 'Refunds within 30 days…' }]),
  },
  events: [],
  status: { code: 0, message: '' },
  resource: { 'service.name': 'support-bot' },
  scope: { name: 'app', version: '' },
};

describe('OTLP spans: the GenAI retrieval operation', () => {
  it('is not a model call, whatever provider and model it names', () => {
    expect(isLlmSpan(retrieval)).toBe(false);
  });

  it('is kept with its trace without its query or documents', () => {
    const rec = toSpanRecord(retrieval);
    expect(rec.attributes).toMatchObject({ 'gen_ai.operation.name': 'retrieval', 'gen_ai.data_source.id': 'kb-main' });
    expect(Object.keys(rec.attributes)).not.toContain('gen_ai.retrieval.query.text');
    expect(Object.keys(rec.attributes)).not.toContain('gen_ai.retrieval.documents');
    expect(JSON.stringify(rec)).not.toContain('4242');
  });
});

describe("OTLP spans: OpenLLMetry's content attributes", () => {
  it("an image's revised prompt, a guardrail's input and output, the legacy functions' definitions are not kept", () => {
    const rec = toSpanRecord({
      ...retrieval,
      name: 'image_generation dall-e-3',
      attributes: {
        'gen_ai.operation.name': 'image_generation',
        'gen_ai.provider.name': 'openai',
        'gen_ai.request.model': 'dall-e-3',
        'gen_ai.request.image.size': '1024x1024',
        'gen_ai.response.revised_prompt': 'A photo of Jane Doe at 12 Elm Street',
        'gen_ai.guardrail.input': 'my card is 4242 4242 4242 4242',
        'gen_ai.guardrail.output': 'blocked: 4242',
        'llm.request.functions.0.name': 'lookup_customer',
        'llm.request.functions.0.description': 'Looks up Jane Doe',
      },
    });
    expect(rec.attributes).toMatchObject({ 'gen_ai.request.image.size': '1024x1024' });
    expect(JSON.stringify(rec)).not.toMatch(/Jane|4242|lookup_customer/);
  });
});

describe('OTLP spans: finish reasons written as a JSON string', () => {
  const chat = (reasons: string, status = 0): OtlpSpan => ({
    ...retrieval,
    name: 'chat gpt-4o',
    attributes: {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.usage.input_tokens': 12,
      'gen_ai.usage.output_tokens': 3,
      'gen_ai.response.finish_reasons': reasons,
    },
    status: { code: status, message: '' },
  });

  it('json.dumps(["stop"]) is the finish reason stop; content_filter a refusal; error a failed stream', () => {
    expect(spanToCall(chat('["stop"]'))).toMatchObject({ finishReason: 'stop', refusal: false, status: 'ok' });
    expect(spanToCall(chat('["content_filter"]'))).toMatchObject({ finishReason: 'content_filter', refusal: true });
    expect(spanToCall(chat('["error"]'))).toMatchObject({ finishReason: 'error', status: 'upstream_error' });
    // a plain string stays as sent
    expect(spanToCall(chat('length')).finishReason).toBe('length');
  });
});
