// The resource of the spans serve exports over OTLP: besides service.name, what tells one llmscope process from
// another in a trace backend (service.instance.id, host.name) and which release it runs (service.version), plus what
// OTEL_RESOURCE_ATTRIBUTES adds, as every OpenTelemetry SDK reads it. Before, the resource held service.name alone:
// two replicas (or a restart) were one service instance in Tempo and Jaeger.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fakeCall } from '../calls/testing.js';
import { exportResource, traceSink } from './tracing.js';

const version = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version as string;

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('the exported spans’ resource', () => {
  it('names the service, its version, this process and the host; spans carry it', async () => {
    const exporter = new InMemorySpanExporter();
    const sink = traceSink({ exporter, serviceName: 'gw-eu' });
    const span = {
      traceId: 'ab'.repeat(16),
      spanId: 'cd'.repeat(8),
      parentSpanId: null,
      name: 'chat gpt-4o-mini',
      kind: 'server' as const,
      startTime: Date.parse('2025-07-01T12:00:00Z'),
      endTime: Date.parse('2025-07-01T12:00:01Z'),
      status: 'ok' as const,
      attributes: {},
      events: [],
    };
    const call = fakeCall({ spans: [span, { ...span, spanId: 'ef'.repeat(8), parentSpanId: span.spanId }] });
    await sink.write([call]);
    const spans = exporter.getFinishedSpans();
    expect(spans.length).toBeGreaterThan(0);
    const attrs = spans[0]?.resource.attributes ?? {};
    expect(attrs).toMatchObject({ 'service.name': 'gw-eu', 'service.version': version, 'host.name': hostname() });
    expect(attrs['service.instance.id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(spans[0]?.instrumentationScope).toEqual({ name: 'llmscope', version });
    // one instance id per process's sink, the same on every span it exports
    expect(new Set(spans.map((s) => s.resource.attributes['service.instance.id'])).size).toBe(1);
  });

  it('takes OTEL_RESOURCE_ATTRIBUTES (percent-decoded), but service.name stays telemetry.serviceName', () => {
    vi.stubEnv('OTEL_RESOURCE_ATTRIBUTES', 'deployment.environment.name=prod,service.name=other,team=ml%2Cinfra');
    vi.stubEnv('OTEL_SERVICE_NAME', 'other-too');
    const attrs = exportResource('llmscope').attributes;
    expect(attrs).toMatchObject({
      'service.name': 'llmscope',
      'deployment.environment.name': 'prod',
      team: 'ml,infra',
    });
  });

  it('a malformed OTEL_RESOURCE_ATTRIBUTES is left out whole, as the SDKs do; the rest stands', () => {
    vi.stubEnv('OTEL_RESOURCE_ATTRIBUTES', 'novalue,ok=1');
    const attrs = exportResource().attributes;
    expect(attrs['service.name']).toBe('llmscope');
    expect(attrs.ok).toBeUndefined();
    expect(attrs['host.name']).toBe(hostname());
  });
});
