// /v1/traces asks for what /api/ingest asks for: off loopback, the admin token (or an admin auth.tokens token) as a
// bearer. An OpenTelemetry exporter configured the documented way (OTEL_EXPORTER_OTLP_HEADERS) gets its spans in; one
// without the header is refused with 401, which the exporter reports as a failed export naming the status.
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { BasicTracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './helpers.js';

const TOKEN = 'traces-admin-token-0123456789';

/** One finished GenAI client span, as the OpenAI instrumentation makes it. */
function oneSpan(): ReadableSpan {
  let span: ReadableSpan | undefined;
  const provider = new BasicTracerProvider({
    spanProcessors: [
      {
        onStart() {},
        onEnd(s: ReadableSpan) {
          span = s;
        },
        forceFlush: async () => {},
        shutdown: async () => {},
      },
    ],
  });
  const s = provider.getTracer('t').startSpan('chat gpt-4o-mini', {
    attributes: {
      'gen_ai.operation.name': 'chat',
      'gen_ai.system': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.usage.input_tokens': 10,
      'gen_ai.usage.output_tokens': 5,
    },
  });
  s.end();
  return span as ReadableSpan;
}

const exportWith = (exporter: OTLPTraceExporter) =>
  new Promise<{ code: number; error?: Error & { code?: number } }>((resolve) =>
    exporter.export([oneSpan()], (r) => resolve(r as never)),
  );

describe('/v1/traces needs the ingest credential off loopback', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({
      config: { server: { host: '0.0.0.0', port: 0, shutdownGrace: '5s', adminToken: TOKEN } },
    });
  });
  afterAll(() => s.close());

  it('an exporter without the header gets 401 and reports it; with OTEL_EXPORTER_OTLP_HEADERS its spans are taken', async () => {
    const url = `${s.base}/v1/traces`;
    const bare = await exportWith(new OTLPTraceExporter({ url }));
    expect(bare.code).toBe(1); // ExportResultCode.FAILED
    expect(bare.error?.code).toBe(401);

    const wrong = await exportWith(new OTLPTraceExporter({ url, headers: { authorization: 'Bearer not-the-token' } }));
    expect(wrong.error?.code).toBe(401);

    const before = s.calls.length;
    process.env.OTEL_EXPORTER_OTLP_HEADERS = `authorization=Bearer%20${TOKEN}`;
    try {
      const ok = await exportWith(new OTLPTraceExporter({ url }));
      expect(ok.error).toBeUndefined();
      expect(ok.code).toBe(0);
    } finally {
      delete process.env.OTEL_EXPORTER_OTLP_HEADERS;
    }
    await s.waitForCalls(before + 1);
  });
});
