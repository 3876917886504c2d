// OpenAI's Responses API (POST /v1/responses): the prompt from `instructions` and `input` items, the response's
// status as finish reason (completed → stop or tool_calls, incomplete → its reason, failed → error), usage with
// cached and reasoning tokens, refusal parts, and the event stream (response.output_text.delta,
// response.completed, response.incomplete, response.failed, error). Errors are OpenAI's shape, as on chat.
import type { IncomingHttpHeaders } from 'node:http';
import { type Endpoint, type ToolUses, toolUsesOf } from '../../calls/index.js';
import { renderError } from '../../errors.js';
import {
  type ChunkInfo,
  chatFraming,
  isRateLimitError,
  type Json,
  numericParams,
  obj,
  type ProviderAdapter,
  queryOf,
  type ResponseInfo,
  type StreamReader,
} from '../adapter.js';
import { errorTypeOf, usageOf, withTier } from '../openai-compatible/index.js';
import { keyAt, leadingType, stringAt, stringEnd } from '../scan.js';

/** Text of an input item's `content`: a string, or parts with `text` (input_text, output_text). */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let s = '';
  for (const part of content) {
    const p = obj(part);
    if (p && typeof p.text === 'string') s += s ? `\n${p.text}` : p.text;
  }
  return s;
}

/** A tool call item's text (its name, then its arguments or input), or null when the item is not a tool call. */
function toolCallText(o: Json): string | null {
  const args = o.type === 'function_call' ? o.arguments : o.type === 'custom_tool_call' ? o.input : undefined;
  if (args === undefined) return null;
  const name = typeof o.name === 'string' ? o.name : '';
  const a = typeof args === 'string' ? args : '';
  return name && a ? `${name}\n${a}` : name || a;
}

export function promptText(body: Json, _endpoint: Endpoint, assistant?: number[]): string {
  let s = typeof body.instructions === 'string' && body.instructions ? `${body.instructions}\n` : '';
  const input = body.input;
  if (typeof input === 'string') return `${s}${input}`;
  if (!Array.isArray(input)) return s;
  for (const item of input) {
    const o = obj(item);
    if (!o) continue;
    const start = s.length;
    // The model's earlier tool calls are in the prompt it is billed for (a coding agent's history is mostly them):
    // the tool's name and arguments (a custom tool's input), as the model's own turn.
    const call = toolCallText(o);
    if (call !== null) {
      if (call) s += `${call}\n`;
      if (assistant && s.length > start) assistant.push(start, s.length);
      continue;
    }
    const t =
      (o.type === 'function_call_output' || o.type === 'custom_tool_call_output') && typeof o.output === 'string'
        ? o.output
        : contentText(o.content);
    if (t) s += `${t}\n`;
    if (assistant && o.role === 'assistant' && s.length > start) assistant.push(start, s.length);
  }
  return s;
}

/**
 * Output items of the tools the API runs itself: their results are in the response already, so the answer does not
 * wait on the client (a response with one and a message is `stop`; a function call, shell or computer call is
 * `tool_calls`).
 */
const HOSTED_CALLS = new Set([
  'web_search_call',
  'file_search_call',
  'code_interpreter_call',
  'image_generation_call',
  'mcp_call',
  'tool_search_call',
]);

/**
 * True for an output item of a tool the client runs (function_call, custom_tool_call, computer_call, local_shell_call,
 * shell_call, ...): the answer then waits on the client (`tool_calls`); false for the API's own (HOSTED_CALLS).
 * Responses and Realtime output items alike.
 */
export function isClientToolCall(type: unknown): boolean {
  return typeof type === 'string' && type.endsWith('_call') && !HOSTED_CALLS.has(type);
}

