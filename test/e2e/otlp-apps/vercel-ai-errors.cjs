// A small app: the Vercel AI SDK (`ai` with experimental_telemetry) over @ai-sdk/openai pointed at the simulator, whose
// provider answers 429 and then 400. The SDK records each failed doGenerate span as an AI_APICallError without the
// HTTP status; the app's fetch is traced as @opentelemetry/instrumentation-undici (or @vercel/otel's fetch
// instrumentation) traces it: a client span under the doGenerate span with http.response.status_code.
const { agentRun, startTracing } = require('./tracing.cjs');

const { provider, exporter } = startTracing('vercel-ai-errors-app');
const { SpanKind, SpanStatusCode, trace } = require('@opentelemetry/api');
const { generateText } = require('ai');
const { createOpenAI } = require('@ai-sdk/openai');

const tracer = trace.getTracer('fetch-instrumentation');
/** fetch in a client span with the HTTP semantic conventions' attributes, as the undici instrumentation makes it. */
const tracedFetch = (url, init) =>
  tracer.startActiveSpan(
    init?.method ?? 'GET',
    { kind: SpanKind.CLIENT, attributes: { 'http.request.method': init?.method ?? 'GET', 'url.full': String(url) } },
    async (span) => {
      try {
        const res = await fetch(url, init);
        span.setAttribute('http.response.status_code', res.status);
        if (res.status >= 400) span.setStatus({ code: SpanStatusCode.ERROR });
        return res;
      } finally {
        span.end();
      }
    },
  );

const traced = createOpenAI({ baseURL: process.env.SIM_URL, apiKey: 'sk-test', fetch: tracedFetch });
const plain = createOpenAI({ baseURL: process.env.SIM_URL, apiKey: 'sk-test' });
const fail = async (openai, fault, functionId) => {
  try {
    await generateText({
      model: openai.chat('gpt-4o-mini'),
      prompt: 'Name three rivers in Europe.',
      maxRetries: 0,
      headers: { 'x-simulator-fault': fault },
      experimental_telemetry: { isEnabled: true, functionId },
    });
  } catch (err) {
    return err.statusCode;
  }
  throw new Error(`the ${fault} call did not fail`);
};
agentRun(provider, exporter, async () => ({
  statuses: [
    await fail(traced, 'rate_limit', 'traced-429'),
    await fail(traced, 'bad_request', 'traced-400'),
    await fail(plain, 'rate_limit', 'plain-429'),
  ],
})).catch((err) => {
  console.error(err);
  process.exit(1);
});
