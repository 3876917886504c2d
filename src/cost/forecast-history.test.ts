// The month-end forecast from too little spend history: a fresh store's minutes of calls are not extrapolated over a
// month (a fresh demo showed "$69,549" from $3.12 spent over 1.5 minutes); the forecast is null with a reason until a
// day of spend is in. A week of spend, or a long-running deployment at a month's start, keeps its figure.
import { describe, expect, it } from 'vitest';
import { costConfigOf } from './config.js';
import { SpendQueries } from './spend-queries.js';
import { MemorySpendStore } from './storage/memory.js';
import { deltasOf } from './storage/types.js';
import { fakeCall } from './testing.js';

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

async function queriesAt(now: number, calls: { at: number; usd: number }[]): Promise<SpendQueries> {
  const store = new MemorySpendStore();
  await store.apply(
    deltasOf(
      calls.map((c) => fakeCall({ startedAt: c.at, costUsd: c.usd })),
      () => false,
    ),
  );
  return new SpendQueries(store, costConfigOf({}).costs, [], () => now, 2 * DAY);
}

describe('forecast() from little spend history', () => {
  it('gives no figure, and says why, for a store whose first call was 1.5 minutes ago', async () => {
    const first = Date.parse('2026-12-07T22:00:10Z');
    // $3.12 over 1.5 minutes, as a fresh `npm run demo` spends
    const calls = Array.from({ length: 12 }, (_, i) => ({ at: first + i * 7_500, usd: 0.26 }));
    const q = await queriesAt(first + 90_000, calls);
    const f = await q.forecast();
    expect(f.api_usd_mtd).toBeCloseTo(3.12, 9);
    expect(f.total_usd_mtd).toBeCloseTo(3.12, 9);
    // before: forecast_api_usd and forecast_total_usd 64,920.96 (1.7 minutes of spend × 24 days)
    expect(f.forecast_api_usd).toBeNull();
    expect(f.forecast_total_usd).toBeNull();
    expect(f.forecast_basis).toBe('too_little_history');
    expect(f.forecast_note).toBe('too little spend history to forecast: 2 min since the first call (it takes a day)');
    expect(f.spend_history_days).toBeCloseTo((first + 90_000 - Date.parse('2026-12-07T22:00:00Z')) / DAY, 9);
    // the rate's span is still told, as before
    expect(f.rate_span_days).toBeCloseTo(f.spend_history_days ?? 0, 9);
  });

  it('counts the history across a month boundary: 6 h of spend from Nov 30 20:00 is still too little on Dec 1', async () => {
    const first = Date.parse('2026-11-30T20:00:00Z');
    const now = Date.parse('2026-12-01T02:00:00Z');
    const calls = Array.from({ length: 6 }, (_, i) => ({ at: first + i * HOUR, usd: 1 }));
    const f = await (await queriesAt(now, calls)).forecast();
    // before: $744, Dec 1's $2 in two hours (the rate's span) × the month
    expect(f.forecast_total_usd).toBeNull();
    expect(f.forecast_note).toBe('too little spend history to forecast: 6 h since the first call (it takes a day)');
    // a day after the first call, the forecast is a figure again
    const g = await (await queriesAt(first + DAY + MIN, calls)).forecast();
    expect(g.forecast_basis).toBe('rate');
    expect(g.forecast_note).toBeNull();
    expect(g.forecast_total_usd).toBeGreaterThan(0);
  });

  it('keeps the figure for a full week of spend, and for a long-running deployment at a month start', async () => {
    // $10 a day at noon since Nov 20; on Dec 7 12:00 the rate is the last 7 days from Nov 30 00:00 to now (decision
    // W15-1 (a): across the month boundary), the month to date Dec 1 to now
    const calls = Array.from({ length: 18 }, (_, i) => ({
      at: Date.parse('2026-11-20T12:00:00Z') + i * DAY,
      usd: 10,
    }));
    const now = Date.parse('2026-12-07T12:00:30Z');
    const f = await (await queriesAt(now, calls)).forecast();
    const rate = 80 / (now - Date.parse('2026-11-30T00:00:00Z'));
    expect(f.api_usd_mtd).toBe(70);
    expect(f.forecast_api_usd).toBeCloseTo(70 + rate * (Date.parse('2027-01-01T00:00:00Z') - now), 6);
    // before: 333.828321137, the rate read over the month so far (Dec 1 00:00 to now)
    expect(f.forecast_total_usd).toBe(331.317531596);
    expect(f.forecast_basis).toBe('rate');
    expect(f.forecast_note).toBeNull();
    expect(f.rate_window_days).toBe(7);
    expect(f.rate_span_days).toBeCloseTo((now - Date.parse('2026-11-30T00:00:00Z')) / DAY, 9);
    // since the day spending began (to the day, older than two days)
    expect(f.spend_history_days).toBeCloseTo((now - Date.parse('2026-11-20T00:00:00Z')) / DAY, 9);
    // Dec 1 06:00: the rate is the last 7 days (Nov 24 00:00 to now: $71 over 174 h), the history 11 days
    const early = await (
      await queriesAt(Date.parse('2026-12-01T06:00:00Z'), [
        ...calls.slice(0, 11),
        { at: Date.parse('2026-12-01T03:00:00Z'), usd: 1 },
      ])
    ).forecast();
    expect(early.forecast_basis).toBe('rate');
    expect(early.api_usd_mtd).toBe(1);
    // before: 124, $1 over Dec 1's 6 hours, over the month's 738 hours left
    expect(early.forecast_total_usd).toBeCloseTo(1 + (71 / 174) * 738, 6);
  });
});

