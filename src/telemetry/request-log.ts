// The `request completed` log line, one per call, written by a recorder sink. It is the one line every call
// produces, so it is serialized here directly instead of through pino's generic path (per-line mixin,
// request-context scope, redaction walk, one destination write each): the same JSON pino would write for
// `logger.info({event: 'request_completed', ...}, 'request completed')` inside the call's request context,
// but a whole batch goes to the logger's destination in one write. Its fields are fixed and never hold a
// secret (no header, prompt or key), so redaction has nothing to do on them.
import { type Logger, symbols } from 'pino';
import type { LlmCall, Sink } from '../calls/index.js';
import { ECS_DATASET, ECS_VERSION } from './logging.js';

/** Characters JSON.stringify may escape (quote, backslash, controls) or that need a closer look (anything past ASCII). */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u007f-\uffff]/;
/** JSON.stringify of a string: printable ASCII without a quote or backslash is written as is, the rest by JSON.stringify. */
const str = (s: string): string => (typeof s === 'string' && !NEEDS_ESCAPE.test(s) ? `"${s}"` : JSON.stringify(s));
/** A JSON number as pino writes one: non-finite becomes null. */
const num = (v: number | null): string => (v === null || !Number.isFinite(v) ? 'null' : String(v));
/**
 * Milliseconds rounded to 3 decimals, as String(Math.round(v * 1000) / 1000) writes them: from the integer count of
 * microseconds, without formatting a double (for |v| under 1e9 ms, where that string is exactly those digits).
 */
const ms = (v: number | null): string => {
  if (v === null) return 'null';
  const r = Math.round(v * 1000);
  if (!(r > -1e12 && r < 1e12)) return num(r / 1000);
  const a = r < 0 ? -r : r;
  const frac = a % 1000;
  const whole = `${r < 0 ? '-' : ''}${(a - frac) / 1000}`;
  if (frac === 0) return whole;
  const f = frac < 10 ? `00${frac}` : frac < 100 ? `0${frac}` : `${frac}`;
  return `${whole}.${f.endsWith('00') ? f.slice(0, 1) : f.endsWith('0') ? f.slice(0, 2) : f}`;
};

interface Parts {
  /** `{"level":"info"` (or the ECS form), as the logger writes it. */
  level: string;
  /** The same at `warn`: the line of a call that failed upstream or in llmscope (failedCall). */
  warnLevel: string;
  time: () => string;
  messageKey: string;
}

function partsOf(logger: Logger): Parts {
  const l = logger as unknown as Record<symbol, unknown>;
  const cache = l[symbols.lsCacheSym] as Record<number, string>;
  return {
    level: cache[logger.levels.values.info as number] as string,
    warnLevel: cache[logger.levels.values.warn as number] as string,
    time: l[symbols.timeSym] as () => string,
    messageKey: l[symbols.messageKeySym] as string,
  };
}

/** For tests: the `ms` fields' formatting. */
export const formatMs = (v: number | null): string => ms(v);

/** The line's fields from provider to error_type, and the call's values they were written from. */
interface Middle {
  provider: string;
  model: string;
  endpoint: string;
  stream: boolean;
  status: string;
  httpStatus: number | null;
  errorType: string | null | undefined;
  text: string;
}

let lastMiddle: Middle | null = null;

/**
 * `,"provider":...,"model":...,"endpoint":...,"stream":...,"status":...,"http_status":...` and `,"error_type":...`
 * when there is one: the text of the call before when these seven values are the same (a batch's calls mostly
 * share them), else written and kept.
 */
function middleOf(c: LlmCall): string {
  const m = lastMiddle;
  if (
    m !== null &&
    m.provider === c.provider &&
    m.model === c.model &&
    m.endpoint === c.endpoint &&
    m.stream === c.stream &&
    m.status === c.status &&
    m.httpStatus === c.httpStatus &&
    m.errorType === c.errorType
  )
    return m.text;
  let text = `,"provider":${str(c.provider)},"model":${str(c.model)},"endpoint":${str(c.endpoint)},"stream":${c.stream}`;
  text += `,"status":${str(c.status)},"http_status":${num(c.httpStatus)}`;
  if (c.errorType !== null && c.errorType !== undefined) text += `,"error_type":${str(c.errorType)}`;
  lastMiddle = {
    provider: c.provider,
    model: c.model,
    endpoint: c.endpoint,
    stream: c.stream,
    status: c.status,
    httpStatus: c.httpStatus,
    errorType: c.errorType,
    text,
  };
  return text;
}

/**
 * A call whose line is written at `warn`, not `info`: the upstream failed (5xx, a stream cut, an error inside a 200
 * stream), did not answer in time, or llmscope itself answered 5xx. A search of warn and error lines (Loki, Kibana)
 * then finds the failed calls; a client's mistake (4xx), a rate limit, a cancellation stay `info`.
 */
export function failedCall(c: LlmCall): boolean {
  return c.status === 'upstream_error' || c.status === 'timeout' || c.httpStatus >= 500;
}

/**
 * The call's span id on its line: the gateway's server span (internals), else the root of the spans it came with. A
 * stored call has no internals, and neither has an OTLP call whose span carried no text: its span is its own (the
 * app's), so the line the sink writes and the one the call detail shows from the record (requestLineOf) say the same.
 */
