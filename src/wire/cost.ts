// The cost capability's answers (cost/routes.ts): summaries, time series, days, budgets, reconciliations.
import { z } from 'zod';
import { count, isoDay, isoTime, maybe } from './common.js';

export const costFiguresSchema = z.strictObject({
  cost_usd: z.number(),
  requests: count,
  unpriced_requests: count,
  input_tokens: count,
  output_tokens: count,
  cached_input_tokens: count,
  cache_write_input_tokens: maybe(count),
  reasoning_tokens: maybe(count),
  /**
   * The part of cost_usd charged for built-in tool uses (web search, file search; decision 163): 0 for spend summed
   * before llmscope kept it apart, null where the figures read do not keep it (group_by=meta.<key>, team-scoped).
   */
  tool_cost_usd: maybe(z.number()),
  /** cost_usd less tool_cost_usd: the tokens' (and per-unit usage's) part; null with it. */
  token_cost_usd: maybe(z.number()),
  cost_per_request: maybe(z.number()),
  cost_per_1k_tokens: maybe(z.number()),
});
export type CostFigures = z.infer<typeof costFiguresSchema>;

/** GET /api/cost/summary. */
export const costSummarySchema = z.strictObject({
  from: isoTime,
  to: isoTime,
  /** `call`: summed from raw calls (group_by=meta.<key>), so only as far back as raw calls are kept. */
  resolution: z.enum(['minute', 'day', 'call']),
  /**
   * The span the figures cover: the whole minutes (`minute`) or UTC days (`day`: ranges older than minute retention)
   * the asked range falls in, or the range itself (`call`).
   */
  read_from: isoTime,
  read_to: isoTime,
  group_by: maybe(z.string()),
  total: costFiguresSchema,
  groups: z.array(costFiguresSchema.extend({ key: maybe(z.string()), share: maybe(z.number()) })),
  /** The groups past `limit`, summed. */
  rest: maybe(costFiguresSchema),
  /**
   * The month's total and forecast (every team, non-API costs too); null for a team-scoped principal. The forecast is
   * also null while spend is less than a day old (`forecast_basis` too_little_history).
   */
  month_to_date_usd: maybe(z.number()),
  forecast_month_end_usd: maybe(z.number()),
  /**
   * How many days of spend the forecast's rate is measured over (`/api/cost/forecast`'s rate_span_days): minutes
   * after the first call, up to 7 days. Absent, or null for a team-scoped principal.
   */
  forecast_rate_span_days: maybe(z.number()).optional(),
  /**
   * `rate`: the forecast is the month to date plus that rate over the rest of the month. `too_little_history`: the
   * first call with spend was less than a day ago, the forecast is null and `forecast_note` says so in words. Null for
   * a team-scoped principal.
   */
  forecast_basis: maybe(z.enum(['rate', 'too_little_history'])).optional(),
  forecast_note: maybe(z.string()).optional(),
});
export type CostSummary = z.infer<typeof costSummarySchema>;

/** GET /api/cost/timeseries. */
export const costTimeseriesSchema = z.strictObject({
  from: isoTime,
  to: isoTime,
  step: z.enum(['minute', 'hour', 'day']),
  points: z.array(costFiguresSchema.extend({ t: isoTime })),
});
export type CostTimeseries = z.infer<typeof costTimeseriesSchema>;
export type CostPoint = CostTimeseries['points'][number];

const dailyCostSchema = z.strictObject({
  day: isoDay,
  api_usd: z.number(),
  /** The part of api_usd charged for built-in tool uses (decision 163); null where not kept (team-scoped). */
  api_tool_usd: maybe(z.number()),
  non_api_usd: z.number(),
  total_usd: z.number(),
  non_api: z.array(z.strictObject({ category: z.string(), name: z.string(), amount_usd: z.number() })),
});

/** GET /api/cost/daily. */
export const costDailySchema = z.strictObject({
  from: isoDay,
  to: isoDay,
  api_usd: z.number(),
  /** The days' api_tool_usd summed; null where a day's is. */
  api_tool_usd: maybe(z.number()),
  non_api_usd: z.number(),
  total_usd: z.number(),
  days: z.array(dailyCostSchema),
});
export type CostDaily = z.infer<typeof costDailySchema>;

export const budgetSchema = z.strictObject({
  name: z.string(),
  scope: z.string(),
  match: maybe(z.string()),
  period: z.string(),
  limit_usd: z.number(),
  action: z.enum(['alert', 'block']),
  warn: z.array(z.number()),
  ratio: z.number(),
  resets_at: isoTime,
  buckets: z.array(
    z.strictObject({
      value: maybe(z.string()),
      period_start: isoTime,
      spent_usd: z.number(),
      reserved_usd: z.number(),
      in_flight: count,
      ratio: maybe(z.number()),
    }),
  ),
});
export type Budget = z.infer<typeof budgetSchema>;

/** GET /api/cost/budgets. */
export const budgetsSchema = z.strictObject({ budgets: z.array(budgetSchema) });
export type Budgets = z.infer<typeof budgetsSchema>;

export const reconciliationSchema = z.strictObject({
  id: z.string(),
  created_at: isoTime,
  source: z.string(),
  from: isoDay,
  to: isoDay,
  providers: z.array(z.string()),
  billed_usd: z.number(),
  tracked_usd: z.number(),
  gap_usd: z.number(),
  gap_ratio: z.number(),
  over_threshold: z.boolean(),
  causes: z.array(z.string()),
});
export type Reconciliation = z.infer<typeof reconciliationSchema>;

/** GET /api/cost/reconciliations. */
export const reconciliationsSchema = z.strictObject({ reconciliations: z.array(reconciliationSchema) });
export type Reconciliations = z.infer<typeof reconciliationsSchema>;
