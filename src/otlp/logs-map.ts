// Which OTLP log records are model calls, and the LlmCall each becomes. Coding agents that export no traces describe
// each model call in a log event:
// - Claude Code (CLAUDE_CODE_ENABLE_TELEMETRY=1, OTEL_LOGS_EXPORTER=otlp): `claude_code.api_request` (model,
//   duration_ms, input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens, cost_usd) and
//   `claude_code.api_error` (model, error, status_code, duration_ms); its event.name attribute is the short name
//   (`api_request`), the body the full one;
// - Codex ([otel] exporter otlp-http): `codex.sse_event` with event.kind `response.completed` (input_token_count,
//   output_token_count, cached_token_count, reasoning_token_count), a failed `codex.api_request`
//   (http.response.status_code ≥ 400 or error.message) and a failed stream (`codex.sse_event` response.failed, or
//   an error.message with no event.kind) as failed calls.
// A record carries no id of its own: the call's id is a digest of its name, time, attributes and resource, so a
// re-sent export gives the same ids and counts once. user.email (personal data) is never read nor kept.
import { createHash } from 'node:crypto';
import { type CallStatus, type LlmCall, type Metadata, metadataProblem, statusOf } from '../calls/index.js';
import type { OtlpLogRecord } from './logs-decode.js';
import type { Attributes, AttrValue } from './model.js';

const MAX_FIELD = 256;
const MAX_ERROR_MESSAGE = 512;

export const CLAUDE_REQUEST = 'claude_code.api_request';
export const CLAUDE_ERROR = 'claude_code.api_error';
export const CODEX_REQUEST = 'codex.api_request';
export const CODEX_SSE = 'codex.sse_event';

const asString = (v: AttrValue | undefined): string | null =>
  typeof v === 'string' && v !== '' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : null;

function asNumber(v: AttrValue | undefined): number | null {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n : null;
}

function asCount(v: AttrValue | undefined): number | null {
  const n = asNumber(v);
  return n !== null && n >= 0 ? Math.round(n) : null;
}

const clip = (s: string | null, n: number): string | null => (s === null ? null : s.slice(0, n));

/** The record's event name: the event_name field, the event.name attribute or the body, Claude Code's short names completed. */
export function eventNameOf(r: OtlpLogRecord): string | null {
  const attr = asString(r.attributes['event.name']);
  if (r.eventName.includes('.')) return r.eventName;
  if (attr?.includes('.')) return attr;
  const short = r.eventName || attr;
  if (short) {
    if (
      r.body === `claude_code.${short}` ||
      r.scope.name.startsWith('com.anthropic.claude_code') ||
      asString(r.resource['service.name']) === 'claude-code'
    )
      return `claude_code.${short}`;
    return short;
  }
  return r.body !== null && /^[a-z_]+\.[a-z_.]+$/.test(r.body) ? r.body : null;
}

/** The event's time in ms: time_unix_nano, else its event.timestamp attribute, else observed_time_unix_nano. */
function timeOf(r: OtlpLogRecord): number | null {
  if (r.timeNs > 0n) return Number(r.timeNs / 1000n) / 1000;
  const iso = asString(r.attributes['event.timestamp']);
  const t = iso === null ? Number.NaN : Date.parse(iso);
  if (Number.isFinite(t)) return t;
  if (r.observedNs > 0n) return Number(r.observedNs / 1000n) / 1000;
  return null;
}

/** The call's id: a digest of what the record says, so the same record sent again gets the same id. */
export function logRequestIdOf(r: OtlpLogRecord, name: string): string {
  const h = createHash('sha256')
    .update(JSON.stringify([name, String(r.timeNs), r.traceId, r.spanId, r.attributes, r.resource]))
    .digest('hex');
  return `otlp-log-${h.slice(0, 32)}`;
}

const USER_KEYS = ['llmscope.user', 'user.account_uuid', 'user.account_id', 'user.id'];
const SESSION_KEYS = ['llmscope.session', 'session.id', 'conversation.id'];

