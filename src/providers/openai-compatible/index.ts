// The OpenAI-compatible protocol (OpenAI, vLLM, Ollama, llama.cpp, TGI, Groq, Together, ...): what the gateway
// needs to read from requests and responses — usage, content, finish reason, refusal — as small pure functions,
// and the adapter that puts them behind the ProviderAdapter interface.
import type { Endpoint } from '../../calls/index.js';
import { renderError } from '../../errors.js';
import {
  type ChunkInfo,
  type Json,
  num,
  numericParams,
  obj,
  type ProviderAdapter,
  type ResponseInfo,
  type StreamReader,
  type Usage,
} from '../adapter.js';
import { keyAt, stringAt, stringEnd } from '../scan.js';

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
  // Servers that report `prompt_tokens` beside Anthropic's cache field (LiteLLM) give their cached count there.
  cached ??= cacheRead;
  return {
    inputTokens: input,
    outputTokens: output,
    cachedInputTokens: cached ?? 0,
    reasoningTokens: num(outDetails?.reasoning_tokens) ?? 0,
    cacheWriteInputTokens: cacheWrite ?? 0,
  };
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
    if ((Array.isArray(delta.tool_calls) && delta.tool_calls.length > 0) || obj(delta.function_call))
      info.content = true;
    if (typeof delta.reasoning_content === 'string' && delta.reasoning_content.length > 0) info.content = true;
  }
  info.usage = usageOf(o.usage);
  info.usageOnly = choices.length === 0 && info.usage !== null;
  return info;
}

const DELTA = '"delta":{';
const CONTENT = '"content":"';
const FINISH = '"finish_reason":';
const USAGE = '"usage":';

/**
 * `chunkInfo` of the common chat chunk, read without parsing it: one choice whose delta is `{}` or only a text
 * `content`, then a finish reason or none, then usage null or none. Returns null for anything else (a role,
 * refusal, tool call or reasoning delta, several choices, usage, other endpoints, other key orders, JSON written
 * with spaces), which the caller then parses. Agrees with `chunkInfo(JSON.parse(data))` whenever it answers.
 */
export function fastChunkInfo(data: string, endpoint: Endpoint): ChunkInfo | null {
  if (endpoint !== 'chat.completions' || data.charCodeAt(0) !== 123) return null;
  const d = data.indexOf(DELTA);
  if (d === -1 || data.charCodeAt(d - 1) === 92) return null;
  const info: ChunkInfo = {
    text: '',
    content: false,
    finishReason: null,
    usage: null,
    refusal: null,
    usageOnly: false,
  };
  let at = d + DELTA.length;
  if (data.startsWith(CONTENT, at)) {
    const from = at + CONTENT.length;
    const end = stringEnd(data, from);
    if (end === -1 || data.charCodeAt(end + 1) !== 125) return null;
    info.text = stringAt(data, from, end);
    info.content = info.text.length > 0;
    at = end + 2;
  } else if (data.startsWith('"content":null}', at)) at += 15;
  else if (data.charCodeAt(at) === 125) at += 1;
  else return null;
  // What follows the delta, in OpenAI's key order; anything before it was only ids, index and the like.
  if (data.indexOf('"delta":', at) !== -1) return null;
  const f = keyAt(data, FINISH, at);
  if (f === null) return null;
  if (f !== -1) {
    const from = f + FINISH.length;
    if (data.charCodeAt(from) === 34) {
      const end = stringEnd(data, from + 1);
      if (end === -1) return null;
      info.finishReason = stringAt(data, from + 1, end);
      at = end + 1;
    } else if (data.startsWith('null', from)) at = from + 4;
    else return null;
  }
  const u = keyAt(data, USAGE, at);
  if (u === null || (u !== -1 && !data.startsWith('null', u + USAGE.length))) return null;
  return info;
}

export function responseInfo(body: unknown, endpoint: Endpoint): ResponseInfo {
  const o = obj(body);
  const info: ResponseInfo = { text: '', finishReason: null, usage: null, refusal: null };
  if (!o) return info;
  info.usage = usageOf(o.usage);
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

/** The OpenTelemetry GenAI operation name for an endpoint. */
export function operationName(endpoint: Endpoint): 'chat' | 'text_completion' | 'embeddings' {
  return endpoint === 'completions' ? 'text_completion' : endpoint === 'embeddings' ? 'embeddings' : 'chat';
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

/** Reads a chat or completions stream: the common text chunk without parsing it, anything else parsed. */
function streamReader(endpoint: Endpoint): StreamReader {
  return {
    read(data) {
      const fast = fastChunkInfo(data, endpoint);
      if (fast !== null) return fast;
      let parsed: unknown;
      try {
        parsed = JSON.parse(data);
      } catch {
        return null;
      }
      return chunkInfo(parsed, endpoint);
    },
  };
}

export const openaiCompatibleAdapter: ProviderAdapter = {
  format: 'openai-compatible',
  routes: {
    '/v1/chat/completions': 'chat.completions',
    '/v1/completions': 'completions',
    '/v1/embeddings': 'embeddings',
  },
  upstreamPath: (endpoint) => UPSTREAM_PATH[endpoint] ?? '/chat/completions',
  passThrough: [],
  injectsStreamUsage: true,
  params: (body) => numericParams(body, PARAMS),
  promptText,
  responseInfo,
  streamReader,
  errorTypeOf,
  renderError,
};
