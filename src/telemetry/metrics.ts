// Prometheus metrics (prom-client) with DESIGN's names, REFERENCE's buckets and the label guard.
// Built on a Registry passed in (never the global one); call metrics are observed by the metrics sink, off the hot path.
import type { ServerResponse } from 'node:http';
import {
  AggregatorRegistry,
  Counter,
  Gauge,
  Histogram,
  type MetricObjectWithValues,
  type MetricValue,
  type Registry,
} from 'prom-client';
import type { LlmCall, Recorder, Sink } from '../calls/index.js';
import { LabelGuard, OTHER } from './label-guard.js';

/** A token count the batch fold may add up exactly: absent, or a whole number within the safe integer range. */
const wholeOrNull = (v: number | null | undefined): boolean => v === null || v === undefined || Number.isSafeInteger(v);

export const BUCKETS = {
  ttft: [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80],
  tpot: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5],
  duration: [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92, 163.84, 327.68],
  overhead: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
} as const;

/** A histogram's series with its labels bound. */
type Observer = { observe(value: number): void };

/** What prom-client 15 keeps per series of a histogram (`hashMap`), as its own observe updates it. */
interface HistogramEntry {
  labels: Record<string, string>;
  bucketValues: Record<string, number>;
  sum: number;
  count: number;
}
/** prom-client's own fields of a metric that the series below read (lib/histogram.js, lib/counter.js). */
interface MetricInternals<E> {
  hashMap?: Record<string, E>;
  upperBounds?: readonly number[];
  enableExemplars?: boolean;
}

/** The key prom-client keeps the series of `labels` under in `map`, found by their values (undefined when none yet). */
function seriesKey<E extends { labels: Record<string, string> }>(
  map: Record<string, E>,
  labels: Record<string, string>,
): string | undefined {
  const names = Object.keys(labels);
  for (const k in map) {
    const l = (map[k] as E).labels;
    if (l === labels) return k;
    let same = Object.keys(l).length === names.length;
    for (let i = 0; same && i < names.length; i++) same = l[names[i] as string] === labels[names[i] as string];
    if (same) return k;
  }
  return undefined;
}

/**
 * One histogram series observed in place: the same updates of the series' sum, count and bucket as prom-client's
 * own observe (the same additions in the same order, so the same /metrics text), without what that does on every
 * observation — a label object and a validation per value, and the label string it hashes to find the series.
 * The series is looked up by that key, found once; a value that is not finite, a series that does not exist yet
 * (first use, or after the registry was reset) and a prom-client whose fields are not as expected go through
 * prom-client's observe itself (which throws, creates the series, or does the work).
 */
export class HistogramSeries implements Observer {
  private readonly child: Observer;
  private readonly map: () => Record<string, HistogramEntry> | undefined;
  private readonly bounds: readonly number[];
  /** The bucket keys prom-client writes for each bound (its bucketValues' own keys). */
  private readonly bucketKeys: readonly string[];
  private key: string | undefined;

  constructor(
    histogram: Histogram<string>,
    private readonly labels: Record<string, string>,
  ) {
    this.child = histogram.labels(labels);
    const h = histogram as unknown as MetricInternals<HistogramEntry>;
    const direct = Array.isArray(h.upperBounds) && !h.enableExemplars && typeof h.hashMap === 'object';
    this.map = () => (direct ? h.hashMap : undefined);
    this.bounds = direct ? (h.upperBounds as readonly number[]) : [];
    this.bucketKeys = this.bounds.map((b) => String(b));
  }

  observe(value: number): void {
    const e = this.entry();
    if (e === undefined || !Number.isFinite(value)) {
      this.child.observe(value);
      return;
    }
    const b = this.bounds;
    let i = 0;
    while (i < b.length && !(value <= (b[i] as number))) i++;
    e.sum += value;
    e.count += 1;
    // prom-client's findBound gives -1 past the last bound, which counts in a bucket only if one is named -1.
    const k = i < b.length ? (this.bucketKeys[i] as string) : '-1';
    if (Object.hasOwn(e.bucketValues, k)) (e.bucketValues[k] as number) += 1;
  }

  private entry(): HistogramEntry | undefined {
    const map = this.map();
    if (map === undefined) return undefined;
    if (this.key !== undefined) {
      const e = map[this.key];
      if (e !== undefined) return e;
    }
    this.key = seriesKey(map, this.labels);
    return this.key === undefined ? undefined : map[this.key];
  }
}

