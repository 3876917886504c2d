// The OpenAI-compatible protocol (OpenAI, vLLM, Ollama, llama.cpp, TGI, Groq, Together, ...): what the gateway
// needs to read from requests and responses — usage, content, finish reason, refusal — as small pure functions,
// and the adapter that puts them behind the ProviderAdapter interface.
import type { IncomingHttpHeaders } from 'node:http';
import type { Endpoint, PlatformEndpoint } from '../../calls/index.js';
import { renderError } from '../../errors.js';
import {
  ANTHROPIC_SHARED,
  type ChunkInfo,
  chatFraming,
  isRateLimitError,
  type Json,
  num,
  numericParams,
  obj,
  type PassThroughMatch,
  type ProviderAdapter,
  queryOf,
  type ResponseInfo,
  type StreamReader,
  type Usage,
} from '../adapter.js';
import { has, stringAt, stringEnd, valueEnd } from '../scan.js';

export type { ChunkInfo, ResponseInfo, Usage };

/** Reads an OpenAI `usage` object (chat, completions, embeddings; also Anthropic-style names some servers use). */
export function usageOf(u: unknown): Usage | null {
  const o = obj(u);
  if (!o) return null;
  const details = obj(o.prompt_tokens_details) ?? obj(o.input_tokens_details);
  const outDetails = obj(o.completion_tokens_details) ?? obj(o.output_tokens_details);
  let input = num(o.prompt_tokens) ?? num(o.input_tokens);
  const output = num(o.completion_tokens) ?? num(o.output_tokens) ?? (input !== null ? 0 : null);
  if (input === null && output === null) return null;
  let cached = num(details?.cached_tokens);
  // Anthropic's names: its `input_tokens` leaves out the tokens read from and written to the prompt cache, which
  // OpenAI's `prompt_tokens` includes; add them back so input is every prompt token, as everywhere else.
  const cacheRead = num(o.cache_read_input_tokens);
  const cacheWrite = num(o.cache_creation_input_tokens);
  if (num(o.prompt_tokens) === null && (cacheRead !== null || cacheWrite !== null))
    input = (input ?? 0) + (cacheRead ?? 0) + (cacheWrite ?? 0);
  // Servers that report `prompt_tokens` beside Anthropic's cache field (LiteLLM) give their cached count there;
  // DeepSeek gives it as `prompt_cache_hit_tokens` (beside `prompt_cache_miss_tokens`, both parts of `prompt_tokens`).
  cached ??= cacheRead ?? num(o.prompt_cache_hit_tokens);
  return {
    inputTokens: input,
    outputTokens: output,
    cachedInputTokens: cached ?? 0,
    reasoningTokens: num(outDetails?.reasoning_tokens) ?? 0,
    cacheWriteInputTokens: cacheWrite ?? 0,
  };
}

/**
 * Usage with the service tier the answer reports beside it (OpenAI's top-level `service_tier`, on a chat completion,
 * the stream's usage chunk and a Responses response), which prices the call (flex, priority); read only where usage is.
 */
export function withTier(u: Usage | null, tier: unknown): Usage | null {
  if (u !== null && typeof tier === 'string' && tier.length > 0) u.serviceTier = tier;
  return u;
}

/** Adds output that is not the answer's text (a tool call's arguments, reasoning) to an event's info. */
function addOther(info: ChunkInfo, v: unknown): void {
  if (typeof v === 'string' && v) info.other = info.other === undefined ? v : info.other + v;
}

