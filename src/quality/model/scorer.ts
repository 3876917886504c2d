// The runtime side of the learned grounding scorer: the model file (logistic regression over standardised
// features, then Platt calibration) and the prediction. Trained by `npm run train:quality` (src/quality/model/
// train.ts); the weights are data in grounding-model.json, so no network and no training at run time.

import { FEATURE_NAMES } from './features.js';
import shipped from './grounding-model.json' with { type: 'json' };

export interface GroundingModel {
  version: 1;
  kind: 'logistic';
  features: string[];
  /** Standardisation: x' = (x − mean) / scale. */
  mean: number[];
  scale: number[];
  weights: number[];
  bias: number;
  /** Platt scaling of the logit: p = σ(a·z + b), fit on out-of-fold logits. */
  calibration: { a: number; b: number };
  /**
   * Rules the regression shrinks because they fire rarely, but that are nearly always right when they do (a number
   * the evidence contradicts): when the feature is above 0, the probability is at least `min` — the rule's
   * precision on the dev sets with equal class weights and one pseudo false positive.
   */
  floors: { feature: string; min: number }[];
  /** Training facts (seed, sets, L2, items); informative only. */
  trained?: Record<string, unknown>;
}

/** Checks a model object's shape against the features this build computes; throws with what is wrong. */
export function validateModel(m: unknown): GroundingModel {
  const o = m as Partial<GroundingModel>;
  const n = FEATURE_NAMES.length;
  const vec = (k: 'mean' | 'scale' | 'weights') =>
    Array.isArray(o[k]) && o[k].length === n && o[k].every(Number.isFinite);
  if (o?.version !== 1 || o.kind !== 'logistic')
    throw new Error('grounding model: expected version 1, kind "logistic"');
  if (!Array.isArray(o.features) || o.features.join(',') !== FEATURE_NAMES.join(','))
    throw new Error(
      `grounding model: features must be ${FEATURE_NAMES.join(', ')} (retrain with npm run train:quality)`,
    );
  if (!vec('mean') || !vec('scale') || !vec('weights'))
    throw new Error(`grounding model: mean, scale, weights need ${n} numbers`);
  if (!Number.isFinite(o.bias) || !Number.isFinite(o.calibration?.a) || !Number.isFinite(o.calibration?.b))
    throw new Error('grounding model: bias and calibration {a, b} must be numbers');
  if (
    !Array.isArray(o.floors) ||
    !o.floors.every((f) => FEATURE_NAMES.includes(f?.feature as never) && f.min >= 0 && f.min <= 1)
  )
    throw new Error('grounding model: floors must be [{feature, min}] over known features, min in 0..1');
  return o as GroundingModel;
}

let loaded: GroundingModel | undefined;
/**
 * The shipped model (grounding-model.json), validated on first use rather than at import, so that training can run
 * (and rewrite the file) after the features changed.
 */
export function shippedModel(): GroundingModel {
  loaded ??= validateModel(shipped);
  return loaded;
}

/** The uncalibrated logit. */
export function logit(m: GroundingModel, x: readonly number[]): number {
  let z = m.bias;
  for (let i = 0; i < x.length; i++)
    z += (m.weights[i] as number) * (((x[i] as number) - (m.mean[i] as number)) / (m.scale[i] as number));
  return z;
}

export const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

/** Calibrated probability that the response (or claim) is not supported by the evidence. */
export function predict(m: GroundingModel, x: readonly number[]): number {
  let p = sigmoid(m.calibration.a * logit(m, x) + m.calibration.b);
  for (const f of m.floors)
    if ((x[FEATURE_NAMES.indexOf(f.feature as (typeof FEATURE_NAMES)[number])] as number) > 0) p = Math.max(p, f.min);
  return p;
}
