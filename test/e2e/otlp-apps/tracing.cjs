// Shared by the OTLP test apps: a Node tracer provider exporting through the real OTLP/HTTP exporter (protobuf or
// JSON, per OTLP_FORMAT) to llmscope's /v1/traces, with the export repeated RESEND times (a retried batch).
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { BatchSpanProcessor, NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');

/** Sends every batch `times` times through the same exporter, as an exporter retrying after a lost answer does. */
class Resending {
  constructor(inner, times) {
    this.inner = inner;
    this.times = times;
    this.results = [];
  }
  export(spans, done) {
    let left = this.times;
    const once = () =>
      this.inner.export(spans, (r) => {
        this.results.push(r.code);
        left -= 1;
        if (left > 0 && r.code === 0) once();
        else done(r);
      });
    once();
  }
  shutdown() {
    return this.inner.shutdown();
  }
  forceFlush() {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

function startTracing(serviceName, extraResource = {}) {
  const url = `${process.env.LLMSCOPE_URL}/v1/traces`;
  const { OTLPTraceExporter } =
    process.env.OTLP_FORMAT === 'json'
      ? require('@opentelemetry/exporter-trace-otlp-http')
      : require('@opentelemetry/exporter-trace-otlp-proto');
  const headers = process.env.LLMSCOPE_TOKEN ? { authorization: `Bearer ${process.env.LLMSCOPE_TOKEN}` } : {};
  const exporter = new Resending(
    new OTLPTraceExporter({ url, headers, compression: process.env.OTLP_GZIP === '1' ? 'gzip' : 'none' }),
    Number(process.env.RESEND ?? 1),
  );
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName, ...extraResource }),
    // OTLP_DELAY_MS: the batch processor's scheduled delay (default 5 s); a long one keeps a slow run's spans in one export
    spanProcessors: [
      new BatchSpanProcessor(exporter, { scheduledDelayMillis: Number(process.env.OTLP_DELAY_MS ?? 5000) }),
    ],
  });
  provider.register();
  return { provider, exporter };
}

/** An agent run: a root span holding a tool span and the model calls `work` makes, then everything flushed. */
async function agentRun(provider, exporter, work) {
  const { trace } = require('@opentelemetry/api');
  const tracer = trace.getTracer('test-agent');
  const out = await tracer.startActiveSpan('agent.run', async (root) => {
    await tracer.startActiveSpan('tool.search', async (tool) => {
      tool.setAttribute('gen_ai.operation.name', 'execute_tool');
      tool.setAttribute('gen_ai.tool.name', 'search');
      await new Promise((r) => setTimeout(r, 5));
      tool.end();
    });
    const result = await work();
    root.end();
    return { traceId: root.spanContext().traceId, rootSpanId: root.spanContext().spanId, ...result };
  });
  await provider.forceFlush();
  await provider.shutdown();
  process.stdout.write(`${JSON.stringify({ ...out, exports: exporter.results })}\n`);
}

module.exports = { agentRun, startTracing };
