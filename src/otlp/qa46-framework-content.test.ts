// Content that agent frameworks write on their own spans, under their own names (QA46, from their sources): Google ADK
// puts the model request's contents and the answer on every call_llm span (`gcp.vertex.agent.llm_request` /
// `llm_response`, on by default: ADK_CAPTURE_MESSAGE_CONTENT_IN_SPANS) and a tool's arguments and result on its
// execute_tool span; OpenLLMetry's CrewAI instrumentation writes the crew's result, the tasks' descriptions and the
// agents' backstories; Spring AI its tool calls' arguments and results and a vector store query's text; LiteLLM's `otel`
// callback a `raw_gen_ai_request` span holding the provider's raw request and answer as `llm.<provider>.<field>`. All
// of it was kept with the stored trace (cut at 1,024 characters) whatever telemetry.captureContent said.
import { describe, expect, it } from 'vitest';
import { type OtlpSpan, toSpanRecord } from './index.js';

function spanWith(name: string, attributes: OtlpSpan['attributes']): OtlpSpan {
  return {
    traceId: 'ab'.repeat(16),
    spanId: 'cd'.repeat(8),
    parentSpanId: 'ef'.repeat(8),
    name,
    kind: 1,
    startNs: 1_700_000_000_000_000_000n,
    endNs: 1_700_000_000_120_000_000n,
    attributes,
    events: [],
    status: { code: 0, message: '' },
    resource: {},
    scope: { name: 'x', version: '' },
  };
}

const kept = (s: OtlpSpan) => JSON.stringify(toSpanRecord(s));

