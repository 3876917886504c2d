// Rate limits in process: the contract's cases (limiter.contract.ts) and OpenAI's reset format.
import { describe, expect, it } from 'vitest';
import { limiterCases } from './limiter.contract.js';
import { formatReset, InProcessRateLimiter } from './limiter.js';

describe('InProcessRateLimiter', () => {
  limiterCases(async () => new InProcessRateLimiter());
});

describe('formatReset', () => {
  it('writes durations as OpenAI does', () => {
    expect(formatReset(0)).toBe('0ms');
    expect(formatReset(12)).toBe('12ms');
    expect(formatReset(1000)).toBe('1s');
    expect(formatReset(17_280)).toBe('17.28s');
    expect(formatReset(360_000)).toBe('6m0s');
    expect(formatReset(3_723_500)).toBe('1h2m3.5s');
    expect(formatReset(0.2)).toBe('1ms');
  });
});
