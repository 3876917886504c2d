// Training and cross-validation of the learned grounding scorer on the labelled dev sets (../shared/datasets).
// `npm run train:quality` runs `main` here: features for every item, a logistic regression over all sets (each set
// and each class weighted equally, so no set dominates and 0.5 sits between the classes), Platt calibration fit on
// out-of-fold logits from cross-validation grouped by knowledge (the same passage never sits in train and test),
// written to src/quality/model/grounding-model.json. Deterministic for a seed: the seed only orders the folds.
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type LabelledItem, type LabelledSet, loadAllSets } from '../datasets.js';
import { GroundingEvaluator } from '../evaluators/grounding.js';
import { rocAuc } from '../stats.js';
import { hash32 } from '../text.js';
import { type ClaimSignals, FEATURE_NAMES, FEATURE_SIGNS, responseFeatures } from './features.js';
import { fitLogistic, fitPlatt, logitOf, type Row } from './logistic.js';
import { type GroundingModel, predict } from './scorer.js';

export const DEFAULT_SEED = 14;
/** FEATURE_SIGNS in FEATURE_NAMES order: the monotonic constraints every fit of the scorer obeys. */
const SIGNS = FEATURE_NAMES.map((f) => FEATURE_SIGNS[f]);
/**
 * L2 penalties on standardised weights (rows' weights sum to the row count) that training chooses from, by grouped
 * cross-validation inside the training data (nested: the test fold of an outer CV never takes part in the choice).
 */
export const L2_GRID = [100, 30, 10, 3, 1] as const;
export const FOLDS = 5;
/** Rare, precise rules that get a probability floor (see GroundingModel.floors). */
export const FLOOR_RULES = ['numbers_contradicted', 'numbers_unsupported'] as const;

export interface FeaturedItem {
  set: string;
  /** Cross-validation group: the set and its knowledge passage (a BEGIN dialogue turn's knowledge, a HaluEval question's). */
  group: string;
  label: 0 | 1;
  /** null when the check has nothing to score (no claim): scored 0 (pass). */
  x: number[] | null;
  /** The per-claim signals behind `x` (the benchmark's ablations aggregate them other ways). */
  signals: { claims: ClaimSignals[]; evidenceWords: number } | null;
  item: LabelledItem;
}

export function featurise(sets: readonly LabelledSet[]): FeaturedItem[] {
  const g = new GroundingEvaluator({ model: null });
  const out: FeaturedItem[] = [];
  for (const s of sets)
    for (const it of s.items) {
      const signals = g.signals({ context: [it.knowledge], question: it.question, response: it.response });
      out.push({
        set: s.name,
        group: `${s.name}:${hash32(it.knowledge).toString(36)}:${it.knowledge.length}`,
        label: it.hallucinated ? 1 : 0,
        x: signals ? responseFeatures(signals.claims) : null,
        signals,
        item: it,
      });
    }
  return out;
}

/** mulberry32. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fold of each item, by group: groups sorted, shuffled with the seed, dealt round-robin. */
export function groupedFolds(items: readonly { group: string }[], k: number, seed: number): number[] {
  const groups = [...new Set(items.map((i) => i.group))].sort();
  const r = rng(seed);
  for (let i = groups.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [groups[i], groups[j]] = [groups[j] as string, groups[i] as string];
  }
  const fold = new Map(groups.map((g, i) => [g, i % k]));
  return items.map((i) => fold.get(i.group) as number);
}

/** Rows with weights that give each set, and each class within a set, the same total weight. */
export function rowsOf(items: readonly { set: string; label: 0 | 1; x: number[] | null }[]): Row[] {
  const n = new Map<string, number>();
  for (const it of items) if (it.x) n.set(`${it.set}|${it.label}`, (n.get(`${it.set}|${it.label}`) ?? 0) + 1);
  return items
    .filter((it) => it.x)
    .map((it) => ({ x: it.x as number[], y: it.label, w: 1 / (n.get(`${it.set}|${it.label}`) as number) }));
}

/** Mean over sets of the ROC-AUC of these scores (sets with one class left out). */
function meanSetAuc(items: readonly FeaturedItem[], scores: readonly number[]): number {
  const by = new Map<string, { score: number; label: boolean }[]>();
  items.forEach((it, i) => {
    const a = by.get(it.set) ?? [];
    a.push({ score: scores[i] as number, label: it.label === 1 });
    by.set(it.set, a);
  });
  let sum = 0;
  let n = 0;
  for (const a of by.values()) {
    const auc = rocAuc(a);
    if (Number.isFinite(auc)) {
      sum += auc;
      n++;
    }
  }
  return n ? sum / n : 0;
}

/**
 * The L2 penalty for these training items: each value of L2_GRID scored by grouped k-fold CV on them (out-of-fold
 * logits, mean ROC-AUC over the sets, each set counting once); the best wins, a tie going to the stronger penalty.
 */
export function selectL2(items: readonly FeaturedItem[], seed = DEFAULT_SEED): number {
  const usable = items.filter((it) => it.x);
  const folds = groupedFolds(usable, FOLDS, seed + 7);
  let best: number = L2_GRID[0];
  let bestAuc = Number.NEGATIVE_INFINITY;
  for (const l2 of L2_GRID) {
    const z = new Array<number>(usable.length).fill(0);
    for (let f = 0; f < FOLDS; f++) {
      const fit = fitLogistic(rowsOf(usable.filter((_, i) => folds[i] !== f)), l2, SIGNS);
      usable.forEach((it, i) => {
        if (folds[i] === f) z[i] = logitOf(fit, it.x as number[]);
      });
    }
    const auc = meanSetAuc(usable, z);
    if (auc > bestAuc + 1e-9) {
      bestAuc = auc;
      best = l2;
    }
  }
  return best;
}

