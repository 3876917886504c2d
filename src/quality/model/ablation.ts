// What each choice in the grounding scorer is worth held out: the benchmark (`npm run bench:quality`) retrains the
// scorer with one feature added or removed, without the monotonic constraints, with gradient-boosted stumps instead
// of the regression, and as it was before, and scores each variant by leave-one-set-out ROC-AUC against the shipped
// recipe. Ranking only (ROC-AUC does not depend on calibration), one fixed L2 for every logistic variant, so the
// comparison is of features and learners, not of penalties.
import type { LabelledItem } from '../datasets.js';
import { GroundingEvaluator, type GroundingOptions } from '../evaluators/grounding.js';
import { type ClaimSignals, FEATURE_NAMES, FEATURE_SIGNS, responseFeatures } from './features.js';
import { fitLogistic, logitOf, type Row } from './logistic.js';
import { FOLDS, groupedFolds, rowsOf } from './train.js';

type Signals = { claims: readonly ClaimSignals[]; evidenceWords: number };

export interface Variant {
  name: string;
  /** Feature vector of a response. */
  features: (s: Signals) => number[];
  /** Monotonic constraints per feature (+1 / −1 / 0 free); undefined: none. */
  signs?: number[];
  learner?: 'logistic' | 'stumps';
  /** A fixed L2 for this variant (the one it shipped with), instead of the common one. */
  l2?: number;
  /** The grounding check run with these options to compute the signals (an earlier way of matching words or claims). */
  grounding?: GroundingOptions;
}

const SHIPPED_SIGNS = FEATURE_NAMES.map((f) => FEATURE_SIGNS[f] as number);
const FIRST_PERSON = FEATURE_NAMES.indexOf('first_person');
const mean = (c: readonly ClaimSignals[], f: (x: ClaimSignals) => number): number => {
  let a = 0;
  let w = 0;
  for (const x of c) {
    a += x.weight * f(x);
    w += x.weight;
  }
  return w > 0 ? a / w : 0;
};
const max = (c: readonly ClaimSignals[], f: (x: ClaimSignals) => number): number =>
  c.reduce((m, x) => Math.max(m, f(x)), 0);
const lengthVsEvidence = (s: Signals): number =>
  Math.log((1 + s.claims.reduce((n, x) => n + x.contentWords, 0)) / (1 + s.evidenceWords));
const without = (name: (typeof FEATURE_NAMES)[number]): Variant => {
  const j = FEATURE_NAMES.indexOf(name);
  return {
    name: `− ${name}`,
    features: (s) => responseFeatures(s.claims).filter((_, i) => i !== j),
    signs: SHIPPED_SIGNS.filter((_, i) => i !== j),
  };
};
const adding = (name: string, f: (s: Signals) => number, sign: number): Variant => ({
  name: `+ ${name}`,
  features: (s) => [...responseFeatures(s.claims), f(s)],
  signs: [...SHIPPED_SIGNS, sign],
});

