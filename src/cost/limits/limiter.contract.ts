// The rate limiter contract, run on every implementation: buckets at their edges (a full minute's allowance at
// once, then refill at the per-minute rate), the wait a refused call is told, tokens settled after the fact (debt
// included), and both limits at once. Run by limiter.test.ts (in process) and storage/limiter-postgres.test.ts.
import { expect, it } from 'vitest';
import type { RateLimiter, RateLimits } from './limiter.js';

export function limiterCases(make: () => Promise<RateLimiter>): void {
  const T = 1_700_000_000_000;
  const take = (l: RateLimiter, keyId: string, now: number, limits: RateLimits, tokens = 0) =>
    l.take({ keyId, now, limits, requests: 1, tokens });

  it('rpm N: N calls at once, the next refused until 60/N s have passed, then one', async () => {
    const l = await make();
    const lim = { rpm: 6, tpm: null };
    for (let i = 0; i < 6; i++) {
      const r = await take(l, 'k', T, lim);
      expect(r.ok).toBe(true);
      expect(r.requests).toMatchObject({ limit: 6, remaining: 5 - i });
      expect(r.tokens).toBeNull();
    }
    const refused = await take(l, 'k', T, lim);
    expect(refused).toMatchObject({ ok: false, refusedBy: 'requests', retryAfterMs: 10_000 });
    expect(refused.requests).toMatchObject({ remaining: 0, resetMs: 60_000 });
    expect((await take(l, 'k', T + 9_999, lim)).ok).toBe(false);
    const again = await take(l, 'k', T + 10_000, lim);
    expect(again.ok).toBe(true);
    expect(again.requests?.remaining).toBe(0);
    expect((await take(l, 'k', T + 10_001, lim)).ok).toBe(false);
    // a minute of quiet fills the bucket, never beyond its limit
    const full = await take(l, 'k', T + 600_000, lim);
    expect(full.requests).toMatchObject({ remaining: 5 });
  });

  it('keeps keys apart', async () => {
    const l = await make();
    const lim = { rpm: 1, tpm: null };
    expect((await take(l, 'a', T, lim)).ok).toBe(true);
    expect((await take(l, 'a', T, lim)).ok).toBe(false);
    expect((await take(l, 'b', T, lim)).ok).toBe(true);
  });

  it('tpm: takes the estimate, refuses what does not fit, and settles the actual count (debt delays the next)', async () => {
    const l = await make();
    const lim = { rpm: null, tpm: 6000 };
    const a = await take(l, 'k', T, lim, 4000);
    expect(a).toMatchObject({ ok: true, tokens: { limit: 6000, remaining: 2000 } });
    const b = await take(l, 'k', T, lim, 3000);
    expect(b).toMatchObject({ ok: false, refusedBy: 'tokens', retryAfterMs: 10_000 });
    expect(b.tokens?.remaining).toBe(2000);
    // the first call used 1000 more than its estimate: the bucket goes to 1000
    await l.settle({ keyId: 'k', now: T, limits: lim, tokens: 1000 });
    expect((await take(l, 'k', T, lim, 1500)).ok).toBe(false);
    // another used 7000 more than it could: below zero, and nothing fits until the debt is repaid
    await l.settle({ keyId: 'k', now: T, limits: lim, tokens: 7000 });
    const c = await take(l, 'k', T + 60_000, lim, 1);
    expect(c).toMatchObject({ ok: false, refusedBy: 'tokens' });
    expect(c.tokens?.remaining).toBe(0);
    // -6000 + 6000 (a minute) = 0; one token needs 10 ms more
    expect(c.retryAfterMs).toBe(10);
    // giving back an overestimate makes room at once
    await l.settle({ keyId: 'k', now: T + 60_000, limits: lim, tokens: -3000 });
    expect((await take(l, 'k', T + 60_000, lim, 3000)).ok).toBe(true);
  });

  it('both limits: a call needs room in both; a refusal takes from neither and names the one short', async () => {
    const l = await make();
    const lim = { rpm: 2, tpm: 100 };
    expect((await take(l, 'k', T, lim, 90)).ok).toBe(true);
    const r = await take(l, 'k', T, lim, 20);
    expect(r).toMatchObject({ ok: false, refusedBy: 'tokens', requests: { remaining: 1 }, tokens: { remaining: 10 } });
    expect(r.retryAfterMs).toBe(6_000);
    const s = await take(l, 'k', T, lim, 10);
    expect(s).toMatchObject({ ok: true, requests: { remaining: 0 }, tokens: { remaining: 0 } });
    const u = await take(l, 'k', T, lim, 0);
    expect(u).toMatchObject({ ok: false, refusedBy: 'requests', retryAfterMs: 30_000 });
  });

  it('a clock behind the last take refills nothing (replicas whose clocks differ a little)', async () => {
    const l = await make();
    const lim = { rpm: 1, tpm: null };
    expect((await take(l, 'k', T, lim)).ok).toBe(true);
    expect((await take(l, 'k', T - 5_000, lim)).ok).toBe(false);
    expect((await take(l, 'k', T + 60_000, lim)).ok).toBe(true);
  });
}
