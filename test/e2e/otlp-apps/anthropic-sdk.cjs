// A small app: the official `@anthropic-ai/sdk`, whose own OpenTelemetry tracing (no instrumentation package) makes a
// span of every API call with the tracer provider registered, exported to llmscope. A call with prompt-cache reads
// and writes (some to the 1-hour cache), a streamed call in a conversation, a token count, a refusal and a 429.
const { agentRun, startTracing } = require('./tracing.cjs');

const { provider, exporter } = startTracing('anthropic-sdk-app', { 'llmscope.team': 'research' });
const { default: Anthropic } = require('@anthropic-ai/sdk');

const client = new Anthropic({
  baseURL: process.env.SIM_URL.replace(/\/v1$/, ''),
  apiKey: 'sk-ant-test',
  maxRetries: 0,
});
const ask = (content, headers = {}, extra = {}) =>
  client.messages.create(
    { model: 'claude-haiku-4-5', max_tokens: 200, messages: [{ role: 'user', content }], ...extra },
    { headers },
  );
agentRun(provider, exporter, async () => {
  const cached = await ask(`Summarise: ${'the river runs to the sea. '.repeat(150)}`, {
    'x-simulator-cached-tokens': '400',
    'x-simulator-cache-write-tokens': '300',
    'x-simulator-cache-write-1h-tokens': '100',
  });
  const stream = await client.messages.create(
    { model: 'claude-haiku-4-5', max_tokens: 200, stream: true, messages: [{ role: 'user', content: 'A haiku.' }] },
    { openTelemetry: { conversationId: 'conv-7' } },
  );
  let streamed = null;
  for await (const ev of stream) {
    if (ev.type === 'message_start') streamed = ev.message.usage;
    if (ev.type === 'message_delta') streamed = { ...streamed, ...ev.usage };
  }
  const counted = await client.messages.countTokens({
    model: 'claude-haiku-4-5',
    messages: [{ role: 'user', content: 'How many tokens is this?' }],
  });
  const refused = await ask('Something it refuses.', { 'x-simulator-fault': 'refusal' });
  let limited = null;
  try {
    await ask('Too fast.', { 'x-simulator-fault': 'rate_limit' });
  } catch (err) {
    limited = err.status;
  }
  return {
    usages: [cached.usage, streamed],
    counted: counted.input_tokens,
    stops: [cached.stop_reason, refused.stop_reason],
    limited,
  };
}).catch((err) => {
  console.error(err);
  process.exit(1);
});
