// The load generator behind `llmscope bench` and bench/: drives any OpenAI-compatible endpoint with bounded
// concurrency over an undici Pool and measures what a client sees — TTFT, TPOT, latency, throughput.
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';

export interface LoadOptions {
  /** Base URL, e.g. http://127.0.0.1:8080/v1 */
  url: string;
  model?: string;
  concurrency?: number;
  /** Stop after this many requests ... */
  requests?: number;
  /** ... or after this many milliseconds (whichever first; one of them is needed). */
  durationMs?: number;
  stream?: boolean;
  maxTokens?: number;
  prompt?: string;
  headers?: Record<string, string>;
  apiKey?: string;
  /** Called after each request (for progress bars). */
  onResult?: (r: RequestResult, done: number) => void;
  /** Reuse a pool (benchmarks keep one per target). */
  pool?: Pool;
}

export interface RequestResult {
  ok: boolean;
  status: number;
  /** ms from send to the first response body byte. */
  firstByteMs: number | null;
  /** ms from send to the first content token (streams). */
  ttftMs: number | null;
  latencyMs: number;
  outputTokens: number;
  tpotMs: number | null;
  error?: string;
}

export interface Summary {
  requests: number;
  errors: number;
  durationS: number;
  requestsPerS: number;
  outputTokensPerS: number;
  latencyMs: Percentiles;
  ttftMs: Percentiles | null;
  tpotMs: Percentiles | null;
  firstByteMs: Percentiles | null;
}

export interface Percentiles {
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  mean: number;
  max: number;
}

export function percentiles(values: number[]): Percentiles | null {
  if (values.length === 0) return null;
  const v = [...values].sort((a, b) => a - b);
  const at = (q: number) => v[Math.min(v.length - 1, Math.max(0, Math.ceil(q * v.length) - 1))] as number;
  return {
    p50: at(0.5),
    p90: at(0.9),
    p95: at(0.95),
    p99: at(0.99),
    mean: v.reduce((a, b) => a + b, 0) / v.length,
    max: v[v.length - 1] as number,
  };
}

function bodyFor(o: LoadOptions): string {
  return JSON.stringify({
    model: o.model ?? 'gpt-4o-mini',
    messages: [{ role: 'user', content: o.prompt ?? 'Write a short paragraph about observability.' }],
    stream: o.stream ?? false,
    ...(o.maxTokens ? { max_tokens: o.maxTokens } : {}),
    ...(o.stream ? { stream_options: { include_usage: true } } : {}),
  });
}

/** One request; never throws. */
export async function oneRequest(
  pool: Pool,
  path: string,
  body: string,
  headers: Record<string, string>,
  stream: boolean,
): Promise<RequestResult> {
  const t0 = performance.now();
  let firstByte: number | null = null;
  let firstContent: number | null = null;
  let lastContent: number | null = null;
  let contentChunks = 0;
  let usageTokens: number | null = null;
  try {
    const r = await pool.request({ path, method: 'POST', headers, body });
    let carry = '';
    for await (const chunk of r.body) {
      const at = performance.now();
      if (firstByte === null) firstByte = at - t0;
      if (!stream) {
        carry += chunk.toString();
        continue;
      }
      carry += chunk.toString();
      let i = carry.indexOf('\n\n');
      while (i >= 0) {
        const ev = carry.slice(0, i);
        carry = carry.slice(i + 2);
        if (ev.startsWith('data: {')) {
          if (/"(content|text)":"[^"]/.test(ev)) {
            contentChunks++;
            if (firstContent === null) firstContent = at;
            lastContent = at;
          }
          const u = /"completion_tokens":(\d+)/.exec(ev);
          if (u) usageTokens = Number(u[1]);
        }
        i = carry.indexOf('\n\n');
      }
    }
    const end = performance.now();
    if (!stream && r.statusCode < 300) {
      const u = /"completion_tokens":(\d+)/.exec(carry);
      if (u) usageTokens = Number(u[1]);
    }
    const tokens = usageTokens ?? contentChunks;
    return {
      ok: r.statusCode < 300,
      status: r.statusCode,
      firstByteMs: firstByte,
      ttftMs: firstContent === null ? null : firstContent - t0,
      latencyMs: end - t0,
      outputTokens: tokens,
      tpotMs:
        firstContent !== null && lastContent !== null && tokens >= 2
          ? (lastContent - firstContent) / (tokens - 1)
          : null,
    };
  } catch (err) {
    return {
      ok: false,
      status: 0,
      firstByteMs: firstByte,
      ttftMs: null,
      latencyMs: performance.now() - t0,
      outputTokens: 0,
      tpotMs: null,
      error: (err as Error).message,
    };
  }
}

export function summarize(results: RequestResult[], durationS: number): Summary {
  const ok = results.filter((r) => r.ok);
  return {
    requests: results.length,
    errors: results.length - ok.length,
    durationS,
    requestsPerS: results.length / durationS,
    outputTokensPerS: ok.reduce((a, r) => a + r.outputTokens, 0) / durationS,
    latencyMs: percentiles(ok.map((r) => r.latencyMs)) ?? { p50: 0, p90: 0, p95: 0, p99: 0, mean: 0, max: 0 },
    ttftMs: percentiles(ok.flatMap((r) => (r.ttftMs === null ? [] : [r.ttftMs]))),
    tpotMs: percentiles(ok.flatMap((r) => (r.tpotMs === null ? [] : [r.tpotMs]))),
    firstByteMs: percentiles(ok.flatMap((r) => (r.firstByteMs === null ? [] : [r.firstByteMs]))),
  };
}

/** Runs the load and returns every result plus a summary. */
export async function runLoad(o: LoadOptions): Promise<{ results: RequestResult[]; summary: Summary }> {
  if (!o.requests && !o.durationMs) throw new Error('give requests or durationMs');
  const u = new URL(o.url);
  const concurrency = o.concurrency ?? 8;
  const pool = o.pool ?? new Pool(u.origin, { connections: concurrency, pipelining: 1 });
  const path = `${u.pathname.replace(/\/$/, '')}/chat/completions`;
  const body = bodyFor(o);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    ...(o.apiKey ? { authorization: `Bearer ${o.apiKey}` } : {}),
    ...o.headers,
  };
  const results: RequestResult[] = [];
  const t0 = performance.now();
  const deadline = o.durationMs ? t0 + o.durationMs : Number.POSITIVE_INFINITY;
  let started = 0;
  const worker = async () => {
    while ((o.requests === undefined || started < o.requests) && performance.now() < deadline) {
      started++;
      const r = await oneRequest(pool, path, body, headers, o.stream ?? false);
      results.push(r);
      o.onResult?.(r, results.length);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const durationS = (performance.now() - t0) / 1000;
  if (!o.pool) await pool.close();
  return { results, summary: summarize(results, durationS) };
}
