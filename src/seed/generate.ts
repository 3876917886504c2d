// Realistic, deterministic call history for demos and benchmarks: a daily and weekly rhythm with slow growth, a
// mix of models with their own latency profiles and prices, Zipf-distributed users, a few teams and features,
// errors, cancellations, refusals, and two incidents (an upstream outage and a latency regression) to find.
import type { CallStatus, Endpoint, LlmCall, SpanRecord } from '../calls/index.js';
import { spansOf } from '../telemetry/spans.js';
import { DAY_MS, MINUTE_MS } from '../time.js';

/** A PRNG returning floats in [0, 1) (mulberry32). */
export type Rng = () => number;

export function rngOf(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(rng: Rng): number {
  const u = 1 - rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

/** A log-normal draw with the given median and spread (σ of the log). */
const logNormal = (rng: Rng, median: number, sigma: number): number => median * Math.exp(sigma * gaussian(rng));

interface ModelProfile {
  model: string;
  provider: string;
  share: number;
  endpoint: Endpoint;
  ttft: number;
  tpot: number;
  /** USD per million tokens. */
  input: number;
  cachedInput: number;
  output: number;
  priceSource: string;
}

/** Prices as in the catalog (src/cost/catalog), so seeded spend reads like real spend. */
export const SEED_MODELS: readonly ModelProfile[] = [
  {
    model: 'gpt-4o-mini',
    provider: 'openai',
    share: 0.38,
    endpoint: 'chat.completions',
    ttft: 260,
    tpot: 11,
    input: 0.15,
    cachedInput: 0.075,
    output: 0.6,
    priceSource: 'openai/gpt-4o-mini',
  },
  {
    model: 'gpt-4o',
    provider: 'openai',
    share: 0.18,
    endpoint: 'chat.completions',
    ttft: 430,
    tpot: 21,
    input: 2.5,
    cachedInput: 1.25,
    output: 10,
    priceSource: 'openai/gpt-4o',
  },
  {
    model: 'claude-sonnet-4',
    provider: 'anthropic',
    share: 0.14,
    endpoint: 'chat.completions',
    ttft: 620,
    tpot: 27,
    input: 3,
    cachedInput: 0.3,
    output: 15,
    priceSource: 'anthropic/claude-sonnet-4',
  },
  {
    model: 'llama-3.1-8b-instruct',
    provider: 'vllm',
    share: 0.18,
    endpoint: 'chat.completions',
    ttft: 110,
    tpot: 7,
    input: 0,
    cachedInput: 0,
    output: 0,
    priceSource: 'config',
  },
  {
    model: 'text-embedding-3-small',
    provider: 'openai',
    share: 0.12,
    endpoint: 'embeddings',
    ttft: 0,
    tpot: 0,
    input: 0.02,
    cachedInput: 0.02,
    output: 0,
    priceSource: 'openai/text-embedding-3-small',
  },
];

export const SEED_TEAMS = ['search', 'support', 'growth', 'platform', 'research'] as const;
export const SEED_FEATURES = [
  'chat-assistant',
  'support-bot',
  'summarize',
  'code-review',
  'extract',
  'search-answer',
] as const;
/** Which team owns each feature (most of its calls come from there). */
const FEATURE_TEAM: Record<string, string> = {
  'chat-assistant': 'growth',
  'support-bot': 'support',
  summarize: 'research',
  'code-review': 'platform',
  extract: 'research',
  'search-answer': 'search',
};

export interface SeedPlan {
  calls: number;
  days: number;
  /** End of the history (epoch ms); the history covers [end − days, end). */
  end: number;
  seed: number;
  users: number;
}

/** Relative traffic at a minute: busy afternoons (UTC), quiet nights and weekends, ~25% growth over the range. */
export function trafficWeight(t: number, start: number, end: number): number {
  const hour = (t % DAY_MS) / 3_600_000;
  const diurnal = 0.3 + 0.7 * Math.max(0, Math.sin(((hour - 7) / 14) * Math.PI)) ** 1.5;
  const dow = new Date(t).getUTCDay();
  const weekly = dow === 0 || dow === 6 ? 0.55 : 1;
  const growth = 1 + (0.25 * (t - start)) / Math.max(1, end - start);
  return diurnal * weekly * growth;
}

/** Calls per minute over the plan, summing exactly to `plan.calls` (largest-remainder rounding, in order). */
export function minuteCounts(plan: SeedPlan): { start: number; counts: Uint32Array } {
  const end = Math.floor(plan.end / MINUTE_MS) * MINUTE_MS;
  const minutes = Math.max(1, Math.round((plan.days * DAY_MS) / MINUTE_MS));
  const start = end - minutes * MINUTE_MS;
  const w = new Float64Array(minutes);
  let total = 0;
  for (let i = 0; i < minutes; i++) {
    const x = trafficWeight(start + i * MINUTE_MS, start, end);
    w[i] = x;
    total += x;
  }
  const counts = new Uint32Array(minutes);
  let carry = 0;
  let given = 0;
  for (let i = 0; i < minutes; i++) {
    const exact = (plan.calls * (w[i] as number)) / total + carry;
    const n = Math.max(0, Math.floor(exact + 1e-9));
    counts[i] = n;
    carry = exact - n;
    given += n;
  }
  if (given < plan.calls) counts[minutes - 1] = (counts[minutes - 1] as number) + (plan.calls - given);
  return { start, counts };
}

/** Incidents, placed relative to the end so every seeded store has them at the same recent times. */
export interface Incident {
  from: number;
  to: number;
  provider?: string;
  model?: string;
  /** Extra share of calls failing with upstream errors. */
  errorRate?: number;
  /** Multiplier on TTFT and TPOT. */
  slowdown?: number;
}

export function incidentsOf(end: number, days: number): Incident[] {
  const at = (hoursAgo: number) => end - hoursAgo * 3_600_000;
  const list: Incident[] = [
    { from: at(5), to: at(4.4), provider: 'anthropic', errorRate: 0.35 },
    { from: at(30), to: at(27), model: 'gpt-4o', slowdown: 2.2 },
  ];
  if (days >= 10) list.push({ from: at(24 * 9), to: at(24 * 9 - 2), provider: 'openai', errorRate: 0.2 });
  return list.filter((i) => i.to > end - days * DAY_MS);
}

const HEX = '0123456789abcdef';
function hex(rng: Rng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += HEX[(rng() * 16) | 0];
  return s;
}

/** A UUIDv7 for time `t` from the seeded generator, so seeded ids sort by time as the gateway's do. */
export function seededUuidv7(rng: Rng, t: number): string {
  const ts = Math.floor(t).toString(16).padStart(12, '0');
  const r = hex(rng, 19);
  const variant = HEX[8 + ((rng() * 4) | 0)];
  return `${ts.slice(0, 8)}-${ts.slice(8, 12)}-7${r.slice(0, 3)}-${variant}${r.slice(3, 6)}-${r.slice(6, 18)}`;
}

const STATUS_HTTP: Record<CallStatus, number> = {
  ok: 200,
  client_error: 400,
  upstream_error: 502,
  rate_limited: 429,
  timeout: 504,
  cancelled: 499,
};
const ERROR_TYPE: Partial<Record<CallStatus, string>> = {
  client_error: 'invalid_request_error',
  upstream_error: 'server_error',
  rate_limited: 'rate_limit_exceeded',
  timeout: 'timeout',
};

export interface CallOptions {
  /**
   * Build spans (the trace waterfall) for calls started at or after this time (epoch ms); null for none. Spans
   * are ~2 KB of JSON a call, which pushes a row onto an overflow page (~4 KB a call in SQLite), so a seed of
   * millions keeps them for the recent past only.
   */
  spansFrom: number | null;
}

/** Generates the calls of one plan, minute by minute in time order, `batch` at a time. */
export function* seedCalls(plan: SeedPlan, batch: number, opts: CallOptions = { spansFrom: 0 }): Generator<LlmCall[]> {
  const rng = rngOf(plan.seed);
  const { start, counts } = minuteCounts(plan);
  const incidents = incidentsOf(plan.end, plan.days);
  // Zipf-like users: a few heavy users, a long tail.
  const userWeights = Array.from({ length: plan.users }, (_, i) => 1 / (i + 1) ** 1.1);
  const userCdf = cumulative(userWeights);
  const modelCdf = cumulative(SEED_MODELS.map((m) => m.share));
  const userTeam = Array.from({ length: plan.users }, (_, i) => SEED_TEAMS[i % SEED_TEAMS.length] as string);
  let out: LlmCall[] = [];
  for (let m = 0; m < counts.length; m++) {
    const n = counts[m] as number;
    if (n === 0) continue;
    const minuteStart = start + m * MINUTE_MS;
    const active = incidents.filter((i) => i.from < minuteStart + MINUTE_MS && i.to > minuteStart);
    const times = new Float64Array(n);
    for (let k = 0; k < n; k++) times[k] = minuteStart + rng() * MINUTE_MS;
    times.sort();
    for (let k = 0; k < n; k++) {
      out.push(oneCall(rng, times[k] as number, { modelCdf, userCdf, userTeam, active, opts }));
      if (out.length >= batch) {
        yield out;
        out = [];
      }
    }
  }
  if (out.length) yield out;
}

function cumulative(w: readonly number[]): Float64Array {
  const total = w.reduce((a, b) => a + b, 0);
  const c = new Float64Array(w.length);
  let acc = 0;
  for (let i = 0; i < w.length; i++) {
    acc += (w[i] as number) / total;
    c[i] = acc;
  }
  return c;
}

function draw(rng: Rng, cdf: Float64Array): number {
  const x = rng();
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((cdf[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

interface Ctx {
  modelCdf: Float64Array;
  userCdf: Float64Array;
  userTeam: string[];
  active: Incident[];
  opts: CallOptions;
}

function oneCall(rng: Rng, startedAt: number, c: Ctx): LlmCall {
  const p = SEED_MODELS[draw(rng, c.modelCdf)] as ModelProfile;
  const userIdx = draw(rng, c.userCdf);
  const feature =
    p.endpoint === 'embeddings'
      ? rng() < 0.7
        ? 'search-answer'
        : 'extract'
      : (SEED_FEATURES[(rng() * SEED_FEATURES.length) | 0] as string);
  const team = rng() < 0.8 ? (FEATURE_TEAM[feature] as string) : (c.userTeam[userIdx] as string);
  const embeddings = p.endpoint === 'embeddings';
  const stream = !embeddings && rng() < 0.7;
  let slowdown = 1;
  let extraErrors = 0;
  for (const i of c.active) {
    if (i.provider && i.provider !== p.provider) continue;
    if (i.model && i.model !== p.model) continue;
    slowdown *= i.slowdown ?? 1;
    extraErrors += i.errorRate ?? 0;
  }
  const x = rng();
  let status: CallStatus = 'ok';
  if (x < extraErrors) status = 'upstream_error';
  else {
    const y = rng();
    if (y < 0.012) status = 'rate_limited';
    else if (y < 0.022) status = 'upstream_error';
    else if (y < 0.026) status = 'timeout';
    else if (y < 0.031) status = 'client_error';
    else if (y < 0.046 && stream) status = 'cancelled';
  }
  const inputTokens = Math.max(3, Math.round(logNormal(rng, embeddings ? 180 : 650, 0.9)));
  const cachedInput = !embeddings && rng() < 0.3 ? Math.floor(inputTokens * (0.3 + 0.5 * rng())) : 0;
  const fullOutput = embeddings ? 0 : Math.max(1, Math.round(logNormal(rng, 220, 0.8)));
  const failed = status !== 'ok' && status !== 'cancelled';
  const outputTokens = failed
    ? 0
    : status === 'cancelled'
      ? Math.max(1, Math.floor(fullOutput * rng() * 0.6))
      : fullOutput;
  const overhead = 0.25 + rng() * 0.6;
  let ttft: number | null = null;
  let tpot: number | null = null;
  let latency: number;
  if (embeddings) latency = logNormal(rng, 45, 0.4) * slowdown + overhead;
  else if (failed) latency = status === 'timeout' ? 60_000 + rng() * 500 : logNormal(rng, p.ttft * 0.8, 0.5) + overhead;
  else {
    const t1 = logNormal(rng, p.ttft, 0.35) * slowdown;
    const perTok = logNormal(rng, p.tpot, 0.2) * slowdown;
    latency = t1 + perTok * Math.max(0, outputTokens - 1) + overhead;
    if (stream) {
      ttft = t1 + overhead;
      tpot = outputTokens >= 2 ? perTok : null;
    }
  }
  // Self-hosted llama is priced at 0 per token (its cost is GPU time, on the GPUs page).
  const costUsd = failed
    ? 0
    : ((inputTokens - cachedInput) * p.input + cachedInput * p.cachedInput + outputTokens * p.output) / 1e6;
  const refusal = status === 'ok' && !embeddings && rng() < 0.012;
  const requestId = seededUuidv7(rng, startedAt);
  const traceId = hex(rng, 32);
  const call: LlmCall = {
    requestId,
    traceId,
    startedAt,
    endedAt: startedAt + latency,
    provider: p.provider,
    model: p.model,
    endpoint: p.endpoint,
    stream,
    status,
    httpStatus: STATUS_HTTP[status],
    errorType: ERROR_TYPE[status] ?? null,
    user: `user-${String(userIdx + 1).padStart(4, '0')}`,
    team,
    feature,
    session: rng() < 0.6 ? `sess-${hex(rng, 10)}` : null,
    apiKeyId: null,
    inputTokens,
    outputTokens: embeddings ? 0 : outputTokens,
    cachedInputTokens: cachedInput,
    reasoningTokens: null,
    tokenSource: 'usage',
    ttftMs: ttft,
    tpotMs: tpot,
    latencyMs: latency,
    overheadMs: overhead,
    costUsd,
    price: { input: p.input / 1e6, cachedInput: p.cachedInput / 1e6, output: p.output / 1e6, source: p.priceSource },
    finishReason: failed ? null : status === 'cancelled' ? null : refusal ? 'content_filter' : 'stop',
    refusal,
    requestBytes: 200 + inputTokens * 4,
    responseBytes: failed ? 180 : 300 + outputTokens * (stream ? 60 : 4),
    source: 'gateway',
    spans: [],
    events: [],
    content: null,
  };
  if (c.opts.spansFrom !== null && startedAt >= c.opts.spansFrom) call.spans = seededSpans(rng, call, overhead);
  return call;
}

/** The spans the gateway would have built for this call (same names and attributes, via spansOf). */
function seededSpans(rng: Rng, call: LlmCall, overhead: number): SpanRecord[] {
  const arrival = call.startedAt;
  const routed = arrival + overhead * 0.3;
  const upstreamStart = arrival + overhead * 0.5;
  const failed = call.status !== 'ok' && call.status !== 'cancelled';
  const headersAt = call.stream
    ? upstreamStart + Math.min(40, (call.ttftMs ?? 40) * 0.2)
    : failed
      ? call.endedAt - overhead * 0.3
      : call.endedAt - overhead * 0.4 - 2;
  const spanId = hex(rng, 16);
  call.internal = {
    arrivalAt: arrival,
    routedAt: routed,
    upstreamStartAt: upstreamStart,
    upstreamHeadersAt: Math.max(upstreamStart, headersAt),
    firstContentAt: call.ttftMs === null ? null : arrival + call.ttftMs,
    lastContentAt: null,
    upstreamEndAt: call.endedAt - overhead * 0.4,
    spanId,
    upstreamSpanId: hex(rng, 16),
    parentSpanId: null,
    params: call.endpoint === 'embeddings' ? {} : { max_tokens: 1024, temperature: 0.7 },
    serverAddress: call.provider === 'vllm' ? 'vllm.internal' : `api.${call.provider}.com`,
    serverPort: 443,
    responseModel: call.model,
    responseId: null,
    promptText: null,
    outputText: null,
  };
  const spans = spansOf(call);
  delete call.internal;
  return spans;
}
