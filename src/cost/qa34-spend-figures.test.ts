// $/1K tokens of calls none of which is priced (QA34): /api/cost/summary grouped by model answered an unpriced
// model's group with cost_per_request null but cost_per_1k_tokens 0, a price of nothing read as free.
import { describe, expect, it } from 'vitest';
import { figuresWire } from './spend-queries.js';
import { emptyFigures } from './storage/types.js';

describe('spend figures on the wire', () => {
  it('give no $/1K tokens (null) when no call is priced, as they give no $/request', () => {
    const unpriced = { ...emptyFigures(), requests: 1, unpriced: 1, inputTokens: 208, outputTokens: 64 };
    expect(figuresWire(unpriced)).toMatchObject({ cost_usd: 0, cost_per_request: null, cost_per_1k_tokens: null });
  });

  it('divide the cost by every call’s tokens once any is priced', () => {
    const mixed = { ...emptyFigures(), costUsd: 0.003, requests: 2, unpriced: 1, inputTokens: 1000, outputTokens: 500 };
    expect(figuresWire(mixed)).toMatchObject({ cost_per_request: 0.003, cost_per_1k_tokens: 0.002 });
  });
});
