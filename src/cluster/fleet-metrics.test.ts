// The workers' part of /metrics (serve --workers): each worker once, live or exited, whatever the order in which
// reports and exits arrive; what an exited worker counted stays, its gauges go.
import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FleetMetrics, type Snapshot } from './fleet-metrics.js';

/** A worker's report: `calls` in a counter, `inflight` in a gauge. */
async function report(calls: number, inflight = 1): Promise<Snapshot> {
  const registry = new Registry();
  new Counter({ name: 'calls_total', help: 'h', registers: [registry] }).inc(calls);
  new Gauge({ name: 'inflight', help: 'h', registers: [registry] }).set(inflight);
  return (await registry.getMetricsAsJSON()) as Snapshot;
}

async function total(parts: Snapshot[], name: string): Promise<number> {
  const all = await AggregatorRegistry.aggregate(parts).getMetricsAsJSON();
  return all.find((m) => m.name === name)?.values.reduce((s, v) => s + v.value, 0) ?? 0;
}

describe('FleetMetrics', () => {
  it('a worker that does not answer counts with its last report', async () => {
    const f = new FleetMetrics();
    f.add(1);
    f.add(2);
    const first = new Map([
      [1, await report(10)],
      [2, await report(5)],
    ]);
    expect(await total(await f.collect(async (id) => first.get(id) ?? null), 'calls_total')).toBe(15);
    const second = await f.collect(async (id) => (id === 1 ? report(12) : null));
    expect(await total(second, 'calls_total')).toBe(17);
    // A worker that never reported yet counts nothing, and does not fail the answer.
    f.add(3);
    expect(await total(await f.collect(async () => Promise.reject(new Error('gone'))), 'calls_total')).toBe(17);
  });

  it('a worker that exits while an answer is put together counts once in it', async () => {
    const f = new FleetMetrics();
    f.add(1);
    f.add(2);
    let answerB!: (s: Snapshot) => void;
    const a = await report(10);
    const answer = f.collect((id) => (id === 1 ? Promise.resolve(a) : new Promise<Snapshot>((ok) => (answerB = ok))));
    // Worker 1 answered; it exits before worker 2 answers.
    await new Promise((r) => setImmediate(r));
    f.retire(1);
    answerB(await report(5));
    expect(await total(await answer, 'calls_total')).toBe(15);
    expect(await total(f.current(), 'calls_total')).toBe(15);
  });

  it("keeps an exited worker's counters, not its gauges; a drained worker's last report is final", async () => {
    const f = new FleetMetrics();
    f.add(1);
    f.add(2);
    f.report(1, await report(10, 3));
    f.final(2, await report(7, 0));
    f.report(2, await report(99, 9)); // after its final report: ignored
    expect(await total(f.current(), 'calls_total')).toBe(17);
    f.retire(1);
    f.retire(2);
    expect(await total(f.current(), 'calls_total')).toBe(17);
    expect(await total(f.current(), 'inflight')).toBe(0);
  });

  it('folds what many exited workers counted into one part, keeping the totals', async () => {
    const f = new FleetMetrics();
    for (let id = 1; id <= 20; id++) {
      f.add(id);
      f.report(id, await report(id));
      f.retire(id);
      await new Promise((r) => setImmediate(r));
    }
    await new Promise((r) => setTimeout(r, 10));
    expect(f.current().length).toBeLessThan(8);
    expect(await total(f.current(), 'calls_total')).toBe(210);
  });

  it('a fold that fails keeps the parts as they were, without a rejection that would end the process', async () => {
    const f = new FleetMetrics();
    // prom-client's aggregate throws on an aggregator it does not know
    const odd = (await report(1)).map((m) => ({ ...m, aggregator: 'nonsense' })) as unknown as Snapshot;
    for (let id = 1; id <= 8; id++) {
      f.add(id);
      f.report(id, odd);
      f.retire(id);
    }
    await new Promise((r) => setTimeout(r, 10));
    expect(f.current()).toHaveLength(8);
  });
});
