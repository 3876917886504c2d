// POST /api/ingest's checks without zod for bodies that pass them: zod's object, union and record parsers cost the
// event loop about 2.5 µs a record (13% of its time under bench:ingest) in closures, issue arrays and copies. This
// accepts only what ingest.ts's zod schema accepts, and gives what zod gives (the same fields, defaults filled in);
// anything it is not sure of (a missing or bad field, an unknown key, a number zod might refuse) answers null, and
// the body goes to zod, which then gives its own result and messages. So it is an exact shortcut or nothing.
import { z } from 'zod';
import { CALL_STATUSES, ENDPOINTS } from '../calls/index.js';
import type { Turns } from '../http/json-stream.js';
import { MAX_ISO_MS } from '../time.js';

/** A record as ingest.ts's schema gives it (its zod type, kept loose here to avoid a cycle of imports). */
export type CheckedRecord = Record<string, unknown>;

const isoTime = z.iso.datetime({ offset: true });
const TRACE_ID = /^[0-9a-f]{32}$/;
const ENDPOINT_SET = new Set<unknown>(ENDPOINTS);
const STATUS_SET = new Set<unknown>(CALL_STATUSES);
const MAX_RECORDS = 10_000;

const nonNegative = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v >= 0;
/** A number from 0 to MAX_ISO_MS (the schema's epoch ms and durations). */
const epochMs = (v: unknown): boolean => nonNegative(v) && (v as number) <= MAX_ISO_MS;
const time = (v: unknown): boolean =>
  epochMs(v) || (typeof v === 'string' && isoTime.safeParse(v).success && Date.parse(v) >= 0);
const str = (v: unknown, min: number, max: number): boolean =>
  typeof v === 'string' && v.length >= min && v.length <= max;
/** null, or a string of at most `max` characters (the schema's `text`, and error_message). */
const optText = (v: unknown, max: number): boolean => v === null || str(v, 0, max);
/** null, or a whole number from 0 to 2^53 - 1 (what zod's int() accepts of non-negative numbers). */
const count = (v: unknown): boolean => v === null || (Number.isSafeInteger(v) && (v as number) >= 0);
const ms = (v: unknown): boolean => v === null || epochMs(v);
/**
 * A call's cost_usd is at most this: far above any real call, and small enough that no number of them sums past what
 * a number holds (two of 1e308 made the month's cost totals, the forecast and a budget's ratio read null).
 */
export const MAX_CALL_COST_USD = 1e12;
const usd = (v: unknown): boolean => v === null || (nonNegative(v) && (v as number) <= MAX_CALL_COST_USD);

/** A plain object whose own values are all strings (z.record(z.string(), z.string())), or null. */
function metadata(v: unknown): boolean {
  if (v === null) return true;
  if (typeof v !== 'object' || Array.isArray(v) || Object.getPrototypeOf(v) !== Object.prototype) return false;
  for (const k in v) {
    // zod's copy would drop a "__proto__" key: let zod give its own answer
    if (k === '__proto__' || typeof (v as Record<string, unknown>)[k] !== 'string') return false;
  }
  return true;
}

const msOf = (t: unknown): number => (typeof t === 'number' ? t : Date.parse(t as string));

/** A present field's count (1) when `ok(v)`, else far below 0 (so the record's count of fields cannot add up); 0 when absent. */
const BAD = -1_000_000;
function field(v: unknown, ok: (v: unknown) => boolean): number {
  if (v === undefined) return 0;
  return ok(v) ? 1 : BAD;
}

const requestId = (v: unknown) => str(v, 1, 128);
const traceId = (v: unknown) => v === null || (typeof v === 'string' && TRACE_ID.test(v));
const endpoint = (v: unknown) => ENDPOINT_SET.has(v);
const status = (v: unknown) => STATUS_SET.has(v);
const bool = (v: unknown) => typeof v === 'boolean';
const httpStatus = (v: unknown) => Number.isInteger(v) && (v as number) >= 100 && (v as number) <= 599;
const text256 = (v: unknown) => optText(v, 256);
const text2048 = (v: unknown) => optText(v, 2048);

/**
 * Whether `r` certainly passes the record schema: every key known, every value valid, the required ones there. Each
 * field is read by its name (records parsed from one body share their shape, so each read is an inline-cached load,
 * where looking each key up in a table of checks was not) and counted; a key that is not a field (or is "__proto__",
 * which a read by name does not see) leaves the count short of the record's own keys.
 */
