// The signals registry: figures the call store does not hold (quality, GPUs, budgets, reconciliation), published by
// the capability that owns them and read by whoever needs them (the alert rules of those kinds). It lives outside
// every capability so that publishers and readers depend on it, never on each other: the app makes one per context
// (`ctx.signals`). Until a source registers, its signals have no data (rules reading them never fire).

/** Signal names the built-in rule kinds read. */
export type SignalName =
  | 'hallucination_rate'
  | 'thumbs_down_rate'
  | 'gpu_utilization'
  | 'gpu_memory'
  | 'budget_ratio'
  | 'reconciliation_gap'
  | (string & {});

/** The call dimensions a query may be narrowed by (an alert rule's `filter`). */
export interface SignalFilter {
  provider?: string;
  model?: string;
  endpoint?: string;
  feature?: string;
  team?: string;
}

/** One group's figure: its labels, the value in the signal's base unit (ratios 0–1) and the count behind it. */
export interface SignalSample {
  labels: Record<string, string>;
  value: number;
  /** Requests (or evaluations, feedback) behind the value; null when the signal has no such count. */
  samples: number | null;
  /** Set by readers whose condition is not a plain comparison (slo_burn); otherwise `value op threshold` decides. */
  holds?: boolean;
}

export interface SignalQuery {
  signal: SignalName;
  /** Evaluation time, epoch ms. */
  now: number;
  /** The rule's window, ms (a gauge source may ignore it and return the latest value). */
  windowMs: number;
  filter: SignalFilter;
  /** Labels the rule splits its alerts by; each sample should carry them. */
  groupBy: readonly string[];
}

/**
 * A provider of one or more signals. `query` returns one sample per group: labels, value in the signal's base unit
 * (ratios 0–1), and the count behind it (evaluations, feedback) so min-sample guards work; null count if none.
 */
export interface SignalSource {
  readonly name: string;
  readonly signals: readonly SignalName[];
  query(q: SignalQuery): Promise<SignalSample[]> | SignalSample[];
}

export class SignalRegistry {
  private readonly sources = new Map<string, SignalSource>();

  /** Registers (or replaces) a source; returns a function that unregisters it. */
  register(source: SignalSource): () => void {
    for (const s of source.signals) this.sources.set(s, source);
    return () => {
      for (const s of source.signals) if (this.sources.get(s) === source) this.sources.delete(s);
    };
  }

  has(signal: SignalName): boolean {
    return this.sources.has(signal);
  }

  /** Samples of a signal; [] when no source has registered it. Errors propagate to the caller (rule health). */
  async query(q: SignalQuery): Promise<SignalSample[]> {
    const src = this.sources.get(q.signal);
    if (!src) return [];
    return await src.query(q);
  }
}
