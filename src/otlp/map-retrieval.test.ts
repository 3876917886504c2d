// The GenAI conventions' retrieval operation (gen_ai.operation.name = retrieval: a RAG step querying a vector store
// or search index, with the provider and the embedding model it used) is a step of the trace, not a model call; its
// query and documents (gen_ai.retrieval.query.text, gen_ai.retrieval.documents) are content, never kept with it.
import { describe, expect, it } from 'vitest';
import { isLlmSpan, type OtlpSpan, toSpanRecord } from './index.js';

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
