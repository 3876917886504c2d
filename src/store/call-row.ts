// The `calls` row, written once for both engines: the column list (with each column's PostgreSQL array type, for
// the `unnest` insert), an LlmCall as the row's values in that order, and a stored row back as an LlmCall. What the
// engines store differently — booleans (SQLite 1/0), NUL in text (PostgreSQL cannot hold it), the spans' form — is
// a `RowDialect`, so a new field is one entry here, not two hand-kept copies in sqlite-store.ts and postgres-store.ts.
import type { AppliedPrice, CallEvent, CallStatus, Endpoint, LlmCall, Metadata, TokenSource } from '../calls/index.js';
import { spansFor } from '../telemetry/spans.js';
import { decodeSpans, encodeSpans, type SpanRow } from './spans-codec.js';

/** A `calls` row as either engine's driver returns it (SELECT *). */
export interface CallRow {
  request_id: string;
  trace_id: string | null;
  started_at: number;
  ended_at: number;
  provider: string;
  model: string;
  endpoint: string;
  /** SQLite: 1/0; PostgreSQL: boolean. */
  stream: number | boolean;
  status: string;
  http_status: number;
  error_type: string | null;
  error_message: string | null;
  user: string | null;
  team: string | null;
  feature: string | null;
  session: string | null;
  api_key_id: string | null;
  input_tokens: number | null;
  output_tokens: number | null;
  cached_input_tokens: number | null;
  cache_write_input_tokens: number | null;
  reasoning_tokens: number | null;
  token_source: string | null;
  ttft_ms: number | null;
  tpot_ms: number | null;
  latency_ms: number;
  overhead_ms: number;
  cost_usd: number | null;
  price: string | null;
  finish_reason: string | null;
  /** SQLite: 1/0; PostgreSQL: boolean. */
  refusal: number | boolean;
  request_bytes: number;
  response_bytes: number;
  source: string;
  spans: string;
  events: string;
  content: string | null;
  /** SQLite: JSON text; PostgreSQL: jsonb, parsed by the driver. */
  metadata: string | Record<string, string> | null;
  /** Absent in rows a store read before its migration added the column. */
  upstream_request_id?: string | null;
}

/** The columns in insert order, each with the SQL array type of its PostgreSQL `unnest` parameter. */
export const CALL_COLUMNS = [
  ['request_id', 'text'],
  ['trace_id', 'text'],
  ['started_at', 'float8'],
  ['ended_at', 'float8'],
  ['provider', 'text'],
  ['model', 'text'],
  ['endpoint', 'text'],
  ['stream', 'bool'],
  ['status', 'text'],
  ['http_status', 'int4'],
  ['error_type', 'text'],
  ['error_message', 'text'],
  ['user', 'text'],
  ['team', 'text'],
  ['feature', 'text'],
  ['session', 'text'],
  ['api_key_id', 'text'],
  ['input_tokens', 'float8'],
  ['output_tokens', 'float8'],
  ['cached_input_tokens', 'float8'],
  ['cache_write_input_tokens', 'float8'],
  ['reasoning_tokens', 'float8'],
  ['token_source', 'text'],
  ['ttft_ms', 'float8'],
  ['tpot_ms', 'float8'],
  ['latency_ms', 'float8'],
  ['overhead_ms', 'float8'],
  ['cost_usd', 'float8'],
  ['price', 'text'],
  ['finish_reason', 'text'],
  ['refusal', 'bool'],
  ['request_bytes', 'float8'],
  ['response_bytes', 'float8'],
  ['source', 'text'],
  ['spans', 'text'],
  ['events', 'text'],
  ['content', 'text'],
  ['metadata', 'jsonb'],
  ['upstream_request_id', 'text'],
] as const satisfies readonly (readonly [keyof CallRow, string])[];

/** A column name as SQL: `user` is a reserved word on both engines. */
export const quoteColumn = (c: string): string => (c === 'user' ? '"user"' : c);

/** The column list of an INSERT, in CALL_COLUMNS order. */
export const CALL_COLUMN_LIST = CALL_COLUMNS.map(([c]) => quoteColumn(c)).join(', ');

export type CallValue = string | number | boolean | null;

/** How an engine stores what the two store differently. */
export interface RowDialect {
  /** SQLite has no boolean type: 1/0 there. */
  readonly booleansAsIntegers: boolean;
  /** PostgreSQL text cannot hold NUL: a stray one (a model name from a request body) must not fail the whole batch. */
  readonly replaceNul: boolean;
  /**
   * The compact spans form (spans-codec.ts). SQLite only: PostgreSQL replicas of an older release share the table
   * during a rolling upgrade and read the plain JSON array.
   */
  readonly compactSpans: boolean;
}

export const SQLITE_ROW: RowDialect = { booleansAsIntegers: true, replaceNul: false, compactSpans: true };
export const POSTGRES_ROW: RowDialect = { booleansAsIntegers: false, replaceNul: true, compactSpans: false };