export function chunkInfo(chunk: unknown, endpoint: Endpoint): ChunkInfo {
  const o = obj(chunk);
  const info: ChunkInfo = {
    text: '',
    content: false,
    finishReason: null,
    usage: null,
    refusal: null,
    usageOnly: false,
  };
  if (!o) return info;
  // A failure reported after the stream began (OpenAI's and vLLM's `data: {"error": {...}}`, older vLLM's
  // `{"object": "error", ...}`): the SDK raises it, so the call failed, whatever its 200 said.
  const e = obj(o.error) ?? (o.object === 'error' ? o : null);
  if (e) {
    info.error = typeof e.type === 'string' ? e.type : typeof e.code === 'string' ? e.code : 'error';
    if (typeof e.message === 'string') info.errorMessage = e.message;
    // OpenAI's rate limit: type `tokens` or `requests`, code `rate_limit_exceeded`
    if (isRateLimitError(e.type, e.code)) info.rateLimited = true;
  }
  const choices = Array.isArray(o.choices) ? o.choices : [];
  for (const c of choices) {
    const choice = obj(c);
    if (!choice) continue;
    if (typeof choice.finish_reason === 'string') info.finishReason = choice.finish_reason;
    if (endpoint === 'completions') {
      if (typeof choice.text === 'string' && choice.text.length > 0) {
        info.text += choice.text;
        info.content = true;
      }
      continue;
    }
    const delta = obj(choice.delta);
    if (!delta) continue;
    if (typeof delta.content === 'string' && delta.content.length > 0) {
      info.text += delta.content;
      info.content = true;
    }
    if (typeof delta.refusal === 'string' && delta.refusal.length > 0) {
      info.refusal = (info.refusal ?? '') + delta.refusal;
      info.content = true;
    }
    // Tool-call arguments and reasoning are output too (billed as completion tokens), but not the answer's text.
    if (Array.isArray(delta.tool_calls) && delta.tool_calls.length > 0) {
      info.content = true;
      for (const t of delta.tool_calls) addOther(info, obj(obj(t)?.function)?.arguments);
    } else if (obj(delta.function_call)) {
      info.content = true;
      addOther(info, obj(delta.function_call)?.arguments);
    }
    // DeepSeek's and older vLLM's reasoning_content; OpenRouter's, Groq's and newer vLLM's reasoning (one of them, as
    // a server moving from one name to the other may send both)
    const reasoning =
      (typeof delta.reasoning_content === 'string' && delta.reasoning_content) ||
      (typeof delta.reasoning === 'string' && delta.reasoning);
    if (reasoning) {
      info.content = true;
      addOther(info, reasoning);
    }
    // Audio output (modalities ["text", "audio"]): the deltas carry `audio` (its data and transcript), never
    // `content`; the audio is the answer, its transcript the answer's text.
    const audio = obj(delta.audio);
    if (audio) {
      if (typeof audio.transcript === 'string' && audio.transcript.length > 0) info.text += audio.transcript;
      if (info.text.length > 0 || (typeof audio.data === 'string' && audio.data.length > 0)) info.content = true;
    }
  }
  info.usage = withTier(usageOf(o.usage), o.service_tier);
  info.usageOnly = choices.length === 0 && info.usage !== null;
  return info;
}

/**
 * `chunkInfo` of a chat or completions chunk, read without parsing the whole of it: the top level up to
 * `"choices":[` is skipped unread once it is known to hold only plain values (no `{` or `[` in it at all, even inside a
 * string), then at most one choice and the members after it are read value by value — a delta's content, refusal and
 * reasoning, the finish reason, a text, and usage (its object alone parsed). Returns null for anything else (a tool
 * call or other object or array value, several choices, escapes in keys, JSON written with spaces, other endpoints),
 * which the caller then parses. Agrees with `chunkInfo(JSON.parse(data))` on every well-formed chunk it answers.
 */
