// GET /metrics: the Prometheus exposition, with the recorder's queue depths (and drop counters) sampled at scrape time.
import type { ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { Recorder } from '../calls/index.js';
import { type Metrics, sampleRecorder } from '../telemetry/metrics.js';

export async function sendMetrics(
  res: ServerResponse,
  parts: { registry: Registry; recorder: Pick<Recorder, 'depths'>; metrics: Pick<Metrics, 'queueDepth' | 'dropped'> },
): Promise<void> {
  sampleRecorder(parts);
  const text = await parts.registry.metrics();
  res.writeHead(200, { 'content-type': parts.registry.contentType });
  res.end(text);
}