describe('OTLP spans: agent frameworks’ own content attributes', () => {
  it("Google ADK's call_llm and execute_tool spans keep their ids, not the request, answer, arguments or result", () => {
    const llm = spanWith('call_llm', {
      'gen_ai.system': 'gcp.vertex.agent',
      'gen_ai.request.model': 'gemini-2.5-flash',
      'gcp.vertex.agent.session_id': 'sess-1',
      'gcp.vertex.agent.invocation_id': 'e-1',
      'gcp.vertex.agent.llm_request':
        '{"contents":[{"role":"user","parts":[{"text":"Zorvath invoice for Tessaridge"}]}]}',
      'gcp.vertex.agent.llm_response': '{"content":{"parts":[{"text":"Sent to Brontevale"}]}}',
      'gcp.vertex.agent.data': '[{"role":"user","parts":[{"text":"Marrowlight"}]}]',
    });
    const tool = spanWith('execute_tool send_invoice', {
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'send_invoice',
      'gcp.vertex.agent.tool_call_args': '{"to":"Quillfen"}',
      'gcp.vertex.agent.tool_response': '{"result":"Oxbarrow"}',
    });
    expect(toSpanRecord(llm).attributes).toMatchObject({
      'gcp.vertex.agent.session_id': 'sess-1',
      'gcp.vertex.agent.invocation_id': 'e-1',
    });
    expect(toSpanRecord(tool).attributes).toMatchObject({ 'gen_ai.tool.name': 'send_invoice' });
    for (const word of ['Zorvath', 'Brontevale', 'Marrowlight']) expect(kept(llm)).not.toContain(word);
    for (const word of ['Quillfen', 'Oxbarrow']) expect(kept(tool)).not.toContain(word);
  });

  it("OpenLLMetry's CrewAI spans keep neither the crew's result, a task's texts nor an agent's backstory", () => {
    const crew = spanWith('crewai.workflow', {
      'gen_ai.system': 'crewai',
      'crewai.crew.result': 'Zorvath quarterly summary',
      'crewai.crew.tasks': '[{"description":"Brontevale research"}]',
      'crewai.crew.tasks_output': '[TaskOutput(raw="Marrowlight")]',
      'crewai.crew.process': 'sequential',
    });
    const task = spanWith('Research.task', {
      'traceloop.span.kind': 'task',
      'crewai.task.description': 'Research Quillfen',
      'crewai.task.expected_output': 'A list of Oxbarrow facts',
    });
    const agent = spanWith('Researcher.agent', {
      'traceloop.span.kind': 'agent',
      'crewai.agent.role': 'Researcher',
      'crewai.agent.goal': 'Find Tessaridge',
      'crewai.agent.backstory': 'Raised in Wendmoor',
    });
    expect(toSpanRecord(crew).attributes).toMatchObject({ 'crewai.crew.process': 'sequential' });
    expect(toSpanRecord(agent).attributes).toMatchObject({ 'crewai.agent.role': 'Researcher' });
    const all = kept(crew) + kept(task) + kept(agent);
    for (const word of ['Zorvath', 'Brontevale', 'Marrowlight', 'Quillfen', 'Oxbarrow', 'Tessaridge', 'Wendmoor'])
      expect(all).not.toContain(word);
  });

  it("Spring AI's tool call and vector store spans keep neither arguments, result, query nor documents", () => {
    const tool = spanWith('tool_call getWeather', {
      'gen_ai.operation.name': 'framework',
      'spring.ai.kind': 'tool_call',
      'spring.ai.tool.definition.name': 'getWeather',
      'spring.ai.tool.call.arguments': '{"city":"Zorvath"}',
      'spring.ai.tool.call.result': 'Brontevale',
    });
    const search = spanWith('vector_store query', {
      'db.system': 'pg_vector',
      'db.vector.query.content': 'Marrowlight',
      'db.vector.query.response.documents': '["Quillfen"]',
      'db.vector.query.top_k': 4,
      'spring.ai.chat.client.user.text': 'Oxbarrow',
    });
    expect(toSpanRecord(tool).attributes).toMatchObject({ 'spring.ai.tool.definition.name': 'getWeather' });
    expect(toSpanRecord(search).attributes).toMatchObject({ 'db.vector.query.top_k': 4 });
    for (const word of ['Zorvath', 'Brontevale', 'Marrowlight', 'Quillfen', 'Oxbarrow'])
      expect(kept(tool) + kept(search)).not.toContain(word);
  });

  it("Mastra's spans keep neither an agent run's, a model step's nor a workflow's input and output", () => {
    const run = spanWith('invoke_agent weather-agent', {
      'gen_ai.operation.name': 'invoke_agent',
      'mastra.span.type': 'agent_run',
      'mastra.agent_run.input': '[{"role":"user","content":"Zorvath"}]',
      'mastra.agent_run.output': '{"text":"Brontevale"}',
      'mastra.agent_run.max_steps': 5,
    });
    const step = spanWith('step: 0', {
      'gen_ai.operation.name': 'model_step',
      'mastra.span.type': 'model_step',
      'mastra.model_step.output': '{"text":"Marrowlight"}',
      'mastra.workflow_run.input': '{"city":"Quillfen"}',
    });
    // Mastra's earlier exporter (span-converter.ts): a tool call's gen_ai.tool.input / output, every span's input / output
    const tool = spanWith('tool.execute weatherTool', {
      'gen_ai.operation.name': 'tool.execute',
      'gen_ai.tool.name': 'weatherTool',
      'gen_ai.tool.input': '{"city":"Oxbarrow"}',
      'gen_ai.tool.output': '{"temp":"Tessaridge"}',
      input: '{"city":"Oxbarrow"}',
      output: 'Tessaridge',
    });
    expect(toSpanRecord(tool).attributes).toMatchObject({ 'gen_ai.tool.name': 'weatherTool' });
    expect(kept(tool)).not.toMatch(/Oxbarrow|Tessaridge/);
    expect(toSpanRecord(run).attributes).toMatchObject({
      'mastra.span.type': 'agent_run',
      'mastra.agent_run.max_steps': 5,
    });
    for (const word of ['Zorvath', 'Brontevale', 'Marrowlight', 'Quillfen'])
      expect(kept(run) + kept(step)).not.toContain(word);
  });

  it("LiteLLM's raw_gen_ai_request span keeps neither the raw request nor the raw answer; token counts stay", () => {
    const raw = spanWith('raw_gen_ai_request', {
      'llm.openai.messages': "[{'role': 'user', 'content': 'Zorvath'}]",
      'llm.openai.model': 'gpt-4o-mini',
      'llm.openai.choices': "[{'message': {'content': 'Brontevale'}}]",
      'llm.anthropic.system': 'Marrowlight',
      'llm.anthropic.content': "[{'type': 'text', 'text': 'Quillfen'}]",
      'llm.vertex_ai.contents': 'Oxbarrow',
      'llm.openai.stringified_raw_response': 'Tessaridge',
      'llm.token_count.prompt': 12,
      'llm.usage.prompt_tokens': 12,
      'llm.request.model': 'gpt-4o-mini',
    });
    expect(toSpanRecord(raw).attributes).toMatchObject({
      'llm.openai.model': 'gpt-4o-mini',
      'llm.token_count.prompt': 12,
      'llm.usage.prompt_tokens': 12,
      'llm.request.model': 'gpt-4o-mini',
    });
    for (const word of ['Zorvath', 'Brontevale', 'Marrowlight', 'Quillfen', 'Oxbarrow', 'Tessaridge'])
      expect(kept(raw)).not.toContain(word);
  });
});
