// Ways to turn the scorer's logit into a probability and a verdict, each fitted on training data alone, that the
// benchmark compares held out (train and calibrate on three sets, test on the fourth): does "0.5" mean the same on a
// set the model never saw? The shipped one (`trainModel`: Platt on grouped out-of-fold logits, each set and each class
// weighted equally) is the first; the others are the candidates bench/RESULTS.md reports against it.
import { FEATURE_NAMES, FEATURE_SIGNS } from './features.js';
import { fitLogistic, fitPlatt, logitOf } from './logistic.js';
import { type GroundingModel, logit, sigmoid } from './scorer.js';
import { type FeaturedItem, FOLDS, groupedFolds, rowsOf } from './train.js';

const SIGNS = FEATURE_NAMES.map((f) => FEATURE_SIGNS[f]);

/** An out-of-fold logit with its label, its row weight (sets and classes equal) and its item. */
export interface OofLogit {
  z: number;
  y: 0 | 1;
  w: number;
  item: FeaturedItem;
}

/** Grouped k-fold out-of-fold logits at this L2 (the same folds `trainModel` calibrates on). */
export function cvLogits(items: readonly FeaturedItem[], l2: number, seed: number): OofLogit[] {
  const usable = items.filter((it) => it.x);
  const rows = rowsOf(usable);
  const folds = groupedFolds(usable, FOLDS, seed);
  const out: OofLogit[] = new Array(usable.length);
  for (let f = 0; f < FOLDS; f++) {
    const fit = fitLogistic(rowsOf(usable.filter((_, i) => folds[i] !== f)), l2, SIGNS);
    usable.forEach((it, i) => {
      if (folds[i] === f)
        out[i] = { z: logitOf(fit, it.x as number[]), y: it.label, w: (rows[i] as { w: number }).w, item: it };
    });
  }
  return out;
}

/** Leave-one-set-out logits within these items: each set scored by a fit on the others (how logits transfer). */
export function losoLogits(items: readonly FeaturedItem[], l2: number): OofLogit[] {
  const usable = items.filter((it) => it.x);
  const rows = rowsOf(usable);
  const out: OofLogit[] = new Array(usable.length);
  for (const set of new Set(usable.map((it) => it.set))) {
    const fit = fitLogistic(rowsOf(usable.filter((it) => it.set !== set)), l2, SIGNS);
    usable.forEach((it, i) => {
      if (it.set === set)
        out[i] = { z: logitOf(fit, it.x as number[]), y: it.label, w: (rows[i] as { w: number }).w, item: it };
    });
  }
  return out;
}

/**
 * The logit above which the weighted share of negatives (faithful answers) is at most `fpr`: the threshold of a rule
 * "flag at most this share of faithful answers out of fold", each set's negatives weighing the same in total.
 */
export function logitAtFpr(oof: readonly { z: number; y: 0 | 1; w: number }[], fpr: number): number {
  const negs = oof.filter((o) => o.y === 0).sort((a, b) => b.z - a.z);
  const total = negs.reduce((s, o) => s + o.w, 0);
  let flagged = 0;
  for (let i = 0; i < negs.length; i++) {
    const o = negs[i] as { z: number; w: number };
    // Ties flag together: the threshold sits just above this logit when taking it would pass the budget.
    if ((flagged + o.w) / total > fpr) return o.z + 1e-9;
    flagged += o.w;
  }
  return (negs[negs.length - 1]?.z ?? 0) - 1e-9;
}

/**
 * Weighted isotonic regression (pool adjacent violators) of y on z: a non-decreasing step function, as knots
 * (z, p) with p the fitted rate of the block ending at z; `isotonicAt` reads it.
 */
export function fitIsotonic(rows: readonly { z: number; y: 0 | 1; w: number }[]): { z: number[]; p: number[] } {
  const sorted = [...rows].sort((a, b) => a.z - b.z);
  const blocks: { z: number; sum: number; w: number }[] = [];
  for (const r of sorted) {
    blocks.push({ z: r.z, sum: r.w * r.y, w: r.w });
    for (;;) {
      const n = blocks.length;
      if (n < 2) break;
      const a = blocks[n - 2] as { z: number; sum: number; w: number };
      const b = blocks[n - 1] as { z: number; sum: number; w: number };
      if (a.sum / a.w < b.sum / b.w) break;
      blocks.splice(n - 2, 2, { z: b.z, sum: a.sum + b.sum, w: a.w + b.w });
    }
  }
  return { z: blocks.map((b) => b.z), p: blocks.map((b) => b.sum / b.w) };
}

/** The isotonic fit at z: the rate of the first block whose last logit is at or above z (the last block beyond). */
export function isotonicAt(iso: { z: number[]; p: number[] }, z: number): number {
  let lo = 0;
  let hi = iso.z.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((iso.z[mid] as number) >= z) hi = mid;
    else lo = mid + 1;
  }
  return iso.p[lo] ?? 0.5;
}

