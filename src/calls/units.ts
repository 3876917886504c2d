// What a call billed per unit (decision 118: DALL·E per image, whisper-1 per second of audio, tts-1 per character)
// was billed for, and where the record keeps it: its `billing.units` event, written by the gateway from the request
// (an image request's n, size and quality; a speech request's characters) or a transcription's answer (its seconds).
// The prices are the cost capability's (src/cost/units.ts). Pure; no I/O.
import { type CallEvent, type Endpoint, type LlmCall, PLATFORM_ENDPOINTS } from './call.js';

type Json = Record<string, unknown>;

/** The name of the event a call's billed units are recorded in. */
export const UNITS_EVENT = 'billing.units';

/** What a per-unit price is per, as the applied price (`price.unit`) names it. */
export const BILLING_UNITS = ['image', 'second', 'character'] as const;
export type BillingUnit = (typeof BILLING_UNITS)[number];

/** What a call was (or will be) billed for: a count of units, and an image's size and quality (its price's keys). */
export interface BilledUnits {
  unit: BillingUnit;
  count: number;
  size?: string;
  quality?: string;
}

/** The endpoints whose calls may be billed per unit: the platform's, but a batch's creation (billed as it runs). */
export const UNIT_ENDPOINTS: ReadonlySet<Endpoint> = new Set<Endpoint>(
  [...PLATFORM_ENDPOINTS].filter((e) => e !== 'batches'),
);

const text = (v: unknown): string | undefined =>
  typeof v === 'string' && v.length > 0 && v.length <= 32 ? v : undefined;

