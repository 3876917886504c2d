// OpenTelemetry traces. The gateway only mints ids and timestamps on the hot path; the call's spans are built
// into SpanRecords when it ends, and this sink turns them into OTel ReadableSpans for any SpanExporter
// (OTLP/HTTP when an endpoint is configured, in-memory in tests), batched by the recorder.

import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { type Attributes, type HrTime, SpanKind, SpanStatusCode, TraceFlags } from '@opentelemetry/api';
import { ExportResultCode, millisToHrTime } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { envDetector, type Resource, resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { LlmCall, Sink, SpanRecord } from '../calls/index.js';
import { spansFor } from './spans.js';

/** llmscope's version (package.json, two folders up from src/telemetry and dist/telemetry alike). */
const VERSION = (() => {
  try {
    return String(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version);
  } catch {
    return undefined;
  }
})();

const KIND: Record<SpanRecord['kind'], SpanKind> = {
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  internal: SpanKind.INTERNAL,
};
const STATUS: Record<SpanRecord['status'], SpanStatusCode> = {
  unset: SpanStatusCode.UNSET,
  ok: SpanStatusCode.OK,
  error: SpanStatusCode.ERROR,
};

function hr(ms: number): HrTime {
  return millisToHrTime(ms);
}

export function toReadableSpan(s: SpanRecord, resource: Resource, sampled = true): ReadableSpan {
  const duration = Math.max(0, s.endTime - s.startTime);
  return {
    name: s.name,
    kind: KIND[s.kind],
    spanContext: () => ({
      traceId: s.traceId,
      spanId: s.spanId,
      traceFlags: sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
    }),
    parentSpanContext: s.parentSpanId
      ? { traceId: s.traceId, spanId: s.parentSpanId, traceFlags: TraceFlags.SAMPLED, isRemote: false }
      : undefined,
    startTime: hr(s.startTime),
    endTime: hr(s.endTime),
    duration: hr(duration),
    status: { code: STATUS[s.status] },
    attributes: s.attributes as Attributes,
    links: [],
    events: s.events.map((e) => ({ name: e.name, time: hr(e.time), attributes: e.attributes as Attributes })),
    ended: true,
    resource,
    instrumentationScope: { name: 'llmscope', version: VERSION ?? '0.1.0' },
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}

export interface TraceSinkOptions {
  exporter: SpanExporter;
  serviceName?: string;
  /** Configured provider name → the conventions' well-known `gen_ai.provider.name` (wellKnownProviders). */
  providers?: ReadonlyMap<string, string>;
}

/**
 * A gateway call's span as exported, in the OpenTelemetry GenAI semantic conventions' form: the `{operation} {model}`
 * span is a CLIENT span (the conventions' kind for a call to a model; llmscope's own trace keeps it as the server span
 * of the request it answered), `gen_ai.response.finish_reasons` is a string array, as the conventions type it, and
 * its status is ERROR on a failure and otherwise UNSET. `gen_ai.provider.name` is the conventions' well-known value
 * for the provider (`wellKnown`: `openai`, `anthropic`, `gcp.gemini`, `aws.bedrock` ...; provider-name.ts), the
 * configured name in `llmscope.provider` (decision 58; the stored call and its stored spans keep the configured name).
 * Other spans (an instrumented app's spans) go as they are.
 */
export function exportedSpan(s: SpanRecord, call: LlmCall, wellKnown?: string): SpanRecord {
  if (call.source !== 'gateway') return s;
  const named = wellKnown !== undefined && s.attributes['gen_ai.provider.name'] === call.provider;
  const attributes = named
    ? { ...s.attributes, 'gen_ai.provider.name': wellKnown, 'llmscope.provider': call.provider }
    : s.attributes;
  if (s.spanId !== call.internal?.spanId || s.kind !== 'server') return named ? { ...s, attributes } : s;
  // A call that did not fail is left UNSET, as OpenTelemetry asks of instrumentation (OK is the application's to set).
  const status = s.status === 'ok' ? 'unset' : s.status;
  const reasons = attributes['gen_ai.response.finish_reasons'];
  if (typeof reasons !== 'string') return { ...s, kind: 'client', status, attributes };
  return {
    ...s,
    kind: 'client',
    status,
    attributes: { ...attributes, 'gen_ai.response.finish_reasons': [reasons] } as unknown as SpanRecord['attributes'],
  };
}

/**
 * The resource of the spans this process exports: `service.name` (telemetry.serviceName), `service.version`,
 * `service.instance.id` (one per process, so a trace backend tells replicas apart) and `host.name`, then what
 * OTEL_RESOURCE_ATTRIBUTES adds or overrides (`deployment.environment.name=prod,...`), as every OpenTelemetry SDK reads
 * it; its `service.name` (and OTEL_SERVICE_NAME) give way to telemetry.serviceName.
 */
export function exportResource(serviceName = 'llmscope'): Resource {
  const env: Record<string, unknown> = { ...(envDetector.detect().attributes ?? {}) };
  delete env['service.name'];
  return resourceFromAttributes({
    'service.name': serviceName,
    ...(VERSION ? { 'service.version': VERSION } : {}),
    'service.instance.id': randomUUID(),
    'host.name': hostname(),
    ...(env as Record<string, string>),
  });
}

/** A recorder sink exporting each call's spans; export failures reject so the recorder counts them as dropped. */
export function traceSink(opts: TraceSinkOptions): Sink {
  const resource = exportResource(opts.serviceName);
  return {
    name: 'traces',
    maxBatch: 512,
    write(calls: readonly LlmCall[]) {
      const spans: ReadableSpan[] = [];
      for (const c of calls) {
        // A call whose client's traceparent said not sampled (flags 00) is recorded and shown, not exported
        // (ParentBased sampling, decision 59).
        if (c.internal?.unsampled === true) continue;
        const wellKnown = c.source === 'gateway' ? opts.providers?.get(c.provider) : undefined;
        for (const s of spansFor(c)) spans.push(toReadableSpan(exportedSpan(s, c, wellKnown), resource));
      }
      if (spans.length === 0) return;
      return new Promise<void>((resolve, reject) => {
        opts.exporter.export(spans, (r) => {
          if (r.code === ExportResultCode.SUCCESS) resolve();
          else reject(r.error ?? new Error('span export failed'));
        });
      });
    },
    close: () => opts.exporter.shutdown(),
  };
}

/** OTLP/HTTP (JSON) exporter; `endpoint` may be the collector base (http://host:4318) or the full /v1/traces URL. */
export function otlpExporter(endpoint: string): SpanExporter {
  const url = endpoint.endsWith('/v1/traces') ? endpoint : `${endpoint.replace(/\/$/, '')}/v1/traces`;
  return new OTLPTraceExporter({ url, timeoutMillis: 5000 });
}
