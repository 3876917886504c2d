// Shared shape of kinds whose data comes from a registered SignalSource (quality, GPUs, budgets, reconciliation).

import type { Condition } from '../model.js';
import type { KindName } from '../spec.js';
import type { KindDef, NamedPromCase, PromCase, PromCaseMode, Unit } from './kind.js';

export interface SignalKindSpec {
  kind: KindName;
  unit: Unit;
  /** The SignalSource signal name. */
  signal: string;
  windowMs: number;
  op: KindDef['defaults']['op'];
  groupBy: string[];
  minSamples: number;
  promql?: (c: Condition, groupBy: string[]) => string | null;
  promCase?: (c: Condition, labels: Record<string, string>, mode: PromCaseMode, forMs: number) => PromCase | null;
  morePromCases?: (c: Condition, labels: Record<string, string>, forMs: number) => NamedPromCase[];
}

export function signalKind(spec: SignalKindSpec): KindDef {
  return {
    kind: spec.kind,
    unit: spec.unit,
    source: 'signal',
    signal: spec.signal,
    defaults: { windowMs: spec.windowMs, op: spec.op, groupBy: spec.groupBy, minSamples: spec.minSamples },
    groupable: null,
    evaluate: (c, groupBy, env) =>
      env.signals.query({ signal: spec.signal, now: env.now, windowMs: c.windowMs, filter: c.filter, groupBy }),
    promql: spec.promql ?? (() => null),
    promCase: spec.promCase,
    morePromCases: spec.morePromCases,
  };
}

/** True when a condition has no filter (the quality/GPU/budget metrics carry none of the call dimensions). */
export function unfiltered(c: Condition): boolean {
  return Object.values(c.filter).every((v) => v === undefined);
}
