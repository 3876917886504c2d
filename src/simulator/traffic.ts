// Traffic generator for `llmscope demo` and load tests: a steady, seeded mix of models, users, teams, features,
// endpoints, streaming and not, with a few faults (via x-simulator-fault) and clients that hang up mid-stream.
// Two styles: `load` (pseudo-English prompts and a heavy fault mix, to exercise a gateway) and `production` (RAG
// prompts and grounded answers with a few hallucinations, refusals and tool calls, the demo's; production.ts), which
// also follows scripted conditions (scenario.ts) and gives thumbs up/down on some answers.
// Open loop at a fixed rate with bounded concurrency: when the cap is reached a request is skipped and counted.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';
import { type AnswerKind, type Planned, PRODUCTION_MODELS, planProduction, planSpike } from './production.js';
import type { TrafficConditions } from './scenario.js';
import type { Fault } from './server.js';
import { mulberry32, pick, prose, type Rng, randInt } from './text.js';

export interface TrafficOptions {
  /** The OpenAI-compatible base URL to drive, e.g. the gateway's `http://127.0.0.1:8080/v1`. */
  baseUrl: string;
  /** Requests started per second (0.01 to 10000). */
  rps: number;
  seed?: number;
  /** Chat and completion models to mix, most frequent first. */
  models?: readonly string[];
  embeddingModel?: string;
  /** Most requests in flight at once (default: 4 × rps, between 16 and 512). */
  concurrency?: number;
  /** Sent as `authorization: Bearer ...` (e.g. a llmscope virtual key). */
  apiKey?: string;
  /** Stops the traffic when aborted (same as stop()). */
  signal?: AbortSignal;
  /** `load` (default) or `production` (the demo's realistic traffic; see production.ts). */
  style?: 'load' | 'production';
  /** production: share of grounded answers made into hallucinations (default 0.04). */
  hallucinationRate?: number;
  /** production: the conditions at a time since the start (scenario.ts); default healthy throughout. */
  conditions?: (elapsedMs: number) => TrafficConditions;
  /** production: llmscope's `POST /api/feedback` URL; when set, some answers get a thumbs up or down. */
  feedbackUrl?: string;
  /** production: share of answered chats given feedback (default 0.05). */
  feedbackShare?: number;
  /**
   * production: the background faults of healthy times (about 0.08% 429s, 500s and cuts; default true). A test
   * judging error-rate rules over 1-minute windows turns them off: one error among a minute's calls can cross 1%.
   */
  backgroundErrors?: boolean;
  /** production: bearer token for the feedback API (llmscope's admin token when it listens off loopback). */
  feedbackToken?: string;
}

export interface TrafficStats {
  /** Requests started. */
  sent: number;
  /** Responses read to the end with a 2xx status. */
  ok: number;
  /** Responses with an error status (see byStatus). */
  failed: number;
  /** Connections that failed or were cut. */
  errors: number;
  /** Requests this generator aborted on purpose, mid-stream, as an impatient user would. */
  cancelled: number;
  /** Requests not started because `concurrency` were in flight. */
  skipped: number;
  /** Requests in flight when stop() was called, and so aborted. */
  aborted: number;
  inFlight: number;
  /** Responses by HTTP status. */
  byStatus: Record<number, number>;
  /** Requests started, by what their answer was planned to be (production style; `load` otherwise). */
  byKind: Partial<Record<AnswerKind, number>>;
  /** The latest connection error's message (what `errors` counts), or null. */
  lastError: string | null;
  /** Feedback posted (2xx) and failed (production style with feedbackUrl). */
  feedback: { up: number; down: number; failed: number };
}

export interface Traffic {
  stats: TrafficStats;
  /** Stops starting requests, aborts those in flight, and resolves when all have settled. */
  stop(): Promise<void>;
}

export const DEFAULT_TRAFFIC_MODELS: readonly string[] = [
  'gpt-4o-mini',
  'gpt-4o',
  'claude-sonnet-4',
  'llama-3.1-8b-instruct',
];

