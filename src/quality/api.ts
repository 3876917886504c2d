// HTTP routes of the quality capability:
//   POST /api/feedback                     thumbs up/down (idempotent per request_id and source)
//   GET  /api/quality/review               the review queue (?status=pending|labeled|all&reason&from&to&limit&cursor)
//   POST /api/quality/review               label one call (hallucination yes/no, refusal correct, notes)
//   GET  /api/quality/summary              rates over [from, to) (?group_by=model|feature)
//   GET  /api/quality/series               the same counts over time (?step=minute|hour&group_by)
//   GET  /api/quality/requests/:id         evaluations and feedback of one call
import { z } from 'zod';
import type { Audit } from '../audit/index.js';
import { LlmscopeError } from '../errors.js';
import { type Principal, parseBody, parseQuery, type Router, readJson, type Scope, sendJson } from '../http/index.js';
import { timeParamSchema } from '../time.js';
import { type QualityService, reviewToWire } from './service.js';
import type { QualityGroupBy } from './storage/index.js';
import { decodeCursor } from './storage/types.js';

const feedbackSchema = z
  .object({
    request_id: z.string().min(1).max(128),
    rating: z.enum(['up', 'down'], { message: 'expected "up" or "down"' }),
    comment: z.string().max(4000).nullable().optional(),
    labels: z.array(z.string().min(1).max(64)).max(20).optional(),
    source: z.string().min(1).max(64).optional(),
  })
  .strict();

const labelSchema = z
  .object({
    request_id: z.string().min(1).max(128),
    hallucination: z.boolean().nullable().optional(),
    refusal_correct: z.boolean().nullable().optional(),
    notes: z.string().max(4000).nullable().optional(),
    reviewer: z.string().max(128).nullable().optional(),
  })
  .strict();

const time = timeParamSchema;
const rangeSchema = z.object({ from: time.optional(), to: time.optional() });
const groupBy = z.enum(['model', 'feature'], { message: 'expected "model" or "feature"' }).optional();
const summarySchema = rangeSchema.extend({ group_by: groupBy });
const seriesSchema = summarySchema.extend({
  step: z.enum(['minute', 'hour'], { message: 'expected minute or hour' }).optional(),
});
const LIMIT = 'expected an integer from 1 to 500';
const reviewSchema = rangeSchema.extend({
  status: z.enum(['pending', 'labeled', 'all'], { message: 'expected pending, labeled or all' }).default('pending'),
  // a review item's reason (storage/types.ts ReviewReason), or flag for any evaluator's: anything else lists nothing
  reason: z
    .string()
    .regex(/^(sample|thumbs_down|refusal|manual|flag(:.{1,128})?)$/, {
      message: 'expected sample, thumbs_down, refusal, manual, flag (any evaluator) or flag:<evaluator>',
    })
    .optional(),
  // the review queue's own cursor (base64url of [called at, request id]): anything else is refused, not read as page 1
  cursor: z
    .string()
    .refine((c) => decodeCursor(c) !== null, {
      message: 'not a cursor from this API; pass the next_cursor of the previous page unchanged',
    })
    .optional(),
  limit: z.coerce
    .number({ message: LIMIT })
    .int({ message: LIMIT })
    .min(1, { message: LIMIT })
    .max(500, { message: LIMIT })
    .default(50),
});

/** The window of a parsed query: `to` defaults to now, `from` to `defaultMs` before it. */
function windowOf(q: { from?: number; to?: number }, now: number, defaultMs: number): { from: number; to: number } {
  const to = q.to ?? now;
  const from = q.from ?? to - defaultMs;
  if (from >= to)
    throw new LlmscopeError(
      'LLMSCOPE_ERR_INVALID_QUERY',
      'invalid query parameter "from": "from" must be before "to"',
      {
        param: 'from',
      },
    );
  return { from, to };
}

/** `from`/`to` as ISO 8601 or epoch milliseconds; the default window is the last 24 hours. */
export function parseRange(url: URL, now: number, defaultMs = 86_400_000): { from: number; to: number } {
  return windowOf(parseQuery(rangeSchema, url), now, defaultMs);
}

