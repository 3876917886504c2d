import { describe, expect, it } from 'vitest';
import { legacyOtlpId, otlpIdTime, otlpRequestId } from './otlp-ids.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';

describe('OTLP call ids', () => {
  it('lead with the span start in ms (12 hex digits), then its trace and span ids', () => {
    const ns = 1_796_448_392_192_627_001n;
    const id = otlpRequestId(TRACE, SPAN, ns);
    expect(id).toBe(`otlp-01a244ab1400-${TRACE}-${SPAN}`);
    expect(otlpIdTime(id)).toBe(1_796_448_392_192);
    expect(legacyOtlpId(id)).toBe(`otlp-${TRACE}-${SPAN}`);
    expect(otlpRequestId(TRACE, SPAN, ns)).toBe(id);
  });

  it('sort in the order the spans started, whatever their random trace ids', () => {
    const traces = ['f'.repeat(32), '0'.repeat(31) + '1', TRACE];
    const ids = traces.map((t, i) => otlpRequestId(t, SPAN, (1_796_448_392_192n + BigInt(i)) * 1_000_000n));
    expect([...ids].sort()).toEqual(ids);
    expect(otlpRequestId(TRACE, SPAN, 0n)).toBe(`otlp-000000000000-${TRACE}-${SPAN}`);
  });

  it('the old form and other ids have no time and no old form', () => {
    for (const id of [`otlp-${TRACE}-${SPAN}`, 'req-1', 'otlp-1', `otlp-01a244ab1400-${TRACE}-${SPAN}x`]) {
      expect(otlpIdTime(id)).toBeNull();
      expect(legacyOtlpId(id)).toBeNull();
    }
  });
});