/** Per-model latency (ms) asked of the simulator, so the dashboard shows models that differ as real ones do. */
const PROFILES: Record<string, { ttft: number; tpot: number }> = {
  'gpt-4o-mini': { ttft: 250, tpot: 12 },
  'gpt-4o': { ttft: 450, tpot: 22 },
  'claude-sonnet-4': { ttft: 600, tpot: 28 },
  'llama-3.1-8b-instruct': { ttft: 120, tpot: 8 },
};

const TEAMS = ['search', 'support', 'growth', 'platform', 'research'];
const FEATURES: Record<string, string> = {
  'chat-assistant': 'You are a helpful assistant for our product.',
  'support-bot': 'You answer customer support questions politely and briefly.',
  summarize: 'Summarize the following text in a few sentences.',
  'code-review': 'You review code changes and point out problems.',
  extract: 'Extract the key facts from the text as a list.',
  'search-answer': 'Answer the question using the search results given.',
};
const FEATURE_NAMES = Object.keys(FEATURES);
const USERS = 50;

/** Share of requests given each fault, cumulated in this order. */
const FAULT_MIX: [Fault, number][] = [
  ['server_error', 0.02],
  ['rate_limit', 0.02],
  ['refusal', 0.015],
  ['content_filter', 0.005],
  ['cut', 0.005],
];
const CANCEL_SHARE = 0.03;
/** Feedback is posted this long after the answer, once the call is recorded. */
const FEEDBACK_DELAY_MS = 1500;

