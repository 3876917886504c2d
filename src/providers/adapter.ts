// The one interface every wire format implements (OpenAI-compatible, Anthropic Messages, OpenAI Responses, ...):
// where a call goes upstream, what its prompt is, what a finished body or a streamed event says (usage, finish
// reason, refusal, failure), and how llmscope's own errors look on that route. The gateway's hot path is one path
// that takes an adapter; a new format is a new folder with one of these.
import type { IncomingHttpHeaders } from 'node:http';
import type { Endpoint, ToolUses } from '../calls/index.js';

/** The wire format an upstream speaks (`providers[].type`). */
export type WireFormat = 'openai-compatible' | 'anthropic' | 'openai-responses' | 'gemini';

export const WIRE_FORMATS: readonly WireFormat[] = ['openai-compatible', 'anthropic', 'openai-responses', 'gemini'];

export interface Usage {
  /** Every prompt token, cached (read or written) ones included (OpenAI's `prompt_tokens` convention). */
  inputTokens: number | null;
  outputTokens: number | null;
  /** Prompt tokens read from the provider's prompt cache. */
  cachedInputTokens: number | null;
  reasoningTokens: number | null;
  /** Prompt tokens written to the provider's prompt cache (Anthropic's `cache_creation_input_tokens`). */
  cacheWriteInputTokens: number | null;
  /**
   * The part of `cacheWriteInputTokens` written to a 1-hour cache (Anthropic's
   * `cache_creation.ephemeral_1h_input_tokens`), priced at the 1-hour cache-write rate; absent when none or unknown.
   */
  cacheWrite1hInputTokens?: number;
  /**
   * The service tier that served the call, as the answer reports it (OpenAI's top-level `service_tier`: `default`,
   * `flex`, `priority`, ...), read from the object that carries the usage; absent when the answer names none.
   */
  serviceTier?: string;
  /**
   * The built-in tools the answer says the call used, billed per use (Anthropic's `usage.server_tool_use`, the
   * Responses API's web_search_call and file_search_call output items); absent when none.
   */
  toolUses?: ToolUses;
}

/** What one streamed event says. */
export interface ChunkInfo {
  /** Text delta carried by this event ('' when none). */
  text: string;
  /**
   * Output that is not the answer's text: a tool call's arguments, thinking, a reasoning summary. Billed as output,
   * so counted with the tokenizer when the stream ends without its usage (a client that left), never read as the
   * answer (quality checks, captured content). Absent when none.
   */
  other?: string;
  /** True when the event carries output: text, a refusal, tool calls or a function call. */
  content: boolean;
  finishReason: string | null;
  /** The usage known so far (a reader merges partial reports), or null when this event says nothing of it. */
  usage: Usage | null;
  refusal: string | null;
  /** True for OpenAI's extra usage-only chunk (`choices: []` with usage), removed when llmscope asked for it. */
  usageOnly: boolean;
  /** The stream reports that the call failed (an `error` event, `response.failed`): the error type. */
  error?: string | null;
  /** And what it said of it (the error's message), when it said anything. */
  errorMessage?: string | null;
  /** The failure is a rate limit (isRateLimitError): recorded `rate_limited`, as the same error's 429 answer is. */
  rateLimited?: boolean;
  /** The response's id, when the event says it (a Responses stream's final event): a later call may continue it. */
  responseId?: string;
  /** The model that answered, when the event says it (the span's `gen_ai.response.model`). */
  responseModel?: string;
}

/**
 * Error types and codes that say a rate limit: Anthropic's `rate_limit_error`, OpenAI's `rate_limit_exceeded` (the
 * code beside a 429's type `requests` or `tokens`), Google's `RESOURCE_EXHAUSTED`. Each comes with HTTP 429 when the
 * provider answers it before a stream begins; reported inside a stream, it is the same rate limit.
 */
const RATE_LIMIT_ERRORS = new Set(['rate_limit_error', 'rate_limit_exceeded', 'RESOURCE_EXHAUSTED']);

/** True when any of an error's type, code or status says a rate limit. */
export function isRateLimitError(...names: unknown[]): boolean {
  for (const n of names) if (typeof n === 'string' && RATE_LIMIT_ERRORS.has(n)) return true;
  return false;
}

