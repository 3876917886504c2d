// GET /api/overview (api/overview.ts): the window's figures, its points, and the rate now.
import { z } from 'zod';
import { count, maybe } from './common.js';

export const figuresSchema = z.strictObject({
  requests: count,
  errors: count,
  error_rate: maybe(z.number()),
  refusals: count,
  refusal_rate: maybe(z.number()),
  rps: z.number(),
  input_tokens: count,
  output_tokens: count,
  cached_input_tokens: count,
  tokens_per_s: z.number(),
  output_tokens_per_s: z.number(),
  cost_usd: z.number(),
  latency_p50: maybe(z.number()),
  latency_p95: maybe(z.number()),
  latency_p99: maybe(z.number()),
  ttft_p50: maybe(z.number()),
  ttft_p95: maybe(z.number()),
  ttft_p99: maybe(z.number()),
  tpot_p50: maybe(z.number()),
  tpot_p95: maybe(z.number()),
  tpot_p99: maybe(z.number()),
});
export type Figures = z.infer<typeof figuresSchema>;

export const currentRateSchema = z.strictObject({
  /** The span measured (epoch ms): from max(data_from, to − 5 min) to the end of the last complete minute. */
  from: z.number(),
  to: z.number(),
  seconds: z.number(),
  /** True when no complete minute had enough data and the still-filling minutes were used. */
  partial: z.boolean(),
  requests: count,
  errors: count,
  error_rate: maybe(z.number()),
  rps: z.number(),
  tokens_per_s: z.number(),
  output_tokens_per_s: z.number(),
});
export type CurrentRate = z.infer<typeof currentRateSchema>;

export const overviewSchema = z.strictObject({
  from: z.number(),
  to: z.number(),
  step: z.enum(['minute', 'hour']),
  step_ms: z.number(),
  filter: z.record(z.string(), z.string()),
  /** How the points were read: compacted (sealed buckets) + rollups (recent or filtered), for diagnosis. */
  source: z.strictObject({ compacted_buckets: count, rollup_rows: count }),
  summary: figuresSchema,
  /** When the window's data begins: the first call's start, `from` when calls came before it, null: no calls. */
  data_from: maybe(z.number()),
  /** Buckets ending after this are still filling (`partial`). */
  complete_to: z.number(),
  current: maybe(currentRateSchema),
  points: z.array(figuresSchema.extend({ t: z.number(), partial: z.boolean() })),
});
export type Overview = z.infer<typeof overviewSchema>;

/** GET /api/ui/config: what the dashboard needs from the config (nothing secret). */
export const uiConfigSchema = z.strictObject({
  trace_url_template: maybe(z.string()),
  /** storage.retention.raw in ms: how far back raw calls (and so spend by a metadata key) reach. */
  raw_retention_ms: z.number().int().positive().optional(),
});
export type UiConfig = z.infer<typeof uiConfigSchema>;