/**
 * One counter series added to in place, as HistogramSeries observes: prom-client's own `value += n` for a finite
 * n > 0, without its per-call label validation and hashing; anything else goes through prom-client's inc.
 */
export class CounterSeries {
  private readonly map: () => Record<string, { labels: Record<string, string>; value: number }> | undefined;
  private key: string | undefined;

  constructor(
    private readonly counter: Counter<string>,
    readonly labels: Record<string, string>,
  ) {
    const c = counter as unknown as MetricInternals<{ labels: Record<string, string>; value: number }>;
    const direct = typeof c.hashMap === 'object' && !c.enableExemplars;
    this.map = () => (direct ? c.hashMap : undefined);
  }

  inc(n: number): void {
    const map = this.map();
    let e = map !== undefined && this.key !== undefined ? map[this.key] : undefined;
    if (e === undefined && map !== undefined) {
      this.key = seriesKey(map, this.labels);
      e = this.key === undefined ? undefined : map[this.key];
    }
    if (e === undefined || !(Number.isFinite(n) && n > 0)) this.counter.inc(this.labels, n);
    else e.value += n;
  }
}

/** One endpoint's label objects under a [provider, model] pair. */
interface EndpointLabels {
  /** llm_request_duration_seconds, not streamed and streamed. */
  duration: [Observer, Observer];
  overhead: Observer;
  /** llm_requests_total by status. */
  requests: Map<string, Record<string, string>>;
}

/** A guarded [provider, model] pair's label objects, reused for every call of the pair. */
interface PairLabels {
  p: string;
  m: string;
  ttft: Observer;
  tpot: Observer;
  refusals: Record<string, string>;
  input: Record<string, string>;
  output: Record<string, string>;
  cachedInput: Record<string, string>;
  cacheWriteInput: Record<string, string>;
  endpoints: Map<string, EndpointLabels>;
  /** llm_cost_usd_total by guarded feature. */
  features: Map<string, CounterSeries>;
}

export interface MetricsOptions {
  labelBudget?: number;
  labelHardCap?: number;
}

export class Metrics {
  readonly guard: LabelGuard;
  readonly labelOverflow: Counter<'label'>;
  readonly requests: Counter<'provider' | 'model' | 'endpoint' | 'status'>;
  readonly duration: Histogram<'provider' | 'model' | 'endpoint' | 'stream'>;
  readonly ttft: Histogram<'provider' | 'model'>;
  readonly tpot: Histogram<'provider' | 'model'>;
  readonly tokens: Counter<'provider' | 'model' | 'type'>;
  readonly cost: Counter<'provider' | 'model' | 'feature'>;
  readonly feedback: Counter<'rating'>;
  readonly evaluations: Counter<'evaluator' | 'verdict'>;
  readonly refusals: Counter<'provider' | 'model'>;
  readonly budgetRatio: Gauge<'budget'>;
  readonly overhead: Histogram<'endpoint'>;
  readonly queueDepth: Gauge<'sink'>;
  readonly dropped: Counter<'sink'>;
  readonly shed: Counter<'reason'>;
  readonly bodyTimeouts: Counter;
  readonly redactions: Counter<'kind'>;
  readonly qualityTruncated: Counter<'part'>;
  readonly websocketSessions: Gauge<'kind'>;
  /** Open WebSocket sessions by kind, read at scrape time (watchWebsocketSessions); none: 0. */
  private sessionsNow: () => { realtime: number; responses: number } = () => ({ realtime: 0, responses: 0 });

