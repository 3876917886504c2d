import { describe, expect, it } from 'vitest';
import { LlmscopeError } from './errors.js';
import { DAY_MS, durationMs, durationSchema, HOUR_MS, MINUTE_MS } from './time.js';

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