/** The probability floors of `predict` (a contradicted figure), applied to a calibrated p. */
function floored(m: GroundingModel, x: readonly number[], p: number): number {
  for (const f of m.floors)
    if ((x[FEATURE_NAMES.indexOf(f.feature as (typeof FEATURE_NAMES)[number])] as number) > 0) p = Math.max(p, f.min);
  return p;
}

/** Content words of an answer (the length-aware rule's input). */
function answerWords(it: FeaturedItem): number {
  return Math.log1p(it.signals?.claims.reduce((s, c) => s + c.contentWords, 0) ?? 0);
}

export interface CalibrationRule {
  name: string;
  /** True when the rule is a monotone map of the logit (the ranking, hence the ROC-AUC, is the shipped one's). */
  monotone: boolean;
  /**
   * Fitted on the training items (and the model trained on them, at its L2): the probability of an item, flagged at
   * 0.5. `oof` gives the training items' grouped out-of-fold and leave-one-set-out logits, computed once per model.
   */
  fit(m: GroundingModel, oof: { cv: readonly OofLogit[]; loso: readonly OofLogit[] }): (it: FeaturedItem) => number;
}

/** Set-equal weights with each class as it comes (a set's own base rate), for the rule that keeps the base rates. */
function setWeighted(oof: readonly OofLogit[]): { z: number; y: 0 | 1; w: number }[] {
  const n = new Map<string, number>();
  for (const o of oof) n.set(o.item.set, (n.get(o.item.set) ?? 0) + 1);
  return oof.map((o) => ({ z: o.z, y: o.y, w: 1 / (n.get(o.item.set) as number) }));
}

const score =
  (m: GroundingModel, p: (z: number, it: FeaturedItem) => number) =>
  (it: FeaturedItem): number =>
    it.x ? floored(m, it.x, p(logit(m, it.x), it)) : 0;

/** The rules, each stated before it was scored held out; the first is the shipped one. */
export const CALIBRATION_RULES: readonly CalibrationRule[] = [
  {
    name: 'shipped: Platt on grouped out-of-fold logits, sets and classes weighted equally; flag at 0.5',
    monotone: true,
    fit: (m) => score(m, (z) => sigmoid(m.calibration.a * z + m.calibration.b)),
  },
  {
    name: 'Platt on leave-one-set-out logits within the training sets (calibrated for a set not seen)',
    monotone: true,
    fit: (m, oof) => {
      const c = fitPlatt(oof.loso);
      return score(m, (z) => sigmoid(c.a * z + c.b));
    },
  },
  {
    name: "Platt, sets weighted equally, each set's classes as they come (its base rate)",
    monotone: true,
    fit: (m, oof) => {
      const c = fitPlatt(setWeighted(oof.cv));
      return score(m, (z) => sigmoid(c.a * z + c.b));
    },
  },
  {
    name: 'temperature only: σ(z / T), T fit on grouped out-of-fold logits',
    monotone: true,
    fit: (m, oof) => {
      // Platt through the origin: the slope of a weighted logistic fit of y on z without a bias, by Newton steps.
      let a = 1;
      for (let k = 0; k < 50; k++) {
        let g = 0;
        let h = 1e-9;
        for (const o of oof.cv) {
          const p = sigmoid(a * o.z);
          g += o.w * (p - o.y) * o.z;
          h += o.w * p * (1 - p) * o.z * o.z;
        }
        a -= g / h;
      }
      return score(m, (z) => sigmoid(a * z));
    },
  },
  {
    name: 'isotonic on grouped out-of-fold logits, sets and classes weighted equally (steps tie items)',
    monotone: false,
    fit: (m, oof) => {
      const iso = fitIsotonic(oof.cv);
      return score(m, (z) => isotonicAt(iso, z));
    },
  },
  {
    name: 'threshold: flag at most 5% of faithful answers out of fold (grouped CV, sets equal), mapped to 0.5',
    monotone: true,
    fit: (m, oof) => {
      const t = logitAtFpr(oof.cv, 0.05);
      return score(m, (z) => sigmoid(m.calibration.a * (z - t)));
    },
  },
  {
    name: 'threshold: flag at most 5% of faithful answers on leave-one-set-out logits, mapped to 0.5',
    monotone: true,
    fit: (m, oof) => {
      const t = logitAtFpr(oof.loso, 0.05);
      return score(m, (z) => sigmoid(m.calibration.a * (z - t)));
    },
  },
  {
    name: 'Platt on leave-one-set-out logits and log answer length (content words): moves items, changes ranking',
    monotone: false,
    fit: (m, oof) => {
      const f = fitLogistic(
        oof.loso.map((o) => ({ x: [o.z, answerWords(o.item)], y: o.y, w: o.w })),
        1e-3,
      );
      return score(m, (z, it) => sigmoid(logitOf(f, [z, answerWords(it)])));
    },
  },
];
