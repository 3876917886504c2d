// The quality capability's answers (quality/api.ts, service.ts, summary.ts): summary figures, series, the review
// queue.
import { z } from 'zod';
import { evaluationSchema, feedbackSchema } from './calls.js';
import { count, isoTime, maybe } from './common.js';

const interval = z.strictObject({ low: z.number(), high: z.number() });

export const qualityStatsSchema = z.strictObject({
  responses: count,
  refusals: count,
  refusal_rate: maybe(z.number()),
  feedback: z.strictObject({ up: count, down: count, satisfaction_rate: maybe(z.number()) }),
  evaluated: count,
  flagged: count,
  hallucination_rate: maybe(z.number()),
  reviewed: z.strictObject({
    /** Randomly sampled calls with a hallucination label: the unbiased estimate. */
    sampled: count,
    hallucinated: count,
    rate: maybe(z.number()),
    ci95: maybe(interval),
    /** Every labelled call, whatever brought it to review. */
    labeled_total: count,
  }),
  detectors: z.record(
    z.string(),
    z.strictObject({
      flagged_reviewed: count,
      confirmed: count,
      precision: maybe(z.number()),
      ci95: maybe(interval),
    }),
  ),
});
export type QualityStats = z.infer<typeof qualityStatsSchema>;

/** GET /api/quality/summary (`group_by=model|feature` adds one entry per group). */
export const qualitySummarySchema = z.strictObject({
  from: isoTime,
  to: isoTime,
  group_by: maybe(z.enum(['model', 'feature'])),
  groups: z.array(qualityStatsSchema.extend({ model: z.string().optional(), feature: maybe(z.string()).optional() })),
  total: qualityStatsSchema,
});
export type QualitySummary = z.infer<typeof qualitySummarySchema>;

export const qualitySeriesPointSchema = z.strictObject({
  t: isoTime,
  model: z.string().optional(),
  feature: maybe(z.string()).optional(),
  responses: count,
  refusals: count,
  refusal_rate: maybe(z.number()),
  feedback_up: count,
  feedback_down: count,
  satisfaction_rate: maybe(z.number()),
  evaluated: count,
  flagged: count,
  hallucination_rate: maybe(z.number()),
});
export type QualitySeriesPoint = z.infer<typeof qualitySeriesPointSchema>;

/** GET /api/quality/series. */
export const qualitySeriesSchema = z.strictObject({
  from: isoTime,
  to: isoTime,
  step: z.enum(['minute', 'hour']),
  group_by: maybe(z.enum(['model', 'feature'])),
  data: z.array(qualitySeriesPointSchema),
});
export type QualitySeries = z.infer<typeof qualitySeriesSchema>;

/** A review queue item (`reviewToWire`), as POST /api/quality/review answers it. */
export const reviewItemSchema = z.strictObject({
  request_id: z.string(),
  /** sample, thumbs_down, refusal, manual, or flag:<evaluator>. */
  reasons: z.array(z.string()),
  call_at: isoTime,
  queued_at: isoTime,
  model: z.string(),
  provider: z.string(),
  feature: maybe(z.string()),
  refusal: z.boolean(),
  flagged_by: z.array(z.string()),
  rating: maybe(z.enum(['up', 'down'])),
  labels: maybe(
    z.strictObject({
      hallucination: maybe(z.boolean()),
      refusal_correct: maybe(z.boolean()),
      notes: maybe(z.string()),
      reviewer: maybe(z.string()),
      labeled_at: isoTime,
    }),
  ),
});
export type ReviewItem = z.infer<typeof reviewItemSchema>;

/** An item as GET /api/quality/review lists it: with its evaluations, feedback and captured text. */
export const reviewListItemSchema = reviewItemSchema.extend({
  evaluations: z.array(evaluationSchema),
  feedback: z.array(feedbackSchema),
  content: maybe(z.strictObject({ input: maybe(z.string()), output: maybe(z.string()) })),
});
export type ReviewListItem = z.infer<typeof reviewListItemSchema>;

/** GET /api/quality/review. */
export const reviewListSchema = z.strictObject({
  data: z.array(reviewListItemSchema),
  next_cursor: maybe(z.string()),
});
export type ReviewList = z.infer<typeof reviewListSchema>;