const NUL = /\u0000/g;

const text = (v: string, nul: boolean): string => (nul && v.includes('\u0000') ? v.replace(NUL, '\uFFFD') : v);
const opt = (v: string | null | undefined, nul: boolean): string | null =>
  v === undefined || v === null ? null : text(v, nul);
const num = (v: number | null | undefined): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/**
 * A call's column values in CALL_COLUMNS order. Positional: better-sqlite3 binds an array faster than it looks up
 * named parameters on an object (about 1.5 µs a row), and PostgreSQL's insert takes one array per column.
 * Non-finite optional numbers (NaN from a bad measurement) are stored as unknown, not as a failed batch.
 */
export function callRowValues(c: LlmCall, d: RowDialect): CallValue[] {
  const nul = d.replaceNul;
  const ints = d.booleansAsIntegers;
  const v: CallValue[] = [
    text(c.requestId, nul),
    opt(c.traceId, nul),
    c.startedAt,
    c.endedAt,
    text(c.provider, nul),
    text(c.model, nul),
    text(c.endpoint, nul),
    ints ? (c.stream ? 1 : 0) : c.stream,
    text(c.status, nul),
    c.httpStatus,
    opt(c.errorType, nul),
    opt(c.errorMessage, nul),
    opt(c.user, nul),
    opt(c.team, nul),
    opt(c.feature, nul),
    opt(c.session, nul),
    opt(c.apiKeyId, nul),
    num(c.inputTokens),
    num(c.outputTokens),
    num(c.cachedInputTokens),
    num(c.cacheWriteInputTokens),
    num(c.reasoningTokens),
    opt(c.tokenSource, nul),
    num(c.ttftMs),
    num(c.tpotMs),
    c.latencyMs,
    c.overheadMs,
    num(c.costUsd),
    c.price ? priceColumn(c.price) : null,
    opt(c.finishReason, nul),
    ints ? (c.refusal ? 1 : 0) : c.refusal,
    c.requestBytes ?? 0,
    c.responseBytes ?? 0,
    text(c.source, nul),
    null, // spans: from the other values, below
    JSON.stringify(c.events ?? []),
    c.content ? JSON.stringify(c.content) : null,
    metadataColumn(c.metadata, nul),
    opt(c.upstreamRequestId, nul),
  ];
  // The gateway form rebuilds a call's spans from the row's values as they will be read back (spans-codec.ts).
  // A gateway call's spans may be left to be built where read (telemetry/spans.ts spansFor): the gateway form is
  // written from the call's marks, and PostgreSQL's plain array is built here.
  v[AT.spans] = d.compactSpans ? encodeSpans(c.spans, spanRowOf(v), c) : JSON.stringify(c.spans ? spansFor(c) : []);
  return v;
}

/** Each column's position in CALL_COLUMNS (and in callRowValues' array). */
const AT = Object.fromEntries(CALL_COLUMNS.map(([c], i) => [c, i])) as Record<keyof CallRow, number>;

/** The columns the gateway spans form reads, from a row's values (what callOfRow will read back). */
function spanRowOf(v: readonly CallValue[]): SpanRow {
  return {
    traceId: v[AT.trace_id] as string | null,
    endpoint: v[AT.endpoint] as Endpoint,
    startedAt: v[AT.started_at] as number,
    endedAt: v[AT.ended_at] as number,
    provider: v[AT.provider] as string,
    model: v[AT.model] as string,
    stream: v[AT.stream] === true || v[AT.stream] === 1,
    requestId: v[AT.request_id] as string,
    status: v[AT.status] as CallStatus,
    httpStatus: v[AT.http_status] as number,
    finishReason: v[AT.finish_reason] as string | null,
    inputTokens: v[AT.input_tokens] as number | null,
    outputTokens: v[AT.output_tokens] as number | null,
    cachedInputTokens: v[AT.cached_input_tokens] as number | null,
    cacheWriteInputTokens: v[AT.cache_write_input_tokens] as number | null,
    reasoningTokens: v[AT.reasoning_tokens] as number | null,
    errorType: v[AT.error_type] as string | null,
    ttftMs: v[AT.ttft_ms] as number | null,
    tpotMs: v[AT.tpot_ms] as number | null,
    user: v[AT.user] as string | null,
    team: v[AT.team] as string | null,
    feature: v[AT.feature] as string | null,
  };
}

/**
 * Stored metadata with its keys in byte order, as read from either engine: SQLite's text keeps the order the call
 * gave them in, PostgreSQL's jsonb keeps its own (shorter keys first), so the same call read back differed.
 */
function keysInOrder(m: Metadata): Metadata {
  const keys = Object.keys(m);
  let sorted = true;
  for (let i = 1; i < keys.length && sorted; i++) sorted = (keys[i - 1] as string) < (keys[i] as string);
  if (sorted) return m;
  const out: Metadata = {};
  for (const k of keys.sort()) out[k] = m[k] as string;
  return out;
}