export function fastChunkInfo(data: string, endpoint: Endpoint, span?: TextSpan): ChunkInfo | null {
  if (span !== undefined) {
    span.textStart = -1;
    span.freeStart = -1;
  }
  if ((endpoint !== 'chat.completions' && endpoint !== 'completions') || data.charCodeAt(0) !== 123) return null;
  const b = data.indexOf('[');
  if (b < 11 || !has(data, b - CHOICES.length, CHOICES)) return null;
  const before = data.charCodeAt(b - CHOICES.length - 1);
  if (before !== 44 && before !== 123) return null;
  const brace = data.indexOf('{', 1);
  if (brace !== -1 && brace < b) return null;
  const info: ChunkInfo = {
    text: '',
    content: false,
    finishReason: null,
    usage: null,
    refusal: null,
    usageOnly: false,
  };
  let at = b + 1;
  let bs: number;
  let choices = 0;
  // The common chat chunk as OpenAI and vLLM write it, matched piece by piece.
  const common = endpoint === 'chat.completions' ? commonChoice(data, at, info, span) : -1;
  if (common !== -1) {
    if (common === data.length - 1 || (common === data.length - 14 && has(data, data.length - 14, USAGE_NULL_END)))
      return info;
    // More members after the choice (OpenAI's `obfuscation`): read below, the choice as read.
    at = common;
    bs = data.indexOf('\\', at);
    choices = 1;
  } else {
    bs = data.indexOf('\\', at);
    info.text = '';
    info.content = false;
    info.finishReason = null;
    if (data.charCodeAt(at) !== 93) {
      if (data.charCodeAt(at) !== 123) return null;
      at = readChoice(data, at + 1, info, endpoint, bs);
      if (at === -1 || data.charCodeAt(at) !== 93) return null;
      choices = 1;
    }
    at++;
  }
  // The top level's members after the choices: plain values, and usage.
  let tier: string | null = null;
  /** The last member's string value, its first character (-1: not a string). */
  let free = -1;
  for (;;) {
    const c = data.charCodeAt(at);
    if (c === 125) {
      if (at !== data.length - 1) return null;
      break;
    }
    if (c !== 44 || data.charCodeAt(at + 1) !== 34) return null;
    const k = at + 2;
    const ke = keyEnd(data, k, bs);
    if (ke === -1) return null;
    const v = ke + 2;
    if (ke - k === 5 && has(data, k, 'usage') && data.charCodeAt(v) === 123) {
      // Usage as the last member (OpenAI's final chunk): its object alone is parsed; written otherwise, the whole is.
      if (span !== undefined) span.textStart = -1;
      let u: unknown;
      try {
        u = JSON.parse(data.slice(v, data.length - 1));
      } catch {
        return null;
      }
      info.usage = usageOf(u);
      // The usage chunk's service tier: written before the choices (OpenAI's order: plain values only there, so any
      // match is a top-level member), or after them (read below); looked for only in the one chunk with usage.
      if (info.usage !== null) {
        if (tier === null) {
          const s = data.lastIndexOf(SERVICE_TIER, b);
          if (s !== -1) {
            const e = stringEnd(data, s + SERVICE_TIER.length);
            if (e !== -1 && e < b) tier = stringAt(data, s + SERVICE_TIER.length, e);
          }
        }
        withTier(info.usage, tier);
      }
      break;
    }
    // A plain usage value (null) is no usage; a later usage member wins, as in JSON.parse.
    if (ke - k === 5 && has(data, k, 'usage')) info.usage = null;
    at = valueEnd(data, v);
    if (at === -1) return null;
    free = data.charCodeAt(v) === 34 ? v + 1 : -1;
    // `service_tier` after the choices (a later member wins, as in JSON.parse)
    if (ke - k === 12 && has(data, k, 'service_tier'))
      tier = data.charCodeAt(v) === 34 ? stringAt(data, v + 1, at - 1) : null;
  }
  info.usageOnly = choices === 0 && info.usage !== null;
  // A plain text delta followed by plain members, the last a string (OpenAI's `obfuscation`, a different string in
  // each chunk): that string is read for its end only, so any other string there reads the same.
  if (span !== undefined && span.textStart !== -1) {
    if (free === -1) span.textStart = -1;
    else {
      span.freeStart = free;
      span.freeEnd = at - 1;
    }
  }
  return info;
}