  constructor(
    readonly registry: Registry,
    opts: MetricsOptions = {},
  ) {
    const registers = [registry];
    this.labelOverflow = new Counter({
      name: 'llmscope_label_overflow_total',
      help: 'Label values folded into __other__ because a label or metric went over its cardinality budget.',
      labelNames: ['label'],
      registers,
    });
    this.guard = new LabelGuard(opts.labelBudget ?? 100, opts.labelHardCap ?? 1000, (label) =>
      this.labelOverflow.inc({ label }),
    );
    this.requests = new Counter({
      name: 'llm_requests_total',
      help: 'LLM requests, by outcome.',
      labelNames: ['provider', 'model', 'endpoint', 'status'],
      registers,
    });
    this.duration = new Histogram({
      name: 'llm_request_duration_seconds',
      help: 'Total latency of LLM requests: response end minus request arrival.',
      labelNames: ['provider', 'model', 'endpoint', 'stream'],
      buckets: [...BUCKETS.duration],
      registers,
    });
    this.ttft = new Histogram({
      name: 'llm_time_to_first_token_seconds',
      help: 'Time to first token of streamed LLM responses.',
      labelNames: ['provider', 'model'],
      buckets: [...BUCKETS.ttft],
      registers,
    });
    this.tpot = new Histogram({
      name: 'llm_time_per_output_token_seconds',
      help: 'Time per output token after the first, of streamed LLM responses.',
      labelNames: ['provider', 'model'],
      buckets: [...BUCKETS.tpot],
      registers,
    });
    this.tokens = new Counter({
      name: 'llm_tokens_total',
      help: 'Tokens processed, by type.',
      labelNames: ['provider', 'model', 'type'],
      registers,
    });
    this.cost = new Counter({
      name: 'llm_cost_usd_total',
      help: 'Spend in US dollars on priced LLM calls.',
      labelNames: ['provider', 'model', 'feature'],
      registers,
    });
    this.feedback = new Counter({
      name: 'llm_feedback_total',
      help: 'User feedback received, by rating.',
      labelNames: ['rating'],
      registers,
    });
    this.evaluations = new Counter({
      name: 'llm_evaluations_total',
      help: 'Quality evaluations run, by evaluator and verdict.',
      labelNames: ['evaluator', 'verdict'],
      registers,
    });
    this.refusals = new Counter({
      name: 'llm_refusals_total',
      help: 'Responses in which the model declined to answer.',
      labelNames: ['provider', 'model'],
      registers,
    });
    this.budgetRatio = new Gauge({
      name: 'llm_budget_spend_ratio',
      help: 'Spend in the current period divided by the budget limit.',
      labelNames: ['budget'],
      registers,
    });
    this.overhead = new Histogram({
      name: 'llmscope_gateway_overhead_seconds',
      help: 'Time a request spent in llmscope itself, not waiting on the upstream.',
      labelNames: ['endpoint'],
      buckets: [...BUCKETS.overhead],
      registers,
    });
    this.queueDepth = new Gauge({
      name: 'llmscope_recorder_queue_depth',
      help: 'Calls waiting in the recorder for each sink.',
      labelNames: ['sink'],
      registers,
    });
    this.dropped = new Counter({
      name: 'llmscope_recorder_dropped_total',
      help: 'Calls a sink could not record (queue full, sink error, shutdown).',
      labelNames: ['sink'],
      registers,
    });
    this.redactions = new Counter({
      name: 'llmscope_redactions_total',
      help: 'Personal data and secrets redacted from call text before it was kept or sent on, by kind.',
      labelNames: ['kind'],
      registers,
    });
    this.qualityTruncated = new Counter({
      name: 'llmscope_quality_truncated_total',
      help: 'Calls evaluated for quality on the first part of a text longer than its limit, by part (answer, prompt).',
      labelNames: ['part'],
      registers,
    });
    this.shed = new Counter({
      name: 'llmscope_gateway_shed_total',
      help: 'Gateway calls answered 503 before reaching an upstream, not recorded as calls: llmscope was at a limit (concurrency: server.maxConcurrentCalls; memory: server.maxBufferedBytes) or shutting down (shutting_down).',
      labelNames: ['reason'],
      registers,
    });
    this.bodyTimeouts = new Counter({
      name: 'llmscope_request_body_timeouts_total',
      help: 'Requests answered 408 and closed because their body stopped arriving for server.bodyIdleTimeout.',
      registers,
    });
    const sessions = () => this.sessionsNow();
    this.websocketSessions = new Gauge({
      name: 'llmscope_websocket_sessions',
      help: 'WebSocket sessions open now, by kind: realtime (/v1/realtime) and responses (the Responses API over WebSocket). Each response in one is a call; the session itself is not.',
      labelNames: ['kind'],
      registers,
      collect() {
        const n = sessions();
        this.set({ kind: 'realtime' }, n.realtime);
        this.set({ kind: 'responses' }, n.responses);
      },
    });
  }

  /** Where llmscope_websocket_sessions is read from: this process's WebSocket relay. */
  watchWebsocketSessions(now: () => { realtime: number; responses: number }): void {
    this.sessionsNow = now;
  }