/** Reads the `data` of a stream's events, one call's stream per reader (a reader may keep state). */
export interface StreamReader {
  /** What the event says, or null when its data is not JSON (passed through unread). */
  read(data: string): ChunkInfo | null;
  /**
   * Set by `read` (-1 otherwise) when the data it just read was a plain text delta that reads the same with any
   * other JSON string in its text's place: the text string's offsets in that data, its first character and its
   * closing quote (`textEnd`). `read` of the same data with another string there answers `{ text, content: text !==
   * '' }` and nothing else (OpenAI's text deltas repeat one id, model and set of members and differ only in the
   * text), so a meter may read such events without cutting them out (StreamMeter's repeats).
   */
  readonly textStart?: number;
  readonly textEnd?: number;
  /**
   * With textStart: the offsets of a string after the text that reads the same whatever it holds (OpenAI's
   * `obfuscation`, the chunk's last member, different in each), its first character and closing quote; -1 when none.
   */
  readonly freeStart?: number;
  readonly freeEnd?: number;
}

/**
 * Metering of one call's streamed answer as the bytes pass (the gateway's SSE meter, or a format's own for a stream
 * that is not server-sent events): when content came, its text, and what the stream said.
 */
export interface StreamMetering {
  readonly firstContentAt: number | null;
  readonly lastContentAt: number | null;
  readonly text: { kept(): { text: string; totalChars: number } };
  /** The output that is not the answer's text (ChunkInfo.other), bounded. */
  readonly otherText: { kept(): { text: string; totalChars: number } };
  readonly refusal: string | null;
  readonly finishReason: string | null;
  readonly usage: Usage | null;
  readonly error: string | null;
  /** What the stream said of its failure, when it said anything. */
  readonly errorMessage: string | null;
  /** That failure was a rate limit (ChunkInfo.rateLimited). */
  readonly rateLimited: boolean;
  /** The response's id the stream said (ChunkInfo.responseId), when it said one. */
  readonly responseId?: string | null;
  /** The model the stream said answered (ChunkInfo.responseModel), when it said one. */
  readonly responseModel?: string | null;
  /** Set when reading failed (the bytes still passed through, unread from then on). */
  readonly failure: Error | null;
  /** Reads a chunk that arrived at `at` (epoch ms); returns what to pass on to the client. */
  push(chunk: Buffer, at: number): Buffer | string;
  /** The upstream ended; returns what is left to pass on. */
  end(at: number): string;
}

/** What a stream meter keeps of its events (the gateway's SSE meter, a format's own): the fields tallyChunk sets. */
export interface ChunkTally {
  firstContentAt: number | null;
  lastContentAt: number | null;
  readonly text: { append(text: string): void };
  readonly otherText: { append(text: string): void };
  refusal: string | null;
  finishReason: string | null;
  usage: Usage | null;
  error: string | null;
  errorMessage: string | null;
  rateLimited: boolean;
  /** The response's id an event said (ChunkInfo.responseId). */
  responseId?: string | null;
  /** The model an event said answered (ChunkInfo.responseModel). */
  responseModel?: string | null;
}

/** Adds what one event read at `at` (epoch ms) says to a meter's tally: content times and text, refusal, finish, usage, error. */
export function tallyChunk(m: ChunkTally, info: ChunkInfo, at: number): void {
  if (info.content) {
    if (m.firstContentAt === null) m.firstContentAt = at;
    m.lastContentAt = at;
    m.text.append(info.text);
    if (info.other) m.otherText.append(info.other);
  }
  if (info.refusal) m.refusal = (m.refusal ?? '') + info.refusal;
  if (info.finishReason) m.finishReason = info.finishReason;
  if (info.usage) m.usage = info.usage;
  if (info.responseId) m.responseId = info.responseId;
  if (info.responseModel) m.responseModel = info.responseModel;
  if (info.error) {
    m.error = info.error;
    if (info.errorMessage) m.errorMessage = info.errorMessage;
    m.rateLimited = info.rateLimited === true;
  }
}

/** What a non-streamed response body says. */
export interface ResponseInfo {
  text: string;
  finishReason: string | null;
  usage: Usage | null;
  refusal: string | null;
  /** The body reports that the call failed although its HTTP status is 2xx (a Responses `status: failed`). */
  error?: string | null;
  /** And what it said of it. */
  errorMessage?: string | null;
  /** The failure is a rate limit (isRateLimitError). */
  rateLimited?: boolean;
}

