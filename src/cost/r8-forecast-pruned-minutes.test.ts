// The forecast's rate and spend history start at the first minute with spend, read from the minute aggregates, for a
// store younger than the rate window. Those are pruned after costs.minuteRetention (2 days by default), from the middle
// of a day: on a store 2.5 days old the first day's earliest kept minute is not its first call, so the rate was read
// over 47.5 h of the 59.5 h spent (the forecast 26% high) and spend_history_days said 1.98 days. A day whose minutes
// were pruned in part counts from its start, as one whose minutes are all gone does.
import { describe, expect, it } from 'vitest';
import { costConfigOf } from './config.js';
import { SpendQueries } from './spend-queries.js';
import { MemorySpendStore } from './storage/memory.js';
import { deltasOf } from './storage/types.js';
import { fakeCall } from './testing.js';

const HOUR = 3_600_000;
const DAY = 86_400_000;

describe('forecast() on a store whose first day of minutes was pruned in part (costs.minuteRetention)', () => {
  it('reads the rate and the history from the start of that day, not from its first minute still kept', async () => {
    // $1 an hour on the half hour from Dec 5 00:30; Dec 7 12:00, minutes kept for 2 days (from Dec 5 12:00)
    const first = Date.parse('2026-12-05T00:30:00Z');
    const now = Date.parse('2026-12-07T12:00:00Z');
    const store = new MemorySpendStore();
    const calls = Array.from({ length: 60 }, (_, i) => fakeCall({ startedAt: first + i * HOUR, costUsd: 1 }));
    await store.apply(deltasOf(calls, () => false));
    await store.pruneMinutes(now - 2 * DAY);
    const f = await new SpendQueries(store, costConfigOf({}).costs, [], () => now, 2 * DAY).forecast();
    const dayStart = Date.parse('2026-12-05T00:00:00Z');
    // before: from Dec 5 12:30, the first minute kept (1.979 days; the forecast 1.26 $/h over the rest of December)
    expect(f.rate_span_days).toBeCloseTo((now - dayStart) / DAY, 9);
    expect(f.spend_history_days).toBeCloseTo((now - dayStart) / DAY, 9);
    expect(f.forecast_api_usd).toBeCloseTo(
      60 + (60 / (now - dayStart)) * (Date.parse('2027-01-01T00:00:00Z') - now),
      6,
    );
    // a first day whose minutes are all kept still counts from its first minute (Dec 6 10:30, on Dec 7 12:00)
    const later = Date.parse('2026-12-06T10:30:00Z');
    const fresh = new MemorySpendStore();
    const some = Array.from({ length: 26 }, (_, i) => fakeCall({ startedAt: later + i * HOUR, costUsd: 1 }));
    await fresh.apply(deltasOf(some, () => false));
    await fresh.pruneMinutes(now - 2 * DAY);
    const g = await new SpendQueries(fresh, costConfigOf({}).costs, [], () => now, 2 * DAY).forecast();
    expect(g.rate_span_days).toBeCloseTo((now - later) / DAY, 9);
    expect(g.spend_history_days).toBeCloseTo((now - later) / DAY, 9);
  });
});
