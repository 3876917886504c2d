// A small app: the official `openai` client instrumented by OpenInference (which records every prompt and answer on
// its spans by default), CALLS concurrent chat calls each with a ~30 KB retrieved context, exported to llmscope in
// one batch (the BatchSpanProcessor's 512 spans at most).
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { OpenAIInstrumentation } = require('@arizeai/openinference-instrumentation-openai');
const { agentRun, startTracing } = require('./tracing.cjs');

const { provider, exporter } = startTracing('openinference-rag-app');
const instrumentation = new OpenAIInstrumentation();
registerInstrumentations({ instrumentations: [instrumentation] });
const OpenAIModule = require('openai');
instrumentation.manuallyInstrument(OpenAIModule);
const OpenAI = OpenAIModule.default;

const client = new OpenAI({ baseURL: process.env.SIM_URL, apiKey: 'sk-test', maxRetries: 0 });
const context = 'Context passage about rivers and their sources in the Alps. '.repeat(500);
agentRun(provider, exporter, async () => {
  await Promise.all(
    Array.from({ length: Number(process.env.CALLS ?? 1) }, (_, i) =>
      client.chat.completions.create(
        {
          model: 'gpt-4o-mini',
          messages: [
            { role: 'system', content: context },
            { role: 'user', content: `Question ${i}: where does the Rhine begin?` },
          ],
        },
        { headers: { 'x-simulator-output-tokens': '4' } },
      ),
    ),
  );
  return {};
}).catch((err) => {
  console.error(err);
  process.exit(1);
});
