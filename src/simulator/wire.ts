// OpenAI's wire format, as the simulator sends it: response objects, SSE chunks (built from a precomputed head so
// streaming stays cheap per token), embeddings, the models list, and the error bodies with OpenAI's wording.
import { randomBytes } from 'node:crypto';
import { gaussian, hash32, mulberry32 } from './text.js';

export type FinishReason = 'stop' | 'length' | 'content_filter' | 'tool_calls';

export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export interface ChatUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: { cached_tokens: number; audio_tokens: number };
  completion_tokens_details?: {
    reasoning_tokens: number;
    audio_tokens: number;
    accepted_prediction_tokens: number;
    rejected_prediction_tokens: number;
  };
}

const ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** An id like OpenAI's: `prefix` + 29 (or `length`) alphanumerics (e.g. `chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT`). */
export function openAiId(prefix: string, length = 29): string {
  const bytes = randomBytes(length);
  let s = prefix;
  for (const b of bytes) s += ID_CHARS[b % ID_CHARS.length];
  return s;
}

export function errorBody(message: string, type: string, param: string | null = null, code: string | null = null) {
  return { error: { message, type, param, code } } satisfies ErrorBody;
}

export const invalidRequest = (message: string, param: string | null = null, code: string | null = null) =>
  errorBody(message, 'invalid_request_error', param, code);

export const INVALID_JSON_MESSAGE =
  "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library " +
  'correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble ' +
  'figuring out how to fix this, please contact us through our help center at help.openai.com.)';

export const serverErrorBody = () =>
  errorBody('The server had an error while processing your request. Sorry about that!', 'server_error');

/** OpenAI's answer when it is overloaded (503, fault `overloaded`). */
export const overloadedBody = () =>
  errorBody('The engine is currently overloaded, please try again later.', 'server_error', null, 'overloaded');

/** A request the API refuses as malformed (400, fault `bad_request`). */
export const badRequestBody = () =>
  invalidRequest("Invalid value for 'temperature': expected a number between 0 and 2.", 'temperature', 'invalid_value');

export function rateLimitBody(model: string, retryMs: number): ErrorBody {
  return errorBody(
    `Rate limit reached for ${model} in organization org-llmscope-simulator on requests per min (RPM): ` +
      `Limit 500, Used 500, Requested 1. Please try again in ${retryMs}ms. ` +
      'Visit https://platform.openai.com/account/rate-limits to learn more.',
    'requests',
    null,
    'rate_limit_exceeded',
  );
}

export function chatUsage(prompt: number, completion: number, cached: number): ChatUsage {
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: cached, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

/** The legacy completions endpoint reports only the three totals. */
export const completionUsage = (prompt: number, completion: number): ChatUsage => ({
  prompt_tokens: prompt,
  completion_tokens: completion,
  total_tokens: prompt + completion,
});

export interface ResponseMeta {
  id: string;
  created: number;
  model: string;
  systemFingerprint: string;
  /** The tier that served the answer (servedTier of the request's `service_tier`); absent: `default`. */
  serviceTier?: string;
}

/** The `service_tier` OpenAI answers for a request's: `flex` and `priority` as asked, anything else `default`. */
export function servedTier(requested: unknown): string {
  return requested === 'flex' || requested === 'priority' ? requested : 'default';
}

export function chatCompletion(
  meta: ResponseMeta,
  content: string,
  refusal: string | null,
  finishReason: FinishReason,
  usage: ChatUsage,
) {
  return {
    id: meta.id,
    object: 'chat.completion',
    created: meta.created,
    model: meta.model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content, refusal, annotations: [] },
        logprobs: null,
        finish_reason: finishReason,
      },
    ],
    usage,
    service_tier: meta.serviceTier ?? 'default',
    system_fingerprint: meta.systemFingerprint,
  };
}

/** A tool the model calls instead of answering (`x-simulator-tool-call`). */
export interface ToolCall {
  /** `call_` + 24 alphanumerics, as OpenAI's. */
  id: string;
  name: string;
  /** The arguments as JSON text. */
  arguments: string;
}

/** A chat completion that calls a tool: no content, `tool_calls`, finish reason `tool_calls` (unless cut short). */
export function chatToolCompletion(
  meta: ResponseMeta,
  call: ToolCall,
  args: string,
  finishReason: FinishReason,
  usage: ChatUsage,
) {
  const body = chatCompletion(meta, '', null, finishReason, usage);
  const choice = body.choices[0]!;
  return {
    ...body,
    choices: [
      {
        ...choice,
        message: {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: call.id, type: 'function', function: { name: call.name, arguments: args } }],
          refusal: null,
          annotations: [],
        },
      },
    ],
  };
}

export function textCompletion(meta: ResponseMeta, text: string, finishReason: FinishReason, usage: ChatUsage) {
  return {
    id: meta.id,
    object: 'text_completion',
    created: meta.created,
    model: meta.model,
    choices: [{ text, index: 0, logprobs: null, finish_reason: finishReason }],
    usage,
  };
}

/** SSE events of one stream. Each method returns a complete `data: ...\n\n` event. */
export interface StreamFormat {
  /** The opening event (chat: the assistant role with empty content), or '' when the format has none. */
  start(): string;
  content(text: string, refusal: boolean): string;
  finish(reason: FinishReason): string;
  usage(usage: ChatUsage): string;
}

