// The per-call work of `serve --workers`, without a process tree: a worker's recorder (addCallWork, built from the
// config and the part names the recorder process's modules added) enriches calls as one process would, and the
// recorder process (createApp with recordsForWorkers) takes them through recordFromWorker to its one-per-deployment
// enrichers and sinks only, while calls of its own (ingest) still get every step. Each call is counted in exactly
// one process's metrics and logged by exactly one. The process tree is test/e2e/workers.test.ts.
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { type LlmCall, Recorder, type Sink } from '../calls/index.js';
import { validateConfig } from '../config/index.js';
import { type CostModule, createCostModule } from '../cost/index.js';
import { createQualityModule } from '../quality/index.js';
import { createApp } from '../server.js';
import { createLogger } from '../telemetry/logging.js';
import { Metrics } from '../telemetry/metrics.js';
import { addCallWork, fromWire, toWire, type WireCall } from './worker.js';

const T0 = Date.parse('2026-12-04T12:00:00Z');

/** A gateway call as the proxy hands it to the recorder: usage unknown, the text still on it. */
function rawCall(requestId: string, model: string, output: string): LlmCall {
  return {
    requestId,
    traceId: '0af7651916cd43dd8448eb211c80319c',
    startedAt: T0,
    endedAt: T0 + 40,
    provider: 'openai',
    model,
    endpoint: 'chat.completions',
    stream: false,
    status: 'ok',
    httpStatus: 200,
    errorType: null,
    user: 'u1',
    team: null,
    feature: null,
    session: null,
    apiKeyId: null,
    inputTokens: null,
    outputTokens: null,
    cachedInputTokens: null,
    reasoningTokens: null,
    tokenSource: null,
    ttftMs: null,
    tpotMs: null,
    latencyMs: 40,
    overheadMs: 0.5,
    costUsd: null,
    price: null,
    finishReason: 'stop',
    refusal: false,
    requestBytes: 120,
    responseBytes: 300,
    source: 'gateway',
    spans: [],
    events: [],
    content: null,
    internal: {
      arrivalAt: T0,
      routedAt: T0 + 0.1,
      upstreamStartAt: T0 + 0.2,
      upstreamHeadersAt: T0 + 30,
      firstContentAt: null,
      lastContentAt: null,
      upstreamEndAt: T0 + 39,
      spanId: 'b7ad6b7169203331',
      upstreamSpanId: 'b7ad6b7169203332',
      parentSpanId: null,
      params: {},
      serverAddress: '127.0.0.1',
      serverPort: 9,
      responseModel: model,
      responseId: null,
      promptText: 'Write to me at jane.doe@example.com about the quarterly report and its figures.',
      assistantRanges: null,
      outputText: output,
    },
  };
}

const collect = (into: Record<string, unknown>[]) => ({
  write(s: string) {
    for (const l of s.split('\n')) if (l) into.push(JSON.parse(l));
  },
});

const total = async (registry: Registry, name: string): Promise<number> => {
  const m = registry.getSingleMetric(name);
  if (!m) return 0;
  return (await m.get()).values.reduce((n, v) => n + v.value, 0);
};

