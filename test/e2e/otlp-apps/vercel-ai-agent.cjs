// A small agent on the Vercel AI SDK (`ai` with experimental_telemetry) over @ai-sdk/openai pointed at the simulator:
// a streamed two-step tool loop (streamText with a tool: doStream, ai.toolCall, doStream again), and a call the
// provider's content filter stopped (finish reason `content-filter`, as the SDK reports any provider's filter) and a
// Responses stream that failed half-way (finish reason `error`). Its
// ai.* spans are exported to llmscope through the real OTLP exporter.
const { agentRun, startTracing } = require('./tracing.cjs');

const { provider, exporter } = startTracing('ai-agent-app');
const { generateText, jsonSchema, stepCountIs, streamText, tool } = require('ai');
const { createOpenAI } = require('@ai-sdk/openai');

// The simulator answers the agent's first request with the tool call, the next one with text.
let requests = 0;
const toolCall = JSON.stringify({ name: 'weather', arguments: { city: 'Paris' } });
const openai = createOpenAI({
  baseURL: process.env.SIM_URL,
  apiKey: 'sk-test',
  fetch: (url, init) => {
    requests += 1;
    const headers = new Headers(init?.headers);
    if (requests === 1) headers.set('x-simulator-tool-call', toolCall);
    return fetch(url, { ...init, headers });
  },
});
const telemetry = (functionId) => ({ isEnabled: true, functionId, metadata: { 'llmscope.user': 'ada' } });
const weather = tool({
  description: 'The weather in a city',
  inputSchema: jsonSchema({ type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }),
  execute: async ({ city }) => ({ city, celsius: 21 }),
});
agentRun(provider, exporter, async () => {
  // step 1 calls the tool (the simulator answers with that tool call); step 2 answers from its result
  const s = streamText({
    model: openai.chat('gpt-4o-mini'),
    prompt: 'What is the weather in Paris?',
    tools: { weather },
    stopWhen: stepCountIs(2),
    maxRetries: 0,
    experimental_telemetry: telemetry('weather-agent'),
  });
  for await (const _ of s.fullStream);
  const steps = await s.steps;
  const filtered = await generateText({
    model: openai.chat('gpt-4o-mini'),
    prompt: 'Something the filter stops.',
    maxRetries: 0,
    headers: { 'x-simulator-fault': 'content_filter' },
    experimental_telemetry: telemetry('filtered'),
  });
  // a Responses stream that fails half-way (response.failed): the SDK ends it with finish reason `error`
  const failing = streamText({
    model: openai('gpt-4o-mini'),
    prompt: 'A stream that fails.',
    maxRetries: 0,
    headers: { 'x-simulator-stream-error': 'server_error' },
    experimental_telemetry: telemetry('failing'),
    onError: () => {},
  });
  for await (const _ of failing.fullStream);
  return {
    usages: [...steps.map((x) => x.usage), filtered.usage, await failing.usage],
    finishReasons: [...steps.map((x) => x.finishReason), filtered.finishReason, await failing.finishReason],
  };
}).catch((err) => {
  console.error(err);
  process.exit(1);
});