/** The shipped recipe first; every other row is compared with it. */
export const VARIANTS: readonly Variant[] = [
  { name: 'shipped', features: (s) => responseFeatures(s.claims), signs: SHIPPED_SIGNS },
  {
    // The scorer as it was before issue 14's transfer work: 14 features with length vs evidence, free signs, L2 10.
    name: 'previous model (14 features, free signs, L2 10)',
    features: (s) => [...responseFeatures(s.claims).slice(0, 13), lengthVsEvidence(s)],
    l2: 10,
  },
  without('question_novel'),
  without('baseline'),
  adding('length_vs_evidence', lengthVsEvidence, 0),
  adding('unsupported mass, log', (s) => Math.log1p(s.claims.reduce((n, x) => n + x.missingMass, 0)), 1),
  adding('hedged share', (s) => mean(s.claims, (x) => x.hedged), 0),
  adding('question share (any question)', (s) => mean(s.claims, (x) => x.question), 0),
  {
    name: 'figures matched as written (no 12 = twelve, no hyphen parts)',
    features: (s) => responseFeatures(s.claims),
    signs: SHIPPED_SIGNS,
    grounding: { foldFigures: false },
  },
  {
    name: 'reactions checked as claims ("I agree.", "That\'s so cool!")',
    features: (s) => responseFeatures(s.claims),
    signs: SHIPPED_SIGNS,
    grounding: { skipReactions: false },
  },
  {
    name: 'sentences glued after a number or an abbreviation not split ("in 2013.Reggie Yates", "etc.Twenty One")',
    features: (s) => responseFeatures(s.claims),
    signs: SHIPPED_SIGNS,
    grounding: { gluedSentences: false },
  },
  {
    name: 'evidence\'s other spellings not read ("movieName" ≠ "movie name", "$5" ≠ "5 dollars", "United States" ≠ "USA")',
    features: (s) => responseFeatures(s.claims),
    signs: SHIPPED_SIGNS,
    grounding: { spellings: false },
  },
  {
    name: 'stemmer keeps -at ("located", "locator" ≠ "location")',
    features: (s) => responseFeatures(s.claims),
    signs: SHIPPED_SIGNS,
    grounding: { foldAt: false },
  },
  {
    name: 'figures counted wherever the evidence states them (not only in or beside a sentence about the answer)',
    features: (s) => responseFeatures(s.claims),
    signs: SHIPPED_SIGNS,
    grounding: { figuresNearby: false },
  },
  {
    name: 'first-person words in names counted ("Barton Mine", "Despicable Me", "World War I", "the gold mine")',
    features: (s) => responseFeatures(s.claims),
    signs: SHIPPED_SIGNS,
    grounding: { namesNotFirstPerson: false },
  },
  {
    name: 'first person anywhere (a quoted "I Will Always Love You" counts)',
    features: (s) => {
      const x = responseFeatures(s.claims);
      x[FIRST_PERSON] = mean(s.claims, (c) => c.firstPersonAnywhere);
      return x;
    },
    signs: SHIPPED_SIGNS,
  },
  adding(
    'missing mass of the worst claim, capped at 2',
    (s) =>
      Math.min(
        2,
        max(s.claims, (x) => x.missingMass),
      ),
    1,
  ),
  adding('per-sentence max of unsupported_best', (s) => max(s.claims, (x) => x.unsupportedBest), 1),
  adding('per-sentence max of novel_trigrams', (s) => max(s.claims, (x) => x.novelTrigrams), 1),
  adding('swapped names', (s) => max(s.claims, (x) => x.namesSwapped), 1),
  { name: 'no monotonic constraints', features: (s) => responseFeatures(s.claims) },
  {
    name: 'gradient-boosted stumps (shipped features)',
    features: (s) => responseFeatures(s.claims),
    learner: 'stumps',
  },
];

interface Item {
  set: string;
  group: string;
  label: 0 | 1;
  signals: Signals | null;
  item: LabelledItem;
}

/** The items' signals recomputed by the grounding check with a variant's options (no model needed for signals). */
export function withGrounding<T extends Item>(items: readonly T[], opts: GroundingOptions): T[] {
  const g = new GroundingEvaluator({ ...opts, model: null });
  return items.map((it) => ({
    ...it,
    signals: g.signals({ context: [it.item.knowledge], question: it.item.question, response: it.item.response }),
  }));
}