const CHOICES = '"choices":';
const SERVICE_TIER = '"service_tier":"';

const USAGE_NULL_END = ',"usage":null}';
/** commonChoice's text delta of choice 0: its start, up to the text, and what follows the delta's `}`. */
const TEXT_HEAD = '{"index":0,"delta":{"content":"';
const TEXT_TAIL = ',"logprobs":null,"finish_reason":null}]';

/**
 * Where the text of a plain text delta is (fastChunkInfo sets it when it answers): its string's first character and
 * closing quote in the data, or textStart -1; and, when members follow the choice, the last one's string value that
 * reads the same whatever it holds (freeStart, freeEnd; freeStart -1 when none).
 */
export interface TextSpan {
  textStart: number;
  textEnd: number;
  freeStart: number;
  freeEnd: number;
}

/**
 * `[{"index":N,"delta":{"content":"..."}` (or `{}`), then `,"logprobs":null` and `,"finish_reason":...` if there,
 * then `}]`: the index of the `}` or `,` after that, or -1 when the choice is written otherwise. `span` gets the text's
 * place when the choice is the commonest form (below).
 */
function commonChoice(data: string, from: number, info: ChunkInfo, span?: TextSpan): number {
  // The commonest of all, a text delta of choice 0 with nothing else said, in two comparisons instead of six; any
  // other form is read piece by piece below.
  if (has(data, from, TEXT_HEAD)) {
    const s = from + TEXT_HEAD.length;
    const e = stringEnd(data, s);
    if (e !== -1 && data.charCodeAt(e + 1) === 125 && has(data, e + 2, TEXT_TAIL)) {
      info.text = stringAt(data, s, e);
      info.content = info.text.length > 0;
      if (span !== undefined) {
        span.textStart = s;
        span.textEnd = e;
      }
      return e + 2 + TEXT_TAIL.length;
    }
  }
  if (!has(data, from, '{"index":')) return -1;
  let at = from + 9;
  while (data.charCodeAt(at) >= 48 && data.charCodeAt(at) <= 57) at++;
  if (!has(data, at, ',"delta":{')) return -1;
  at += 10;
  if (has(data, at, '"content":"')) {
    const s = at + 11;
    const e = stringEnd(data, s);
    if (e === -1 || data.charCodeAt(e + 1) !== 125) return -1;
    info.text = stringAt(data, s, e);
    info.content = info.text.length > 0;
    at = e + 2;
  } else if (data.charCodeAt(at) === 125) at++;
  else return -1;
  if (has(data, at, ',"logprobs":null')) at += 16;
  if (has(data, at, ',"finish_reason":')) {
    at += 17;
    if (data.charCodeAt(at) === 34) {
      const e = stringEnd(data, at + 1);
      if (e === -1) return -1;
      info.finishReason = stringAt(data, at + 1, e);
      at = e + 1;
    } else if (has(data, at, 'null')) at += 4;
    else return -1;
  }
  return data.charCodeAt(at) === 125 && data.charCodeAt(at + 1) === 93 ? at + 2 : -1;
}

/** One choice's members, from just after its `{`: returns the index just past its `}`, or -1 (leave it to the parser). */
function readChoice(data: string, from: number, info: ChunkInfo, endpoint: Endpoint, bs: number): number {
  let at = from;
  if (data.charCodeAt(at) === 125) return at + 1;
  let delta = false;
  let text: string | null = null;
  for (;;) {
    if (data.charCodeAt(at) !== 34) return -1;
    const ke = keyEnd(data, at + 1, bs);
    if (ke === -1) return -1;
    const name = data.slice(at + 1, ke);
    const v = ke + 2;
    let e: number;
    if (name === 'finish_reason' || (name === 'text' && endpoint === 'completions')) {
      e = valueEnd(data, v);
      if (e === -1) return -1;
      const value = data.charCodeAt(v) === 34 ? stringAt(data, v + 1, e - 1) : null;
      if (name === 'text') text = value;
      else info.finishReason = value;
    } else if (name === 'delta' && endpoint === 'chat.completions') {
      // A second delta would replace the first in JSON.parse: leave that to it.
      if (delta || data.charCodeAt(v) !== 123) return -1;
      delta = true;
      e = readDelta(data, v + 1, info, bs);
    } else e = valueEnd(data, v);
    if (e === -1) return -1;
    const c = data.charCodeAt(e);
    if (c === 125) {
      if (text) {
        info.text += text;
        info.content = true;
      }
      return e + 1;
    }
    if (c !== 44) return -1;
    at = e + 1;
  }
}