/** The metadata column: NULL when there is none; PostgreSQL's jsonb cannot hold NUL either. */
function metadataColumn(m: Metadata | null | undefined, nul: boolean): string | null {
  if (!m) return null;
  let out: Metadata | null = null;
  for (const k in m) {
    out ??= nul ? {} : m;
    if (nul) out[text(k, true)] = text(m[k] as string, true);
  }
  return out === null ? null : JSON.stringify(out);
}

/** A price's column text as JSON.stringify writes it, with the figures and key order it was made for. */
interface PriceText {
  keys: string[];
  values: (string | number)[];
  text: string;
}

/** Price texts by source, a few each (a source's calls share a few figures: tiers, cache-write rates). Bounded. */
const priceTexts = new Map<string, PriceText[]>();
const PRICE_SOURCES = 256;
const PRICES_PER_SOURCE = 4;

/** Whether `p`'s own keys and values are `t`'s, in the same order (so JSON.stringify would write `t.text`). */
function samePrice(p: AppliedPrice, t: PriceText): boolean {
  let i = 0;
  for (const k in p) {
    if (i >= t.keys.length || k !== t.keys[i] || (p as unknown as Record<string, unknown>)[k] !== t.values[i])
      return false;
    i++;
  }
  return i === t.keys.length;
}

/**
 * `JSON.stringify(price)`, the text reused for a price of the same figures: each call's price is an object of its own
 * (about 0.4 µs a call to write out its numbers), but a deployment's calls have the prices of a few models. Only a
 * plain object of numbers and strings is reused (nothing JSON.stringify could write differently for equal values:
 * no toJSON, getters, nested objects); a value that is not equal to itself (NaN) just never matches.
 */
export function priceColumn(p: AppliedPrice): string {
  const source = p.source;
  if (typeof source !== 'string' || Object.getPrototypeOf(p) !== Object.prototype) return JSON.stringify(p);
  const known = priceTexts.get(source);
  if (known !== undefined) for (const t of known) if (samePrice(p, t)) return t.text;
  const keys: string[] = [];
  const values: (string | number)[] = [];
  for (const k in p) {
    const v = (p as unknown as Record<string, unknown>)[k];
    if ((typeof v !== 'number' && typeof v !== 'string') || !Object.hasOwn(p, k)) return JSON.stringify(p);
    keys.push(k);
    values.push(v);
  }
  const t: PriceText = { keys, values, text: JSON.stringify(p) };
  if (known === undefined) {
    if (priceTexts.size >= PRICE_SOURCES) priceTexts.clear();
    priceTexts.set(source, [t]);
  } else {
    if (known.length >= PRICES_PER_SOURCE) known.shift();
    known.push(t);
  }
  return t.text;
}

/** The value a text key column is stored under (PostgreSQL: NUL replaced), for lookups by it. */
export function storedText(v: string, d: RowDialect): string {
  return text(v, d.replaceNul);
}

/** A stored row as the call; reads either engine's booleans and either spans form. */
export function callOfRow(r: CallRow): LlmCall {
  const call: LlmCall = {
    requestId: r.request_id,
    traceId: r.trace_id,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    provider: r.provider,
    model: r.model,
    endpoint: r.endpoint as Endpoint,
    stream: r.stream === true || r.stream === 1,
    status: r.status as CallStatus,
    httpStatus: r.http_status,
    errorType: r.error_type,
    errorMessage: r.error_message ?? null,
    user: r.user,
    team: r.team,
    feature: r.feature,
    session: r.session,
    apiKeyId: r.api_key_id,
    inputTokens: r.input_tokens,
    outputTokens: r.output_tokens,
    cachedInputTokens: r.cached_input_tokens,
    cacheWriteInputTokens: r.cache_write_input_tokens,
    reasoningTokens: r.reasoning_tokens,
    tokenSource: r.token_source as TokenSource | null,
    ttftMs: r.ttft_ms,
    tpotMs: r.tpot_ms,
    latencyMs: r.latency_ms,
    overheadMs: r.overhead_ms,
    costUsd: r.cost_usd,
    price: r.price ? (JSON.parse(r.price) as AppliedPrice) : null,
    finishReason: r.finish_reason,
    refusal: r.refusal === true || r.refusal === 1,
    requestBytes: r.request_bytes,
    responseBytes: r.response_bytes,
    source: r.source as LlmCall['source'],
    spans: [],
    events: JSON.parse(r.events) as CallEvent[],
    content: r.content ? (JSON.parse(r.content) as LlmCall['content']) : null,
    metadata:
      r.metadata === null || r.metadata === undefined
        ? null
        : keysInOrder(typeof r.metadata === 'string' ? (JSON.parse(r.metadata) as Metadata) : r.metadata),
    upstreamRequestId: r.upstream_request_id ?? null,
  };
  call.spans = decodeSpans(r.spans, call);
  return call;
}
