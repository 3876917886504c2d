import { describe, expect, it } from 'vitest';
import { forecastBasis } from './units.js';

describe('forecastBasis', () => {
  it('says how little spend a forecast is made from until a day of calls is in', () => {
    expect(forecastBasis(0.009)).toBe('from only 13 min of spend: a rough guess until a day of calls');
    expect(forecastBasis(0.0001)).toBe('from only 1 min of spend: a rough guess until a day of calls');
    expect(forecastBasis(0.5)).toBe('from only 12 h of spend: a rough guess until a day of calls');
    expect(forecastBasis(1)).toBe('at the rate since the first call (up to 7 days)');
    expect(forecastBasis(7)).toBe('at the rate since the first call (up to 7 days)');
    // a server without the field (an older llmscope) says what it always said
    expect(forecastBasis(undefined)).toBe('at the rate since the first call (up to 7 days)');
    expect(forecastBasis(null)).toBe('at the rate since the first call (up to 7 days)');
  });
});
