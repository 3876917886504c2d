// Units of alert values, from the rule's condition kind (the units src/alerts/kinds declare): an alert's value
// reads "2.31 s" or "12.5%" or "$41.20", never a bare number.
import { compact, ms, pct, usd } from './dom.js';

const SECONDS = new Set(['latency_quantile', 'ttft_quantile', 'tpot_quantile']);
const RATIO = new Set([
  'error_rate',
  'refusal_rate',
  'thumbs_down_rate',
  'hallucination_rate',
  'gpu_utilization',
  'gpu_memory',
  'budget_ratio',
  'reconciliation_gap',
  'slo_burn',
]);
const USD = new Set(['spend_day', 'spend_mtd', 'spend_forecast', 'single_call_cost']);

/** The unit of a condition kind: seconds, ratio, usd, rps or score. */
export function unitOfKind(kind: string | undefined): 'seconds' | 'ratio' | 'usd' | 'rps' | 'score' {
  if (kind === undefined) return 'score';
  if (SECONDS.has(kind)) return 'seconds';
  if (RATIO.has(kind)) return 'ratio';
  if (USD.has(kind)) return 'usd';
  if (kind === 'request_rate') return 'rps';
  return 'score';
}

/** A value in its unit. */
export function withUnit(v: number | null | undefined, unit: ReturnType<typeof unitOfKind>): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  switch (unit) {
    case 'seconds':
      return ms(v * 1000);
    case 'ratio':
      return pct(v, Math.abs(v) < 0.1 ? 2 : 1);
    case 'usd':
      return usd(v);
    case 'rps':
      return `${v !== 0 && Math.abs(v) < 0.01 ? v.toPrecision(2) : compact(v)} req/s`;
    default:
      return `score ${compact(v)}`;
  }
}

/** An alert's value in the unit of its rule's first condition (composite rules report their first condition). */
export function alertValue(
  v: number | null | undefined,
  ruleId: string,
  rules: readonly { id: string; kinds: string[] }[] | undefined,
): string {
  const kinds = rules?.find((r) => r.id === ruleId)?.kinds ?? [];
  return withUnit(v, unitOfKind(kinds.find((k) => k !== 'all') ?? kinds[0]));
}

/**
 * The month tile's words for a team-scoped sign-in, whose /api/cost/summary answers the month to date and forecast
 * null: they are every team's spend, non-API costs too.
 */
export const SCOPED_MONTH = "every team's spend: not available for a team-scoped sign-in";

/**
 * What a month-end forecast is measured from (/api/cost/summary's forecast_rate_span_days): the rate since the first
 * call, up to the last 7 days (across a month boundary, so a month's start reads the last week too), once a day of
 * spend is in; else how little spend it is, so a span under a day is read as the guess it is (the server gives none:
 * a store under a day old has a note instead of a forecast, and an older one's span is at least a day).
 */
export function forecastBasis(spanDays: number | null | undefined): string {
  if (spanDays === null || spanDays === undefined || !Number.isFinite(spanDays) || spanDays >= 1)
    return 'at the rate since the first call (up to 7 days)';
  const minutes = spanDays * 24 * 60;
  const span = minutes < 90 ? `${Math.max(1, Math.round(minutes))} min` : `${Math.round(minutes / 60)} h`;
  return `from only ${span} of spend: a rough guess until a day of calls`;
}