describe('per-call work in the gateway workers', () => {
  it('enriches in the worker as in one process; the recorder process counts and logs each call once', async () => {
    const r = validateConfig({
      server: { host: '127.0.0.1', port: 0 },
      providers: [{ name: 'openai', baseUrl: 'http://127.0.0.1:9/v1' }],
      storage: { url: 'sqlite::memory:' },
      pricing: { models: [{ model: 'priced-model', input: 1, output: 2 }] },
      gpu: { collector: 'none' },
    });
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    const config = r.config;
    const recorderLogs: Record<string, unknown>[] = [];
    const stored: LlmCall[] = [];
    const capture: Sink = { name: 'capture', write: (b) => void stored.push(...b) };
    const app = await createApp(config, {
      modules: [createCostModule, createQualityModule],
      recordsForWorkers: true,
      logDestination: collect(recorderLogs),
      sinks: [capture],
    });
    try {
      expect(app.callParts).toEqual(['cost', 'quality']);

      // A gateway worker: its own registry, logger and recorder, the hand-off a JSON channel.
      const registry = new Registry();
      const metrics = new Metrics(registry);
      const workerLogs: Record<string, unknown>[] = [];
      const logger = createLogger({ destination: collect(workerLogs) });
      const recorder = new Recorder();
      addCallWork(recorder, { config, registry, metrics, logger, clock: { now: () => Date.now() } }, app.callParts);
      const sent: WireCall[] = [];
      recorder.addSink({ name: 'primary', write: (b) => void sent.push(...JSON.parse(JSON.stringify(b.map(toWire)))) });

      const refusal = "I'm sorry, but I can't help with that.";
      const answer = 'The quarterly report shows revenue up four percent, driven by the new regions.';
      for (const [id, model, out] of [
        ['w-refused', 'priced-model', refusal],
        ['w-answer', 'priced-model', answer],
        ['w-unpriced', 'no-such-model', answer],
      ] as const)
        recorder.record(rawCall(id, model, out));
      await recorder.flush();
      expect(sent).toHaveLength(3);
      const refused = sent.find((c) => c.requestId === 'w-refused') as WireCall;
      expect(refused.refusal).toBe(true);
      expect(refused.outputTokens).toBeGreaterThan(0);
      expect(refused.costUsd).toBeGreaterThan(0);
      // spans are built in the recorder process, from the timing marks that cross with the call
      expect(refused.spans).toEqual([]);
      expect(refused.internal?.promptText).toBeNull();
      // the text sampled for quality's evaluators crosses with the call, as JSON
      const answered = sent.find((c) => c.requestId === 'w-answer') as WireCall;
      expect(answered.internal?.hooks?.['quality.text']).toMatchObject({ output: answer });
      expect(answered.hooksPacked).toBeUndefined();

      for (const w of sent) app.recordFromWorker(fromWire(w));
      // The same calls arriving whole (as ingested ones do) get every step in the recorder process.
      for (const [id, model, out] of [
        ['l-refused', 'priced-model', refusal],
        ['l-answer', 'priced-model', answer],
        ['l-unpriced', 'no-such-model', answer],
      ] as const)
        app.ctx.recorder.record(rawCall(id, model, out));
      await app.ctx.recorder.flush();

      expect(stored).toHaveLength(6);
      const byId = new Map(stored.map((c) => [c.requestId, c]));
      for (const k of ['refused', 'answer', 'unpriced']) {
        const w = byId.get(`w-${k}`) as LlmCall;
        const l = byId.get(`l-${k}`) as LlmCall;
        for (const f of ['inputTokens', 'outputTokens', 'costUsd', 'refusal', 'tokenSource'] as const)
          expect(w[f], `${k} ${f}`).toEqual(l[f]);
        expect(w.spans.length).toBeGreaterThan(0);
        expect(w.spans.map((s) => s.name)).toEqual(l.spans.map((s) => s.name));
      }
      expect(byId.get('w-unpriced')?.costUsd).toBeNull();

      // Counted once: requests, tokens and redactions where the per-call work ran; unpriced calls and spend in the
      // recorder process, for every call.
      expect(await total(registry, 'llm_requests_total')).toBe(3);
      expect(await total(app.ctx.registry, 'llm_requests_total')).toBe(3);
      expect(await total(registry, 'llmscope_redactions_total')).toBe(3);
      expect(await total(app.ctx.registry, 'llmscope_redactions_total')).toBe(3);
      expect(await total(app.ctx.registry, 'llmscope_unpriced_calls_total')).toBe(2);
      expect(registry.getSingleMetric('llmscope_unpriced_calls_total')).toBeUndefined();
      const done = (logs: Record<string, unknown>[]) =>
        logs.filter((l) => l.event === 'request_completed').map((l) => l.request_id);
      await new Promise((res) => setTimeout(res, 120));
      expect(done(workerLogs).sort()).toEqual(['w-answer', 'w-refused', 'w-unpriced']);
      expect(done(recorderLogs).sort()).toEqual(['l-answer', 'l-refused', 'l-unpriced']);
      const cost = app.modules.find((m): m is CostModule => m.name === 'cost') as CostModule;
      const rows = await cost.spend.daily({ dimension: 'all', from: T0 - 86_400_000, to: T0 + 86_400_000 });
      expect(rows.reduce((n, x) => n + x.requests, 0)).toBe(6);
      expect(rows.reduce((n, x) => n + x.unpriced, 0)).toBe(2);
    } finally {
      await app.close();
    }
  });

  it('a part the worker cannot build fails its start with a config error', () => {
    const r = validateConfig({ providers: [{ name: 'openai', baseUrl: 'http://127.0.0.1:9/v1' }] });
    if (!r.ok) throw new Error('bad config');
    const registry = new Registry();
    const ctx = {
      config: r.config,
      registry,
      metrics: new Metrics(registry),
      logger: createLogger({ destination: { write() {} } }),
      clock: { now: () => Date.now() },
    };
    expect(() => addCallWork(new Recorder(), ctx, ['cost', 'custom'])).toThrow(
      expect.objectContaining({ code: 'LLMSCOPE_ERR_CONFIG_INVALID', message: expect.stringContaining('"custom"') }),
    );
  });
});