  /** Observes one finished call (run by the metrics sink). */
  observe(call: LlmCall): void {
    const g = this.guard;
    const provider = g.value('provider', call.provider);
    const model = g.value('model', call.model);
    const endpoint = call.endpoint;
    const [p, m] = g.series_('llm_requests_total', [provider, model] as [string, string]);
    this.requests.inc({ provider: p, model: m, endpoint, status: call.status });
    this.duration.observe({ provider: p, model: m, endpoint, stream: String(call.stream) }, call.latencyMs / 1000);
    if (call.ttftMs !== null) this.ttft.observe({ provider: p, model: m }, call.ttftMs / 1000);
    if (call.tpotMs !== null) this.tpot.observe({ provider: p, model: m }, call.tpotMs / 1000);
    if (call.inputTokens) this.tokens.inc({ provider: p, model: m, type: 'input' }, call.inputTokens);
    if (call.outputTokens) this.tokens.inc({ provider: p, model: m, type: 'output' }, call.outputTokens);
    if (call.cachedInputTokens)
      this.tokens.inc({ provider: p, model: m, type: 'cached_input' }, call.cachedInputTokens);
    if (call.cacheWriteInputTokens)
      this.tokens.inc({ provider: p, model: m, type: 'cache_write_input' }, call.cacheWriteInputTokens);
    if (call.costUsd) {
      const feature = g.value('feature', call.feature);
      this.cost.inc({ provider: p, model: m, feature }, call.costUsd);
    }
    if (call.refusal) this.refusals.inc({ provider: p, model: m });
    if (call.source === 'gateway') this.overhead.observe({ endpoint }, call.overheadMs / 1000);
  }

  /**
   * Label objects and histogram children per admitted [provider, model] pair, kept across batches: the guard admits
   * a pair once and for good (it never forgets a value or series), so later calls of the pair skip it, and the label
   * objects prom-client is handed are built once per series rather than once per call and metric.
   */
  private readonly pairs = new Map<string, Map<string, PairLabels>>();

  /** The labels of a guarded [provider, model] pair (its endpoints' and features' added as calls bring them). */
  private pairLabels(p: string, m: string): PairLabels {
    const pm = { provider: p, model: m };
    return {
      p,
      m,
      ttft: new HistogramSeries(this.ttft, pm),
      tpot: new HistogramSeries(this.tpot, pm),
      refusals: pm,
      input: { provider: p, model: m, type: 'input' },
      output: { provider: p, model: m, type: 'output' },
      cachedInput: { provider: p, model: m, type: 'cached_input' },
      cacheWriteInput: { provider: p, model: m, type: 'cache_write_input' },
      endpoints: new Map(),
      features: new Map(),
    };
  }

  private endpointLabels(pl: PairLabels, endpoint: string): EndpointLabels {
    let e = pl.endpoints.get(endpoint);
    if (e === undefined) {
      const { p, m } = pl;
      e = {
        duration: [
          new HistogramSeries(this.duration, { provider: p, model: m, endpoint, stream: 'false' }),
          new HistogramSeries(this.duration, { provider: p, model: m, endpoint, stream: 'true' }),
        ],
        overhead: new HistogramSeries(this.overhead, { endpoint }),
        requests: new Map(),
      };
      pl.endpoints.set(endpoint, e);
    }
    return e;
  }

