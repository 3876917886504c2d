// A small app: the Vercel AI SDK (`ai` with experimental_telemetry) over @ai-sdk/openai pointed at the simulator;
// its ai.* spans (ai.generateText, ai.generateText.doGenerate, ai.streamText.doStream) exported to llmscope.
const { agentRun, startTracing } = require('./tracing.cjs');

const { provider, exporter } = startTracing('vercel-ai-app');
const { generateText, streamText } = require('ai');
const { createOpenAI } = require('@ai-sdk/openai');

const openai = createOpenAI({ baseURL: process.env.SIM_URL, apiKey: 'sk-test' });
const telemetry = (functionId) => ({
  isEnabled: true,
  functionId,
  metadata: { 'llmscope.user': 'vera', 'llmscope.feature': 'ai-sdk-demo' },
});
agentRun(provider, exporter, async () => {
  const a = await generateText({
    model: openai.chat('gpt-4o-mini'),
    prompt: 'Name three rivers in Europe.',
    maxRetries: 0,
    experimental_telemetry: telemetry('rivers'),
  });
  const s = streamText({
    model: openai.chat('gpt-4o-mini'),
    prompt: 'Write a haiku about rain.',
    maxRetries: 0,
    experimental_telemetry: telemetry('haiku'),
  });
  for await (const _ of s.textStream);
  const usage = await s.usage;
  return { usages: [a.usage, usage] };
}).catch((err) => {
  console.error(err);
  process.exit(1);
});