/** Gradient-boosted decision stumps (log loss): `rounds` stumps, each a threshold on one feature, shrunk by `rate`. */
export function fitStumps(rows: readonly Row[], rounds = 150, rate = 0.1): (x: readonly number[]) => number {
  const d = rows[0]?.x.length ?? 0;
  // Candidate thresholds: up to 16 quantiles of each feature.
  const cuts: number[][] = [];
  for (let j = 0; j < d; j++) {
    const v = [...new Set(rows.map((r) => r.x[j] as number))].sort((a, b) => a - b);
    const c: number[] = [];
    for (let q = 1; q < 16; q++) {
      const t = v[Math.floor((q * v.length) / 16)];
      if (t !== undefined && t !== c[c.length - 1] && t !== v[0]) c.push(t);
    }
    cuts.push(c);
  }
  const total = rows.reduce((s, r) => s + r.w, 0);
  const pos = rows.reduce((s, r) => s + r.w * r.y, 0);
  const base = Math.log(pos / (total - pos));
  const f = rows.map(() => base);
  const stumps: { j: number; t: number; lo: number; hi: number }[] = [];
  for (let m = 0; m < rounds; m++) {
    const g = rows.map((r, i) => r.w * (r.y - 1 / (1 + Math.exp(-(f[i] as number)))));
    const h = rows.map((r, i) => {
      const p = 1 / (1 + Math.exp(-(f[i] as number)));
      return r.w * p * (1 - p);
    });
    let best = { gain: -1, j: 0, t: 0, lo: 0, hi: 0 };
    for (let j = 0; j < d; j++)
      for (const t of cuts[j] as number[]) {
        let gl = 0;
        let hl = 0;
        let gr = 0;
        let hr = 0;
        rows.forEach((r, i) => {
          if ((r.x[j] as number) < t) {
            gl += g[i] as number;
            hl += h[i] as number;
          } else {
            gr += g[i] as number;
            hr += h[i] as number;
          }
        });
        const gain = (gl * gl) / (hl + 1e-6) + (gr * gr) / (hr + 1e-6);
        if (gain > best.gain) best = { gain, j, t, lo: gl / (hl + 1e-6), hi: gr / (hr + 1e-6) };
      }
    const s = { j: best.j, t: best.t, lo: rate * best.lo, hi: rate * best.hi };
    stumps.push(s);
    rows.forEach((r, i) => {
      f[i] = (f[i] as number) + ((r.x[s.j] as number) < s.t ? s.lo : s.hi);
    });
  }
  return (x) => stumps.reduce((z, s) => z + ((x[s.j] as number) < s.t ? s.lo : s.hi), base);
}

function fitVariant(v: Variant, items: readonly Item[], l2: number): (x: readonly number[]) => number {
  const rows = rowsOf(items.map((it) => ({ ...it, x: it.signals ? v.features(it.signals) : null })));
  if (v.learner === 'stumps') return fitStumps(rows);
  const fit = fitLogistic(rows, v.l2 ?? l2, v.signs);
  return (x) => logitOf(fit, x);
}

/**
 * Out-of-fold logits of a variant for every item: grouped k-fold over all sets pooled (`cv`) and leave-one-set-out
 * (`loso`). Items with nothing to score get −∞ (they rank as the most faithful, as the runtime scores them 0).
 */
export function variantScores(
  v: Variant,
  items: readonly Item[],
  seed: number,
  l2: number,
): { cv: number[]; loso: number[] } {
  if (v.grounding) items = withGrounding(items, v.grounding);
  const cv = new Array<number>(items.length).fill(Number.NEGATIVE_INFINITY);
  const loso = new Array<number>(items.length).fill(Number.NEGATIVE_INFINITY);
  const folds = groupedFolds(items, FOLDS, seed);
  for (let f = 0; f < FOLDS; f++) {
    const predict = fitVariant(
      v,
      items.filter((_, i) => folds[i] !== f),
      l2,
    );
    items.forEach((it, i) => {
      if (folds[i] === f && it.signals) cv[i] = predict(v.features(it.signals));
    });
  }
  for (const set of new Set(items.map((it) => it.set))) {
    const predict = fitVariant(
      v,
      items.filter((it) => it.set !== set),
      l2,
    );
    items.forEach((it, i) => {
      if (it.set === set && it.signals) loso[i] = predict(v.features(it.signals));
    });
  }
  return { cv, loso };
}
