import { describe, expect, it } from 'vitest';
import { goG, humanize, humanizeDuration, humanizePercentage, printf, renderTemplate, USD_VALUE } from './template.js';

describe('templates (as Prometheus renders them)', () => {
  it("formats like Go's %g and Prometheus's humanize functions", () => {
    expect(goG(4.992, 4)).toBe('4.992');
    expect(goG(12346, 4)).toBe('1.235e+04');
    expect(goG(0.00001234, 4)).toBe('1.234e-05');
    expect(humanizeDuration(4.992)).toBe('4.992s');
    expect(humanizeDuration(0.7375)).toBe('737.5ms');
    expect(humanizeDuration(90)).toBe('1m 30s');
    expect(humanizeDuration(0)).toBe('0s');
    expect(humanizePercentage(0.05)).toBe('5%');
    expect(humanizePercentage(0.123456)).toBe('12.35%');
    expect(humanize(1234567)).toBe('1.235M');
    expect(printf('%.2f', 1999.999999)).toBe('2000.00');
  });

  it('fills in labels and the value', () => {
    expect(
      renderTemplate(
        `p95 of {{ $labels.model }} is {{ $value | humanizeDuration }}, ${USD_VALUE}`,
        { model: 'm' },
        2.5,
      ),
    ).toBe('p95 of m is 2.5s, $2.50');
    expect(renderTemplate('{{ $labels.missing }}|{{ $value }}|{{ .Unknown }}', {}, 0.1)).toBe('|0.1|{{ .Unknown }}');
  });
});
