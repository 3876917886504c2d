import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { baselineScore } from './baseline.js';
import {
  againstTarget,
  betterCalibrations,
  bootstrapAuc,
  type CalibrationReport,
  consistencyReport,
  expectedCalibrationError,
  replaceSection,
  unlikeCases,
  unlikeReport,
} from './bench.js';
import { loadAllSets } from './datasets.js';
import { shippedModel } from './model/scorer.js';
import { crossValidate, DEFAULT_SEED, featurise } from './model/train.js';
import { rocAuc } from './stats.js';

describe('replaceSection', () => {
  const other = '# Benchmark results\n\n## Gateway\n\ngateway table\n\n### streaming\n\nmore\n';
  it('appends the Quality section and keeps the others', () => {
    const out = replaceSection(other, '## Quality\n\nv1\n');
    expect(out).toBe(`${other.trimEnd()}\n\n## Quality\n\nv1\n`);
  });
  it('replaces only the Quality section', () => {
    const twice = replaceSection(
      `${replaceSection(other, '## Quality\n\nv1\n')}\n## Later\n\nx\n`,
      '## Quality\n\nv2\n',
    );
    expect(twice).toContain('gateway table');
    expect(twice).toContain('## Later\n\nx');
    expect(twice).toContain('v2');
    expect(twice).not.toContain('v1');
  });
});

describe('benchmark statistics', () => {
  it('gives each AUC and the paired gain an interval around the point figure', () => {
    const ours = Array.from({ length: 200 }, (_, i) => ({ score: (i % 10) + (i % 2) * 6, label: i % 2 === 1 }));
    const base = ours.map((o, i) => ({ score: (i * 7) % 13, label: o.label }));
    const groups = ours.map((_, i) => `g${i % 40}`);
    const b = bootstrapAuc(ours, base, 300, 1, groups);
    const a = rocAuc(ours);
    expect(b.ours.low).toBeLessThanOrEqual(a);
    expect(b.ours.high).toBeGreaterThanOrEqual(a);
    expect(b.delta.low).toBeGreaterThan(0);
    expect(b.base.low).toBeLessThan(0.7);
    expect(bootstrapAuc(ours, base, 300, 1, groups)).toEqual(b);
  });

  it('writes a figure under its target with the digits that show the miss', () => {
    expect(againstTarget(0.98996, 0.99)).toBe('0.98996, 0.00004 under');
    expect(againstTarget(0.946, 0.95)).toBe('0.946, 0.004 under');
    expect(againstTarget(0.9523, 0.95)).toBe('0.952');
  });

  it('measures calibration error: 0 when p matches the rate, large when it does not', () => {
    const good = Array.from({ length: 1000 }, (_, i) => ({ score: 0.25, label: i % 4 === 0 }));
    expect(expectedCalibrationError(good)).toBeCloseTo(0, 6);
    const bad = good.map((g) => ({ ...g, score: 0.95 }));
    expect(expectedCalibrationError(bad)).toBeCloseTo(0.7, 6);
  });

  it('counts false flags on faithful passages and catches of a changed figure', () => {
    const set = {
      name: 'tiny',
      items: [
        {
          id: '1',
          knowledge: 'The stadium seats 65,000 fans. The record crowd at the stadium was 72,000 fans in 1987.',
          response: 'x',
          hallucinated: false,
        },
      ],
    };
    const calls: [string, string[] | undefined][] = [];
    const r = consistencyReport([set], (response, context) => {
      calls.push([response, context]);
      return { verdict: context ? 'pass' : 'fail' };
    });
    expect(r).toEqual({
      faithful: 1,
      flaggedAlone: 1,
      flaggedWithSources: 0,
      altered: 1,
      caughtAlone: 1,
      caughtWithSources: 0,
    });
    // The changed copy is the first sentence with its figure doubled, on a line of its own.
    expect(calls[2]?.[0]).toMatch(/\nThe stadium seats 130000 fans\.$/);
  });
});

describe('calibration held out', () => {
  const set = (name: string, bacc: number, auc: number) => ({
    name,
    auc,
    bacc,
    tpr: bacc,
    fpr: 1 - bacc,
    ece: 0,
    aucDelta: 0,
    aucCi: { low: 0, high: 0 },
  });
  const report = (rows: [string, boolean, [number, number][]][]): CalibrationReport => ({
    rows: rows.map(([name, monotone, sets]) => ({
      name,
      monotone,
      sets: sets.map(([b, a], j) => set(`s${j}`, b, a)),
    })),
    oracle: [],
  });
  it('replaces the shipped calibration only with a rule at least as good on every held-out set, ROC-AUC kept', () => {
    const r = report([
      [
        'shipped',
        true,
        [
          [0.88, 0.95],
          [0.89, 0.97],
        ],
      ],
      [
        'trades one set for another',
        true,
        [
          [0.9, 0.95],
          [0.88, 0.97],
        ],
      ],
      [
        'better everywhere but loses ranking',
        false,
        [
          [0.9, 0.94],
          [0.92, 0.97],
        ],
      ],
      [
        'same everywhere',
        true,
        [
          [0.88, 0.95],
          [0.89, 0.97],
        ],
      ],
      [
        'better on one, same on the other',
        true,
        [
          [0.88, 0.95],
          [0.9, 0.97],
        ],
      ],
    ]);
    expect(betterCalibrations(r)).toEqual(['better on one, same on the other']);
  });
});

const datasets = resolve(import.meta.dirname, '..', '..', '..', 'shared', 'datasets');

describe.skipIf(!existsSync(datasets))('learned scorer vs the plain baseline on the labelled sets', () => {
  it('has a higher out-of-fold ROC-AUC on every set (grouped cross-validation)', () => {
    const sets = loadAllSets(datasets);
    const items = featurise(sets);
    // The shipped model's L2 for every fold (the nested choice of L2 is what bench:quality measures; here it would
    // only add minutes on a shared machine).
    const cv = crossValidate(items, DEFAULT_SEED, shippedModel().trained?.l2 as number);
    for (const set of sets) {
      const ours = items.flatMap((it, i) =>
        it.set === set.name ? [{ score: cv[i] as number, label: it.label === 1 }] : [],
      );
      const base = set.items.map((it) => ({ score: baselineScore(it.response, it.knowledge), label: it.hallucinated }));
      expect(rocAuc(ours), set.name).toBeGreaterThan(rocAuc(base));
      // Issue 14's levels (0.95 on each BEGIN set; HaluEval measured 0.98996 at this L2, a hair under its 0.99): a
      // change to the signals that loses them fails here before the benchmark is rerun.
      expect(rocAuc(ours), set.name).toBeGreaterThanOrEqual(set.name.startsWith('begin/') ? 0.95 : 0.985);
    }
  });
});

describe("inputs unlike the dev sets (the benchmark's table)", () => {
  it('gives the verdict a sane check gives on each, with a time and a reason', async () => {
    // The megabyte cases take most of a second each; the grounding tests cover long knowledge.
    const rows = await unlikeReport(unlikeCases().filter((c) => !/20,000|1 MB|200,000/.test(c.name)));
    expect(rows.length).toBeGreaterThan(15);
    for (const r of rows) {
      expect(r.verdict, r.name).toBe(r.expect);
      expect(r.ms).toBeGreaterThanOrEqual(0);
      expect(r.longestStepMs).toBeGreaterThanOrEqual(0);
      expect(r.why.length).toBeGreaterThan(0);
    }
  });
});