function attribution(r: OtlpLogRecord) {
  const pick = (keys: readonly string[]): string | null => {
    for (const a of [r.attributes, r.resource])
      for (const k of keys) {
        const v = asString(a[k]);
        if (v !== null) return clip(v, MAX_FIELD);
      }
    return null;
  };
  const service = asString(r.resource['service.name']);
  return {
    user: pick(USER_KEYS),
    session: pick(SESSION_KEYS),
    team: pick(['llmscope.team']),
    feature:
      pick(['llmscope.feature']) ??
      (service !== null && !service.startsWith('unknown_service') ? clip(service, MAX_FIELD) : null),
  };
}

const META_PREFIX = 'llmscope.meta.';

function metadataOf(r: OtlpLogRecord): { metadata: Metadata | null; problem: string | null } {
  let m: Record<string, unknown> | null = null;
  for (const a of [r.resource, r.attributes] as Attributes[])
    for (const k in a)
      if (k.startsWith(META_PREFIX)) {
        m ??= {};
        const v = a[k];
        m[k.slice(META_PREFIX.length)] = typeof v === 'number' || typeof v === 'boolean' ? String(v) : v;
      }
  if (m === null) return { metadata: null, problem: null };
  const p = metadataProblem(m, (key) => `${META_PREFIX}${key}`);
  return p ? { metadata: null, problem: `${p.message} (${p.param})` } : { metadata: m as Metadata, problem: null };
}

const TOKEN_KEYS = [
  'input_tokens',
  'output_tokens',
  'cache_read_tokens',
  'cache_creation_tokens',
  'input_token_count',
  'output_token_count',
  'cached_token_count',
  'reasoning_token_count',
];

/** What a record is: a call, an agent's request that only starts one (Codex), or something else. */
export type LogOutcome =
  | {
      kind: 'call';
      call: LlmCall;
      /**
       * A Codex response's end (its response.completed or failed stream): the conversation it belongs to, and whether
       * its request's start was known (`codexStart`), so its latency is real; when it was not, the receiver waits a
       * moment for that request's event, which a concurrent export may bring just after.
       */
      codex?: { conversation: string; matched: boolean };
    }
  | { kind: 'request'; conversation: string; startedAt: number }
  | { kind: 'unrecognised' }
  | { kind: 'rejected'; why: string };

export interface LogCallInput {
  name: string;
  provider: string;
  endpoint: 'messages' | 'responses';
  stream: boolean;
  endedAt: number;
  latencyMs: number;
  status: CallStatus;
  httpStatus: number;
  errorType: string | null;
  errorMessage: string | null;
  input: number | null;
  output: number | null;
  cached: number | null;
  cacheWrite: number | null;
  reasoning: number | null;
}

function httpStatusOf(v: AttrValue | undefined): number | null {
  const n = asCount(v);
  return n !== null && n >= 100 && n <= 599 ? n : null;
}

/**
 * What a log record stands for. `codexStart(conversation)`: when the Codex request of that conversation began (from
 * its codex.api_request, seen before), for the latency of the call its response.completed ends.
 */
