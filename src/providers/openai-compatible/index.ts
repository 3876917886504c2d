// The OpenAI-compatible protocol (OpenAI, vLLM, Ollama, llama.cpp, TGI, Groq, Together, ...): what the gateway
// needs to read from requests and responses — usage, content, finish reason, refusal — as small pure functions.
import type { Endpoint } from '../../calls/index.js';

export interface Usage {
  inputTokens: number | null;
  outputTokens: number | null;
  cachedInputTokens: number | null;
  reasoningTokens: number | null;
}

type Json = Record<string, unknown>;

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const obj = (v: unknown): Json | null => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : null);

/** Reads an OpenAI `usage` object (chat, completions, embeddings; also Anthropic-style names some servers use). */
export function usageOf(u: unknown): Usage | null {
  const o = obj(u);
  if (!o) return null;
  const details = obj(o.prompt_tokens_details) ?? obj(o.input_tokens_details);
  const outDetails = obj(o.completion_tokens_details) ?? obj(o.output_tokens_details);
  const input = num(o.prompt_tokens) ?? num(o.input_tokens);
  const output = num(o.completion_tokens) ?? num(o.output_tokens) ?? (input !== null ? 0 : null);
  if (input === null && output === null) return null;
  return {
    inputTokens: input,
    outputTokens: output,
    cachedInputTokens: num(details?.cached_tokens) ?? num(o.cache_read_input_tokens) ?? 0,
    reasoningTokens: num(outDetails?.reasoning_tokens) ?? 0,
  };
}

/** What one streamed chunk (already JSON-parsed) says. */
export interface ChunkInfo {
  /** Text delta carried by this chunk ('' when none). */
  text: string;
  /** True when the chunk carries output: text, a refusal, tool calls or a function call. */
  content: boolean;
  finishReason: string | null;
  usage: Usage | null;
  refusal: string | null;
  /** True for the extra usage-only chunk (`choices: []` with usage). */
  usageOnly: boolean;
}

export function chunkInfo(chunk: unknown, endpoint: Endpoint): ChunkInfo {
  const o = obj(chunk);
  const info: ChunkInfo = { text: '', content: false, finishReason: null, usage: null, refusal: null, usageOnly: false };
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
    if ((Array.isArray(delta.tool_calls) && delta.tool_calls.length > 0) || obj(delta.function_call)) info.content = true;
    if (typeof delta.reasoning_content === 'string' && delta.reasoning_content.length > 0) info.content = true;
  }
  info.usage = usageOf(o.usage);
  info.usageOnly = choices.length === 0 && info.usage !== null;
  return info;
}

/** What a non-streamed response body says. */
export interface ResponseInfo {
  text: string;
  finishReason: string | null;
  usage: Usage | null;
  refusal: string | null;
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

/** The text of the request's prompt, for counting input tokens when the upstream gives no usage. */
export function promptText(body: Json, endpoint: Endpoint): string {
  if (endpoint === 'chat.completions') {
    const msgs = Array.isArray(body.messages) ? body.messages : [];
    let s = '';
    for (const m of msgs) {
      const mo = obj(m);
      if (!mo) continue;
      if (typeof mo.content === 'string') s += `${mo.content}\n`;
      else if (Array.isArray(mo.content))
        for (const part of mo.content) {
          const p = obj(part);
          if (p && typeof p.text === 'string') s += `${p.text}\n`;
        }
    }
    return s;
  }
  const input = endpoint === 'completions' ? body.prompt : body.input;
  if (typeof input === 'string') return input;
  if (Array.isArray(input)) return input.filter((x) => typeof x === 'string').join('\n');
  return '';
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
  return endpoint === 'chat.completions' ? 'chat' : endpoint === 'completions' ? 'text_completion' : 'embeddings';
}
