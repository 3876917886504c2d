// A call as /api/requests, the session and trace pages and the user page send it (`callToWire` in calls/call.ts),
// its spans and events, and what the quality capability adds to its detail: evaluations and feedback.
import { z } from 'zod';
import { attributeValue, count, isoTime, maybe } from './common.js';
import { WIRE_ENDPOINTS, WIRE_STATUSES } from './endpoints.js';

export const callRecordSchema = z.strictObject({
  request_id: z.string(),
  trace_id: maybe(z.string()),
  started_at: isoTime,
  ended_at: isoTime,
  provider: z.string(),
  model: z.string(),
  endpoint: z.enum(WIRE_ENDPOINTS),
  stream: z.boolean(),
  status: z.enum(WIRE_STATUSES),
  http_status: z.number().int(),
  error_type: maybe(z.string()),
  error_message: maybe(z.string()),
  user: maybe(z.string()),
  team: maybe(z.string()),
  feature: maybe(z.string()),
  session: maybe(z.string()),
  /** The id of the virtual key that made the call (`key_…`, or a config key's `id`; never the key itself). */
  api_key_id: maybe(z.string()),
  /** `{}` when the call has none. */
  metadata: z.record(z.string(), z.string()),
  upstream_request_id: maybe(z.string()),
  input_tokens: maybe(count),
  output_tokens: maybe(count),
  cached_input_tokens: maybe(count),
  cache_write_input_tokens: maybe(count),
  reasoning_tokens: maybe(count),
  token_source: maybe(z.enum(['usage', 'tokenizer', 'estimate'])),
  ttft_ms: maybe(z.number()),
  tpot_ms: maybe(z.number()),
  latency_ms: z.number(),
  overhead_ms: z.number(),
  cost_usd: maybe(z.number()),
  price: maybe(
    z.strictObject({
      input: z.number(),
      cached_input: z.number(),
      cache_write: z.number().optional(),
      output: z.number(),
      /** Per audio token (input, cached input, output): only on a call whose audio was priced at audio prices. */
      audio_input: z.number().optional(),
      cached_audio_input: z.number().optional(),
      audio_output: z.number().optional(),
      /** Per unit (an image, a second of audio, a character): only on a call billed per unit; cost = units × unit_price. */
      unit: z.enum(['image', 'second', 'character']).optional(),
      unit_price: z.number().optional(),
      units: z.number().optional(),
      /** Built-in tools billed per use (web search, file search; web fetch at 0): unit_price USD a use, null unpriced. */
      tools: z
        .array(
          z.strictObject({
            tool: z.enum(['web_search', 'web_search_preview', 'file_search', 'web_fetch']),
            unit_price: z.number().nullable(),
            units: z.number(),
          }),
        )
        .optional(),
      source: z.string(),
    }),
  ),
  finish_reason: maybe(z.string()),
  refusal: z.boolean(),
  source: z.enum(['gateway', 'ingest']),
});
export type CallRecord = z.infer<typeof callRecordSchema>;

export const spanSchema = z.strictObject({
  trace_id: z.string(),
  span_id: z.string(),
  parent_span_id: maybe(z.string()),
  name: z.string(),
  kind: z.enum(['server', 'client', 'internal']),
  start_time: isoTime,
  end_time: isoTime,
  duration_ms: z.number(),
  status: z.enum(['unset', 'ok', 'error']),
  attributes: z.record(z.string(), attributeValue),
  events: z.array(
    z.strictObject({ name: z.string(), time: isoTime, attributes: z.record(z.string(), attributeValue) }),
  ),
});
export type Span = z.infer<typeof spanSchema>;

export const callEventSchema = z.strictObject({
  time: isoTime,
  name: z.string(),
  attributes: z.record(z.string(), attributeValue.nullable()),
});
export type CallEvent = z.infer<typeof callEventSchema>;

/** One evaluator's verdict on a call (`evaluationToWire` in quality/service.ts). */
export const evaluationSchema = z.strictObject({
  evaluator: z.string(),
  verdict: z.enum(['pass', 'fail', 'unknown', 'error']),
  score: z.number(),
  explanation: z.string(),
  /** The evidence and per-claim results as the evaluator wrote them. */
  evidence: z.array(z.unknown()),
  claims: z.array(z.unknown()),
  duration_ms: maybe(z.number()),
  created_at: isoTime,
});
export type Evaluation = z.infer<typeof evaluationSchema>;

/** Feedback on a call (`feedbackToWire` in quality/service.ts). */
export const feedbackSchema = z.strictObject({
  request_id: z.string(),
  source: z.string(),
  rating: z.enum(['up', 'down']),
  comment: maybe(z.string()),
  labels: z.array(z.string()),
  created_at: isoTime,
  updated_at: isoTime,
});
export type Feedback = z.infer<typeof feedbackSchema>;

/** GET /api/requests. */
export const callListSchema = z.strictObject({ data: z.array(callRecordSchema), next_cursor: maybe(z.string()) });
export type CallList = z.infer<typeof callListSchema>;

/** GET /api/requests/:id: the call, its spans and events, evaluations and feedback, log lines, and text if captured. */
export const callDetailSchema = callRecordSchema.extend({
  spans: z.array(spanSchema),
  events: z.array(callEventSchema),
  evaluations: z.array(evaluationSchema),
  feedback: z.array(feedbackSchema),
  content: z.strictObject({ input: maybe(z.string()), output: maybe(z.string()) }).optional(),
  /**
   * The log lines that carried the call's request_id, as written to stdout (JSON objects), oldest first: at most
   * telemetry.callLogLines; `logs_dropped` counts the call's lines not kept.
   */
  logs: z.array(z.record(z.string(), z.unknown())),
  logs_dropped: z.number().int().nonnegative(),
});
export type CallDetail = z.infer<typeof callDetailSchema>;
