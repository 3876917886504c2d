// The single-call cost signal: the most expensive call per minute and group, and how many calls the group had.
import { describe, expect, it } from 'vitest';
import type { LlmCall } from '../calls/index.js';
import { makeCall } from '../store/store.contract.js';
import { MINUTE_MS } from '../time.js';
import { CallCostTracker } from './call-cost-tracker.js';

const T0 = 1_750_000_020_000 - (1_750_000_020_000 % MINUTE_MS);
const call = (over: Partial<LlmCall>): LlmCall =>
  makeCall(0, { provider: 'openai', model: 'gpt-4o-mini', endpoint: 'chat.completions', endedAt: T0 + 1000, ...over });

describe('CallCostTracker', () => {
  it('keeps the largest cost and the count per minute and group (no feature or team grouped as "")', () => {
    const t = new CallCostTracker();
    t.sink().write([
      call({ costUsd: 0.5, feature: 'chat', team: 'a' }),
      call({ costUsd: 0.75, feature: 'chat', team: 'a' }),
      call({ costUsd: 0.25, feature: 'chat', team: 'a' }),
      call({ costUsd: 2, feature: null, team: null }),
      call({ costUsd: null, feature: 'chat', team: 'a' }), // unpriced: not a cost
      call({ costUsd: 9, feature: 'chat', team: 'a', endedAt: T0 + MINUTE_MS + 5 }), // the next minute
      // a feature and team whose values joined would read as another pair's
      call({ costUsd: 4, feature: 'chat\u0000a', team: '' }),
    ]);
    const dims = ['provider', 'model', 'endpoint', 'feature', 'team'] as const;
    const base = { provider: 'openai', model: 'gpt-4o-mini', endpoint: 'chat.completions' };
    expect(t.max(T0, T0 + MINUTE_MS, {}, dims).sort((a, b) => a.max - b.max)).toEqual([
      { labels: { ...base, feature: 'chat', team: 'a' }, max: 0.75, count: 3 },
      { labels: { ...base, feature: '', team: '' }, max: 2, count: 1 },
      { labels: { ...base, feature: 'chat\u0000a', team: '' }, max: 4, count: 1 },
    ]);
    expect(t.max(T0, T0 + 2 * MINUTE_MS, { team: 'a' }, ['team'])).toEqual([
      { labels: { team: 'a' }, max: 9, count: 4 },
    ]);
  });
});