/** A delta's members, from just after its `{`: returns the index just past its `}`, or -1. Later members win. */
function readDelta(data: string, from: number, info: ChunkInfo, bs: number): number {
  let at = from;
  if (data.charCodeAt(at) === 125) return at + 1;
  let content: string | null = null;
  let refusal: string | null = null;
  let reasoning: string | null = null;
  let reasoningAlt: string | null = null;
  for (;;) {
    if (data.charCodeAt(at) !== 34) return -1;
    const ke = keyEnd(data, at + 1, bs);
    if (ke === -1) return -1;
    const v = ke + 2;
    const e = valueEnd(data, v);
    if (e === -1) return -1;
    const n = ke - at - 1;
    // (an audio delta is left to the parser)
    if (n === 5 && has(data, at + 1, 'audio')) return -1;
    if (n === 7 || n === 9 || n === 17) {
      const name = data.slice(at + 1, ke);
      const value = data.charCodeAt(v) === 34 ? stringAt(data, v + 1, e - 1) : null;
      if (name === 'content') content = value;
      else if (name === 'refusal') refusal = value;
      else if (name === 'reasoning_content') reasoning = value;
      else if (name === 'reasoning') reasoningAlt = value;
    }
    const c = data.charCodeAt(e);
    if (c === 125) {
      if (content) {
        info.text += content;
        info.content = true;
      }
      if (refusal) {
        info.refusal = (info.refusal ?? '') + refusal;
        info.content = true;
      }
      if (reasoning || reasoningAlt) {
        info.content = true;
        addOther(info, reasoning || reasoningAlt);
      }
      return e + 1;
    }
    if (c !== 44) return -1;
    at = e + 1;
  }
}

/**
 * The closing quote of the member name whose characters start at `from`, when a colon follows it at once; -1 for
 * anything else, and for a name with an escape in it (it could spell a name read here). `bs`: the first backslash
 * at or after the choices (-1: none), so the common chunk is not searched for one per name.
 */
function keyEnd(s: string, from: number, bs: number): number {
  const q = s.indexOf('"', from);
  if (q === -1 || s.charCodeAt(q + 1) !== 58) return -1;
  if (bs !== -1 && bs < q) {
    const e = s.indexOf('\\', from);
    if (e !== -1 && e < q) return -1;
  }
  return q;
}

export function responseInfo(body: unknown, endpoint: Endpoint): ResponseInfo {
  const o = obj(body);
  const info: ResponseInfo = { text: '', finishReason: null, usage: null, refusal: null };
  if (!o) return info;
  info.usage = withTier(usageOf(o.usage), o.service_tier);
  if (endpoint === 'embeddings') return info;
  const choices = Array.isArray(o.choices) ? o.choices : [];
  const reasons: string[] = [];
  for (const c of choices) {
    const choice = obj(c);
    if (!choice) continue;
    if (typeof choice.finish_reason === 'string') reasons.push(choice.finish_reason);
    if (endpoint === 'completions') {
      if (typeof choice.text === 'string') info.text += choice.text;
      continue;
    }
    const msg = obj(choice.message);
    if (typeof msg?.content === 'string') info.text += msg.content;
    else if (typeof obj(msg?.audio)?.transcript === 'string') info.text += obj(msg?.audio)?.transcript as string;
    if (typeof msg?.refusal === 'string' && msg.refusal) info.refusal = msg.refusal;
  }
  info.finishReason = reasons[0] ?? null;
  return info;
}