/**
 * Trains a model on these items: the regression on all of them, calibration on grouped out-of-fold logits. Without
 * `l2`, the penalty is chosen by `selectL2` on these items alone.
 */
export function trainModel(items: readonly FeaturedItem[], seed = DEFAULT_SEED, l2?: number): GroundingModel {
  const usable = items.filter((it) => it.x);
  if (l2 === undefined) l2 = selectL2(usable, seed);
  const rows = rowsOf(usable);
  const fit = fitLogistic(rows, l2, SIGNS);
  const folds = groupedFolds(usable, FOLDS, seed);
  const oof: { z: number; y: 0 | 1; w: number }[] = [];
  for (let f = 0; f < FOLDS; f++) {
    const train = usable.filter((_, i) => folds[i] !== f);
    const inner = fitLogistic(rowsOf(train), l2, SIGNS);
    usable.forEach((it, i) => {
      if (folds[i] === f) oof.push({ z: logitOf(inner, it.x as number[]), y: it.label, w: (rows[i] as Row).w });
    });
  }
  const round = (v: number) => Number(v.toPrecision(10));
  const floors: { feature: string; min: number }[] = [];
  for (const rule of FLOOR_RULES) {
    const j = FEATURE_NAMES.indexOf(rule);
    let pos = 0;
    let neg = 0;
    let posFire = 0;
    let negFire = 0;
    let negCount = 0;
    for (const r of rows)
      if (r.y === 1) {
        pos += r.w;
        if ((r.x[j] as number) > 0) posFire += r.w;
      } else {
        neg += r.w;
        negCount++;
        if ((r.x[j] as number) > 0) negFire += r.w;
      }
    const tpr = posFire / pos;
    const fpr = (negFire + neg / negCount) / neg;
    const min = tpr / (tpr + fpr);
    if (min > 0.5) floors.push({ feature: rule, min: Math.round(min * 1000) / 1000 });
  }
  return {
    version: 1,
    kind: 'logistic',
    features: [...FEATURE_NAMES],
    mean: fit.mean.map(round),
    scale: fit.scale.map(round),
    weights: fit.weights.map(round),
    bias: round(fit.bias),
    calibration: Object.fromEntries(Object.entries(fitPlatt(oof)).map(([k, v]) => [k, round(v)])) as {
      a: number;
      b: number;
    },
    floors,
    trained: {
      seed,
      l2,
      sets: [...new Set(usable.map((it) => it.set))],
      items: usable.length,
      by: 'npm run train:quality (src/quality/model/train.ts)',
    },
  };
}

/** Probability for an item (0 when the check found nothing to score). */
export function scoreItem(m: GroundingModel, it: FeaturedItem): number {
  return it.x ? predict(m, it.x) : 0;
}

/** Out-of-fold probabilities: grouped k-fold over all sets pooled (each fold's model is trained and calibrated on the rest). */
export function crossValidate(items: readonly FeaturedItem[], seed = DEFAULT_SEED, l2?: number): number[] {
  const folds = groupedFolds(items, FOLDS, seed);
  const out = new Array<number>(items.length).fill(0);
  for (let f = 0; f < FOLDS; f++) {
    const m = trainModel(
      items.filter((_, i) => folds[i] !== f),
      seed + 1,
      l2,
    );
    items.forEach((it, i) => {
      if (folds[i] === f) out[i] = scoreItem(m, it);
    });
  }
  return out;
}

/** Leave one set out: each set scored by a model trained on the other sets only. */
export function leaveOneSetOut(items: readonly FeaturedItem[], seed = DEFAULT_SEED, l2?: number): number[] {
  const out = new Array<number>(items.length).fill(0);
  for (const set of new Set(items.map((i) => i.set))) {
    const m = trainModel(
      items.filter((i) => i.set !== set),
      seed,
      l2,
    );
    items.forEach((it, i) => {
      if (it.set === set) out[i] = scoreItem(m, it);
    });
  }
  return out;
}

export const MODEL_FILE = 'src/quality/model/grounding-model.json';

export async function main(
  argv: string[] = process.argv.slice(2),
  repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..'),
): Promise<void> {
  const seedArg = argv.find((a) => a.startsWith('--seed='));
  const seed = seedArg ? Number(seedArg.slice(7)) : DEFAULT_SEED;
  const datasets = argv.find((a) => !a.startsWith('--')) ?? resolve(repo, '..', 'shared', 'datasets');
  if (!existsSync(datasets))
    throw new Error(`no datasets at ${datasets}; pass the folder holding begin-dev/ and halueval-qa/`);
  const items = featurise(loadAllSets(datasets));
  const model = trainModel(items, seed);
  const file = resolve(repo, MODEL_FILE);
  if (!argv.includes('--dry-run')) writeFileSync(file, `${JSON.stringify(model, null, 2)}\n`);
  process.stdout.write(
    `${FEATURE_NAMES.map((f, i) => `${f.padEnd(22)} ${(model.weights[i] as number).toFixed(3)}`).join('\n')}\nL2 ${model.trained?.l2} (chosen by grouped CV from ${L2_GRID.join(', ')})  bias ${model.bias.toFixed(3)}  calibration a=${model.calibration.a.toFixed(3)} b=${model.calibration.b.toFixed(3)}\n${argv.includes('--dry-run') ? '(dry run, not written)' : `wrote ${file}`}\n`,
  );
}
