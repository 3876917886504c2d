// The metrics sink folds whole-number counters per batch (Metrics.observeBatch): every metric must read exactly as
// observing the same calls one by one leaves it, whatever the batch holds.
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { LlmCall } from '../calls/index.js';
import { fakeCall } from '../calls/testing.js';
import { BUCKETS, HistogramSeries, Metrics } from './metrics.js';

let seq = 0;
function call(over: Partial<LlmCall> = {}): LlmCall {
  const startedAt = 1_750_000_000_000 + seq;
  return fakeCall({
    requestId: `r-${++seq}`,
    startedAt,
    endedAt: startedAt + 800,
    inputTokens: 100,
    outputTokens: 20,
    latencyMs: 800,
    overheadMs: 0.4,
    ...over,
  });
}

/** Varied calls: many label sets, fractional costs and latencies, refusals, nulls, names past the label budget. */
function varied(n: number, seed = 3): LlmCall[] {
  let s = seed;
  const rand = () => {
    s = (s * 48271) % 2147483647;
    return s / 2147483647;
  };
  const out: LlmCall[] = [];
  for (let i = 0; i < n; i++) {
    const stream = rand() < 0.5;
    out.push(
      call({
        provider: ['openai', 'anthropic', 'gemini', 'vllm-a', 'vllm-b'][Math.floor(rand() * 5)] as string,
        model: `model-${Math.floor(rand() * 9)}`,
        endpoint: rand() < 0.8 ? 'chat.completions' : 'embeddings',
        status: rand() < 0.9 ? 'ok' : 'upstream_error',
        stream,
        inputTokens: rand() < 0.1 ? null : Math.floor(rand() * 5000),
        outputTokens: rand() < 0.1 ? null : Math.floor(rand() * 800),
        cachedInputTokens: rand() < 0.5 ? 0 : Math.floor(rand() * 300),
        cacheWriteInputTokens: rand() < 0.7 ? null : Math.floor(rand() * 200),
        ttftMs: stream ? rand() * 900 : null,
        tpotMs: stream && rand() < 0.8 ? rand() * 40 : null,
        latencyMs: rand() * 20_000,
        overheadMs: rand() * 3,
        costUsd: rand() < 0.15 ? null : rand() < 0.05 ? 0 : rand() * 0.01,
        feature: rand() < 0.3 ? null : `feature-${Math.floor(rand() * 12)}`,
        refusal: rand() < 0.07,
        source: rand() < 0.5 ? 'gateway' : 'ingest',
      }),
    );
  }
  return out;
}

const fresh = () => {
  const registry = new Registry();
  // a small budget and cap, so some values and series overflow into __other__ part-way through
  return new Metrics(registry, { labelBudget: 7, labelHardCap: 20 });
};