function passes(r: unknown): r is CheckedRecord {
  if (typeof r !== 'object' || r === null || Array.isArray(r)) return false;
  const rec = r as Record<string, unknown>;
  if (!time(rec.started_at) || !str(rec.provider, 1, 128) || !str(rec.model, 1, 256)) return false;
  const n =
    3 +
    field(rec.request_id, requestId) +
    field(rec.trace_id, traceId) +
    field(rec.ended_at, time) +
    field(rec.endpoint, endpoint) +
    field(rec.stream, bool) +
    field(rec.status, status) +
    field(rec.http_status, httpStatus) +
    field(rec.error_type, text256) +
    field(rec.error_message, text2048) +
    field(rec.user, text256) +
    field(rec.team, text256) +
    field(rec.feature, text256) +
    field(rec.session, text256) +
    field(rec.input_tokens, count) +
    field(rec.output_tokens, count) +
    field(rec.cached_input_tokens, count) +
    field(rec.cache_write_input_tokens, count) +
    field(rec.reasoning_tokens, count) +
    field(rec.ttft_ms, ms) +
    field(rec.tpot_ms, ms) +
    field(rec.latency_ms, ms) +
    field(rec.cost_usd, usd) +
    field(rec.finish_reason, text256) +
    field(rec.refusal, bool) +
    field(rec.metadata, metadata) +
    field(rec.upstream_request_id, text256);
  if (n < 3) return false;
  // ended_at before started_at: zod refuses it (its message)
  if (rec.ended_at !== undefined && msOf(rec.ended_at) < msOf(rec.started_at)) return false;
  // every own key was one of the fields above (JSON gives no undefined values, so each present field was counted)
  let keys = 0;
  for (const k in rec) if (Object.hasOwn(rec, k)) keys++;
  return keys === n;
}

/** The schema's defaults, filled in as zod fills them (only where the key is absent). */
function withDefaults(r: CheckedRecord): CheckedRecord {
  if (r.endpoint === undefined) r.endpoint = 'chat.completions';
  if (r.stream === undefined) r.stream = false;
  if (r.http_status === undefined) r.http_status = 200;
  if (r.refusal === undefined) r.refusal = false;
  return r;
}

/**
 * The body as ingest.ts's body schema parses it (an array of records, `{ calls: [...] }`, or one record), when every
 * record certainly passes; else null. Fills the defaults into the body's own (freshly parsed) objects, and only once
 * every record has passed, so a body handed on to zod is as it came.
 */
export function checkIngestBody(body: unknown): CheckedRecord[] | { calls: CheckedRecord[] } | CheckedRecord | null {
  const list = recordsOf(body);
  if (list === null) return null;
  if (list === undefined) return passes(body) ? withDefaults(body) : null;
  if (list.length < 1 || list.length > MAX_RECORDS) return null;
  for (let i = 0; i < list.length; i++) if (!passes(list[i])) return null;
  for (let i = 0; i < list.length; i++) withDefaults(list[i] as CheckedRecord);
  return body as CheckedRecord[] | { calls: CheckedRecord[] };
}

/**
 * checkIngestBody, handing the event loop back to other clients between turns (a batch of 10,000 records).
 */
export async function checkIngestBodyInTurns(
  body: unknown,
  turns: Turns,
): Promise<CheckedRecord[] | { calls: CheckedRecord[] } | CheckedRecord | null> {
  const list = recordsOf(body);
  if (list === null) return null;
  if (list === undefined) return passes(body) ? withDefaults(body) : null;
  if (list.length < 1 || list.length > MAX_RECORDS) return null;
  for (let i = 0; i < list.length; i++) {
    if (!passes(list[i])) return null;
    if (turns.due(i)) await turns.next();
  }
  for (let i = 0; i < list.length; i++) withDefaults(list[i] as CheckedRecord);
  return body as CheckedRecord[] | { calls: CheckedRecord[] };
}

/**
 * The records of a batch (an array, or `{"calls": [...]}` and nothing else); undefined for one record (any other
 * object or value); null for a `calls` body of another form (zod's to answer).
 */
function recordsOf(body: unknown): unknown[] | null | undefined {
  if (Array.isArray(body)) return body;
  if (typeof body === 'object' && body !== null && Object.hasOwn(body, 'calls')) {
    let keys = 0;
    for (const _ in body) keys++;
    const calls = (body as { calls: unknown }).calls;
    return keys === 1 && Array.isArray(calls) ? calls : null;
  }
  return undefined;
}