/** What a Response object (the body, or the `response` of a stream's final event) says. */
export function responseInfo(body: unknown): ResponseInfo {
  const o = obj(body);
  const info: ResponseInfo = { text: '', finishReason: null, usage: null, refusal: null };
  if (!o) return info;
  info.usage = withTier(usageOf(o.usage), o.service_tier);
  let toolCall = false;
  // The built-in tools billed per call: each web_search_call and file_search_call output item is one.
  let webSearches = 0;
  let fileSearches = 0;
  for (const item of Array.isArray(o.output) ? o.output : []) {
    const it = obj(item);
    if (!it) continue;
    if (it.type === 'web_search_call') webSearches++;
    else if (it.type === 'file_search_call') fileSearches++;
    else if (isClientToolCall(it.type)) toolCall = true;
    if (it.type !== 'message' || !Array.isArray(it.content)) continue;
    for (const part of it.content) {
      const p = obj(part);
      if (p?.type === 'output_text' && typeof p.text === 'string') info.text += p.text;
      if (p?.type === 'refusal' && typeof p.refusal === 'string') info.refusal = (info.refusal ?? '') + p.refusal;
    }
  }
  if (info.usage && (webSearches > 0 || fileSearches > 0)) {
    const uses: ToolUses = {};
    if (webSearches > 0) uses.web_search = webSearches;
    if (fileSearches > 0) uses.file_search = fileSearches;
    // A Response echoes the tools its request declared: searches of the preview tool are billed as their own line.
    info.usage.toolUses = toolUsesOf(uses, o.tools);
  }
  const reason = obj(o.incomplete_details)?.reason;
  // A compaction (POST /v1/responses/compact) has no status: it answers only when done
  if (o.object === 'response.compaction') info.finishReason = 'compacted';
  else if (o.status === 'completed') info.finishReason = toolCall ? 'tool_calls' : 'stop';
  else if (o.status === 'incomplete') info.finishReason = typeof reason === 'string' ? reason : 'incomplete';
  // A background response is answered before it is generated: its status says so (its usage comes with a later GET)
  else if (o.status === 'queued' || o.status === 'in_progress') info.finishReason = o.status;
  else if (o.status === 'failed' || o.status === 'cancelled') {
    info.finishReason = o.status === 'failed' ? 'error' : 'cancelled';
    const e = obj(o.error);
    info.error =
      typeof e?.code === 'string' ? e.code : o.status === 'failed' ? 'response_failed' : 'response_cancelled';
    if (typeof e?.message === 'string') info.errorMessage = e.message;
    if (isRateLimitError(e?.code, e?.type)) info.rateLimited = true;
  }
  if (info.finishReason === 'content_filter' && info.refusal === null) info.refusal = 'content_filter';
  return info;
}

const info = (): ChunkInfo => ({
  text: '',
  content: false,
  finishReason: null,
  usage: null,
  refusal: null,
  usageOnly: false,
});

const OUTPUT_DELTAS = new Set([
  'response.function_call_arguments.delta',
  'response.reasoning_summary_text.delta',
  'response.reasoning_text.delta',
  'response.custom_tool_call_input.delta',
  'response.audio.delta',
]);
/**
 * The output deltas whose `delta` is text that is not the answer (a tool call's arguments, reasoning): billed as
 * output, so counted when a stream ends without its usage (ChunkInfo.other). An audio delta is base64: only content.
 */
const OTHER_TEXT_DELTAS = new Set([
  'response.function_call_arguments.delta',
  'response.reasoning_summary_text.delta',
  'response.reasoning_text.delta',
  'response.custom_tool_call_input.delta',
]);

/** Event types the reader parses; every other type says nothing it keeps. */
const READ_EVENTS = new Set([
  'response.output_text.delta',
  'response.refusal.delta',
  'response.completed',
  'response.incomplete',
  'response.failed',
  'error',
]);
const DELTA = '"delta":"';
const DELTA_WORD = DELTA.slice(1);

/**
 * The common events read without parsing: a text delta (its `delta` string found once, as a key), the output deltas
 * that only mark content, and every event that says nothing the reader keeps — among them `response.created`,
 * `response.output_item.done` and `response.output_text.done`, which repeat the whole answer and would cost a parse
 * of it each. Null for anything else, which the caller parses. Agrees with the parser on every well-formed event it
 * answers for.
 */
export function fastResponsesEvent(data: string): ChunkInfo | null {
  const type = leadingType(data);
  if (type === null) return null;
  const other = OTHER_TEXT_DELTAS.has(type);
  if (OUTPUT_DELTAS.has(type) && !other) {
    const out = info();
    out.content = true;
    return out;
  }
  if (!other && !READ_EVENTS.has(type)) return info();
  if (!other && type !== 'response.output_text.delta') return null;
  const k = keyAt(data, DELTA_WORD, 0);
  if (k === null || k === -1) return null;
  const from = k + DELTA.length;
  const end = stringEnd(data, from);
  if (end === -1) return null;
  const out = info();
  const delta = stringAt(data, from, end);
  if (other) {
    out.content = true;
    if (delta) out.other = delta;
  } else {
    out.text = delta;
    out.content = delta.length > 0;
  }
  return out;
}

/** Reads one Responses stream's events (stateless: the final event carries the whole response). */
export const responsesStreamReader: StreamReader = {
  read: (data) => fastResponsesEvent(data) ?? readParsedEvent(data),
};