function spanIdOf(c: LlmCall): string | null {
  if (c.internal?.spanId) return c.internal.spanId;
  if (c.spans.length === 0) return null;
  const ids = new Set(c.spans.map((x) => x.spanId));
  return c.spans.find((x) => x.parentSpanId === null || !ids.has(x.parentSpanId))?.spanId ?? null;
}

/** One line, newline-terminated; `time` is the logger's time fragment (`,"time":"..."`). */
export function requestLine(c: LlmCall, format: 'json' | 'ecs', parts: Parts, time: string): string {
  const ecs = format === 'ecs';
  const level = failedCall(c) ? parts.warnLevel : parts.level;
  let s = ecs
    ? `${level}${time},"ecs.version":"${ECS_VERSION}","event.action":"request_completed","event.kind":"event","event.dataset":"${ECS_DATASET}","request_id":${str(c.requestId)}`
    : `${level}${time},"event":"request_completed","request_id":${str(c.requestId)}`;
  if (c.traceId) s += `,"${ecs ? 'trace.id' : 'trace_id'}":${str(c.traceId)}`;
  const spanId = spanIdOf(c);
  if (spanId) s += `,"${ecs ? 'span.id' : 'span_id'}":${str(spanId)}`;
  s += middleOf(c);
  s += `,"input_tokens":${num(c.inputTokens)},"output_tokens":${num(c.outputTokens)}`;
  s += `,"token_source":${c.tokenSource === null ? 'null' : str(c.tokenSource)}`;
  s += `,"ttft_ms":${ms(c.ttftMs)},"tpot_ms":${ms(c.tpotMs)},"latency_ms":${ms(c.latencyMs)},"overhead_ms":${ms(c.overheadMs)}`;
  s += `,"cost_usd":${num(c.costUsd)}`;
  // ECS maps `user` as an object: the user id is `user.name` there
  if (c.user !== null && c.user !== undefined) s += `,"${ecs ? 'user.name' : 'user'}":${str(c.user)}`;
  if (c.team !== null && c.team !== undefined) s += `,"team":${str(c.team)}`;
  if (c.feature !== null && c.feature !== undefined) s += `,"feature":${str(c.feature)}`;
  return `${s},"${parts.messageKey}":"request completed"}\n`;
}

/**
 * The `request completed` line of a stored call as the sink wrote it, timed at the call's end (the sink writes it
 * within its linger of that, 50 ms) and without the writing process's bindings (a gateway worker's `worker`), without
 * the newline; null when the logger does not write lines of its level (info, or warn for a failed call). The call detail
 * shows it rather than keeping a copy of every call's line beside the call itself (call-logs.ts skips it).
 */
export function requestLineOf(logger: Logger, format: 'json' | 'ecs', c: LlmCall): string | null {
  if (!logger.isLevelEnabled(failedCall(c) ? 'warn' : 'info')) return null;
  const parts = partsOf(logger);
  const at = new Date(Number.isFinite(c.endedAt) ? c.endedAt : c.startedAt).toISOString();
  // no bindings: which gateway worker wrote the line (its `worker`) is not part of the record
  return requestLine(c, format, parts, `,"${format === 'ecs' ? '@timestamp' : 'time'}":"${at}"`).slice(0, -1);
}

/**
 * Characters of lines handed to the destination in one write: whole lines, a write once this many are waiting. A
 * batch under load (~300 lines, ~140 KB) written as one string cost the process 6.5 µs a line against 3.4 in pieces
 * of this size, the line itself being 1 µs (sonic-boom to a pipe, in-process, alternating): the whole batch's string
 * was flattened in V8's large-object space, encoded to UTF-8 by fs.write and again by sonic-boom after each write
 * (its releaseWritingBuf), and its rest re-encoded after each partial write to a pipe. Pieces of about sonic-boom's
 * maxWrite (16 KiB) are each written whole, and the writes a batch takes are as few as sonic-boom makes anyway.
 */
export const LOG_PIECE_CHARS = 12 * 1024;

/**
 * The recorder sink writing one `request completed` line per call, a batch per destination write (in pieces of whole
 * lines, LOG_PIECE_CHARS). It lingers `lingerMs` for a fuller batch: each destination write is an fs.write handed to
 * libuv's thread pool, which costs far more than the line (under sequential traffic, a write per call was the
 * largest cost after the response).
 */
export function requestLogSink(logger: Logger, format: 'json' | 'ecs' = 'json', lingerMs = 50): Sink {
  const parts = partsOf(logger);
  const stream = (logger as unknown as Record<symbol, { write(s: string): unknown }>)[symbols.streamSym];
  return {
    name: 'logs',
    maxBatch: 1024,
    lingerMs,
    write(calls) {
      // At logLevel warn, only the failed calls' lines (failedCall), which are written at warn.
      if (!logger.isLevelEnabled('warn') || !stream) return;
      const info = logger.isLevelEnabled('info');
      // The logger's own bindings follow the time, as pino writes them (a gateway worker's `worker`).
      const time =
        parts.time() + ((logger as unknown as Record<symbol, string | undefined>)[symbols.chindingsSym] ?? '');
      let out = '';
      for (const c of calls) {
        if (!info && !failedCall(c)) continue;
        out += requestLine(c, format, parts, time);
        if (out.length >= LOG_PIECE_CHARS) {
          stream.write(out);
          out = '';
        }
      }
      if (out !== '') stream.write(out);
    },
  };
}
