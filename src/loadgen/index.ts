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
  /** Give up on a request that waits longer than this for its headers, or between body chunks (default 300 s). */
  timeoutMs?: number;
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
  /** Why it failed, as counted in the summary: `ECONNREFUSED`, `HTTP 429`, `timeout`, ... */
  cause?: string;
  /** The failure's own words: the error's message, or the upstream's error message. */
  error?: string;
}

export interface ErrorCause {
  cause: string;
  count: number;
  /** One message seen for this cause. */
  example: string;
}

export interface Summary {
  requests: number;
  /** Requests that got a 2xx answer read to its end. */
  ok: number;
  errors: number;
  /** Failed requests by cause, most frequent first. */
  errorCauses: ErrorCause[];
  durationS: number;
  /** Successful requests per second; null when none succeeded (there is no throughput to report). */
  requestsPerS: number | null;
  /** Output tokens of successful requests per second; null when none succeeded. */
  outputTokensPerS: number | null;
  /** Percentiles over successful requests; null when none succeeded. */
  latencyMs: Percentiles | null;
  ttftMs: Percentiles | null;
  tpotMs: Percentiles | null;
  firstByteMs: Percentiles | null;
}

/** The cause a request error counts under: the system error code, `timeout`, or the error's class. */
export function causeOf(err: unknown): string {
  const e = err as { code?: unknown; name?: unknown; cause?: { code?: unknown } } | null;
  const code = typeof e?.code === 'string' ? e.code : typeof e?.cause?.code === 'string' ? e.cause.code : '';
  if (/TIMEOUT/i.test(code) || e?.name === 'TimeoutError' || e?.name === 'AbortError') return 'timeout';
  if (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET' || code === 'UND_ERR_CLOSED') return 'connection closed';
  if (/^E[A-Z]+$/.test(code)) return code;
  if (code) return code;
  return typeof e?.name === 'string' && e.name !== 'Error' ? e.name : 'error';
}

/** The message of an OpenAI-shaped error body (`{"error": {"message"}}`), else the body's start. */
function upstreamMessage(body: string): string {
  try {
    const j = JSON.parse(body) as { error?: { message?: unknown } | string; message?: unknown };
    if (typeof j.error === 'string') return j.error;
    if (typeof j.error?.message === 'string') return j.error.message;
    if (typeof j.message === 'string') return j.message;
  } catch {}
  return body.replace(/\s+/g, ' ').trim().slice(0, 200);
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
    const ok = r.statusCode >= 200 && r.statusCode < 300;
    return {
      ok,
      status: r.statusCode,
      ...(ok ? {} : { cause: `HTTP ${r.statusCode}`, error: upstreamMessage(carry) }),
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
      cause: causeOf(err),
      error: (err as Error)?.message ?? String(err),
    };
  }
}

export function summarize(results: RequestResult[], durationS: number): Summary {
  const ok = results.filter((r) => r.ok);
  const causes = new Map<string, ErrorCause>();
  for (const r of results) {
    if (r.ok) continue;
    const cause = r.cause ?? (r.status ? `HTTP ${r.status}` : 'error');
    const c = causes.get(cause) ?? { cause, count: 0, example: r.error ?? '' };
    c.count++;
    if (!c.example && r.error) c.example = r.error;
    causes.set(cause, c);
  }
  const any = ok.length > 0 && durationS > 0;
  return {
    requests: results.length,
    ok: ok.length,
    errors: results.length - ok.length,
    errorCauses: [...causes.values()].sort((a, b) => b.count - a.count || a.cause.localeCompare(b.cause)),
    durationS,
    requestsPerS: any ? ok.length / durationS : null,
    outputTokensPerS: any ? ok.reduce((a, r) => a + r.outputTokens, 0) / durationS : null,
    latencyMs: percentiles(ok.map((r) => r.latencyMs)),
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
  const timeout = o.timeoutMs ?? 300_000;
  const pool =
    o.pool ??
    new Pool(u.origin, { connections: concurrency, pipelining: 1, headersTimeout: timeout, bodyTimeout: timeout });
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
