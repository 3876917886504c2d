// The compiled rule model: config rules with defaults applied, durations in ms and thresholds in base units.
import type { SignalSample } from '../signals/index.js';
import type { Dimension, KindName, Op, RuleFilter, Severity } from './spec.js';

export interface SloSpec {
  name: string;
  kind: 'availability' | 'latency';
  objective: number;
  /** latency SLOs: seconds. */
  thresholdSec: number | null;
  filter: RuleFilter;
}

/** One signal compared with a threshold. */
export interface Condition {
  kind: KindName;
  windowMs: number;
  quantile: number;
  op: Op;
  threshold: number;
  minSamples: number;
  filter: RuleFilter;
  baselineDays: number;
  minHistory: number;
  slo: SloSpec | null;
  burn: 'fast' | 'slow';
}

export interface Rule {
  /** Unique id (the alert name, plus the SLO and window for generated SLO rules). */
  id: string;
  /** The `alertname` label. */
  name: string;
  /** One condition, or several for kind `all` (all must hold on the same group). */
  conditions: Condition[];
  forMs: number;
  keepFiringForMs: number;
  severity: Severity;
  /** Labels each alert of this rule is split by. */
  groupBy: string[];
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** A value of the signal for one group (label set), with how many requests/evaluations it rests on. */
export type Sample = SignalSample;

export const ERROR_STATUSES = ['upstream_error', 'rate_limited', 'timeout'] as const;

export function compare(value: number, op: Op, threshold: number): boolean {
  switch (op) {
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
  }
}

export function isDimension(s: string): s is Dimension {
  return s === 'provider' || s === 'model' || s === 'endpoint' || s === 'feature' || s === 'team';
}