  /**
   * Observes a batch of finished calls: the same metric values as `observe` on each in turn, with the counters
   * whose increments are whole numbers (requests, tokens, refusals) added once per label set per batch rather than
   * once per call. Integer sums are exact in any order, so nothing changes but the number of prom-client label
   * lookups. Cost and the histograms (fractional values, whose float sums depend on the order of additions) are
   * still observed call by call, in order; so are the label guard's admissions, whose order decides which values
   * fit the budget. A batch with a fractional token count is observed call by call throughout.
   */
  observeBatch(calls: readonly LlmCall[]): void {
    for (const c of calls)
      if (
        !wholeOrNull(c.inputTokens) ||
        !wholeOrNull(c.outputTokens) ||
        !wholeOrNull(c.cachedInputTokens) ||
        !wholeOrNull(c.cacheWriteInputTokens)
      ) {
        for (const call of calls) this.observe(call);
        return;
      }
    const g = this.guard;
    /** Pairs the guard folded into __other__ (seen again each call, as each counts an overflow), for this batch. */
    let folded: Map<string, PairLabels> | null = null;
    /** Whole-number increments per label set (the label objects are kept per series, so they key the sums). */
    const sums = new Map<Record<string, string>, { counter: Counter<string>; n: number }>();
    const add = (counter: Counter<string>, labels: Record<string, string>, n: number): void => {
      const s = sums.get(labels);
      if (s) s.n += n;
      else sums.set(labels, { counter, n });
    };
    // If an observation throws (a non-finite latency), the counts of the calls before it (and of its own, up to
    // where it threw) are still added, as call-by-call observing would have left them.
    try {
      for (const call of calls) {
        let pl = this.pairs.get(call.provider)?.get(call.model);
        if (pl === undefined) {
          const provider = g.value('provider', call.provider);
          const model = g.value('model', call.model);
          const [p, m] = g.series_('llm_requests_total', [provider, model] as [string, string]);
          // A value or series the guard admitted is seen again without side effects; one it folded into __other__
          // counts an overflow each time, so those calls go back to the guard every time.
          if (p !== OTHER && m !== OTHER && provider !== OTHER && model !== OTHER) {
            let byModel = this.pairs.get(call.provider);
            if (byModel === undefined) {
              byModel = new Map();
              this.pairs.set(call.provider, byModel);
            }
            pl = this.pairLabels(p, m);
            byModel.set(call.model, pl);
          } else {
            folded ??= new Map();
            const key = `${p.length}:${p}\u0000${m}`;
            pl = folded.get(key);
            if (pl === undefined) {
              pl = this.pairLabels(p, m);
              folded.set(key, pl);
            }
          }
        }
        const e = this.endpointLabels(pl, call.endpoint);
        let r = e.requests.get(call.status);
        if (r === undefined) {
          r = { provider: pl.p, model: pl.m, endpoint: call.endpoint, status: call.status };
          e.requests.set(call.status, r);
        }
        add(this.requests, r, 1);
        (call.stream ? e.duration[1] : e.duration[0]).observe(call.latencyMs / 1000);
        if (call.ttftMs !== null) pl.ttft.observe(call.ttftMs / 1000);
        if (call.tpotMs !== null) pl.tpot.observe(call.tpotMs / 1000);
        if (call.inputTokens) add(this.tokens, pl.input, call.inputTokens);
        if (call.outputTokens) add(this.tokens, pl.output, call.outputTokens);
        if (call.cachedInputTokens) add(this.tokens, pl.cachedInput, call.cachedInputTokens);
        if (call.cacheWriteInputTokens) add(this.tokens, pl.cacheWriteInput, call.cacheWriteInputTokens);
        if (call.costUsd) {
          const feature = g.value('feature', call.feature);
          let f = pl.features.get(feature);
          if (f === undefined) {
            f = new CounterSeries(this.cost, { provider: pl.p, model: pl.m, feature });
            pl.features.set(feature, f);
          }
          f.inc(call.costUsd);
        }
        if (call.refusal) add(this.refusals, pl.refusals, 1);
        if (call.source === 'gateway') e.overhead.observe(call.overheadMs / 1000);
      }
    } finally {
      for (const [labels, s] of sums) s.counter.inc(labels, s.n);
    }
  }

  sink(): Sink {
    return {
      name: 'metrics',
      maxBatch: 1024,
      write: (calls) => this.observeBatch(calls),
    };
  }
}

/**
 * At scrape time: each recorder sink's queue depth, and its `llmscope_recorder_dropped_total` series, at 0 until the
 * sink drops a call. A counter series that first appears at 1 is invisible to `increase()` and `rate()` (Prometheus
 * takes a new series' first sample as its start), so an alert on drops would miss the first ones after a start.
 */
export function sampleRecorder(parts: {
  recorder: Pick<Recorder, 'depths'>;
  metrics: Pick<Metrics, 'queueDepth' | 'dropped'>;
}): void {
  for (const [sink, depth] of Object.entries(parts.recorder.depths())) {
    if (sink === '_pending') continue;
    parts.metrics.queueDepth.set({ sink }, depth);
    parts.metrics.dropped.inc({ sink }, 0);
  }
}

/**
 * GET /metrics for `serve --workers`: this (the recorder) process's registry and every gateway worker's, added up
 * (prom-client's AggregatorRegistry: counters and histograms summed per label set, gauges summed unless the metric
 * says otherwise), so one scrape covers the whole deployment.
 */
export async function sendFleetMetrics(
  res: ServerResponse,
  parts: { registry: Registry; recorder: Pick<Recorder, 'depths'>; metrics: Pick<Metrics, 'queueDepth' | 'dropped'> },
  workers: () => Promise<MetricObjectWithValues<MetricValue<string>>[][]>,
): Promise<void> {
  sampleRecorder(parts);
  const [own, others] = await Promise.all([parts.registry.getMetricsAsJSON(), workers()]);
  const text = await AggregatorRegistry.aggregate([own, ...others]).metrics();
  res.writeHead(200, { 'content-type': parts.registry.contentType });
  res.end(text);
}
