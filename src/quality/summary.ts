// Quality figures from counts and review labels: satisfaction, refusal and hallucination rates, the reviewed
// hallucination rate with its 95% Wilson interval, and each detector's precision against human labels.
// Only review items that came in by random sample estimate the production rate: thumbs-down and flagged calls are
// chosen for being suspicious, so they would bias it (they still count for detector precision).
import type { QualityStats as WireQualityStats } from '../wire/index.js';
import { wilson } from './stats.js';
import {
  emptyCounts,
  type QualityCountRow,
  type QualityCounts,
  type QualityGroupBy,
  type ReviewItem,
} from './storage/types.js';

// The figures' shape is declared once, in src/wire/quality.ts (the dashboard reads the same type).
export type QualityStats = WireQualityStats;
export type DetectorPrecision = QualityStats['detectors'][string];
export type Interval = NonNullable<DetectorPrecision['ci95']>;

const ratio = (a: number, b: number): number | null => (b > 0 ? round4(a / b) : null);
const round4 = (x: number): number => Math.round(x * 10_000) / 10_000;
const interval = (k: number, n: number): Interval | null => {
  if (n === 0) return null;
  const w = wilson(k, n);
  return { low: round4(w.low), high: round4(w.high) };
};

export function statsOf(c: QualityCounts, reviews: readonly ReviewItem[]): QualityStats {
  const judged = reviews.filter((r) => r.labels?.hallucination !== null && r.labels?.hallucination !== undefined);
  const sampled = judged.filter((r) => r.reasons.includes('sample'));
  const hallucinated = sampled.filter((r) => r.labels?.hallucination === true).length;
  const detectors: Record<string, DetectorPrecision> = {};
  const names = new Set(judged.flatMap((r) => r.flaggedBy));
  for (const name of [...names].sort()) {
    const flagged = judged.filter((r) => r.flaggedBy.includes(name));
    const confirmed = flagged.filter((r) => r.labels?.hallucination === true).length;
    detectors[name] = {
      flagged_reviewed: flagged.length,
      confirmed,
      precision: ratio(confirmed, flagged.length),
      ci95: interval(confirmed, flagged.length),
    };
  }
  // The refusal detector: of reviewed calls it marked as refusals, how many reviewers agreed.
  const refusalJudged = reviews.filter((r) => r.refusal && r.labels?.refusalCorrect != null);
  if (refusalJudged.length > 0) {
    const ok = refusalJudged.filter((r) => r.labels?.refusalCorrect === true).length;
    detectors.refusal = {
      flagged_reviewed: refusalJudged.length,
      confirmed: ok,
      precision: ratio(ok, refusalJudged.length),
      ci95: interval(ok, refusalJudged.length),
    };
  }
  return {
    responses: c.responses,
    refusals: c.refusals,
    refusal_rate: ratio(c.refusals, c.responses),
    feedback: {
      up: c.feedbackUp,
      down: c.feedbackDown,
      satisfaction_rate: ratio(c.feedbackUp, c.feedbackUp + c.feedbackDown),
    },
    evaluated: c.evaluated,
    flagged: c.flagged,
    hallucination_rate: ratio(c.flagged, c.evaluated),
    reviewed: {
      sampled: sampled.length,
      hallucinated,
      rate: ratio(hallucinated, sampled.length),
      ci95: interval(hallucinated, sampled.length),
      labeled_total: reviews.filter((r) => r.labels !== null).length,
    },
    detectors,
  };
}

export interface SummaryGroup extends QualityStats {
  model?: string;
  feature?: string | null;
}

/** The summary body: one entry per group (when grouped) and the total. */
export function summarize(
  rows: readonly QualityCountRow[],
  reviews: readonly ReviewItem[],
  groupBy: QualityGroupBy | undefined,
): { groups: SummaryGroup[]; total: QualityStats } {
  const total = emptyCounts();
  for (const r of rows) for (const k of Object.keys(total) as (keyof QualityCounts)[]) total[k] += r[k];
  const groups: SummaryGroup[] = [];
  if (groupBy) {
    const keyOfReview = (r: ReviewItem) => (groupBy === 'model' ? r.model : (r.feature ?? ''));
    const keys = new Set([
      ...rows.map((r) => (groupBy === 'model' ? r.model : r.feature)),
      ...reviews.map(keyOfReview),
    ]);
    for (const key of [...keys].sort()) {
      const c = emptyCounts();
      for (const r of rows)
        if ((groupBy === 'model' ? r.model : r.feature) === key)
          for (const k of Object.keys(c) as (keyof QualityCounts)[]) c[k] += r[k];
      const g: SummaryGroup = statsOf(
        c,
        reviews.filter((r) => keyOfReview(r) === key),
      );
      groups.push(groupBy === 'model' ? { model: key, ...g } : { feature: key === '' ? null : key, ...g });
    }
  }
  return { groups, total: statsOf(total, reviews) };
}
