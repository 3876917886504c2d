// A small app: the Vercel AI SDK over @ai-sdk/openai's Responses model (openai('model')) pointed at the simulator,
// asking for OpenAI's service tiers (providerOptions.openai.serviceTier); the simulator answers the tier asked for, as
// OpenAI does, which the SDK records in ai.response.providerMetadata ({"openai": {"serviceTier": ...}}).
const { agentRun, startTracing } = require('./tracing.cjs');

const { provider, exporter } = startTracing('vercel-ai-tier-app');
const { generateText, streamText } = require('ai');
const { createOpenAI } = require('@ai-sdk/openai');

const openai = createOpenAI({ baseURL: process.env.SIM_URL, apiKey: 'sk-test' });
agentRun(provider, exporter, async () => {
  const a = await generateText({
    model: openai('gpt-4o'),
    prompt: 'Name three rivers in Europe.',
    maxRetries: 0,
    providerOptions: { openai: { serviceTier: 'priority' } },
    experimental_telemetry: { isEnabled: true, functionId: 'rivers' },
  });
  const s = streamText({
    model: openai('gpt-5-mini'),
    prompt: 'Write a haiku about rain.',
    maxRetries: 0,
    providerOptions: { openai: { serviceTier: 'flex' } },
    experimental_telemetry: { isEnabled: true, functionId: 'haiku' },
  });
  for await (const _ of s.textStream);
  await s.usage;
  return {
    usages: [],
    tiers: [a.providerMetadata?.openai?.serviceTier, (await s.providerMetadata)?.openai?.serviceTier],
  };
}).catch((err) => {
  console.error(err);
  process.exit(1);
});
