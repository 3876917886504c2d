// Content attributes of older and less common instrumentations, never kept with a stored span (content is opt-in):
// OpenLLMetry's releases before its 0.2 semantic conventions wrote a call's messages as llm.prompts.N.* and its answer
// as llm.completions.N.*; OpenInference's llm.function_call holds a legacy function call's name and arguments.
import { describe, expect, it } from 'vitest';
import { type OtlpSpan, toSpanRecord } from './index.js';

const span: OtlpSpan = {
  traceId: 'ab'.repeat(16),
  spanId: 'cd'.repeat(8),
  parentSpanId: null,
  name: 'openai.chat',
  kind: 3,
  startNs: 1_700_000_000_000_000_000n,
  endNs: 1_700_000_000_120_000_000n,
  attributes: {
    'llm.request.type': 'chat',
    'llm.request.model': 'gpt-4o-mini',
    'llm.prompts.0.role': 'user',
    'llm.prompts.0.content': 'Send the Zorvath invoice to the Tessaridge office',
    'llm.completions.0.role': 'assistant',
    'llm.completions.0.content': 'I sent the Brontevale invoice',
    'llm.completions.0.finish_reason': 'stop',
    'llm.function_call': JSON.stringify({ name: 'send_invoice', arguments: '{"to":"marrowlight"}' }),
    'llm.usage.prompt_tokens': 12,
  },
  events: [],
  status: { code: 0, message: '' },
  resource: { 'service.name': 'billing-bot' },
  scope: { name: 'opentelemetry.instrumentation.openai', version: '0.0.1' },
};

describe('OTLP spans: legacy content attributes', () => {
  it('keeps neither the prompt, the completion nor a function call’s arguments', () => {
    const rec = toSpanRecord(span);
    expect(rec.attributes).toMatchObject({ 'llm.request.model': 'gpt-4o-mini', 'llm.usage.prompt_tokens': 12 });
    const kept = JSON.stringify(rec);
    for (const word of ['Zorvath', 'Tessaridge', 'Brontevale', 'marrowlight']) expect(kept).not.toContain(word);
    expect(
      Object.keys(rec.attributes).filter((k) => k.startsWith('llm.completions') || k === 'llm.function_call'),
    ).toEqual([]);
  });
});
