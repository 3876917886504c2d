// Per-key rate limits: requests per minute and tokens per minute, each a bucket that holds up to a minute's
// allowance and refills continuously (a key with rpm 60 may send 60 at once, then one a second). A call takes one
// request and its estimated tokens at admission; when it ends, the difference between its actual and estimated
// tokens is settled (the bucket may go below zero: a call that used more than it reserved delays the next ones).
//
// `RateLimiter` is the one interface the gateway hook uses: in-process here (one process), on PostgreSQL for
// replicas that share a database (`storage/limiter-postgres.ts`). Its arguments and results are plain data, so a
// gateway worker can forward them to the process that owns the buckets.
import { MINUTE_MS } from '../../time.js';

/** A key's limits; null: no limit of that kind. */
export interface RateLimits {
  rpm: number | null;
  tpm: number | null;
}

export interface TakeRequest {
  keyId: string;
  /** Epoch ms. */
  now: number;
  limits: RateLimits;
  /** Requests to take (1 per call). */
  requests: number;
  /** Tokens to take: the call's estimate. */
  tokens: number;
}

export interface SettleRequest {
  keyId: string;
  now: number;
  limits: RateLimits;
  /** Actual tokens minus the estimate taken: positive takes more, negative gives back. */
  tokens: number;
}

/** One kind of limit after a take: what the `x-ratelimit-*-requests` / `-tokens` headers say. */
export interface LimitState {
  limit: number;
  /** Whole units left now (never below 0). */
  remaining: number;
  /** Ms until the bucket is full again. */
  resetMs: number;
}

export interface TakeResult {
  ok: boolean;
  /** When refused: the limit that refused (requests first when both did). */
  refusedBy: 'requests' | 'tokens' | null;
  /** When refused: ms until the call would fit. */
  retryAfterMs: number;
  requests: LimitState | null;
  tokens: LimitState | null;
}

/** Takes from and settles to per-key buckets; implementations must be atomic per key. */
export interface RateLimiter {
  /** Takes `requests` and `tokens` if both buckets hold them; otherwise takes nothing. */
  take(t: TakeRequest): Promise<TakeResult>;
  /** Adds the difference between actual and estimated tokens; never refuses. */
  settle(s: SettleRequest): Promise<void>;
}

/** A key's buckets: levels at `at` (a missing bucket is full). */
export interface BucketLevels {
  requests: number;
  tokens: number;
  at: number;
}

const perMs = (perMinute: number): number => perMinute / MINUTE_MS;

/** The level of one bucket at `now`: what it held at `at` plus the refill since, up to its capacity. */
export function refilled(level: number, at: number, now: number, perMinute: number): number {
  return Math.min(perMinute, level + Math.max(0, now - at) * perMs(perMinute));
}

function stateOf(level: number, perMinute: number): LimitState {
  return {
    limit: perMinute,
    remaining: Math.max(0, Math.floor(level + 1e-9)),
    resetMs: Math.max(0, Math.ceil((perMinute - level) / perMs(perMinute))),
  };
}

/**
 * One take on a key's buckets (`cur` null: never used, full), as pure data: the new levels and the answer. The
 * PostgreSQL limiter does the same arithmetic in SQL; the contract test holds them to the same answers.
 */
export function takeFrom(cur: BucketLevels | null, t: TakeRequest): { next: BucketLevels; result: TakeResult } {
  const { rpm, tpm } = t.limits;
  const at = cur?.at ?? t.now;
  const r = rpm ? (cur ? refilled(cur.requests, at, t.now, rpm) : rpm) : 0;
  const k = tpm ? (cur ? refilled(cur.tokens, at, t.now, tpm) : tpm) : 0;
  const reqShort = rpm ? t.requests - r : 0;
  const tokShort = tpm ? t.tokens - k : 0;
  const ok = reqShort <= 1e-9 && tokShort <= 1e-9;
  const next: BucketLevels = {
    requests: ok && rpm ? r - t.requests : r,
    tokens: ok && tpm ? k - t.tokens : k,
    at: Math.max(at, t.now),
  };
  return { next, result: resultOf(ok, next, t.limits, reqShort, tokShort) };
}