const DONE = 'data: [DONE]\n\n';
export const SSE_DONE = DONE;

/**
 * Chat chunks. With `includeUsage`, every chunk carries `"usage":null` and a last chunk with `choices: []`
 * carries the usage, exactly as OpenAI does for `stream_options: {include_usage: true}`.
 */
export function chatStream(meta: ResponseMeta, includeUsage: boolean): StreamFormat {
  const head = `data: ${JSON.stringify({
    id: meta.id,
    object: 'chat.completion.chunk',
    created: meta.created,
    model: meta.model,
    service_tier: meta.serviceTier ?? 'default',
    system_fingerprint: meta.systemFingerprint,
  }).slice(0, -1)},"choices":[{"index":0,"delta":`;
  const tail = includeUsage ? '}],"usage":null}\n\n' : '}]}\n\n';
  const usageHead = head.slice(0, head.indexOf(',"choices":'));
  return {
    start: () => `${head}{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null${tail}`,
    content: (text, refusal) => {
      const t = JSON.stringify(text);
      const delta = refusal ? `{"content":${t},"refusal":${t}}` : `{"content":${t}}`;
      return `${head}${delta},"logprobs":null,"finish_reason":null${tail}`;
    },
    finish: (reason) => `${head}{},"logprobs":null,"finish_reason":"${reason}"${tail}`,
    usage: (u) => `${usageHead},"choices":[],"usage":${JSON.stringify(u)}}\n\n`,
  };
}

/** Chat chunks of a tool call: the first names the tool, the rest stream its arguments. */
export function toolCallStream(meta: ResponseMeta, includeUsage: boolean, call: ToolCall): StreamFormat {
  const chat = chatStream(meta, includeUsage);
  const head = `data: ${JSON.stringify({
    id: meta.id,
    object: 'chat.completion.chunk',
    created: meta.created,
    model: meta.model,
    service_tier: meta.serviceTier ?? 'default',
    system_fingerprint: meta.systemFingerprint,
  }).slice(0, -1)},"choices":[{"index":0,"delta":`;
  const tail = includeUsage ? '}],"usage":null}\n\n' : '}]}\n\n';
  const named = JSON.stringify([
    { index: 0, id: call.id, type: 'function', function: { name: call.name, arguments: '' } },
  ]);
  return {
    start: () =>
      `${head}{"role":"assistant","content":null,"tool_calls":${named},"refusal":null},"logprobs":null,"finish_reason":null${tail}`,
    content: (text) =>
      `${head}{"tool_calls":[{"index":0,"function":{"arguments":${JSON.stringify(text)}}}]},"logprobs":null,"finish_reason":null${tail}`,
    finish: chat.finish,
    usage: chat.usage,
  };
}

/** Legacy completion chunks (`text_completion` objects with `choices[].text`). */
export function completionStream(meta: ResponseMeta, includeUsage: boolean): StreamFormat {
  const base = JSON.stringify({
    id: meta.id,
    object: 'text_completion',
    created: meta.created,
    model: meta.model,
  }).slice(0, -1);
  const head = `data: ${base},"choices":[{"text":`;
  const tail = includeUsage ? '}],"usage":null}\n\n' : '}]}\n\n';
  return {
    start: () => '',
    content: (text) => `${head}${JSON.stringify(text)},"index":0,"logprobs":null,"finish_reason":null${tail}`,
    finish: (reason) => `${head}"","index":0,"logprobs":null,"finish_reason":"${reason}"${tail}`,
    usage: (u) => `data: ${base},"choices":[],"usage":${JSON.stringify(u)}}\n\n`,
  };
}

/**
 * A deterministic unit vector for `text`: the same seed, model, text and size give the same vector, and
 * different texts give (nearly) orthogonal ones, as real embeddings of unrelated texts roughly are.
 */
export function embeddingVector(seed: number, model: string, text: string, dimensions: number): Float32Array {
  const rng = mulberry32(hash32(seed, model, text));
  const v = new Float32Array(dimensions);
  let norm = 0;
  for (let i = 0; i < dimensions; i++) {
    const x = gaussian(rng);
    v[i] = x;
    norm += x * x;
  }
  const scale = 1 / Math.sqrt(norm);
  for (let i = 0; i < dimensions; i++) v[i] = v[i]! * scale;
  return v;
}

/** `encoding_format: 'base64'` (what the official SDKs ask for by default): little-endian float32 bytes. */
export function vectorBase64(v: Float32Array): string {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
}

export function vectorFloats(v: Float32Array): number[] {
  return Array.from(v, (x) => Math.round(x * 1e9) / 1e9);
}

export function modelList(ids: readonly string[], created: number) {
  return { object: 'list', data: ids.map((id) => modelObject(id, created)) };
}

export function modelObject(id: string, created: number) {
  const ownedBy = id.startsWith('claude')
    ? 'anthropic'
    : id.startsWith('llama')
      ? 'meta'
      : id.startsWith('gpt') || id.startsWith('text-')
        ? 'openai'
        : 'llmscope-simulator';
  return { id, object: 'model', created, owned_by: ownedBy };
}
