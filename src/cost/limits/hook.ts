// The per-key rate limit hook: at admission a call with a key that has `rpm` or `tpm` takes one request and its
// estimated tokens (prompt estimate + max_tokens) from the key's buckets; a call that does not fit is refused with
// 429 rate_limit_exceeded, `Retry-After` and OpenAI's `x-ratelimit-*` headers (which every admitted call gets too).
// When the call ends, its actual tokens are settled against the estimate — at once when the usage is known, or
// once the recorder's tokenizer counted them (the cost enricher calls `settleRecorded`). A limiter that fails
// (the database is down) lets the call through: rate limits fail open, as the rest of the hot path does.
import type { LlmCall } from '../../calls/index.js';
import { LlmscopeError } from '../../errors.js';
import type { Admission, GatewayHook } from '../../gateway/proxy.js';
import { inputEstimateOf, maxOutputTokens } from '../budgets.js';
import { admittedKey, type VirtualKey } from '../keys.js';
import { formatReset, type RateLimiter, type RateLimits, type TakeResult } from './limiter.js';

const STATE = 'rateLimit';

interface RateState {
  keyId: string;
  limits: RateLimits;
  estimate: number;
  settled: boolean;
}

export interface RateLimitEvents {
  /** A call was refused. */
  onLimited?(key: VirtualKey, by: 'requests' | 'tokens'): void;
  /** The limiter failed; the call went through. */
  onError?(err: unknown): void;
}

/** The OpenAI `x-ratelimit-*` headers for a take's result (only the kinds the key limits). */
export function rateLimitHeaders(r: TakeResult): Record<string, string> {
  const h: Record<string, string> = {};
  for (const kind of ['requests', 'tokens'] as const) {
    const s = r[kind];
    if (!s) continue;
    h[`x-ratelimit-limit-${kind}`] = String(s.limit);
    h[`x-ratelimit-remaining-${kind}`] = String(s.remaining);
    h[`x-ratelimit-reset-${kind}`] = formatReset(s.resetMs);
  }
  return h;
}

/** Tokens a call is expected to use: its prompt (estimated on the high side) and its max_tokens, if it sets one. */
export function estimateTokens(a: Pick<Admission, 'body' | 'endpoint'> & { state?: Record<string, unknown> }): number {
  return inputEstimateOf(a) + maxOutputTokens(a.body, a.endpoint, 0);
}

const unit = { requests: 'requests per min (RPM)', tokens: 'tokens per min (TPM)' } as const;

export class RateLimitService {
  constructor(
    private readonly limiter: RateLimiter,
    private readonly now: () => number,
    private readonly events: RateLimitEvents = {},
  ) {}

  /** True when the call's key has a limit to take from. */
  limits(a: Admission): boolean {
    const key = admittedKey(a.state);
    return !!key && !!(key.rpm || key.tpm);
  }

  /** Takes from the key's buckets; throws LLMSCOPE_ERR_RATE_LIMITED when the call does not fit. */
  async admit(a: Admission): Promise<void> {
    const key = admittedKey(a.state);
    if (!key || (!key.rpm && !key.tpm)) return;
    const limits: RateLimits = { rpm: key.rpm, tpm: key.tpm };
    const estimate = key.tpm ? estimateTokens(a) : 0;
    const who = `virtual key "${key.name}"${key.name === key.id ? '' : ` (${key.id})`}`;
    if (key.tpm && estimate > key.tpm)
      throw new LlmscopeError(
        'LLMSCOPE_ERR_RATE_LIMITED',
        `Request too large for ${who} on ${unit.tokens}: Limit ${key.tpm}, Requested ${estimate} (prompt estimate + max_tokens). Send a shorter prompt or a lower max_tokens.`,
        // It never fits: the SDKs would retry it for nothing.
        { headers: { 'x-should-retry': 'false' } },
      );
    let r: TakeResult;
    try {
      r = await this.limiter.take({ keyId: key.id, now: this.now(), limits, requests: 1, tokens: estimate });
    } catch (err) {
      this.events.onError?.(err);
      return;
    }
    const headers = rateLimitHeaders(r);
    if (!r.ok) {
      const by = r.refusedBy ?? 'requests';
      this.events.onLimited?.(key, by);
      const limit = by === 'requests' ? key.rpm : key.tpm;
      const requested = by === 'requests' ? 1 : estimate;
      const remaining = r[by]?.remaining ?? 0;
      const wait = Math.max(1, r.retryAfterMs);
      throw new LlmscopeError(
        'LLMSCOPE_ERR_RATE_LIMITED',
        `Rate limit reached for ${who} on ${unit[by]}: Limit ${limit}, Remaining ${remaining}, Requested ${requested}. Please try again in ${formatReset(wait)}.`,
        {
          headers: {
            ...headers,
            'retry-after': String(Math.max(1, Math.ceil(wait / 1000))),
            'retry-after-ms': String(wait),
          },
        },
      );
    }
    a.state[STATE] = { keyId: key.id, limits, estimate, settled: false } satisfies RateState;
    a.responseHeaders = { ...a.responseHeaders, ...headers };
  }