/** The answer for levels after a take (shared with the PostgreSQL limiter, which gets the levels from SQL). */
export function resultOf(
  ok: boolean,
  levels: { requests: number; tokens: number },
  limits: RateLimits,
  reqShort: number,
  tokShort: number,
): TakeResult {
  const { rpm, tpm } = limits;
  const reqWait = !ok && rpm && reqShort > 1e-9 ? Math.ceil(reqShort / perMs(rpm)) : 0;
  const tokWait = !ok && tpm && tokShort > 1e-9 ? Math.ceil(tokShort / perMs(tpm)) : 0;
  return {
    ok,
    refusedBy: ok ? null : reqWait > 0 ? 'requests' : 'tokens',
    retryAfterMs: Math.max(reqWait, tokWait),
    requests: rpm ? stateOf(levels.requests, rpm) : null,
    tokens: tpm ? stateOf(levels.tokens, tpm) : null,
  };
}

/** Settles on a key's buckets: takes (or gives back) tokens without refusing. */
export function settleOn(cur: BucketLevels | null, s: SettleRequest): BucketLevels | null {
  if (!s.limits.tpm || !cur) return cur;
  const at = Math.max(cur.at, s.now);
  const tokens = refilled(cur.tokens, cur.at, s.now, s.limits.tpm) - s.tokens;
  return { requests: s.limits.rpm ? refilled(cur.requests, cur.at, s.now, s.limits.rpm) : 0, tokens, at };
}

/** Most keys whose buckets one process keeps; beyond it, full buckets (nothing to remember) are dropped first. */
const MAX_BUCKETS = 100_000;

/** The buckets in this process's memory: for one process (SQLite), and the reference the others are held to. */
export class InProcessRateLimiter implements RateLimiter {
  private readonly buckets = new Map<string, BucketLevels>();

  async take(t: TakeRequest): Promise<TakeResult> {
    return this.takeSync(t);
  }

  takeSync(t: TakeRequest): TakeResult {
    const { next, result } = takeFrom(this.buckets.get(t.keyId) ?? null, t);
    if (!this.buckets.has(t.keyId) && this.buckets.size >= MAX_BUCKETS) this.prune(t.now, t.limits);
    this.buckets.set(t.keyId, next);
    return result;
  }

  async settle(s: SettleRequest): Promise<void> {
    const next = settleOn(this.buckets.get(s.keyId) ?? null, s);
    if (next) this.buckets.set(s.keyId, next);
  }

  /** Buckets held (for tests). */
  get size(): number {
    return this.buckets.size;
  }

  /** Drops buckets untouched for a minute (full by now at any limit), else the oldest half. */
  private prune(now: number, _limits: RateLimits): void {
    for (const [k, b] of this.buckets) if (now - b.at >= MINUTE_MS) this.buckets.delete(k);
    if (this.buckets.size < MAX_BUCKETS) return;
    let n = this.buckets.size / 2;
    for (const k of this.buckets.keys()) {
      if (n-- <= 0) break;
      this.buckets.delete(k);
    }
  }
}

/**
 * A duration as OpenAI writes `x-ratelimit-reset-*`: `12ms`, `1s`, `17.28s`, `6m0s`, `1h2m3s`.
 */
export function formatReset(ms: number): string {
  const t = Math.max(0, Math.ceil(ms));
  if (t < 1000) return `${t}ms`;
  const h = Math.floor(t / 3_600_000);
  const m = Math.floor((t % 3_600_000) / 60_000);
  const s = (t % 60_000) / 1000;
  const sec = `${Number(s.toFixed(3))}s`;
  if (h > 0) return `${h}h${m}m${sec}`;
  if (m > 0) return `${m}m${sec}`;
  return sec;
}