export function registerQualityRoutes(
  api: Router,
  service: QualityService,
  opts: {
    bodyLimit: number;
    now: () => number;
    audit?: Audit;
    /** Whether a team scope holds this call (without it, scoped principals reach no call here). */
    visible?: (scope: Scope, requestId: string) => Promise<boolean>;
  },
): void {
  /** A team-scoped principal reaches only its teams' calls: another team's is a 404, as on /api/requests/:id. */
  const mustSee = async (principal: Principal | undefined, requestId: string): Promise<void> => {
    if (!principal?.scope) return;
    if (opts.visible && (await opts.visible(principal.scope, requestId))) return;
    throw new LlmscopeError('LLMSCOPE_ERR_NOT_FOUND', `no call with request_id "${requestId}" in the store`);
  };

  api.post('/api/feedback', async ({ req, res, principal }) => {
    const body = parseBody(feedbackSchema, await readJson(req, Math.min(opts.bodyLimit, 1024 * 1024)));
    await mustSee(principal, body.request_id);
    const r = await service.giveFeedback(body);
    // The comment is the giver's free text: the log keeps that feedback was given, not what it said.
    await opts.audit?.record(
      { req, principal },
      {
        action: 'feedback.put',
        target: `request:${body.request_id}`,
        detail: { rating: body.rating, source: body.source ?? null, created: r.created },
      },
    );
    sendJson(res, r.created ? 201 : 200, { ...r.feedback, created: r.created });
  });

  api.get('/api/quality/review', async ({ res, url }) => {
    const q = parseQuery(reviewSchema, url);
    const range =
      q.from !== undefined || q.to !== undefined ? windowOf(q, opts.now(), Number.MAX_SAFE_INTEGER / 2) : {};
    sendJson(
      res,
      200,
      await service.listReview({ status: q.status, reason: q.reason, limit: q.limit, cursor: q.cursor, ...range }),
    );
  });

  api.post('/api/quality/review', async ({ req, res, principal }) => {
    const body = parseBody(labelSchema, await readJson(req, Math.min(opts.bodyLimit, 1024 * 1024)));
    await mustSee(principal, body.request_id);
    const item = await service.label(body);
    await opts.audit?.record(
      { req, principal },
      {
        action: 'review.label',
        target: `request:${body.request_id}`,
        detail: { hallucination: body.hallucination ?? null, refusal_correct: body.refusal_correct ?? null },
      },
    );
    sendJson(res, 200, reviewToWire(item));
  });

  api.get('/api/quality/summary', async ({ res, url }) => {
    const q = parseQuery(summarySchema, url);
    const { from, to } = windowOf(q, opts.now(), 86_400_000);
    const groupBy: QualityGroupBy | undefined = q.group_by;
    const s = await service.summary({ from, to, groupBy });
    sendJson(res, 200, {
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      group_by: groupBy ?? null,
      ...s,
    });
  });

  api.get('/api/quality/series', async ({ res, url }) => {
    const q = parseQuery(seriesSchema, url);
    const { from, to } = windowOf(q, opts.now(), 86_400_000);
    const stepRaw = q.step ?? (to - from <= 6 * 3_600_000 ? 'minute' : 'hour');
    const points = (to - from) / (stepRaw === 'minute' ? 60_000 : 3_600_000);
    if (points > 20_000)
      throw new LlmscopeError(
        'LLMSCOPE_ERR_INVALID_QUERY',
        `invalid query parameter "step": ${Math.ceil(points)} points is too many; use a shorter range or step=hour`,
        { param: 'step' },
      );
    const groupBy: QualityGroupBy | undefined = q.group_by;
    sendJson(res, 200, {
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      step: stepRaw,
      group_by: groupBy ?? null,
      data: await service.series({ from, to, step: stepRaw, groupBy }),
    });
  });

  api.get('/api/quality/requests/:id', async ({ res, params, principal }) => {
    const id = params.id ?? '';
    await mustSee(principal, id);
    const [evaluations, feedback] = await Promise.all([service.evaluationsFor(id), service.feedbackFor(id)]);
    sendJson(res, 200, { request_id: id, evaluations, feedback });
  });
}
