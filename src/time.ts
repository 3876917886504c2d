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

/** Milliseconds of a duration value (`30s`, `10m`, or a number of milliseconds). */
export function durationMs(d: number | string): number {
  if (typeof d === 'number') return d;
  const m = DURATION_PATTERN.exec(d);
  if (!m) throw new LlmscopeError('LLMSCOPE_ERR_CONFIG_INVALID', `not a duration: ${d}`);
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}