/** Starts generating traffic; throws only on invalid options. */
export function startTraffic(opts: TrafficOptions): Traffic {
  if (!(Number.isFinite(opts.rps) && opts.rps >= 0.01 && opts.rps <= 10_000)) {
    throw new RangeError(`rps must be a number from 0.01 to 10000, got ${opts.rps}`);
  }
  const hallucinationRate = opts.hallucinationRate ?? 0.04;
  if (!(hallucinationRate >= 0 && hallucinationRate <= 1)) {
    throw new RangeError(`hallucinationRate must be from 0 to 1, got ${hallucinationRate}`);
  }
  const production = opts.style === 'production';
  const models = opts.models?.length ? opts.models : DEFAULT_TRAFFIC_MODELS;
  const productionModels = opts.models?.length
    ? opts.models.map((m, i) => [m, 1 / (i + 1)] as const)
    : PRODUCTION_MODELS;
  const embeddingModel = opts.embeddingModel ?? 'text-embedding-3-small';
  const feedbackShare = opts.feedbackShare ?? 0.05;
  const concurrency = opts.concurrency ?? Math.min(512, Math.max(16, Math.ceil(opts.rps * 4)));
  if (!(Number.isInteger(concurrency) && concurrency >= 1)) {
    throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
  }
  const base = opts.baseUrl.replace(/\/+$/, '');
  const rng = mulberry32(opts.seed ?? 1);
  const feedbackRng = mulberry32(((opts.seed ?? 1) ^ 0x5bd1e995) >>> 0);
  const agent = new Agent({ connections: concurrency, keepAliveTimeout: 4000 });
  const stats: TrafficStats = {
    sent: 0,
    ok: 0,
    failed: 0,
    errors: 0,
    cancelled: 0,
    skipped: 0,
    aborted: 0,
    inFlight: 0,
    byStatus: {},
    byKind: {},
    lastError: null,
    feedback: { up: 0, down: 0, failed: 0 },
  };
  const feedbackTimers = new Set<NodeJS.Timeout>();
  let spike: { since: number; step: number } | null = null;
  const t0 = performance.now();
  const running = new Set<Promise<void>>();
  const controllers = new Set<AbortController>();
  const interval = 1000 / opts.rps;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let start = performance.now();
  let k = 0; // index of the next request; it is due at start + k * interval

  const tick = () => {
    timer = null;
    if (stopped) return;
    const now = performance.now();
    // After a long stall (a paused process), start afresh instead of sending a burst to catch up.
    if (now - (start + k * interval) > 1000) {
      start = now;
      k = 0;
    }
    const conditions = production ? (opts.conditions?.(now - t0) ?? { phase: 'healthy' }) : null;
    const launch = (plan: Planned) => {
      if (stats.inFlight >= concurrency) {
        stats.skipped++;
        return;
      }
      stats.byKind[plan.kind] = (stats.byKind[plan.kind] ?? 0) + 1;
      const p = send(plan);
      running.add(p);
      void p.finally(() => running.delete(p));
    };
    while (start + k * interval <= now) {
      k++;
      launch(
        conditions
          ? planProduction(
              rng,
              {
                hallucinationRate,
                models: productionModels,
                embeddingModel,
                apiKey: opts.apiKey,
                backgroundErrors: opts.backgroundErrors,
              },
              conditions,
            )
          : planRequest(rng, models, embeddingModel, opts.apiKey),
      );
    }
    // The spiking user's calls run on their own clock, on top of the steady traffic.
    const sp = conditions?.spike;
    if (sp) {
      spike ??= { since: now, step: 0 };
      while (spike.step < Math.floor(((now - spike.since) / 1000) * sp.rps) + 1) {
        launch(planSpike(sp, spike.step++, opts.apiKey));
      }
    } else spike = null;
    timer = setTimeout(tick, Math.max(0, start + k * interval - performance.now()));
  };

  async function send(plan: Planned): Promise<void> {
    const controller = new AbortController();
    controllers.add(controller);
    stats.sent++;
    stats.inFlight++;
    let cancelling = false;
    let answered = false;
    const requestId = production ? randomUUID() : null;
    if (requestId) plan.headers['x-request-id'] = requestId;
    try {
      const res = await request(`${base}${plan.path}`, {
        method: 'POST',
        headers: plan.headers,
        body: plan.body,
        dispatcher: agent,
        signal: controller.signal,
      });
      stats.byStatus[res.statusCode] = (stats.byStatus[res.statusCode] ?? 0) + 1;
      if (res.statusCode >= 400) {
        stats.failed++;
        await res.body.dump();
        return;
      }
      if (plan.stream) {
        let chunks = 0;
        for await (const _ of res.body) {
          chunks++;
          if (plan.cancelAfterChunks !== null && chunks >= plan.cancelAfterChunks) {
            cancelling = true;
            controller.abort();
            break;
          }
        }
        if (cancelling) stats.cancelled++;
        else {
          stats.ok++;
          answered = true;
        }
      } else {
        await res.body.dump({ limit: Number.MAX_SAFE_INTEGER });
        stats.ok++;
        answered = true;
      }
    } catch (err) {
      if (cancelling) stats.cancelled++;
      else if (stopped) stats.aborted++;
      else {
        stats.errors++;
        stats.lastError = `${plan.path}: ${(err as Error)?.message ?? String(err)}`;
      }
    } finally {
      stats.inFlight--;
      controllers.delete(controller);
    }
    // A separate generator: answers finish in an order timing decides, which must not shift the plans' draws.
    if (answered && requestId && opts.feedbackUrl && !stopped && feedbackRng() < feedbackShare) {
      const rating = ratingOf(plan.kind, feedbackRng);
      if (rating) {
        const timer = setTimeout(() => {
          feedbackTimers.delete(timer);
          void postFeedback(requestId, rating, plan.kind);
        }, FEEDBACK_DELAY_MS);
        feedbackTimers.add(timer);
      }
    }
  }

  async function postFeedback(requestId: string, rating: 'up' | 'down', kind: AnswerKind): Promise<void> {
    if (stopped || !opts.feedbackUrl) return;
    const body: Record<string, unknown> = { request_id: requestId, rating };
    if (rating === 'down' && kind === 'hallucinated') {
      body.comment = 'The answer does not match the documentation.';
      body.labels = ['hallucination'];
    } else if (rating === 'down') body.comment = 'Not helpful.';
    try {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (opts.feedbackToken) headers.authorization = `Bearer ${opts.feedbackToken}`;
      const res = await request(opts.feedbackUrl, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        dispatcher: agent,
      });
      await res.body.dump();
      if (res.statusCode < 300) stats.feedback[rating]++;
      else stats.feedback.failed++;
    } catch {
      stats.feedback.failed++;
    }
  }

  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      for (const t of feedbackTimers) clearTimeout(t);
      feedbackTimers.clear();
      for (const c of controllers) c.abort();
      await Promise.allSettled([...running]);
      // What is left are thumbs up/down on their way: dropped, not waited for (close() waited for each answer, 10 s
      // and more when the gateway they go to is the busy process stopping, `npm run demo`'s Ctrl-C among them).
      await agent.destroy().catch(() => {});
    })();
    return stopping;
  };

  if (opts.signal?.aborted) void stop();
  else {
    opts.signal?.addEventListener('abort', () => void stop(), { once: true });
    timer = setTimeout(tick, 0);
  }
  return { stats, stop };
}

