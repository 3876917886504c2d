// A small app: the official `openai` client instrumented by OpenInference, making embeddings calls (a list of inputs
// and one string), exported to llmscope. OpenInference records the inputs (input.value) and no usage.
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { OpenAIInstrumentation } = require('@arizeai/openinference-instrumentation-openai');
const { agentRun, startTracing } = require('./tracing.cjs');

const { provider, exporter } = startTracing('openinference-embeddings-app', { 'llmscope.team': 'search' });
const instrumentation = new OpenAIInstrumentation();
registerInstrumentations({ instrumentations: [instrumentation] });
const OpenAIModule = require('openai');
instrumentation.manuallyInstrument(OpenAIModule);
const OpenAI = OpenAIModule.default;

const client = new OpenAI({ baseURL: process.env.SIM_URL, apiKey: 'sk-test', maxRetries: 0 });
agentRun(provider, exporter, async () => {
  const list = await client.embeddings.create({
    model: 'text-embedding-3-small',
    input: ['The Danube flows through ten countries.', 'Rivers of Europe', 'bye'],
  });
  const one = await client.embeddings.create({ model: 'text-embedding-3-large', input: 'Where does the Rhine begin?' });
  return { usages: [list.usage, one.usage] };
}).catch((err) => {
  console.error(err);
  process.exit(1);
});
