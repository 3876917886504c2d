// The GenAI semantic conventions' memory operations (QA46, from the semantic-conventions repository's
// model/gen-ai/registry.yaml: search_memory, update_memory, delete_memory, create_memory_store, delete_memory_store):
// a memory span that names its provider and the embedding model it used was taken for a model call (a chat call
// priced as that model, beside the embeddings call it made), and its gen_ai.memory.content / gen_ai.memory.query,
// which the conventions mark sensitive, were kept with the stored trace.
import { describe, expect, it } from 'vitest';
import { isLlmSpan, type OtlpSpan, toSpanRecord } from './index.js';

const memorySpan = (op: string): OtlpSpan => ({
  traceId: 'ab'.repeat(16),
  spanId: 'cd'.repeat(8),
  parentSpanId: 'ef'.repeat(8),
  name: `${op} preferences`,
  kind: 3,
  startNs: 1_700_000_000_000_000_000n,
  endNs: 1_700_000_000_050_000_000n,
  attributes: {
    'gen_ai.operation.name': op,
    'gen_ai.provider.name': 'openai',
    'gen_ai.request.model': 'text-embedding-3-small',
    'gen_ai.memory.store.id': 'ms_1',
    'gen_ai.memory.query': 'Zorvath dietary preferences',
    'gen_ai.memory.content': '{"preference":"Brontevale"}',
    'gen_ai.memory.search.result.count': 3,
  },
  events: [],
  status: { code: 0, message: '' },
  resource: {},
  scope: { name: 'x', version: '' },
});

describe('OTLP spans: GenAI memory operations', () => {
  it('are trace spans, not calls', () => {
    for (const op of ['search_memory', 'update_memory', 'delete_memory', 'create_memory_store', 'delete_memory_store'])
      expect(isLlmSpan(memorySpan(op))).toBe(false);
  });

  it('keep their store and counts, not the memory’s content or the query', () => {
    const rec = toSpanRecord(memorySpan('search_memory'));
    expect(rec.attributes).toMatchObject({ 'gen_ai.memory.store.id': 'ms_1', 'gen_ai.memory.search.result.count': 3 });
    expect(JSON.stringify(rec)).not.toMatch(/Zorvath|Brontevale/);
  });
});
