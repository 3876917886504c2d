// The rate limit hook on its own: which calls it limits, the headers it leaves for the answer, what it settles and
// when (at the end of the call when usage is known, else after the recorder counted the tokens), and that a failing
// limiter lets calls through.
import { describe, expect, it } from 'vitest';
import type { Admission } from '../../gateway/proxy.js';
import { KEY_STATE, type VirtualKey } from '../keys.js';
import { fakeCall } from '../testing.js';
import { estimateTokens, RateLimitService, rateLimitHook, settleRecordedTokens } from './hook.js';
import { InProcessRateLimiter, type RateLimiter } from './limiter.js';

const T = 1_700_000_000_000;

function key(over: Partial<VirtualKey> = {}): VirtualKey {
  return {
    id: 'key_1',
    name: 'ci',
    user: null,
    team: null,
    feature: null,
    trustHeaders: new Set(),
    disabled: false,
    rpm: null,
    tpm: null,
    expiresAt: null,
    revokedAt: null,
    source: 'store',
    models: [],
    ...over,
  };
}

function admission(k: VirtualKey | null, body: Record<string, unknown> = {}): Admission {
  return {
    requestId: 'r',
    endpoint: 'chat.completions',
    model: 'gpt-4o-mini',
    provider: 'openai',
    body: { messages: [{ role: 'user', content: 'hello' }], ...body },
    headers: {},
    attribution: { user: null, team: null, feature: null, session: null, apiKeyId: k?.id ?? null },
    forwardClientAuth: false,
    state: k ? { [KEY_STATE]: k } : {},
  };
}

class Recording implements RateLimiter {
  readonly inner = new InProcessRateLimiter();
  readonly settles: number[] = [];
  take(t: Parameters<RateLimiter['take']>[0]) {
    return this.inner.take(t);
  }
  async settle(s: Parameters<RateLimiter['settle']>[0]) {
    this.settles.push(s.tokens);
    await this.inner.settle(s);
  }
}

const reached = (tokens: { input: number | null; output: number | null }) =>
  fakeCall({
    inputTokens: tokens.input,
    outputTokens: tokens.output,
    source: 'gateway',
    internal: { upstreamStartAt: 1 } as never,
  });

