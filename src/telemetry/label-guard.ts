// Bounded label cardinality: each label admits a budget of distinct values, each metric a hard cap of series;
// everything past that is folded into `__other__` and counted in llmscope_label_overflow_total{label}.

export const OTHER = '__other__';

export class LabelGuard {
  private readonly seen = new Map<string, Set<string>>();
  private readonly series = new Map<string, Set<string>>();

  constructor(
    private readonly budget: number,
    private readonly hardCap: number,
    private readonly onOverflow: (label: string) => void,
  ) {}

  /**
   * The value itself while `label` is within budget (or already seen), else `__other__`, counted as an overflow unless
   * `counted` is false (a second metric of a call whose labels the metrics sink already folded and counted).
   */
  value(label: string, value: string | null | undefined, counted = true): string {
    const v = value === null || value === undefined || value === '' ? 'none' : value;
    let set = this.seen.get(label);
    if (!set) {
      set = new Set();
      this.seen.set(label, set);
    }
    if (set.has(v)) return v;
    if (set.size < this.budget) {
      set.add(v);
      return v;
    }
    if (counted) this.onOverflow(label);
    return OTHER;
  }

  /**
   * Admits a series of `metric`; past the hard cap every new series is folded into one all-`__other__` series.
   * Returns the label values to use.
   */
  series_<T extends string[]>(metric: string, values: T): T {
    let set = this.series.get(metric);
    if (!set) {
      set = new Set();
      this.series.set(metric, set);
    }
    const key = values.join('\u0000');
    if (set.has(key)) return values;
    if (set.size < this.hardCap) {
      set.add(key);
      return values;
    }
    this.onOverflow('__series__');
    return values.map(() => OTHER) as T;
  }
}
