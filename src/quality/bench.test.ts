import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { baselineScore } from './baseline.js';
import { replaceSection } from './bench.js';
import { loadAllSets } from './datasets.js';
import { crossValidate, featurise } from './model/train.js';
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

const datasets = resolve(import.meta.dirname, '..', '..', '..', 'shared', 'datasets');

describe.skipIf(!existsSync(datasets))('learned scorer vs the plain baseline on the labelled sets', () => {
  it('has a higher out-of-fold ROC-AUC on every set (grouped cross-validation)', () => {
    const sets = loadAllSets(datasets);
    const items = featurise(sets);
    const cv = crossValidate(items);
    for (const set of sets) {
      const ours = items.flatMap((it, i) =>
        it.set === set.name ? [{ score: cv[i] as number, label: it.label === 1 }] : [],
      );
      const base = set.items.map((it) => ({ score: baselineScore(it.response, it.knowledge), label: it.hallucinated }));
      expect(rocAuc(ours), set.name).toBeGreaterThan(rocAuc(base));
    }
  });
});