/**
 * The text of the request's prompt, for counting input tokens when the upstream gives no usage. `assistant`, when
 * given, receives the [start, end) offsets of the assistant messages' text in it (see `withoutRanges`).
 */
export function promptText(body: Json, endpoint: Endpoint, assistant?: number[]): string {
  if (endpoint === 'chat.completions') {
    const msgs = Array.isArray(body.messages) ? body.messages : [];
    let s = '';
    for (const m of msgs) {
      const mo = obj(m);
      if (!mo) continue;
      const start = s.length;
      if (typeof mo.content === 'string') s += `${mo.content}\n`;
      else if (Array.isArray(mo.content))
        for (const part of mo.content) {
          const p = obj(part);
          if (p && typeof p.text === 'string') s += `${p.text}\n`;
        }
      // The model's earlier tool calls are in the prompt it is billed for: each one's name and arguments.
      if (Array.isArray(mo.tool_calls))
        for (const tc of mo.tool_calls) {
          const f = obj(obj(tc)?.function);
          if (!f) continue;
          if (typeof f.name === 'string' && f.name) s += `${f.name}\n`;
          if (typeof f.arguments === 'string' && f.arguments) s += `${f.arguments}\n`;
        }
      if (assistant && mo.role === 'assistant' && s.length > start) assistant.push(start, s.length);
    }
    return s;
  }
  const input = endpoint === 'completions' ? body.prompt : body.input;
  if (typeof input === 'string') return input;
  if (Array.isArray(input)) return input.filter((x) => typeof x === 'string').join('\n');
  return '';
}

/**
 * `text` without the [start, end) ranges in `ranges` (ascending, as promptText gives them): the chat prompt without
 * the model's own earlier turns, the evidence quality checks may use.
 */
export function withoutRanges(text: string, ranges: readonly number[]): string {
  let out = '';
  let at = 0;
  for (let k = 0; k + 1 < ranges.length; k += 2) {
    out += text.slice(at, ranges[k]);
    at = ranges[k + 1] as number;
  }
  return out + text.slice(at);
}

/** Upstream error type from an OpenAI-shaped error body, if any. */
export function errorTypeOf(body: unknown): string | null {
  const e = obj(obj(body)?.error);
  if (!e) return null;
  if (typeof e.type === 'string') return e.type;
  if (typeof e.code === 'string') return e.code;
  return null;
}

/**
 * The OpenTelemetry GenAI operation name for an endpoint: Gemini's generateContent is `generate_content`, as the
 * conventions and Google's own instrumentation name it; Anthropic's messages and the Responses API are `chat`.
 */
/**
 * The HTTP method of the request llmscope sends upstream for a call at this endpoint (the `http.request.method` of its
 * `llmscope.upstream.wait` span): GET for a Realtime session (a WebSocket upgrade), POST for every other recorded call.
 */
export function upstreamMethod(endpoint: Endpoint): 'GET' | 'POST' {
  return endpoint === 'realtime' ? 'GET' : 'POST';
}

export function operationName(endpoint: Endpoint): 'chat' | 'text_completion' | 'embeddings' | 'generate_content' {
  if (endpoint === 'completions') return 'text_completion';
  if (endpoint === 'embeddings') return 'embeddings';
  return endpoint === 'generate_content' ? 'generate_content' : 'chat';
}

const PARAMS = {
  max_tokens: 'max_tokens',
  max_completion_tokens: 'max_tokens',
  temperature: 'temperature',
  top_p: 'top_p',
  seed: 'seed',
};
const UPSTREAM_PATH: Partial<Record<Endpoint, string>> = {
  'chat.completions': '/chat/completions',
  completions: '/completions',
  embeddings: '/embeddings',
};

