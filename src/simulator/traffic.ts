// Traffic generator for `llmscope demo` and load tests: a steady, seeded mix of models, users, teams, features,
// endpoints, streaming and not, with a few faults (via x-simulator-fault) and clients that hang up mid-stream.
// Open loop at a fixed rate with bounded concurrency: when the cap is reached a request is skipped and counted.
import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';
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

interface Planned {
  path: string;
  headers: Record<string, string>;
  body: string;
  stream: boolean;
  /** Abort after this many received chunks (an impatient user), or null. */
  cancelAfterChunks: number | null;
}

/** Starts generating traffic; throws only on invalid options. */
export function startTraffic(opts: TrafficOptions): Traffic {
  if (!(Number.isFinite(opts.rps) && opts.rps >= 0.01 && opts.rps <= 10_000)) {
    throw new RangeError(`rps must be a number from 0.01 to 10000, got ${opts.rps}`);
  }
  const models = opts.models?.length ? opts.models : DEFAULT_TRAFFIC_MODELS;
  const concurrency = opts.concurrency ?? Math.min(512, Math.max(16, Math.ceil(opts.rps * 4)));
  if (!(Number.isInteger(concurrency) && concurrency >= 1)) {
    throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
  }
  const base = opts.baseUrl.replace(/\/+$/, '');
  const rng = mulberry32(opts.seed ?? 1);
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
  };
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
    while (start + k * interval <= now) {
      k++;
      const plan = planRequest(rng, models, opts.embeddingModel ?? 'text-embedding-3-small', opts.apiKey);
      if (stats.inFlight >= concurrency) {
        stats.skipped++;
        continue;
      }
      const p = send(plan);
      running.add(p);
      void p.finally(() => running.delete(p));
    }
    timer = setTimeout(tick, Math.max(0, start + k * interval - performance.now()));
  };

  async function send(plan: Planned): Promise<void> {
    const controller = new AbortController();
    controllers.add(controller);
    stats.sent++;
    stats.inFlight++;
    let cancelling = false;
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
        else stats.ok++;
      } else {
        await res.body.dump({ limit: Number.MAX_SAFE_INTEGER });
        stats.ok++;
      }
    } catch {
      if (cancelling) stats.cancelled++;
      else if (stopped) stats.aborted++;
      else stats.errors++;
    } finally {
      stats.inFlight--;
      controllers.delete(controller);
    }
  }

  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      for (const c of controllers) c.abort();
      await Promise.allSettled([...running]);
      await agent.close().catch(() => {});
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
    return { path: '/embeddings', headers, body: JSON.stringify(body), stream: false, cancelAfterChunks: null };
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
