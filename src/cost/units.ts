// Per-unit prices (decision 118): the OpenAI models billed by the image, by the second of audio or by the character
// rather than by the token (DALL·E, whisper-1, tts-1 / tts-1-hd), and what such a call was billed for. A call's units
// are recorded as its `billing.units` event (the gateway writes it from the request, or a transcription's answer);
// its cost is units × the unit price. Also the GPT image models' output tokens by quality and size, what their
// admission reserves (decision 120). Pure; no I/O.
import type { BilledUnits } from '../calls/units.js';

export {
  type BilledUnits,
  type BillingUnit,
  characterCount,
  requestUnitsOf,
  UNIT_ENDPOINTS,
  UNITS_EVENT,
  unitsEvent,
  unitsOfCall,
} from '../calls/units.js';

/** A model's per-unit prices, as the catalog and `pricing.models` give them (src/cost/catalog/types.ts). */
export interface UnitPrices {
  /** USD per image, by quality, then size. */
  perImage?: Record<string, Record<string, number>>;
  /** USD per minute of audio (billed by the second). */
  perMinute?: number;
  /** USD per 1M characters of input text. */
  perMillionCharacters?: number;
}

/** The per-unit prices of a catalog version or config rule, or null when it has none. */
export function unitPricesOf(v: UnitPrices): UnitPrices | null {
  if (v.perImage === undefined && v.perMinute === undefined && v.perMillionCharacters === undefined) return null;
  const out: UnitPrices = {};
  if (v.perImage !== undefined) out.perImage = v.perImage;
  if (v.perMinute !== undefined) out.perMinute = v.perMinute;
  if (v.perMillionCharacters !== undefined) out.perMillionCharacters = v.perMillionCharacters;
  return out;
}

/** The size an image request without one (or with `auto`) gets from DALL·E: 1024x1024. */
const DEFAULT_SIZE = '1024x1024';
/** The quality DALL·E gives an image request without one (or with `auto`): standard. */
const DEFAULT_QUALITY = 'standard';

/**
 * USD per unit of `units` at `p`, or null when `p` has no price for it (an image size the table lacks). An image's
 * quality the table lacks (dall-e-2 has only `standard`; `auto`) is priced at `standard`.
 */
export function unitPriceOf(p: UnitPrices, units: BilledUnits): number | null {
  if (units.unit === 'image') {
    if (!p.perImage) return null;
    const size = !units.size || units.size === 'auto' ? DEFAULT_SIZE : units.size;
    const q = units.quality && p.perImage[units.quality] ? units.quality : DEFAULT_QUALITY;
    return p.perImage[q]?.[size] ?? null;
  }
  if (units.unit === 'second') return p.perMinute === undefined ? null : p.perMinute / 60;
  return p.perMillionCharacters === undefined ? null : p.perMillionCharacters / 1e6;
}

/** The largest per-image price of a table (an admission's bound for a size or quality it does not know). */
function maxImagePrice(table: Record<string, Record<string, number>>): number {
  let max = 0;
  for (const q of Object.values(table)) for (const v of Object.values(q)) if (v > max) max = v;
  return max;
}

/** `count` units at `each` USD, rounded to 1e-12 USD as token costs are. */
const costAt = (count: number, each: number): number => Math.round(count * each * 1e12) / 1e12;

/** USD for `units` at `p` (rounded to 1e-12 as token costs are), or null when `p` has no price for them. */
export function unitCostOf(p: UnitPrices, units: BilledUnits): number | null {
  const each = unitPriceOf(p, units);
  return each === null ? null : costAt(units.count, each);
}

/**
 * What admission reserves for a call billed per unit: its units at their price, an image of a size or quality the
 * table does not have at the table's largest price; null when `p` does not price such units.
 */
export function unitEstimateOf(p: UnitPrices, units: BilledUnits): number | null {
  const exact = unitCostOf(p, units);
  if (exact !== null || units.unit !== 'image' || !p.perImage) return exact;
  return costAt(units.count, maxImagePrice(p.perImage));
}

/**
 * The GPT image models' output tokens per image, by quality and size: OpenAI's image generation guide ("Cost and
 * latency", https://platform.openai.com/docs/guides/image-generation#cost-and-latency). What admission reserves for
 * such a call (decision 120) instead of the budget's `reserveOutputTokens`.
 */
export const IMAGE_OUTPUT_TOKENS: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  low: { '1024x1024': 272, '1024x1536': 408, '1536x1024': 400 },
  medium: { '1024x1024': 1056, '1024x1536': 1584, '1536x1024': 1568 },
  high: { '1024x1024': 4160, '1024x1536': 6240, '1536x1024': 6208 },
};
/** The table's largest: what an image of a size or quality it lacks (`auto`, none) reserves. */
const MAX_IMAGE_OUTPUT_TOKENS = 6240;

/** Output tokens an image request to a GPT image model reserves: n × the table's tokens (its largest when unknown). */
export function imageOutputTokens(units: BilledUnits): number {
  const t = units.quality ? IMAGE_OUTPUT_TOKENS[units.quality]?.[units.size ?? ''] : undefined;
  return units.count * (t ?? MAX_IMAGE_OUTPUT_TOKENS);
}
