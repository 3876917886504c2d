// The OpenAI Agents SDK traced by Logfire (logfire.instrument_openai_agents, QA46, from logfire's
// integrations/openai_agents.py): every span of the run gets gen_ai.system openai and the span data's own fields. A
// model call is a `Responses API with {model}` span whose answer is the whole Response in `response` and whose input
// is `raw_input`; a function tool's span carries its arguments and result as `input` / `output`. The call was recorded
// on chat.completions (it named no gen_ai.response.id), and `response`, `raw_input`, `input` and `output` were kept
// with the stored trace whatever telemetry.captureContent said.
import { describe, expect, it } from 'vitest';
import { isLlmSpan, type OtlpSpan, spanToCall, toSpanRecord } from './index.js';

function spanWith(name: string, attributes: OtlpSpan['attributes'], spanId: string): OtlpSpan {
  return {
    traceId: 'ab'.repeat(16),
    spanId,
    parentSpanId: '12'.repeat(8),
    name,
    kind: 1,
    startNs: 1_700_000_000_000_000_000n,
    endNs: 1_700_000_000_900_000_000n,
    attributes,
    events: [],
    status: { code: 0, message: '' },
    resource: { 'service.name': 'agents-app' },
    scope: { name: 'logfire.openai_agents', version: '' },
  };
}

describe('OTLP spans: the OpenAI Agents SDK through Logfire', () => {
  const response = spanWith(
    "Responses API with 'gpt-4.1'",
    {
      'logfire.msg_template': 'Responses API with {gen_ai.request.model!r}',
      'gen_ai.system': 'openai',
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'gpt-4.1',
      'gen_ai.response.model': 'gpt-4.1-2025-04-14',
      response:
        '{"id":"resp_68a1","created_at":1755000000,"model":"gpt-4.1-2025-04-14","output":[{"content":[{"text":"Brontevale"}]}]}',
      raw_input: '[{"role":"user","content":"Zorvath"}]',
      model_settings: '{"temperature":null}',
      'gen_ai.usage.input_tokens': 70,
      'gen_ai.usage.output_tokens': 15,
    },
    'aa'.repeat(8),
  );
  const tool = spanWith(
    'Function: get_weather',
    {
      'logfire.msg_template': 'Function: {name}',
      'gen_ai.system': 'openai',
      name: 'get_weather',
      input: '{"city":"Marrowlight"}',
      output: 'Quillfen',
    },
    'bb'.repeat(8),
  );

  it('the response span is a Responses API call', () => {
    expect(isLlmSpan(response)).toBe(true);
    expect(spanToCall(response)).toMatchObject({
      endpoint: 'responses',
      provider: 'openai',
      model: 'gpt-4.1',
      inputTokens: 70,
      outputTokens: 15,
    });
    expect(isLlmSpan(tool)).toBe(false);
  });

  it('keeps neither the response, the raw input, nor a function tool’s input and output', () => {
    expect(toSpanRecord(tool).attributes).toMatchObject({ name: 'get_weather' });
    expect(toSpanRecord(response).attributes).toMatchObject({ 'gen_ai.request.model': 'gpt-4.1' });
    const kept = JSON.stringify(toSpanRecord(response)) + JSON.stringify(toSpanRecord(tool));
    for (const word of ['Zorvath', 'Brontevale', 'Marrowlight', 'Quillfen']) expect(kept).not.toContain(word);
    // names that only begin with them are not content: OpenInference's input.mime_type stays
    const oi = spanWith(
      'x',
      { 'input.mime_type': 'application/json', 'output.mime_type': 'text/plain' },
      'cc'.repeat(8),
    );
    expect(toSpanRecord(oi).attributes).toMatchObject({ 'input.mime_type': 'application/json' });
  });
});
