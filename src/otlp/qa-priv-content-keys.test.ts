// Content attributes of older and less common instrumentations, never kept with a stored span (content is opt-in):
// OpenLLMetry's releases before its 0.2 semantic conventions wrote a call's messages as llm.prompts.N.* and its answer
// as llm.completions.N.*; OpenInference's llm.function_call holds a legacy function call's name and arguments; Pydantic
// AI puts an agent run's whole conversation in pydantic_ai.all_messages (instrumentation version 2 on) and, before
// version 3, a running tool's arguments and result in tool_arguments / tool_response; Logfire's OpenAI and Anthropic
// instrumentation (its version 1, the default) puts the request's JSON in request_data and the answer in response_data;
// OpenLIT writes gen_ai.content.* (the prompt, completion, revised prompt, reasoning) and gen_ai.response.tool_calls.
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

  it('keeps neither a Pydantic AI agent run’s conversation nor a running tool’s arguments and result', () => {
    const messages = [
      { role: 'user', parts: [{ type: 'text', content: 'Send the Zorvath invoice' }] },
      { role: 'assistant', parts: [{ type: 'text', content: 'Sent to Tessaridge' }] },
    ];
    const run = toSpanRecord({
      ...span,
      name: 'agent run',
      attributes: {
        agent_name: 'billing',
        'gen_ai.agent.name': 'billing',
        'logfire.msg': 'billing run',
        'pydantic_ai.all_messages': JSON.stringify(messages),
        'pydantic_ai.new_message_index': 0,
        'gen_ai.usage.input_tokens': 51,
      },
    });
    const tool = toSpanRecord({
      ...span,
      name: 'running tool',
      attributes: {
        'gen_ai.tool.name': 'send_invoice',
        'gen_ai.tool.call.id': 'call_1',
        tool_arguments: '{"to":"Brontevale"}',
        tool_response: 'delivered to marrowlight',
        'logfire.msg': 'running tool: send_invoice',
      },
    });
    expect(run.attributes).toMatchObject({ 'gen_ai.agent.name': 'billing', 'gen_ai.usage.input_tokens': 51 });
    expect(tool.attributes).toMatchObject({ 'gen_ai.tool.name': 'send_invoice' });
    const kept = JSON.stringify([run, tool]);
    for (const word of ['Zorvath', 'Tessaridge', 'Brontevale', 'marrowlight']) expect(kept).not.toContain(word);
  });

  it('keeps neither the request nor the answer of a Logfire OpenAI span', () => {
    const rec = toSpanRecord({
      ...span,
      name: 'Chat Completion with {request_data[model]!r}',
      attributes: {
        'gen_ai.provider.name': 'openai',
        'gen_ai.operation.name': 'chat',
        'gen_ai.request.model': 'gpt-4o-mini',
        'logfire.msg': "Chat Completion with 'gpt-4o-mini'",
        request_data: JSON.stringify({
          model: 'gpt-4o-mini',
          messages: [{ role: 'user', content: 'Zorvath invoice' }],
        }),
        response_data: JSON.stringify({
          message: { role: 'assistant', content: 'Tessaridge' },
          usage: { total_tokens: 9 },
        }),
      },
    });
    expect(rec.attributes).toMatchObject({ 'gen_ai.request.model': 'gpt-4o-mini' });
    const kept = JSON.stringify(rec);
    for (const word of ['Zorvath', 'Tessaridge']) expect(kept).not.toContain(word);
  });

  it('keeps none of OpenLIT’s content attributes', () => {
    const rec = toSpanRecord({
      ...span,
      name: 'chat gpt-4o-mini',
      attributes: {
        'gen_ai.system': 'openai',
        'gen_ai.request.model': 'gpt-4o-mini',
        'gen_ai.content.prompt': 'user: Zorvath invoice',
        'gen_ai.content.completion': 'Tessaridge',
        'gen_ai.content.reasoning': 'Brontevale',
        'gen_ai.response.tool_calls': JSON.stringify([
          { function: { name: 'send', arguments: '{"to":"marrowlight"}' } },
        ]),
        'gen_ai.usage.input_tokens': 7,
      },
    });
    expect(rec.attributes).toMatchObject({ 'gen_ai.request.model': 'gpt-4o-mini', 'gen_ai.usage.input_tokens': 7 });
    const kept = JSON.stringify(rec);
    for (const word of ['Zorvath', 'Tessaridge', 'Brontevale', 'marrowlight']) expect(kept).not.toContain(word);
  });

  it('keeps neither Laminar’s span input and output nor Braintrust’s input, output and expected (QA50)', () => {
    const rec = toSpanRecord({
      ...span,
      name: 'answer_question',
      attributes: {
        'lmnr.span.type': 'DEFAULT',
        'lmnr.span.input': JSON.stringify({ question: 'Send the Zorvath invoice' }),
        'lmnr.span.output': JSON.stringify('Sent to Tessaridge'),
        'braintrust.input_json': JSON.stringify([{ role: 'user', content: 'Brontevale' }]),
        'braintrust.output': 'marrowlight',
        'braintrust.expected': 'marrowlight too',
        'braintrust.span_attributes': '{"type":"llm"}',
      },
    });
    expect(JSON.stringify(rec)).not.toMatch(/Zorvath|Tessaridge|Brontevale|marrowlight/);
    expect(rec.attributes).toMatchObject({
      'lmnr.span.type': 'DEFAULT',
      'braintrust.span_attributes': '{"type":"llm"}',
    });
  });
});