/**
 * Reads a chat or completions stream: the common text chunk without parsing it, anything else parsed. A plain text
 * delta (fastChunkInfo's commonest form, nothing after its choice but `usage: null`) says where its text is
 * (textStart, textEnd): with another string there it would read as that text and nothing else, everything before and
 * after the string having been read as the same.
 */
class ChatStreamReader implements StreamReader, TextSpan {
  textStart = -1;
  textEnd = -1;
  freeStart = -1;
  freeEnd = -1;
  /** No event read yet. */
  private first = true;
  /** The stream named its model (and id): later events are not searched for them. */
  private named = false;
  constructor(private readonly endpoint: Endpoint) {}

  read(data: string): ChunkInfo | null {
    const fast = fastChunkInfo(data, this.endpoint, this);
    const first = this.first;
    this.first = false;
    // The chunk's id and model (the span's gen_ai.response.id/.model) are read from the first event, and from any
    // parsed anyway until one names them (Azure's first is a prompt_filter_results chunk with "" for both): the text
    // deltas after repeat them, unread.
    if (fast !== null && !first) return fast;
    if (fast === null) this.textStart = -1;
    else if (!this.named) {
      // The first event as fastChunkInfo read it: its id and model from the plain members before the choices, without
      // parsing the whole chunk (3 µs of a 64-token stream's 36 in the meter); any other form is parsed, as before.
      const named = namedBeforeChoices(data);
      if (named !== null) {
        if (named.model !== '') {
          this.named = true;
          fast.responseModel = named.model;
          if (named.id !== '') fast.responseId = named.id;
        }
        return fast;
      }
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      return fast;
    }
    const info = fast ?? chunkInfo(parsed, this.endpoint);
    if (!this.named) {
      const o = obj(parsed);
      if (o && typeof o.model === 'string' && o.model) {
        this.named = true;
        info.responseModel = o.model;
        if (typeof o.id === 'string' && o.id) info.responseId = o.id;
      }
    }
    return info;
  }
}

/**
 * A chunk's top-level `model` and `id` string values ('' where absent or not a non-empty string), when fastChunkInfo
 * answered it and they can be read from the members before `"choices":[` alone: those hold plain values only (no `{`
 * or `[`: fastChunkInfo checked), here also no backslash and no blank around a key or a value, each member
 * `"key":"string"` or `"key":literal`; and nothing after that `[` may be a key named so (no `model"` or `id"` there at
 * all). Else null: the caller parses the chunk. On a well-formed chunk it reads what JSON.parse would (a repeated key:
 * the last).
 */
export function namedBeforeChoices(data: string): { model: string; id: string } | null {
  const b = data.indexOf('[');
  if (data.indexOf('model"', b) !== -1 || data.indexOf('id"', b) !== -1) return null;
  const keysEnd = b - CHOICES.length;
  if (data.lastIndexOf('\\', keysEnd) !== -1) return null;
  let model = '';
  let id = '';
  let at = 1;
  while (at < keysEnd) {
    if (data.charCodeAt(at) !== 34) return null;
    const ke = data.indexOf('"', at + 1);
    if (ke === -1 || ke >= keysEnd || data.charCodeAt(ke + 1) !== 58) return null;
    const v = ke + 2;
    let next: number;
    let value: string | null = null;
    if (data.charCodeAt(v) === 34) {
      const ve = data.indexOf('"', v + 1);
      if (ve === -1 || ve >= keysEnd) return null;
      value = data.slice(v + 1, ve);
      next = ve + 1;
    } else {
      // a number, true, false or null (a blank before a value, which JSON allows, is left to JSON.parse)
      const c = data.charCodeAt(v);
      if (!(c === 45 || (c >= 48 && c <= 57) || c === 116 || c === 102 || c === 110)) return null;
      next = data.indexOf(',', v);
      if (next === -1 || next >= keysEnd) return null;
    }
    if (data.charCodeAt(next) !== 44) return null;
    const keyLength = ke - at - 1;
    if (keyLength === 5 && has(data, at + 1, 'model')) model = value ?? '';
    else if (keyLength === 2 && data.charCodeAt(at + 1) === 105 && data.charCodeAt(at + 2) === 100) id = value ?? '';
    at = next + 1;
  }
  return at === keysEnd ? { model, id } : null;
}

