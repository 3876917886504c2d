// GET /metrics samples the recorder at scrape time: each sink's queue depth, and its drop counter at 0 before any
// drop, so `increase(llmscope_recorder_dropped_total[5m]) > 0` sees a sink's first drops after a start (QA48).
import type { ServerResponse } from 'node:http';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { Metrics } from '../telemetry/metrics.js';
import { sendMetrics } from './metrics.js';

/** The body sendMetrics writes, from a stand-in response. */
async function scrape(registry: Registry, metrics: Metrics, depths: Record<string, number>): Promise<string> {
  let body = '';
  const res = { writeHead: () => res, end: (text: string) => (body = text) } as unknown as ServerResponse;
  await sendMetrics(res, { registry, recorder: { depths: () => depths }, metrics });
  return body;
}

describe('GET /metrics: the recorder sampled at scrape time', () => {
  it('has a drop counter at 0 for each recorder sink before any drop, and counts from it', async () => {
    const registry = new Registry();
    const metrics = new Metrics(registry, { labelBudget: 100, labelHardCap: 1000 });
    const first = await scrape(registry, metrics, { store: 3, metrics: 0, _pending: 1 });
    expect(first).toContain('llmscope_recorder_queue_depth{sink="store"} 3');
    expect(first).toContain('llmscope_recorder_dropped_total{sink="store"} 0');
    expect(first).toContain('llmscope_recorder_dropped_total{sink="metrics"} 0');
    expect(first).not.toContain('sink="_pending"');
    metrics.dropped.inc({ sink: 'store' }, 2);
    const second = await scrape(registry, metrics, { store: 0, metrics: 0 });
    expect(second).toContain('llmscope_recorder_dropped_total{sink="store"} 2');
    expect(second).toContain('llmscope_recorder_dropped_total{sink="metrics"} 0');
  });
});
