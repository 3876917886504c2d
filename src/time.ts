// Time units in milliseconds and the one duration format of the config (`500ms`, `30s`, `10m`, `2h`, `7d`, or a
// number of milliseconds), for every module: a minute is defined here, not in each file that needs one.
import { z } from 'zod';
import { LlmscopeError } from './errors.js';

export const SECOND_MS = 1000;
export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

const UNIT_MS = { ms: 1, s: SECOND_MS, m: MINUTE_MS, h: HOUR_MS, d: DAY_MS } as const;
/** `500ms`, `30s`, `10m`, `2h`, `7d`: a number and one unit. */
export const DURATION_PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/** What DURATION_PATTERN accepts, in words, for messages that refuse a duration. */
export const DURATION_FORMS = 'a number and one unit, ms, s, m, h or d: 500ms, 30s, 10m, 2h, 7d, 1.5h';

/** A duration in the config: milliseconds as a number, or `500ms`, `30s`, `10m`, `2h`, `7d`. */
export const durationSchema = z.union([
  z.number().nonnegative(),
  z.string().regex(DURATION_PATTERN, 'a duration like 500ms, 30s, 10m, 2h or 7d'),
]);
export type Duration = z.infer<typeof durationSchema>;

/** The longest delay a Node timer keeps (2^31 - 1 ms, about 24.8 days): a longer one fires after 1 ms. */
export const MAX_TIMER_MS = 2_147_483_647;

/** A duration a timer waits for (an interval, a timeout): at most MAX_TIMER_MS, said in the config's words. */
export const timerDurationSchema = durationSchema.refine(
  (d) => (typeof d === 'string' && !DURATION_PATTERN.test(d)) || durationMs(d) <= MAX_TIMER_MS,
  'at most 24d (2147483647 ms, the longest timer Node keeps)',
);

/** Milliseconds of a duration value (`30s`, `10m`, or a number of milliseconds). */
export function durationMs(d: number | string): number {
  if (typeof d === 'number') return d;
  const m = DURATION_PATTERN.exec(d);
  if (!m) throw new LlmscopeError('LLMSCOPE_ERR_CONFIG_INVALID', `not a duration: ${d}`);
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

/** What a `from`/`to` (or other time) query parameter accepts, in words, for the message that refuses one. */
export const TIME_PARAM_FORMS =
  'an ISO 8601 date-time with Z or an offset (e.g. 2026-01-31T12:00:00Z), a date (2026-01-31, midnight UTC) or epoch milliseconds';

const EPOCH_MS = /^\d{1,16}$/;
const isoDateTime = z.iso.datetime({ offset: true });
const isoDate = z.iso.date();
export const MAX_TIME_MS = 8.64e15; // the largest time a JS Date can hold
/** Whether epoch ms `t` is a time a JS Date can hold (a stored row may carry one it cannot: listed as null, not a 500). */
export const isDateTime = (t: number): boolean => Number.isFinite(t) && Math.abs(t) <= MAX_TIME_MS;
/** ISO 8601 of epoch ms, or null for no time or one no Date can hold. */
export const isoOrNull = (t: number | null): string | null =>
  t === null || !isDateTime(t) ? null : new Date(t).toISOString();
/** The latest time an ISO 8601 date-time with a four-digit year names (9999-12-31T23:59:59.999Z), in epoch ms. */
export const MAX_ISO_MS = 253_402_300_799_999;

/** Epoch milliseconds of a time query parameter in one of TIME_PARAM_FORMS, or null when it is none of them. */
export function timeParamMs(s: string): number | null {
  const ms = EPOCH_MS.test(s)
    ? Number(s)
    : isoDateTime.safeParse(s).success || isoDate.safeParse(s).success
      ? Date.parse(s)
      : Number.NaN;
  return Number.isFinite(ms) && ms <= MAX_TIME_MS ? ms : null;
}

/**
 * The one schema for a time in a query string (every /api route's `from` and `to`): epoch milliseconds, an ISO 8601
 * date-time, or a date. A bad value fails with one message naming the accepted forms, which `parseQuery` prefixes
 * with the parameter's name and suffixes with the value sent.
 */
export const timeParamSchema = z.string().transform((s, ctx) => {
  const ms = timeParamMs(s);
  if (ms === null) {
    ctx.addIssue({ code: 'custom', message: `expected ${TIME_PARAM_FORMS}` });
    return z.NEVER;
  }
  return ms;
});