/** How a user rates an answer they bothered to rate: hallucinations mostly down, good answers mostly up. */
function ratingOf(kind: AnswerKind, rng: Rng): 'up' | 'down' | null {
  if (kind === 'hallucinated') return rng() < 0.8 ? 'down' : 'up';
  if (kind === 'refusal') return rng() < 0.6 ? 'down' : 'up';
  if (kind === 'grounded' || kind === 'tool_call' || kind === 'no_knowledge') return rng() < 0.9 ? 'up' : 'down';
  return null;
}

function planRequest(rng: Rng, models: readonly string[], embeddingModel: string, apiKey?: string): Planned {
  // A few heavy users and a long tail: index = 50 × u² favours low indices.
  const u = Math.floor(USERS * rng() ** 2);
  const user = `user-${String(u + 1).padStart(2, '0')}`;
  const feature = pick(rng, FEATURE_NAMES);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-llmscope-user': user,
    'x-llmscope-team': TEAMS[u % TEAMS.length]!,
    'x-llmscope-feature': feature,
    'x-llmscope-session': `${user}-s${randInt(rng, 1, 3)}`,
  };
  if (apiKey) headers.authorization = `Bearer ${apiKey}`;

  const kind = rng();
  if (kind >= 0.92) {
    const inputs = Array.from({ length: randInt(rng, 1, 4) }, () => prose(rng, randInt(rng, 8, 120)));
    const body = { model: embeddingModel, input: inputs.length === 1 ? inputs[0] : inputs };
    return {
      path: '/embeddings',
      headers,
      body: JSON.stringify(body),
      stream: false,
      cancelAfterChunks: null,
      kind: 'load',
    };
  }
  const chat = kind < 0.85;
  // Earlier models in the list are busier: weights 1, 1/2, 1/3, ...
  const model = models[weightedIndex(rng, models.length)]!;
  const profile = PROFILES[model];
  if (profile) {
    headers['x-simulator-ttft-ms'] = String(profile.ttft);
    headers['x-simulator-tpot-ms'] = String(profile.tpot);
  }
  headers['x-simulator-output-tokens'] = String(Math.round(16 * 20 ** rng())); // 16 to 320, log-uniform
  let r = rng();
  for (const [fault, share] of FAULT_MIX) {
    if (r < share) {
      headers['x-simulator-fault'] = fault;
      break;
    }
    r -= share;
  }
  const stream = rng() < (chat ? 0.7 : 0.3);
  const cancelAfterChunks = stream && rng() < CANCEL_SHARE ? randInt(rng, 2, 12) : null;
  const userText = prose(rng, randInt(rng, 10, 200));
  const body: Record<string, unknown> = { model };
  if (chat) {
    body.messages = [
      { role: 'system', content: FEATURES[feature] },
      { role: 'user', content: userText },
    ];
  } else {
    body.prompt = userText;
  }
  if (rng() < 0.15) body.max_tokens = randInt(rng, 16, 96);
  if (stream) {
    body.stream = true;
    if (rng() < 0.5) body.stream_options = { include_usage: true };
  }
  return {
    path: chat ? '/chat/completions' : '/completions',
    headers,
    body: JSON.stringify(body),
    stream,
    cancelAfterChunks,
    kind: 'load',
  };
}

function weightedIndex(rng: Rng, n: number): number {
  let total = 0;
  for (let i = 1; i <= n; i++) total += 1 / i;
  let r = rng() * total;
  for (let i = 0; i < n; i++) {
    r -= 1 / (i + 1);
    if (r < 0) return i;
  }
  return n - 1;
}
