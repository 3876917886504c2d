// Dense histograms read the same quantiles as histogram.ts, from either the object form or (frozen) its cached pairs.
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../simulator/text.js';
import { Dense } from './dense-histogram.js';
import { histogramOf, merge, quantile } from './histogram.js';

describe('Dense.quantile', () => {
  it("equals histogram.ts's quantile of the merge, for frozen and live histograms alike", () => {
    const r = mulberry32(7);
    const parts = Array.from({ length: 40 }, (_, i) =>
      histogramOf(Array.from({ length: 1 + Math.floor(r() * 200) }, () => 10 ** (r() * 5) * (i % 3 === 0 ? 3 : 1))),
    );
    const whole = parts.reduce((a, b) => merge(a, b), {});
    const live = new Dense();
    const frozen = new Dense();
    for (const p of parts) {
      live.addCounts(p);
      frozen.addCounts(Object.freeze({ ...p }));
    }
    for (const q of [0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1, Number.NaN]) {
      expect(live.quantile(q)).toBe(quantile(whole, q));
      expect(frozen.quantile(q)).toBe(quantile(whole, q));
    }
    expect(frozen.n).toBe(live.n);
    expect(frozen.sparse()).toEqual(live.sparse());
  });

  it('a frozen histogram added again (a sliding window) counts again; an empty one reads null', () => {
    const h = Object.freeze(histogramOf([5, 50, 500]));
    const d = new Dense();
    d.addCounts(h);
    d.addCounts(h);
    expect(d.n).toBe(6);
    expect(d.quantile(1)).toBe(quantile(h, 1));
    d.reset();
    d.addCounts(Object.freeze({}));
    expect(d.quantile(0.5)).toBeNull();
  });
});
