// all: a composite rule — every condition holds on the same group (e.g. ServiceDegraded: high p95 latency AND a high
// error rate on the same model). Its value is the first condition's.
import type { Condition, Sample } from '../model.js';
import { compare } from '../model.js';
import { groupKey, type KindDef, type PromCase } from './kind.js';

/** True when a sample meets its condition (the kind's own verdict, else min samples and the comparison). */
export function conditionHolds(c: Condition, s: Sample): boolean {
  if (s.holds !== undefined) return s.holds;
  if (c.minSamples > 0 && s.samples !== null && s.samples < c.minSamples) return false;
  return compare(s.value, c.op, c.threshold);
}

/** Evaluates a rule's conditions and keeps the groups where all hold; single-condition rules pass through. */
export async function evaluateConditions(
  conditions: readonly Condition[],
  groupBy: string[],
  evalOne: (c: Condition) => Promise<Sample[]>,
): Promise<{ sample: Sample; holds: boolean }[]> {
  const [first, ...rest] = conditions;
  if (!first) return [];
  const base = await evalOne(first);
  if (rest.length === 0) return base.map((s) => ({ sample: s, holds: conditionHolds(first, s) }));
  const others = await Promise.all(
    rest.map(async (c) => {
      const m = new Map<string, boolean>();
      for (const s of await evalOne(c)) m.set(groupKey(s.labels, groupBy), conditionHolds(c, s));
      return m;
    }),
  );
  return base.map((s) => {
    const k = groupKey(s.labels, groupBy);
    return { sample: s, holds: conditionHolds(first, s) && others.every((m) => m.get(k) === true) };
  });
}

/** The composite kind's entry in the registry (its work is done by the functions here). */
export const allKind: KindDef = {
  kind: 'all',
  unit: 'score',
  source: 'rollups',
  defaults: { windowMs: 5 * 60_000, op: '>', groupBy: ['model'], minSamples: 0 },
  groupable: null,
  async evaluate() {
    throw new Error('kind "all" is evaluated through its conditions');
  },
  promql() {
    return null;
  },
};

/** PromQL of a composite: null if any condition has none. */
export function allPromql(
  conditions: readonly Condition[],
  groupBy: string[],
  kindOf: (c: Condition) => KindDef,
): string | null {
  const parts: string[] = [];
  for (const c of conditions) {
    const q = kindOf(c).promql(c, groupBy);
    if (q === null) return null;
    parts.push(`(${q}) ${c.op} ${c.threshold}`);
  }
  return parts.map((p, i) => (i === 0 ? `(${p})` : `on(${groupBy.join(', ')}) (${p})`)).join(' and ');
}

/** promtool inputs of a composite: bad = every condition bad; good = the first bad, the others good. */
export function allPromCase(
  conditions: readonly Condition[],
  labels: Record<string, string>,
  mode: 'bad' | 'good' | 'few',
  forMs: number,
  kindOf: (c: Condition) => KindDef,
): PromCase | null {
  if (mode === 'few') return null;
  const cases: PromCase[] = [];
  conditions.forEach((c, i) => {
    const pc = kindOf(c).promCase?.(c, labels, mode === 'bad' || i === 0 ? 'bad' : 'good', forMs) ?? null;
    if (pc) cases.push(pc);
  });
  if (cases.length !== conditions.length) return null;
  const first = cases[0] as PromCase;
  if (cases.some((pc) => pc.intervalMs !== first.intervalMs)) return null;
  const names = new Set<string>();
  for (const pc of cases)
    for (const s of pc.series) {
      if (names.has(s.series)) return null;
      names.add(s.series);
    }
  return {
    intervalMs: first.intervalMs,
    series: cases.flatMap((pc) => pc.series),
    value: first.value,
    warmupMs: Math.max(...cases.map((pc) => pc.warmupMs)),
  };
}