/** Characters of a text as billed: Unicode code points (an emoji is one, not two UTF-16 units). */
export function characterCount(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // a high surrogate followed by a low one is one character
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/**
 * Audio bytes a second that an upload is estimated at before a transcription is answered (admission only): 16,000,
 * a 128 kbit/s MP3. A WAV (32-48 kB/s) is over-estimated, a low-bitrate Opus under-estimated; the call settles on
 * the seconds its answer reports.
 */
export const UPLOAD_BYTES_PER_SECOND = 16_000;

/**
 * The units a request will be billed for, as far as its JSON body (or, for an upload, its size) tells before the
 * call: an image request's `n` images of its `size` and `quality`, a speech request's characters of `input`, a
 * transcription's seconds estimated from the upload's `bytes` (UPLOAD_BYTES_PER_SECOND, at least 1). Null for other
 * endpoints and bodies that do not say.
 */
export function requestUnitsOf(endpoint: Endpoint, body: Json, bytes = 0): BilledUnits | null {
  switch (endpoint) {
    case 'images.generations':
    case 'images.edits':
    case 'images.variations': {
      const n = typeof body.n === 'number' && Number.isFinite(body.n) && body.n >= 1 ? Math.floor(body.n) : 1;
      const out: BilledUnits = { unit: 'image', count: Math.min(n, 100) };
      const size = text(body.size);
      const quality = text(body.quality);
      if (size !== undefined) out.size = size;
      if (quality !== undefined) out.quality = quality;
      return out;
    }
    case 'audio.speech':
      return typeof body.input === 'string' ? { unit: 'character', count: characterCount(body.input) } : null;
    case 'audio.transcriptions':
    case 'audio.translations':
      return bytes > 0 ? { unit: 'second', count: Math.max(1, Math.ceil(bytes / UPLOAD_BYTES_PER_SECOND)) } : null;
    default:
      return null;
  }
}

/** The event a Realtime session's whisper-1 input transcription keeps its seconds on (`seconds`). */
const REALTIME_DURATION_EVENT = 'realtime.transcription_duration';

/**
 * A call's billed units, from its `billing.units` event, or a Realtime whisper-1 transcription's seconds (its
 * `realtime.transcription_duration` event); null when it has neither.
 */
export function unitsOfCall(events: readonly CallEvent[]): BilledUnits | null {
  for (const e of events) {
    if (e.name === REALTIME_DURATION_EVENT) {
      const s = e.attributes?.seconds;
      return typeof s === 'number' && Number.isFinite(s) && s >= 0 ? { unit: 'second', count: s } : null;
    }
    if (e.name !== UNITS_EVENT || !e.attributes) continue;
    const a = e.attributes;
    const unit = a.unit;
    const count = a.count;
    if ((unit !== 'image' && unit !== 'second' && unit !== 'character') || typeof count !== 'number') return null;
    if (!Number.isFinite(count) || count < 0) return null;
    const out: BilledUnits = { unit, count };
    if (typeof a.size === 'string') out.size = a.size;
    if (typeof a.quality === 'string') out.quality = a.quality;
    return out;
  }
  return null;
}

/** The event that records `units` (its attributes: unit, count, and an image's size and quality when known). */
export function unitsEvent(units: BilledUnits, time: number): CallEvent {
  const attributes: Record<string, string | number> = { unit: units.unit, count: units.count };
  if (units.size !== undefined) attributes.size = units.size;
  if (units.quality !== undefined) attributes.quality = units.quality;
  return { time, name: UNITS_EVENT, attributes };
}

/**
 * Whether pricing found no price for a call whose usage is known: its tokens, or the units of a call billed per unit
 * (an image, a second, a character) to a model no price names. What `PriceBook.priceCall` says as `unpriced`, read back
 * from the call, so the process that counts it need not be the one that priced it, and the one rule the cost module's
 * spend rows, the Cost page and the user and session pages count by. A call that failed before any usage (cost null,
 * its model priced) or a priced model's units its table lacks (cost null, a price applied) is not one.
 */
export function unpricedCall(call: LlmCall): boolean {
  if (call.costUsd !== null || call.price !== null) return false;
  if (call.inputTokens !== null || call.outputTokens !== null) return true;
  return unitsRecorded(call);
}

/**
 * Whether a call that may be billed per unit has a units event, counted or not (UNPRICED_SQL's test): an ingested
 * record of a model priced per unit that gave neither its cost nor its units is recorded with one naming the unit
 * and no count (unitsUnknownEvent, decision 152), so it is unpriced rather than a silent $0.
 */
function unitsRecorded(call: Pick<LlmCall, 'endpoint' | 'events'>): boolean {
  if (!UNIT_ENDPOINTS.has(call.endpoint) && call.endpoint !== 'realtime') return false;
  return call.events.some((e) => e.name === UNITS_EVENT || e.name === REALTIME_DURATION_EVENT);
}

/** A units event naming the unit but no count: the call was billed per unit, how many is not known (decision 152). */
export function unitsUnknownEvent(unit: BillingUnit, time: number): CallEvent {
  return { time, name: UNITS_EVENT, attributes: { unit } };
}

/** Whether the call's units event names no count (unitsUnknownEvent). */
export function unitsUnknown(call: Pick<LlmCall, 'events'>): boolean {
  return call.events.some((e) => e.name === UNITS_EVENT && e.attributes?.count === undefined);
}

/**
 * The units a finished call was billed for when it may be billed per unit (a platform call, or a Realtime session's
 * whisper-1 transcription): its recorded units (unitsOfCall); null for other calls, or when none were recorded.
 */
export function billedUnitsOf(call: Pick<LlmCall, 'endpoint' | 'events'>): BilledUnits | null {
  return UNIT_ENDPOINTS.has(call.endpoint) || call.endpoint === 'realtime' ? unitsOfCall(call.events) : null;
}

/**
 * unpricedCall in SQL, over the calls table's columns (SQLite and PostgreSQL alike): 1 for an unpriced call, else 0.
 * A call's units are in its `events` JSON text (call-row.ts: JSON.stringify, so a name reads `"name":"billing.units"`).
 * What the spend the database sums (a scoped principal's by user and key, the By metadata card) counts as unpriced.
 */
export const UNPRICED_SQL = `CASE WHEN cost_usd IS NULL AND price IS NULL AND (input_tokens IS NOT NULL OR output_tokens IS NOT NULL
    OR (endpoint IN (${[...UNIT_ENDPOINTS, 'realtime'].map((e) => `'${e}'`).join(', ')})
      AND (events LIKE '%"name":"${UNITS_EVENT}"%' OR events LIKE '%"name":"${REALTIME_DURATION_EVENT}"%')))
    THEN 1 ELSE 0 END`;

/** Request fields only OpenAI's GPT image models take: one sent without a model makes the call gpt-image-1's. */
const GPT_IMAGE_FIELDS = ['background', 'moderation', 'output_compression', 'output_format', 'partial_images'];

/**
 * The model OpenAI bills a JSON image generation that names none for: dall-e-2 (its documented default), or gpt-image-1
 * when the request sets a parameter only that model takes (a `background`, an `output_format`, a quality of low,
 * medium or high). Null for other calls, or when the request names its model.
 */
export function defaultImageModel(endpoint: Endpoint, body: Record<string, unknown>): string | null {
  if (endpoint !== 'images.generations' || (typeof body.model === 'string' && body.model !== '')) return null;
  const gpt =
    GPT_IMAGE_FIELDS.some((f) => body[f] !== undefined && body[f] !== null) ||
    body.quality === 'low' ||
    body.quality === 'medium' ||
    body.quality === 'high';
  return gpt ? 'gpt-image-1' : 'dall-e-2';
}