function streamReader(endpoint: Endpoint): StreamReader {
  return new ChatStreamReader(endpoint);
}

/**
 * OpenAI's platform APIs beside generation, as the `openai` SDK calls them (files, batches, moderations, images, audio,
 * vector stores, fine-tuning, uploads, conversations, Assistants and threads, containers, evals, videos, skills,
 * realtime sessions, ChatKit, the organization admin API): passed through unrecorded, the path and query as sent.
 */
const PLATFORM =
  /^\/v1\/(?:files|batches|moderations|images|audio|vector_stores|fine_tuning|uploads|conversations|assistants|threads|containers|evals|videos|skills|realtime|chatkit|organization)(?:\/|$)/;

/** The platform paths whose POST spends money: admitted and recorded as calls (PassThroughMatch.spends). */
const SPENDS: ReadonlyMap<string, PlatformEndpoint> = new Map<string, PlatformEndpoint>([
  ['/v1/images/generations', 'images.generations'],
  ['/v1/images/edits', 'images.edits'],
  ['/v1/images/variations', 'images.variations'],
  ['/v1/audio/speech', 'audio.speech'],
  ['/v1/audio/transcriptions', 'audio.transcriptions'],
  ['/v1/audio/translations', 'audio.translations'],
  ['/v1/batches', 'batches'],
]);

function passThroughPath(path: string, headers?: IncomingHttpHeaders): PassThroughMatch | null {
  if (!PLATFORM.test(path)) return null;
  if (headers?.['anthropic-version'] !== undefined && ANTHROPIC_SHARED.test(path)) return null;
  const spends = SPENDS.get(path);
  return spends
    ? { path: path.slice(3), model: null, fallback: true, spends }
    : { path: path.slice(3), model: null, fallback: true };
}

export const openaiCompatibleAdapter: ProviderAdapter = {
  format: 'openai-compatible',
  routes: {
    '/v1/chat/completions': 'chat.completions',
    '/v1/completions': 'completions',
    '/v1/embeddings': 'embeddings',
  },
  upstreamPath: (endpoint, url) => (UPSTREAM_PATH[endpoint] ?? '/chat/completions') + queryOf(url),
  // Stored chat completions (`GET`/`POST`/`DELETE /v1/chat/completions/{id}`, its `/messages`).
  passThrough: ['/v1/chat/completions/'],
  passThroughPath,
  injectsStreamUsage: true,
  params: (body) => numericParams(body, PARAMS),
  example: (endpoint) =>
    endpoint === 'embeddings'
      ? { body: '{"model": "...", "input": "..."}', model: 'text-embedding-3-small' }
      : endpoint === 'completions'
        ? { body: '{"model": "...", "prompt": "..."}', model: 'gpt-3.5-turbo-instruct' }
        : { body: '{"model": "...", "messages": [...]}', model: 'gpt-4o-mini' },
  // safety_identifier replaced `user` on chat completions too (as on the Responses API); older clients send `user`.
  userOf: (body) => (typeof body.safety_identifier === 'string' ? body.safety_identifier : body.user),
  promptText,
  promptFraming: (body, endpoint) =>
    endpoint === 'chat.completions' && Array.isArray(body.messages) ? chatFraming(body.messages) : 0,
  responseInfo,
  streamReader,
  errorTypeOf,
  renderError,
};
