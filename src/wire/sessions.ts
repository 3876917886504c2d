// GET /api/sessions/:id and /api/traces/:id (api/sessions.ts), GET /api/users/:id (api/users.ts).
import { z } from 'zod';
import { callRecordSchema, evaluationSchema, feedbackSchema, spanSchema } from './calls.js';
import { count, isoTime, maybe } from './common.js';

const verdictCounts = z.record(z.string(), count);

/** A call in a session or trace: its record, spans, and the quality capability's evaluations and feedback. */
export const sessionCallSchema = callRecordSchema.extend({
  spans: z.array(spanSchema),
  evaluations: z.array(evaluationSchema),
  feedback: z.array(feedbackSchema),
});
export type SessionCall = z.infer<typeof sessionCallSchema>;

export const sessionSchema = z.strictObject({
  kind: z.enum(['session', 'trace']),
  id: z.string(),
  totals: z.strictObject({
    calls: count,
    errors: count,
    input_tokens: count,
    output_tokens: count,
    cached_input_tokens: count,
    cost_usd: z.number(),
    unpriced_calls: count,
    latency_ms: z.number(),
    started_at: maybe(isoTime),
    ended_at: maybe(isoTime),
    wall_ms: maybe(z.number()),
    /** model → calls, most used first. */
    models: z.record(z.string(), count),
    traces: z.array(z.string()),
    sessions: z.array(z.string()),
    users: z.array(z.string()),
  }),
  quality: z.strictObject({
    calls_examined: count,
    verdicts: verdictCounts,
    by_evaluator: z.record(z.string(), verdictCounts),
    feedback: z.strictObject({ up: count, down: count }),
  }),
  calls: z.array(sessionCallSchema),
  next_cursor: maybe(z.string()),
  truncated: z.boolean(),
});
export type SessionBody = z.infer<typeof sessionSchema>;

const spendGroup = {
  calls: count,
  errors: count,
  cost_usd: z.number(),
  unpriced_calls: count,
  input_tokens: count,
  output_tokens: count,
};

export const userSchema = z.strictObject({
  user: z.string(),
  window: z.strictObject({ from: isoTime, to: isoTime }),
  spend: z.strictObject({
    /** null when the cost capability is not in this build. */
    today_usd: maybe(z.number()),
    month_usd: maybe(z.number()),
    window_usd: z.number(),
    window_unpriced_calls: count,
    by_model: z.array(z.strictObject({ model: z.string(), ...spendGroup })),
    by_feature: z.array(z.strictObject({ feature: maybe(z.string()), ...spendGroup })),
  }),
  calls: z.strictObject({
    count,
    errors: count,
    error_rate: maybe(z.number()),
    by_status: z.record(z.string(), count),
    latency_p50_ms: maybe(z.number()),
    latency_p95_ms: maybe(z.number()),
    truncated: z.boolean(),
  }),
  recent: z.array(callRecordSchema),
  feedback: z.strictObject({ up: count, down: count }),
  quality: z.strictObject({
    calls_examined: count,
    verdicts: verdictCounts,
    by_evaluator: z.record(z.string(), verdictCounts),
  }),
  budgets: z.array(
    z.strictObject({
      name: z.string(),
      scope: z.string(),
      period: z.string(),
      limit_usd: z.number(),
      action: z.string(),
      spent_usd: z.number(),
      reserved_usd: z.number(),
      ratio: maybe(z.number()),
      resets_at: isoTime,
    }),
  ),
});
export type UserBody = z.infer<typeof userSchema>;