/** An error rendered in a route's own shape. */
export interface RenderedError {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

export interface ProviderAdapter {
  readonly format: WireFormat;
  /** The client routes this format serves (path → endpoint). */
  readonly routes: Readonly<Record<string, Endpoint>>;
  /**
   * Client path prefixes passed through to a provider of this format unrecorded (`/v1/messages/` for count_tokens):
   * the upstream path is the client's without its leading `/v1`.
   */
  readonly passThrough: readonly string[];
  /**
   * Client paths passed through unrecorded that a prefix does not describe, for formats whose path names the model
   * (Gemini's `models/{m}:countTokens`, `GET models`): the upstream path (after the provider's base path, without the
   * query) and the model the path names, by which the provider is chosen (null: the format's default provider).
   */
  passThroughPath?(path: string, headers?: IncomingHttpHeaders): PassThroughMatch | null;
  /**
   * The upstream path of a pass-through (`path` as passThroughPath gave it) under the provider's base path, for a
   * format with paths outside it (Gemini's uploads: `/upload/v1beta/files` beside `/v1beta`); `basePath + path` when
   * absent.
   */
  passThroughUpstreamPath?(basePath: string, path: string): string;
  /** Client routes matched by pattern, for formats whose path names the model (Gemini's `models/{m}:method`). */
  matchPath?(path: string): Endpoint | null;
  /** The endpoints `matchPath` answers with. */
  readonly endpoints?: readonly Endpoint[];
  /**
   * The model and streaming the request's URL (path and query) says, for formats whose path names them; null when
   * the URL is not one of the format's (absent: the body's `model` and `stream` say). `vertex`: the URL is a Vertex
   * AI path, routed to a provider of the format on a Vertex host first (isVertexBaseUrl).
   */
  requestFacts?(url: string): { model: string; stream: boolean; vertex?: boolean } | null;
  /**
   * For formats whose clients may send their key in the URL (Gemini's `?key=`): a virtual key (`lsk_...`) found
   * there is moved into the format's key header, where the key hook reads it, and the URL (path and query) is
   * answered without it, so the upstream never gets it; any other key stays in the URL as sent.
   */
  takeUrlKey?(url: string, headers: IncomingHttpHeaders): string;
  /**
   * The end user the request body names, attribution's user when no `x-llmscope-user` header or virtual key gives
   * one (absent: OpenAI's `user`). Anything but a string is ignored.
   */
  userOf?(body: Json): unknown;
  /**
   * The session the request names in its body or a client's own header (Claude Code's `metadata.user_id`, Codex's
   * `session_id` header), attribution's session when no `x-llmscope-session` header gives one (absent: none).
   * Anything but a non-empty string is ignored.
   */
  sessionOf?(body: Json, headers: IncomingHttpHeaders): unknown;
  /**
   * The upstream path of a call, after the provider's base path (`/chat/completions`, `/messages`, ...): `url` is
   * the client's (path and query), `model` the one to send upstream. The client's query string goes on with it
   * (Azure OpenAI's `api-version`, Claude Code's `?beta=true`, Gemini's `alt=sse`).
   */
  upstreamPath(endpoint: Endpoint, url: string, model: string): string;
  /** True when llmscope asks for usage on streams itself and removes what that adds (OpenAI's include_usage). */
  readonly injectsStreamUsage: boolean;
  /** Numeric request parameters worth a span attribute, by their GenAI names (max_tokens, temperature, ...). */
  params(body: Record<string, unknown>): Record<string, number>;
  /**
   * The request's prompt text, for counting input tokens when the upstream gives no usage. `assistant`, when given,
   * receives the [start, end) offsets of the model's own earlier turns in it.
   */
  promptText(body: Record<string, unknown>, endpoint: Endpoint, assistant?: number[]): string;
  /**
   * Tokens the provider bills for a chat prompt's structure beyond its text (OpenAI: 3 a message, its role and name,
   * and 3 that prime the reply), added to the prompt text's count when the upstream gives no usage; absent: none.
   */
  promptFraming?(body: Record<string, unknown>, endpoint: Endpoint): number;
  responseInfo(body: unknown, endpoint: Endpoint): ResponseInfo;
  /** A reader for one call's stream. */
  streamReader(endpoint: Endpoint): StreamReader;
  /**
   * A meter for a streamed call (the URL or body asked for a stream) whose 2xx answer is not server-sent events but
   * has this content type, or null to keep it as a body: Gemini's streamGenerateContent without `alt=sse` streams one
   * JSON array.
   */
  bodyStreamMeter?(endpoint: Endpoint, contentType: string): StreamMetering | null;
  /** The error type of an upstream error body, if it says one. */
  errorTypeOf(body: unknown): string | null;
  /** llmscope's own error in this route's error shape; `url`: the request's path and query, when known. */
  renderError(err: unknown, url?: string): RenderedError;
  /**
   * What a request body on `endpoint` looks like and a model it names, for llmscope's own errors about a body that is
   * not JSON or names no model (absent: OpenAI chat's, `{"model": "...", "messages": [...]}` and gpt-4o-mini).
   */
  example?(endpoint: Endpoint): { body: string; model: string };
}

export type Json = Record<string, unknown>;

/**
 * Platform paths both OpenAI's API and Anthropic's have (Files, Skills): a request carrying `anthropic-version` (its
 * SDKs always send it) is Anthropic's, any other OpenAI's.
 */
export const ANTHROPIC_SHARED = /^\/v1\/(?:files|skills)(?:\/|$)/;

/** A client path an adapter passes through unrecorded (`passThroughPath`). */
export interface PassThroughMatch {
  /** After the provider's base path, without the query. */
  path: string;
  /** The model the path names; null when the body's `model` says, or none. */
  model: string | null;
  /**
   * True for the platform's other APIs (files, batches, images, ...), whose models (dall-e, whisper, tts,
   * omni-moderation) a generation route rarely names: a model no provider serves goes to the format's default provider
   * rather than being refused.
   */
  fallback?: boolean;
  /** A Vertex AI path: a provider of the format on a Vertex host is asked first (requestFacts' `vertex`). */
  vertex?: boolean;
  /**
   * A platform call that spends money (image generation, speech, transcription, a batch): its POST is admitted by the
   * gateway's hooks (keys, rate limits, budgets) as a call is, and recorded under this endpoint (decision 108). Its
   * other methods (a GET) are passed through as any other path.
   */
  spends?: Endpoint;
}

/** The query string of a client URL (path and query), `?` included, or '' when it has none: passed on upstream. */
export const queryOf = (url: string): string => {
  const q = url.indexOf('?');
  return q === -1 ? '' : url.slice(q);
};
export const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
export const obj = (v: unknown): Json | null => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : null);