describe('metrics sink batches', () => {
  it('leaves every metric as observing the calls one by one does, in batches of any size', async () => {
    const calls = varied(3000);
    const one = fresh();
    for (const c of calls) one.observe(c);
    const want = await one.registry.metrics();
    expect(want).toContain('__other__');
    expect(want).toContain('llm_refusals_total{');
    for (const size of [1, 7, 256, 1024, 3000]) {
      const m = fresh();
      const sink = m.sink();
      for (let i = 0; i < calls.length; i += size) await sink.write(calls.slice(i, i + size));
      expect(await m.registry.metrics()).toBe(want);
    }
  });

  it('reads the same when label objects kept from earlier batches meet calls the guard maps to the same series', async () => {
    // '' and 'none' are one label value to the guard; a pair kept from one batch must add to the series the next
    // batch's equal pair adds to, and the histograms observed through kept series must keep their order of sums.
    const calls = [
      ...varied(300, 11),
      call({ provider: '', model: 'm', latencyMs: 0.1 }),
      call({ provider: 'none', model: 'm', latencyMs: 0.2, stream: true, ttftMs: 0.3, tpotMs: 0.01 }),
      ...varied(300, 13),
      call({ provider: 'none', model: 'm', latencyMs: 0.7, refusal: true, costUsd: 0.3, feature: 'f' }),
      call({ provider: '', model: 'm', latencyMs: 0.1, costUsd: 0.1, feature: 'f', source: 'gateway' }),
    ];
    const one = fresh();
    for (const c of calls) one.observe(c);
    const m = fresh();
    for (let i = 0; i < calls.length; i += 3) m.observeBatch(calls.slice(i, i + 3));
    expect(await m.registry.metrics()).toBe(await one.registry.metrics());
  });

  it('observes a batch with a fractional token count call by call (its sums would not be exact)', async () => {
    const calls = varied(200, 9);
    calls[50] = { ...(calls[50] as LlmCall), inputTokens: 0.1, outputTokens: 0.2 };
    calls[51] = { ...(calls[51] as LlmCall), inputTokens: 2 ** 53 + 2 };
    const one = fresh();
    for (const c of calls) one.observe(c);
    const m = fresh();
    m.observeBatch(calls);
    expect(await m.registry.metrics()).toBe(await one.registry.metrics());
  });

  it('keeps what was counted before an observation that throws, as one by one would', async () => {
    const calls = varied(100, 5);
    calls[60] = { ...(calls[60] as LlmCall), latencyMs: Number.NaN };
    const one = fresh();
    expect(() => {
      for (const c of calls) one.observe(c);
    }).toThrow(/not a valid number/);
    const m = fresh();
    expect(() => m.observeBatch(calls)).toThrow(/not a valid number/);
    expect(await m.registry.metrics()).toBe(await one.registry.metrics());
  });

  it('reads the same with values on, between and past the bucket bounds, and across a reset of the registry', async () => {
    // Histograms and cost are updated in place in prom-client's series (HistogramSeries, CounterSeries): the sums,
    // counts and buckets must be the ones prom-client's own observe and inc leave, and a series the registry reset
    // must be made again by prom-client, not written to where it was.
    const edge = [
      ...BUCKETS.duration.map((b) => b * 1000),
      ...BUCKETS.overhead.map((b) => b * 1000),
      0,
      -1,
      1e9,
      Number.MIN_VALUE,
    ];
    const calls = [
      ...edge.map((v, i) =>
        call({
          latencyMs: v,
          overheadMs: v,
          stream: i % 2 === 0,
          ttftMs: i % 2 === 0 ? v : null,
          tpotMs: i % 2 === 0 ? v / 7 : null,
          costUsd: i % 3 === 0 && v >= 0 ? v / 1e7 + 1e-9 : null,
          source: 'gateway',
        }),
      ),
      ...varied(400, 17),
    ];
    const half = Math.floor(calls.length / 2);
    const one = fresh();
    for (const c of calls.slice(0, half)) one.observe(c);
    const m = fresh();
    for (let i = 0; i < half; i += 5) m.observeBatch(calls.slice(i, Math.min(i + 5, half)));
    expect(await m.registry.metrics()).toBe(await one.registry.metrics());
    one.registry.resetMetrics();
    m.registry.resetMetrics();
    for (const c of calls.slice(half)) one.observe(c);
    for (let i = half; i < calls.length; i += 5) m.observeBatch(calls.slice(i, Math.min(i + 5, calls.length)));
    expect(await m.registry.metrics()).toBe(await one.registry.metrics());
  });

  it('updates a series in place once prom-client made it (no per-observation label hashing)', async () => {
    const m = fresh();
    const s = new HistogramSeries(m.overhead, { endpoint: 'chat.completions' });
    s.observe(0.0003);
    // From here on prom-client's own observe must not be needed: if a prom-client upgrade changes the fields the
    // series reads, this fails rather than the gateway silently paying for the slow path.
    (s as unknown as { child: { observe(v: number): void } }).child = {
      observe: () => {
        throw new Error('went through prom-client');
      },
    };
    s.observe(0.002);
    s.observe(7);
    const text = await m.registry.metrics();
    expect(text).toContain('llmscope_gateway_overhead_seconds_count{endpoint="chat.completions"} 3');
    expect(text).toContain('llmscope_gateway_overhead_seconds_bucket{le="0.0025",endpoint="chat.completions"} 2');
  });
});