/** What a Responses event says, read by parsing it (what the reader does for any event the fast reader leaves). */
export function readParsedEvent(data: string): ChunkInfo | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    return null;
  }
  return readEventObject(parsed);
}

/** What a Responses event already parsed (or skimmed: its long strings cut) says. */
export function readEventObject(parsed: unknown): ChunkInfo {
  const o = obj(parsed);
  const out = info();
  if (!o || typeof o.type !== 'string') return out;
  const type = o.type;
  if (type === 'response.output_text.delta') {
    if (typeof o.delta === 'string') {
      out.text = o.delta;
      out.content = o.delta.length > 0;
    }
  } else if (type === 'response.refusal.delta') {
    if (typeof o.delta === 'string' && o.delta) {
      out.refusal = o.delta;
      out.content = true;
    }
  } else if (OUTPUT_DELTAS.has(type)) {
    out.content = true;
    if (OTHER_TEXT_DELTAS.has(type) && typeof o.delta === 'string' && o.delta) out.other = o.delta;
  } else if (type === 'response.completed' || type === 'response.incomplete' || type === 'response.failed') {
    const r = responseInfo(o.response);
    const id = obj(o.response)?.id;
    if (typeof id === 'string') out.responseId = id;
    const model = obj(o.response)?.model;
    if (typeof model === 'string' && model) out.responseModel = model;
    out.usage = r.usage;
    out.finishReason = r.finishReason;
    if (r.finishReason === 'content_filter') out.refusal = 'content_filter';
    if (r.error) {
      out.error = r.error;
      if (r.errorMessage) out.errorMessage = r.errorMessage;
      if (r.rateLimited) out.rateLimited = true;
    } else if (type === 'response.failed') out.error = 'response_failed';
  } else if (type === 'error') {
    out.error = typeof o.code === 'string' ? o.code : (errorTypeOf(o) ?? 'error');
    // Flat as the API reference shows it, or nested under `error` as the API sends it (and its HTTP errors are).
    const message = typeof o.message === 'string' ? o.message : obj(o.error)?.message;
    if (typeof message === 'string') out.errorMessage = message;
    const e = obj(o.error);
    if (isRateLimitError(o.code, o.type === 'error' ? null : o.type, e?.code, e?.type)) out.rateLimited = true;
  }
  return out;
}

/**
 * The session the Codex CLI names in its own headers: `session_id` (its conversation's id), else `conversation_id`
 * (older versions send both, with the same id); null when neither.
 */
export function codexSession(headers: IncomingHttpHeaders): string | null {
  for (const name of ['session_id', 'conversation_id']) {
    const v = headers[name];
    const s = Array.isArray(v) ? v[0] : v;
    if (typeof s === 'string' && s.trim()) return s.trim();
  }
  return null;
}

const PARAMS = { max_output_tokens: 'max_tokens', temperature: 'temperature', top_p: 'top_p' };
const COMPACT_PATH = '/v1/responses/compact';

export const openaiResponsesAdapter: ProviderAdapter = {
  format: 'openai-responses',
  // A compaction (the SDK's responses.compact, what Codex sends to compact a long conversation) is a model pass over
  // the whole input, billed as a response: a call, not a pass-through.
  routes: { '/v1/responses': 'responses', [COMPACT_PATH]: 'responses' },
  passThrough: ['/v1/responses/'],
  upstreamPath: (_endpoint, url) =>
    url.startsWith(COMPACT_PATH) && (url.length === COMPACT_PATH.length || url[COMPACT_PATH.length] === '?')
      ? `/responses/compact${queryOf(url)}`
      : `/responses${queryOf(url)}`,
  injectsStreamUsage: false,
  params: (body) => numericParams(body, PARAMS),
  // safety_identifier replaced `user` for the end user's id; older clients still send `user`.
  userOf: (body) => (typeof body.safety_identifier === 'string' ? body.safety_identifier : body.user),
  sessionOf: (_body, headers) => codexSession(headers),
  promptText,
  // A string input is one user message; instructions are billed as their text.
  promptFraming: (body) =>
    typeof body.input === 'string'
      ? chatFraming([{ role: 'user' }])
      : Array.isArray(body.input)
        ? chatFraming(body.input)
        : 0,
  responseInfo,
  streamReader: () => responsesStreamReader,
  errorTypeOf,
  renderError,
  example: () => ({ body: '{"model": "...", "input": "..."}', model: 'gpt-4o-mini' }),
};