export function logToOutcome(r: OtlpLogRecord, codexStart: (conversation: string) => number | undefined): LogOutcome {
  const name = eventNameOf(r);
  if (name !== CLAUDE_REQUEST && name !== CLAUDE_ERROR && name !== CODEX_REQUEST && name !== CODEX_SSE)
    return { kind: 'unrecognised' };
  const a = r.attributes;
  const at = timeOf(r);
  if (at === null) return { kind: 'rejected', why: 'time_unix_nano and event.timestamp are missing' };
  for (const k of TOKEN_KEYS) {
    const n = asNumber(a[k]);
    if (n !== null && (n < 0 || n > Number.MAX_SAFE_INTEGER))
      return { kind: 'rejected', why: `${k} is ${String(a[k])}, not a token count` };
  }
  const duration = asNumber(a['duration_ms']);
  const durationMs = duration !== null && duration >= 0 ? duration : null;
  const errorText = clip(asString(a['error.message']) ?? asString(a['error']), MAX_ERROR_MESSAGE);
  let input: LogCallInput;
  let codex: { conversation: string; matched: boolean } | undefined;
  if (name === CLAUDE_REQUEST || name === CLAUDE_ERROR) {
    const failed = name === CLAUDE_ERROR;
    const http = failed ? (httpStatusOf(a['status_code']) ?? 500) : 200;
    const read = asCount(a['cache_read_tokens']);
    const write = asCount(a['cache_creation_tokens']);
    const fresh = asCount(a['input_tokens']);
    input = {
      name,
      provider: 'anthropic',
      endpoint: 'messages',
      stream: false,
      endedAt: at,
      latencyMs: durationMs ?? 0,
      status: failed ? statusOf(http) : 'ok',
      httpStatus: http,
      errorType: failed ? 'api_error' : null,
      errorMessage: failed ? errorText : null,
      // Anthropic's input_tokens leaves out the cache's reads and writes; the record's input_tokens is the whole prompt.
      input: fresh === null ? null : fresh + (read ?? 0) + (write ?? 0),
      output: asCount(a['output_tokens']),
      cached: read,
      cacheWrite: write,
      reasoning: null,
    };
  } else {
    const conversation = asString(a['conversation.id']);
    const http = httpStatusOf(a['http.response.status_code']);
    const kind = asString(a['event.kind']);
    if (name === CODEX_REQUEST) {
      if (errorText === null && (http === null || http < 400))
        return conversation !== null
          ? { kind: 'request', conversation, startedAt: at - (durationMs ?? 0) }
          : { kind: 'unrecognised' };
    } else if (
      kind !== 'response.completed' &&
      // a failed stream (response.failed, a broken or idle stream) ends the call; a parse failure of one output item
      // (event.kind response.output_item.done) does not, its response.completed follows
      (errorText === null || (kind !== null && kind !== 'response.failed'))
    )
      return { kind: 'unrecognised' };
    const failed = errorText !== null || (http !== null && http >= 400);
    const status: number = failed ? (http !== null && http >= 400 ? http : 500) : 200;
    const started = conversation !== null ? codexStart(conversation) : undefined;
    if (name === CODEX_SSE && conversation !== null)
      codex = { conversation, matched: started !== undefined && started <= at };
    const latencyMs =
      name === CODEX_REQUEST ? (durationMs ?? 0) : started !== undefined && started <= at ? at - started : 0;
    input = {
      name,
      provider: 'openai',
      endpoint: 'responses',
      stream: true,
      endedAt: at,
      latencyMs,
      status: failed ? statusOf(status) : 'ok',
      httpStatus: status,
      errorType: failed ? (kind ?? 'api_error') : null,
      errorMessage: failed ? errorText : null,
      input: failed ? null : asCount(a['input_token_count']),
      output: failed ? null : asCount(a['output_token_count']),
      cached: failed ? null : asCount(a['cached_token_count']),
      cacheWrite: null,
      reasoning: failed ? null : asCount(a['reasoning_token_count']),
    };
  }
  const meta = metadataOf(r);
  if (meta.problem !== null) return { kind: 'rejected', why: meta.problem };
  const call = toCall(r, input, meta.metadata);
  return codex ? { kind: 'call', call, codex } : { kind: 'call', call };
}

const HEX32 = /^[0-9a-f]{32}$/;

function toCall(r: OtlpLogRecord, c: LogCallInput, metadata: Metadata | null): LlmCall {
  const model = clip(asString(r.attributes['model']), MAX_FIELD) ?? 'unknown';
  const usage = c.input !== null || c.output !== null;
  return {
    requestId: logRequestIdOf(r, c.name),
    traceId: HEX32.test(r.traceId) && !/^0+$/.test(r.traceId) ? r.traceId : null,
    startedAt: c.endedAt - c.latencyMs,
    endedAt: c.endedAt,
    provider: c.provider,
    model,
    endpoint: c.endpoint,
    stream: c.stream,
    status: c.status,
    httpStatus: c.httpStatus,
    errorType: c.errorType,
    errorMessage: c.errorMessage,
    ...attribution(r),
    metadata,
    apiKeyId: null,
    inputTokens: c.input,
    outputTokens: c.output,
    cachedInputTokens: c.cached,
    cacheWriteInputTokens: c.cacheWrite,
    reasoningTokens: c.reasoning,
    tokenSource: usage ? 'usage' : null,
    ttftMs: null,
    tpotMs: null,
    latencyMs: c.latencyMs,
    overheadMs: 0,
    costUsd: null,
    price: null,
    finishReason: null,
    refusal: false,
    requestBytes: 0,
    responseBytes: 0,
    source: 'ingest',
    spans: [],
    events: [],
    content: null,
  };
}
