// A small app: the official `openai` client instrumented by OpenInference (@arizeai/openinference-instrumentation-
// openai: openinference.span.kind, llm.model_name, llm.token_count.*), exported to llmscope.
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { OpenAIInstrumentation } = require('@arizeai/openinference-instrumentation-openai');
const { agentRun, startTracing } = require('./tracing.cjs');

const { provider, exporter } = startTracing('openinference-app', { 'llmscope.team': 'research' });
const instrumentation = new OpenAIInstrumentation();
registerInstrumentations({ instrumentations: [instrumentation] });
const OpenAIModule = require('openai');
instrumentation.manuallyInstrument(OpenAIModule);
const OpenAI = OpenAIModule.default;

const client = new OpenAI({ baseURL: process.env.SIM_URL, apiKey: 'sk-test', maxRetries: 0 });
agentRun(provider, exporter, async () => {
  const a = await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'Name three rivers in Europe.' }],
  });
  const b = await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'And three mountains.' }],
  });
  return { usages: [a.usage, b.usage] };
}).catch((err) => {
  console.error(err);
  process.exit(1);
});
