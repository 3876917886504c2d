import { describe, expect, it } from 'vitest';
import { LlmscopeError } from './errors.js';
import {
  DAY_MS,
  durationMs,
  durationSchema,
  HOUR_MS,
  MINUTE_MS,
  TIME_PARAM_FORMS,
  timeParamMs,
  timeParamSchema,
} from './time.js';

describe('durations', () => {
  it('reads every unit, fractions, and plain milliseconds', () => {
    expect(durationMs('500ms')).toBe(500);
    expect(durationMs('30s')).toBe(30_000);
    expect(durationMs('1.5m')).toBe(1.5 * MINUTE_MS);
    expect(durationMs('2h')).toBe(2 * HOUR_MS);
    expect(durationMs('7d')).toBe(7 * DAY_MS);
    expect(durationMs(250)).toBe(250);
  });

  it('refuses anything else, in the schema with a hint and in durationMs with a coded error', () => {
    for (const bad of ['5', '5 m', '-1s', '1w', 'm']) {
      expect(durationSchema.safeParse(bad).success).toBe(false);
      expect(() => durationMs(bad)).toThrow(LlmscopeError);
    }
    expect(durationSchema.safeParse(-1).success).toBe(false);
    const r = durationSchema.safeParse('10 minutes');
    expect(r.success ? '' : JSON.stringify(r.error.issues)).toContain('a duration like 500ms, 30s, 10m, 2h or 7d');
  });
});

describe('time query parameters', () => {
  it('reads epoch milliseconds, an ISO 8601 date-time with Z or an offset, and a date as midnight UTC', () => {
    const d = Date.UTC(2026, 11, 1);
    expect(timeParamMs(String(d))).toBe(d);
    expect(timeParamMs('0')).toBe(0);
    expect(timeParamMs('2026-12-01')).toBe(d);
    expect(timeParamMs('2026-12-01T00:00:00Z')).toBe(d);
    expect(timeParamMs('2026-12-01T00:00:00.250Z')).toBe(d + 250);
    expect(timeParamMs('2026-12-01T02:00:00+02:00')).toBe(d);
    expect(timeParamSchema.parse('2026-12-01')).toBe(d);
  });

  it('refuses anything else with one message naming the accepted forms', () => {
    for (const bad of [
      'yesterday',
      '2026-02-30',
      '2026-13-01',
      '2026-12',
      '2026-12-01T10:00:00',
      '12/01/2026',
      '-5',
      '1e12',
      ' 5',
      '99999999999999999',
    ]) {
      expect(timeParamMs(bad), bad).toBeNull();
      const r = timeParamSchema.safeParse(bad);
      expect(r.success).toBe(false);
      expect(r.success ? [] : r.error.issues.map((i) => i.message)).toEqual([`expected ${TIME_PARAM_FORMS}`]);
    }
    expect(timeParamMs('9999999999999999')).toBeNull(); // past the last date a JS Date holds
  });
});
