// A small app: the official `openai` client instrumented by @opentelemetry/instrumentation-openai (GenAI semconv),
// exported to llmscope. One chat completion and one streamed one inside an agent span.
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { OpenAIInstrumentation } = require('@opentelemetry/instrumentation-openai');
const { agentRun, startTracing } = require('./tracing.cjs');

const { provider, exporter } = startTracing('otel-openai-app', { 'llmscope.team': 'platform' });
registerInstrumentations({ instrumentations: [new OpenAIInstrumentation()] });
const { default: OpenAI } = require('openai');

const client = new OpenAI({ baseURL: process.env.SIM_URL, apiKey: 'sk-test', maxRetries: 0 });
agentRun(provider, exporter, async () => {
  const a = await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'Name three rivers in Europe.' }],
  });
  const stream = await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'Write a haiku about rain.' }],
    stream: true,
    stream_options: { include_usage: true },
  });
  let usage = null;
  for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
  return { usages: [a.usage, usage] };
}).catch((err) => {
  console.error(err);
  process.exit(1);
});
