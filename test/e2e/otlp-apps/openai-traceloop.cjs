// A small app: the official `openai` client instrumented by OpenLLMetry (@traceloop/instrumentation-openai: GenAI
// attributes with gen_ai.input.messages / gen_ai.output.messages, llm.usage.total_tokens), exported to llmscope:
// a chat call, a tool call, one the content filter stopped, and a Responses call.
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { OpenAIInstrumentation } = require('@traceloop/instrumentation-openai');
const { agentRun, startTracing } = require('./tracing.cjs');

const { provider, exporter } = startTracing('traceloop-app', { 'llmscope.team': 'support' });
const instrumentation = new OpenAIInstrumentation();
registerInstrumentations({ instrumentations: [instrumentation] });
const OpenAIModule = require('openai');
instrumentation.manuallyInstrument(OpenAIModule.OpenAI);
const OpenAI = OpenAIModule.default;

const client = new OpenAI({ baseURL: process.env.SIM_URL, apiKey: 'sk-test', maxRetries: 0 });
agentRun(provider, exporter, async () => {
  const chat = await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'Name three rivers in Europe.' }],
  });
  const tool = await client.chat.completions.create(
    {
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Weather in Oslo?' }],
      tools: [{ type: 'function', function: { name: 'weather', parameters: { type: 'object' } } }],
    },
    { headers: { 'x-simulator-tool-call': 'weather' } },
  );
  const filtered = await client.chat.completions.create(
    { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Something the filter stops.' }] },
    { headers: { 'x-simulator-fault': 'content_filter' } },
  );
  const r = await client.responses.create({ model: 'gpt-4o-mini', input: 'Say hi.' });
  return {
    usages: [chat.usage, tool.usage, filtered.usage, r.usage],
    finishReasons: [chat, tool, filtered].map((c) => c.choices[0].finish_reason),
  };
}).catch((err) => {
  console.error(err);
  process.exit(1);
});