  /** True when the call took tokens that are not settled yet. */
  pending(state: Record<string, unknown> | undefined): boolean {
    const s = state?.[STATE] as RateState | undefined;
    return !!s && !s.settled;
  }

  /** Settles the call's actual tokens (null: none counted) against its estimate; once. */
  settle(state: Record<string, unknown> | undefined, actualTokens: number | null): void {
    const s = state?.[STATE] as RateState | undefined;
    if (!s || s.settled) return;
    s.settled = true;
    if (!s.limits.tpm) return;
    const delta = (actualTokens ?? 0) - s.estimate;
    if (delta === 0) return;
    this.limiter
      .settle({ keyId: s.keyId, now: this.now(), limits: s.limits, tokens: delta })
      .catch((err) => this.events.onError?.(err));
  }

  /**
   * Takes tokens no admission reserved from the tokens per minute of the key in `state` (the refused admission of a
   * call the provider ran anyway: a Realtime response started before its refusal); none when it has no such key.
   */
  takeUnreserved(state: Record<string, unknown> | undefined, tokens: number | null): void {
    const key = admittedKey(state);
    if (!key?.tpm || !tokens) return;
    this.limiter
      .settle({ keyId: key.id, now: this.now(), limits: { rpm: key.rpm, tpm: key.tpm }, tokens })
      .catch((err) => this.events.onError?.(err));
  }
}

const tokensOf = (call: LlmCall): number | null =>
  call.inputTokens === null && call.outputTokens === null ? null : (call.inputTokens ?? 0) + (call.outputTokens ?? 0);

/** The gateway hook: admits against the key's limits; settles when the call ends if its usage is known then. */
export function rateLimitHook(svc: RateLimitService): GatewayHook {
  return {
    name: 'rate-limits',
    // A call without a rate-limited key passes at once, without a promise.
    admit: (a) => (svc.limits(a) ? svc.admit(a) : undefined),
    settle(a, call) {
      if (!svc.pending(a.state)) return;
      const reached = call.internal?.upstreamStartAt !== null && call.internal?.upstreamStartAt !== undefined;
      // reached the upstream but no output count (no usage, or an Anthropic stream left before message_delta): the
      // recorder's tokenizer counts it, and the cost enricher settles
      if (reached && call.outputTokens === null) return;
      svc.settle(a.state, tokensOf(call));
    },
  };
}

/** The cost enricher's part, once the tokenizer has counted the call: the reservation the hook left pending. */
export function settleRecordedTokens(svc: RateLimitService, call: LlmCall): void {
  const hooks = call.internal?.hooks;
  if (svc.pending(hooks)) svc.settle(hooks, tokensOf(call));
  // a call the provider ran though its admission was refused (internal.spentUnadmitted) took nothing from its key
  else if (call.internal?.spentUnadmitted) svc.takeUnreserved(call.internal.refusedHooks, tokensOf(call));
}