describe('rate limit hook', () => {
  it('leaves calls without a key, or with a key without limits, alone', async () => {
    const svc = new RateLimitService(new InProcessRateLimiter(), () => T);
    for (const a of [admission(null), admission(key())]) {
      await svc.admit(a);
      expect(a.responseHeaders).toBeUndefined();
      expect(svc.pending(a.state)).toBe(false);
    }
  });

  it('puts the x-ratelimit headers on admitted calls and refuses with them, Retry-After and the OpenAI message', async () => {
    const svc = new RateLimitService(new InProcessRateLimiter(), () => T);
    const k = key({ rpm: 2, tpm: 10_000 });
    const a = admission(k, { max_tokens: 100 });
    await svc.admit(a);
    const est = estimateTokens(a);
    expect(est).toBeGreaterThan(100);
    expect(a.responseHeaders).toEqual({
      'x-ratelimit-limit-requests': '2',
      'x-ratelimit-remaining-requests': '1',
      'x-ratelimit-reset-requests': '30s',
      'x-ratelimit-limit-tokens': '10000',
      'x-ratelimit-remaining-tokens': String(10_000 - est),
      'x-ratelimit-reset-tokens': `${Math.ceil((est * 60_000) / 10_000)}ms`,
    });
    await svc.admit(admission(k));
    const err = await svc.admit(admission(k)).catch((e) => e);
    expect(err.code).toBe('LLMSCOPE_ERR_RATE_LIMITED');
    expect(err.status).toBe(429);
    expect(err.message).toBe(
      'Rate limit reached for virtual key "ci" (key_1) on requests per min (RPM): Limit 2, Remaining 0, Requested 1. Please try again in 30s.',
    );
    expect(err.headers).toMatchObject({
      'retry-after': '30',
      'retry-after-ms': '30000',
      'x-ratelimit-remaining-requests': '0',
      'x-ratelimit-reset-requests': '1m0s',
    });
  });

  it('settles actual minus estimate when the call ends with usage, once', async () => {
    const l = new Recording();
    const svc = new RateLimitService(l, () => T);
    const hook = rateLimitHook(svc);
    const a = admission(key({ tpm: 10_000 }));
    await svc.admit(a);
    const est = estimateTokens(a);
    hook.settle?.(a, reached({ input: 7, output: 20 }));
    hook.settle?.(a, reached({ input: 7, output: 20 }));
    expect(l.settles).toEqual([27 - est]);
  });

  it("leaves a call that reached the upstream without usage to the recorder's count; one that never did gives all back", async () => {
    const l = new Recording();
    const svc = new RateLimitService(l, () => T);
    const hook = rateLimitHook(svc);
    const a = admission(key({ tpm: 10_000 }));
    await svc.admit(a);
    const est = estimateTokens(a);
    const call = reached({ input: null, output: null });
    hook.settle?.(a, call);
    expect(l.settles).toEqual([]);
    // the tokenizer counted it; the cost enricher settles
    call.inputTokens = 9;
    call.outputTokens = 3;
    call.internal = { ...call.internal, hooks: a.state } as never;
    settleRecordedTokens(svc, call);
    expect(l.settles).toEqual([12 - est]);

    const b = admission(key({ tpm: 10_000 }));
    await svc.admit(b);
    hook.settle?.(b, fakeCall({ inputTokens: null, outputTokens: null, internal: { upstreamStartAt: null } as never }));
    expect(l.settles).toEqual([12 - est, -est]);
  });

  it("leaves a stream with its input count but no output count (Anthropic's, cancelled) to the recorder's count", async () => {
    const l = new Recording();
    const svc = new RateLimitService(l, () => T);
    const hook = rateLimitHook(svc);
    const a = admission(key({ tpm: 10_000 }));
    await svc.admit(a);
    const est = estimateTokens(a);
    // message_start gave the input; the client left before message_delta's output count
    const call = reached({ input: 8, output: null });
    hook.settle?.(a, call);
    expect(l.settles).toEqual([]);
    call.outputTokens = 30; // what the tokenizer counted of the streamed answer
    call.internal = { ...call.internal, hooks: a.state } as never;
    settleRecordedTokens(svc, call);
    expect(l.settles).toEqual([38 - est]);
  });

  it("takes a call's tokens from its refused admission's key when the provider ran it anyway (a Realtime response)", async () => {
    const l = new Recording();
    const svc = new RateLimitService(l, () => T);
    const refusedState = { [KEY_STATE]: key({ rpm: 1, tpm: 10_000 }) };
    const call = reached({ input: 1500, output: 9 });
    call.internal = { ...call.internal, spentUnadmitted: true, refusedHooks: refusedState } as never;
    settleRecordedTokens(svc, call);
    // before: nothing (a refused admission holds no rate-limit state)
    expect(l.settles).toEqual([1509]);
    // a key without tpm, a refusal before any key (revoked), or no tokens: nothing
    for (const refusedHooks of [{ [KEY_STATE]: key({ rpm: 1 }) }, {}, undefined]) {
      const c = reached({ input: 5, output: 5 });
      c.internal = { ...c.internal, spentUnadmitted: true, refusedHooks } as never;
      settleRecordedTokens(svc, c);
    }
    const none = reached({ input: null, output: null });
    none.internal = { ...none.internal, spentUnadmitted: true, refusedHooks: refusedState } as never;
    settleRecordedTokens(svc, none);
    expect(l.settles).toEqual([1509]);
  });

  it('lets the call through when the limiter fails, and says so', async () => {
    const errors: unknown[] = [];
    const broken: RateLimiter = {
      take: async () => {
        throw new Error('connection refused');
      },
      settle: async () => {},
    };
    const svc = new RateLimitService(broken, () => T, { onError: (e) => errors.push(e) });
    const a = admission(key({ rpm: 1 }));
    await svc.admit(a);
    expect(errors).toHaveLength(1);
    expect(svc.pending(a.state)).toBe(false);
  });

  it('refuses a call whose estimate alone is over the key’s tpm, without Retry-After', async () => {
    const svc = new RateLimitService(new InProcessRateLimiter(), () => T);
    const err = await svc.admit(admission(key({ tpm: 50 }), { max_tokens: 100 })).catch((e) => e);
    expect(err.message).toMatch(
      /^Request too large for virtual key "ci" \(key_1\) on tokens per min \(TPM\): Limit 50, Requested 1\d\d/,
    );
    // no Retry-After; and the SDKs are told not to retry what can never fit
    expect(err.headers).toEqual({ 'x-should-retry': 'false' });
  });
});