/**
 * The string values in `v` (a tool call's arguments, a tool result given as an object), one a line after `s`: the
 * text the model reads there, without serializing the structure (keys and punctuation are not what a person wrote).
 */
export function leafText(v: unknown, s = '', depth = 0): string {
  if (typeof v === 'string') return v ? (s ? `${s}\n${v}` : v) : s;
  if (depth > 16 || v === null || typeof v !== 'object') return s;
  if (Array.isArray(v)) {
    for (const x of v) s = leafText(x, s, depth + 1);
    return s;
  }
  for (const k in v as Json) s = leafText((v as Json)[k], s, depth + 1);
  return s;
}

/**
 * OpenAI's chat framing of `messages` (its cookbook's count, which its usage agrees with): 3 tokens a message, 1 for
 * its role, 1 more and its name's for a name, and 3 priming the reply. Items without a role (a Responses tool call
 * or its output) are not messages.
 */
export function chatFraming(messages: readonly unknown[]): number {
  let n = 3;
  for (const m of messages) {
    const mo = obj(m);
    if (!mo || typeof mo.role !== 'string') continue;
    n += 4;
    if (typeof mo.name === 'string' && mo.name) n += 1 + Math.ceil(mo.name.length / 4);
  }
  return n;
}

/** The numeric parameters in `names` (body key → GenAI name) that the body has. */
export function numericParams(body: Json, names: Readonly<Record<string, string>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k in names) {
    const v = body[k];
    if (typeof v === 'number') out[names[k] as string] = v;
  }
  return out;
}
