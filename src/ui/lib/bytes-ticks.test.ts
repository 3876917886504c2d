// GPU memory chart's y axis (QA16): ticks 0.1 GiB apart around 71.7 GiB all read "71.7 GiB" with bytes(); the
// axis labels now carry the decimals their spacing needs.
import { describe, expect, it } from 'vitest';
import { bytes, bytesTicks } from './dom.js';

const GiB = 1024 ** 3;

describe('bytesTicks', () => {
  it('tells ticks of a narrow range apart, in one unit', () => {
    const ticks = [71.64, 71.66, 71.68, 71.7].map((g) => g * GiB);
    expect(new Set(ticks.map(bytes)).size).toBeLessThan(4); // what the axis showed
    expect(bytesTicks(ticks)).toEqual(['71.64 GiB', '71.66 GiB', '71.68 GiB', '71.70 GiB']);
  });

  it('keeps one decimal for ordinary spacing, and whole bytes below a KiB', () => {
    expect(bytesTicks([0, 20, 40, 60, 80].map((g) => g * GiB))).toEqual([
      '0.0 GiB',
      '20.0 GiB',
      '40.0 GiB',
      '60.0 GiB',
      '80.0 GiB',
    ]);
    expect(bytesTicks([71.6, 71.7, 71.8].map((g) => g * GiB))).toEqual(['71.6 GiB', '71.7 GiB', '71.8 GiB']);
    expect(bytesTicks([0, 500, 1000])).toEqual(['0 B', '500 B', '1000 B']);
    expect(bytesTicks([512 * 1024 ** 2, 1024 ** 3])).toEqual(['0.5 GiB', '1.0 GiB']);
  });
});
