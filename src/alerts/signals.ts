// Signals the store does not hold (quality, GPUs, budgets, reconciliation): their modules register a SignalSource
// here, and rules of those kinds read through it. Until a source registers, such rules have no data (never fire).
import type { AppContext } from '../app-context.js';
import type { RuleFilter } from './config.js';
import type { Sample } from './model.js';

/** Signal names the built-in rule kinds read. */
export type SignalName =
  | 'hallucination_rate'
  | 'thumbs_down_rate'
  | 'gpu_utilization'
  | 'gpu_memory'
  | 'budget_ratio'
  | 'reconciliation_gap'
  | (string & {});

export interface SignalQuery {
  signal: SignalName;
  /** Evaluation time, epoch ms. */
  now: number;
  /** The rule's window, ms (a gauge source may ignore it and return the latest value). */
  windowMs: number;
  filter: RuleFilter;
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
  query(q: SignalQuery): Promise<Sample[]> | Sample[];
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

  /** Samples of a signal; [] when no source has registered it. Errors propagate to the engine (rule health). */
  async query(q: SignalQuery): Promise<Sample[]> {
    const src = this.sources.get(q.signal);
    if (!src) return [];
    return await src.query(q);
  }
}

const registries = new WeakMap<AppContext, SignalRegistry>();

/** The signal registry of an assembled app: other modules call `signalsOf(ctx).register(...)`, in any order. */
export function signalsOf(ctx: AppContext): SignalRegistry {
  let r = registries.get(ctx);
  if (!r) {
    r = new SignalRegistry();
    registries.set(ctx, r);
  }
  return r;
}