describe('forecast() at a month start, for an established deployment (decision W15-1 (a))', () => {
  // $1 an hour, every hour on the half hour, from Nov 10 to the given time
  const hourly = (until: number) =>
    Array.from({ length: Math.floor((until - Date.parse('2026-11-10T00:30:00Z')) / HOUR) + 1 }, (_, i) => ({
      at: Date.parse('2026-11-10T00:30:00Z') + i * HOUR,
      usd: 1,
    }));

  it('reads the rate over the last 7 days across the month boundary: Dec 1 00:30 forecasts about $744', async () => {
    const now = Date.parse('2026-12-01T00:30:30Z');
    const f = await (await queriesAt(now, hourly(now))).forecast();
    // month to date is only this month's: the call at 00:30
    expect(f.api_usd_mtd).toBe(1);
    expect(f.forecast_basis).toBe('rate');
    // Nov 24 00:00 to now, $169 over 168.5 h (and 30 s): $1/h over the month's 743.5 h left
    const rate = 169 / (now - Date.parse('2026-11-24T00:00:00Z'));
    expect(f.forecast_api_usd).toBeCloseTo(1 + rate * (Date.parse('2027-01-01T00:00:00Z') - now), 6);
    // before: 15.7 or so, the new month's $1 over the rate's span from Nov 30 00:00
    expect(f.forecast_total_usd).toBeGreaterThan(740);
    expect(f.forecast_total_usd).toBeLessThan(750);
    expect(f.rate_window_days).toBe(7);
    expect(f.rate_span_days).toBeCloseTo((now - Date.parse('2026-11-24T00:00:00Z')) / DAY, 9);
  });

  it("gives the week rate's figure at Dec 1 06:00 too, not one from the new month's hours", async () => {
    const now = Date.parse('2026-12-01T06:00:00Z');
    const f = await (await queriesAt(now, hourly(now))).forecast();
    expect(f.api_usd_mtd).toBe(6);
    // Nov 24 00:00 to 06:00 Dec 1: $174 over 174 h, $1/h, over the month's 738 h left: $744, as at 00:30
    expect(f.forecast_total_usd).toBeCloseTo(744, 6);
    expect(f.rate_span_days).toBeCloseTo(7.25, 9);
  });

  it('reads a store younger than 7 days from its first minute of spend, across the month boundary', async () => {
    // $1/h since Nov 28 12:00: on Dec 1 00:30 the rate is from that first minute, as before for a short history
    const first = Date.parse('2026-11-28T12:00:00Z');
    const now = Date.parse('2026-12-01T00:30:00Z');
    const calls = Array.from({ length: 61 }, (_, i) => ({ at: first + i * HOUR, usd: 1 }));
    const f = await (await queriesAt(now, calls)).forecast();
    expect(f.api_usd_mtd).toBe(1);
    expect(f.rate_span_days).toBeCloseTo((now - first) / DAY, 9);
    expect(f.forecast_api_usd).toBeCloseTo(1 + (61 / (now - first)) * (Date.parse('2027-01-01T00:00:00Z') - now), 6);
  });
});
