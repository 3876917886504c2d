// Google's Gemini API (POST /v1beta/models/{model}:generateContent and :streamGenerateContent, as server-sent events
// with ?alt=sse or as one JSON array without it): the model and streaming from the path, `usageMetadata` (prompt,
// candidates, cached, thoughts tokens), the first candidate's finishReason, safety blocks as refusals, and Google's
// error shape for llmscope's own errors. Its embeddings (:embedContent, and :batchEmbedContents, which @google/genai's
// models.embedContent calls) are calls on the `embeddings` endpoint, as OpenAI's /v1/embeddings are.
import type { IncomingHttpHeaders } from 'node:http';
import type { Endpoint } from '../../calls/index.js';
import { LlmscopeError, renderError as renderOpenAiError } from '../../errors.js';
import {
  type ChunkInfo,
  isRateLimitError,
  type Json,
  leafText,
  num,
  obj,
  type PassThroughMatch,
  type ProviderAdapter,
  type RenderedError,
  type ResponseInfo,
  type StreamReader,
  type Usage,
} from '../adapter.js';
import { has, stringAt, stringEnd, valueEnd } from '../scan.js';
import { hasDotSegment, isVertex, modelInPath } from '../vertex.js';
import { JsonArrayStreamMeter } from './array-stream.js';

/** `/v1beta/models/{model}:{method}` (also `/v1/...`), the model possibly with slashes (`tunedModels/x`). */
const PATH = /^\/(v1beta|v1)\/models\/([^:]+):(generateContent|streamGenerateContent)$/;
/** The embedding methods, recorded as `embeddings` calls. */
const EMBED_PATH = /^\/(v1beta|v1)\/models\/([^:]+):(embedContent|batchEmbedContents)$/;
/**
 * Gemini on Vertex AI: `/v1/projects/{project}/locations/{location}/publishers/google/models/{model}:{method}` (also
 * `/v1beta1/...`), and express mode's `/v1/publishers/google/models/{model}:{method}` (an API key, no project). Group 1
 * is the path before the model, which goes upstream as the client sent it (the provider's baseUrl is the Vertex host).
 */
const VERTEX_PATH =
  /^(\/v1(?:beta1)?\/(?:projects\/[^/]+\/locations\/[^/]+\/)?publishers\/google\/models\/)([^:]+):(generateContent|streamGenerateContent)$/;
/**
 * Vertex AI's other model methods, passed through unrecorded: countTokens and computeTokens, and `:predict` (what
 * @google/genai with `vertexai: true` calls for `models.embedContent` and `generateImages`), with
 * `:predictLongRunning` / `:fetchPredictOperation` (video generation).
 */
const VERTEX_COUNT =
  /^\/v1(?:beta1)?\/(?:projects\/[^/]+\/locations\/[^/]+\/)?publishers\/google\/models\/([^:]+)(:countTokens|:computeTokens|:predict|:predictLongRunning|:fetchPredictOperation)$/;

/** Finish reasons that mean the model's output was blocked (a refusal). */
const BLOCKED = new Set(['SAFETY', 'PROHIBITED_CONTENT', 'BLOCKLIST', 'SPII', 'RECITATION', 'IMAGE_SAFETY']);

/**
 * Reads `usageMetadata`. Thinking tokens are billed as output: output = candidates + thoughts, reasoning = thoughts;
 * `promptTokenCount` already includes the cached content's tokens. The results of tools Gemini ran itself (Google
 * Search grounding, URL context, code execution) come back into the prompt as `toolUsePromptTokenCount`, billed as
 * input beside `promptTokenCount` (the total is prompt + tool use + candidates + thoughts).
 */
export function usageOf(u: unknown): Usage | null {
  const o = obj(u);
  if (!o) return null;
  const input = num(o.promptTokenCount);
  const candidates = num(o.candidatesTokenCount);
  const thoughts = num(o.thoughtsTokenCount) ?? 0;
  if (input === null && candidates === null) return null;
  return {
    inputTokens: (input ?? 0) + (num(o.toolUsePromptTokenCount) ?? 0),
    outputTokens: (candidates ?? 0) + thoughts,
    cachedInputTokens: num(o.cachedContentTokenCount) ?? 0,
    reasoningTokens: thoughts,
    cacheWriteInputTokens: 0,
  };
}

/**
 * A stream chunk's usage: Google reports `candidatesTokenCount` on the last chunk only (the ones before carry the
 * prompt's and the total's counts, and the thoughts' while it thinks), so before the chunk that finishes the stream
 * (a finishReason, a blocked prompt) a usage without it does not know the output: null, and a stream cancelled then
 * has its streamed output counted with the tokenizer. One that reported thinking keeps its thoughts as the output
 * (they are billed, and the tokenizer sees at most their summary).
 */
function streamUsage(u: unknown, finishReason: string | null): Usage | null {
  const usage = usageOf(u);
  if (usage && finishReason === null && usage.reasoningTokens === 0 && num(obj(u)?.candidatesTokenCount) === null)
    usage.outputTokens = null;
  return usage;
}

function partsText(content: unknown): string {
  const parts = obj(content)?.parts;
  if (!Array.isArray(parts)) return '';
  let s = '';
  for (const p of parts) {
    const po = obj(p);
    if (!po) continue;
    if (typeof po.text === 'string' && po.thought !== true) s += po.text;
    // The model's earlier function calls and the results sent back are prompt too (as a chat call's tool calls and
    // tool messages are): their string values.
    else if (po.functionCall || po.functionResponse) {
      const t = leafText(obj(po.functionCall)?.args ?? obj(po.functionResponse)?.response);
      if (t) s += s ? `\n${t}\n` : `${t}\n`;
    }
  }
  return s;
}

/**
 * The text an embeddings request embeds: embedContent's `content`, or each of batchEmbedContents' `requests[].content`,
 * one a line (as OpenAI's input array is read).
 */
function embedText(body: Json): string {
  if (!Array.isArray(body.requests)) return partsText(body.content);
  let s = '';
  for (const r of body.requests) {
    const t = partsText(obj(r)?.content);
    s += s ? `\n${t}` : t;
  }
  return s;
}

export function promptText(body: Json, endpoint: Endpoint, assistant?: number[]): string {
  if (endpoint === 'embeddings') return embedText(body);
  let s = '';
  const system = partsText(body.systemInstruction ?? body.system_instruction);
  if (system) s += `${system}\n`;
  const contents = Array.isArray(body.contents) ? body.contents : [];
  for (const c of contents) {
    const start = s.length;
    const t = partsText(c);
    if (t) s += `${t}\n`;
    if (assistant && obj(c)?.role === 'model' && s.length > start) assistant.push(start, s.length);
  }
  return s;
}

/** What one GenerateContentResponse (a body, or a stream chunk: `stream`) says. */
function chunkOf(body: unknown, stream = false): ChunkInfo {
  const o = obj(body);
  const info: ChunkInfo = {
    text: '',
    content: false,
    finishReason: null,
    usage: null,
    refusal: null,
    usageOnly: false,
  };
  if (!o) return info;
  info.usage = usageOf(o.usageMetadata);
  // The answer is candidate 0 (one without an index is it); with candidateCount > 1 a chunk may hold others.
  const cand = Array.isArray(o.candidates)
    ? (o.candidates.map(obj).find((c) => c !== null && (c.index === undefined || c.index === 0)) ?? null)
    : null;
  if (cand) {
    const parts = obj(cand.content)?.parts;
    if (Array.isArray(parts))
      for (const p of parts) {
        const po = obj(p);
        if (!po) continue;
        if (typeof po.text === 'string' && po.text.length > 0) {
          info.content = true;
          if (po.thought !== true) info.text += po.text;
          else info.other = (info.other ?? '') + po.text; // a thought summary: output, not the answer
        } else if (po.functionCall || po.inlineData || po.executableCode) info.content = true;
      }
    if (typeof cand.finishReason === 'string') {
      info.finishReason = cand.finishReason;
      if (BLOCKED.has(cand.finishReason)) info.refusal = cand.finishReason;
    }
  }
  const blocked = obj(o.promptFeedback)?.blockReason;
  if (typeof blocked === 'string') {
    info.refusal = blocked;
    info.finishReason ??= blocked;
  }
  if (stream) info.usage = streamUsage(o.usageMetadata, info.finishReason);
  return info;
}

/**
 * An embeddings answer's usage: `usageMetadata.promptTokenCount` (the Gemini API's EmbeddingUsageMetadata), all of it
 * input; null when the answer has none (older API versions), and the prompt is counted with the tokenizer.
 */
function embedUsage(body: unknown): Usage | null {
  const input = num(obj(obj(body)?.usageMetadata)?.promptTokenCount);
  if (input === null) return null;
  return { inputTokens: input, outputTokens: 0, cachedInputTokens: 0, reasoningTokens: 0, cacheWriteInputTokens: 0 };
}

export function responseInfo(body: unknown, endpoint?: Endpoint): ResponseInfo {
  if (endpoint === 'embeddings') return { text: '', finishReason: null, usage: embedUsage(body), refusal: null };
  const c = chunkOf(body);
  return { text: c.text, finishReason: c.finishReason, usage: c.usage, refusal: c.refusal };
}

const TEXT_PART = '{"candidates":[{"content":{"parts":[{"text":"';
const PART_END = '"}],"role":"model"}';
const FINISH = ',"finishReason":"';

/**
 * `chunkOf` of the common stream chunk, read without parsing all of it: one candidate whose content is one text part
 * (`{"candidates":[{"content":{"parts":[{"text":"..."}],"role":"model"}`), then its finishReason and index if there,
 * then plain members and `usageMetadata` — its object alone parsed, found as the member before `modelVersion` or as
 * the last one. Null for anything else (several parts or candidates, safety ratings, a thought, a function call, a
 * prompt feedback, an error, other key orders, spaces), which the caller parses. Agrees with the parser on every
 * well-formed chunk it answers.
 */
export function fastGeminiChunk(data: string): ChunkInfo | null {
  if (!has(data, 0, TEXT_PART)) return null;
  const from = TEXT_PART.length;
  const end = stringEnd(data, from);
  if (end === -1 || !has(data, end, PART_END)) return null;
  const info: ChunkInfo = {
    text: stringAt(data, from, end),
    content: false,
    finishReason: null,
    usage: null,
    refusal: null,
    usageOnly: false,
  };
  info.content = info.text.length > 0;
  let at = end + PART_END.length;
  if (has(data, at, FINISH)) {
    const e = stringEnd(data, at + FINISH.length);
    if (e === -1) return null;
    info.finishReason = stringAt(data, at + FINISH.length, e);
    if (BLOCKED.has(info.finishReason)) info.refusal = info.finishReason;
    at = e + 1;
  }
  // Candidate 0's only (another's, with candidateCount > 1, is left to the parser).
  if (has(data, at, ',"index":')) {
    at = valueEnd(data, at + 9);
    if (at === -1 || data.slice(at - 1, at) !== '0' || data.charCodeAt(at - 2) !== 58) return null;
  }
  if (!has(data, at, '}]')) return null;
  at += 2;
  let usage = false;
  for (;;) {
    const c = data.charCodeAt(at);
    if (c === 125) {
      if (at !== data.length - 1) return null;
      return info;
    }
    if (c !== 44 || data.charCodeAt(at + 1) !== 34) return null;
    const k = at + 2;
    const ke = data.indexOf('"', k);
    if (ke === -1 || data.charCodeAt(ke + 1) !== 58) return null;
    const name = data.slice(k, ke);
    const v = ke + 2;
    // What chunkOf reads, or a member that would replace one read already: the parser's.
    if (name.includes('\\') || name === 'candidates' || name === 'promptFeedback' || name === 'error') return null;
    if (name === 'usageMetadata') {
      if (usage || data.charCodeAt(v) !== 123) return null;
      usage = true;
      const next = data.indexOf(MODEL_VERSION, v);
      const close =
        next !== -1 && data.charCodeAt(next - 1) === 34 && data.charCodeAt(next - 2) === 44
          ? next - 2
          : data.length - 1;
      let u: unknown;
      try {
        u = JSON.parse(data.slice(v, close));
      } catch {
        return null;
      }
      info.usage = streamUsage(u, info.finishReason);
      at = close;
      continue;
    }
    at = valueEnd(data, v);
    if (at === -1) return null;
  }
}

const MODEL_VERSION = 'modelVersion":';

/** What a chunk says, read by parsing it (what the reader does for any chunk the fast reader leaves). */
export function readParsedChunk(data: string): ChunkInfo | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    return null;
  }
  const info = chunkOf(parsed, true);
  const e = obj(obj(parsed)?.error);
  if (e) {
    info.error = typeof e.status === 'string' ? e.status : 'error';
    if (typeof e.message === 'string') info.errorMessage = e.message;
    if (isRateLimitError(e.status)) info.rateLimited = true;
  }
  return info;
}

/** Reads a Gemini stream: every chunk is a whole GenerateContentResponse; its usageMetadata is cumulative. */
export const geminiStreamReader: StreamReader = {
  read: (data) => fastGeminiChunk(data) ?? readParsedChunk(data),
};

/**
 * One stream's reader: geminiStreamReader, plus the model and response id its first chunk names (`modelVersion`,
 * `responseId`, the span's gen_ai.response.model/.id); the chunks after repeat them, unread.
 */
class GeminiStreamReader implements StreamReader {
  private first = true;

  read(data: string): ChunkInfo | null {
    const info = geminiStreamReader.read(data);
    if (info === null || !this.first) return info;
    this.first = false;
    let o: Record<string, unknown> | null = null;
    try {
      o = obj(JSON.parse(data));
    } catch {
      return info;
    }
    if (typeof o?.modelVersion === 'string' && o.modelVersion) info.responseModel = o.modelVersion;
    if (typeof o?.responseId === 'string' && o.responseId) info.responseId = o.responseId;
    return info;
  }
}

/**
 * Upstream error type from Google's `{"error": {"code", "message", "status"}}`, or from the one-element array of it
 * that a stream without `alt=sse` answers.
 */
export function errorTypeOf(body: unknown): string | null {
  const e = obj(obj(Array.isArray(body) ? body[0] : body)?.error);
  return e && typeof e.status === 'string' ? e.status : null;
}

const STATUSES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  405: 'INVALID_ARGUMENT',
  413: 'INVALID_ARGUMENT',
  415: 'INVALID_ARGUMENT',
  429: 'RESOURCE_EXHAUSTED',
  502: 'UNAVAILABLE',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

/**
 * llmscope's own error in Google's shape: `{"error": {"code", "message", "status"}}`, same HTTP status; for a request
 * (`url`: its path and query) to `:streamGenerateContent` without `alt=sse`, a one-element array of it, as Google
 * answers such a stream's errors (it answers the stream itself as one JSON array).
 */
export function renderError(err: unknown, url?: string): RenderedError {
  const r = renderOpenAiError(err);
  const body = { error: { code: r.status, message: r.body.error.message, status: STATUSES[r.status] ?? 'INTERNAL' } };
  return { status: r.status, headers: r.headers, body: url !== undefined && isArrayStream(url) ? [body] : body };
}

/** True for a `:streamGenerateContent` path whose query does not ask for server-sent events (`alt=sse`). */
export function isArrayStream(url: string): boolean {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  if (!path.endsWith(':streamGenerateContent')) return false;
  return q === -1 || new URLSearchParams(url.slice(q + 1)).get('alt') !== 'sse';
}

/**
 * Gemini's routes beside generateContent and the embeddings, passed through unrecorded: anything else under
 * `/v1beta/models` (the model list, one model, countTokens, ...), and countTokens under `/v1` (whose `/v1/models` is
 * otherwise OpenAI's model list).
 */
const PASS_V1BETA = /^\/v1beta\/models(?:\/([^:]+)(:[A-Za-z]+)?)?$/;
const PASS_V1 = /^\/v1\/models\/([^:]+)(:countTokens)$/;
/**
 * The model list and one model under `/v1` (@google/genai with `apiVersion: 'v1'`): OpenAI's paths too, so Gemini's
 * only when the request carries Google's key header (`x-goog-api-key`, which its SDK always sends) and not an
 * Anthropic client's `anthropic-version`.
 */
const PASS_V1_MODELS = /^\/v1\/models(?:\/([^:]+))?$/;
const isGoogleClient = (headers?: IncomingHttpHeaders): boolean =>
  headers?.['x-goog-api-key'] !== undefined && headers['anthropic-version'] === undefined;

/**
 * The Gemini API's other resources, as @google/genai calls them (caches, files, batches, operations, tuned models, file
 * search stores, and 2.x's Interactions API with its agents, environments, credentials, triggers, voices and webhooks):
 * passed through to the provider serving the body's `model`, else the format's default provider, unrecorded. Uploads
 * (`files.upload`, a file search store's upload, an environment's files) go to `/upload/v1beta/...`, beside the API's
 * base path rather than under it.
 */
const PASS_PLATFORM =
  /^\/v1beta\/(?:cachedContents|files|batches|operations|tunedModels|fileSearchStores|generatedFiles|corpora|interactions|agents|environments|credentials|triggers|voices|webhooks)(?:[/:]|$)/;
const PASS_UPLOAD = /^\/upload\/v1beta\/(?:files|fileSearchStores|environments)(?:[/:]|$)/;

function passThroughPath(path: string, headers?: IncomingHttpHeaders): PassThroughMatch | null {
  if (PASS_PLATFORM.test(path)) return { path: path.slice('/v1beta'.length), model: null, fallback: true };
  if (PASS_UPLOAD.test(path)) return { path, model: null, fallback: true };
  // Vertex AI's countTokens: the whole path goes upstream (the provider's baseUrl is the Vertex host)
  const vertex = isVertex(path) ? VERTEX_COUNT.exec(path) : null;
  const m =
    vertex ??
    PASS_V1BETA.exec(path) ??
    PASS_V1.exec(path) ??
    (isGoogleClient(headers) ? PASS_V1_MODELS.exec(path) : null);
  if (!m) return null;
  let model = m[1] ?? null;
  if (model !== null) {
    try {
      model = decodeURIComponent(model);
    } catch {
      /* as sent */
    }
  }
  if (vertex && model !== null && hasDotSegment(path)) return null;
  return vertex ? { path, model, vertex: true } : { path: path.slice(path.indexOf('/models')), model };
}

/**
 * An upload's path on the provider: `/upload` before the base path's version segment (`/v1beta` -> `/upload/v1beta`,
 * a proxy's `/gemini/v1beta` -> `/gemini/upload/v1beta`); any other pass-through under the base path.
 */
function passThroughUpstreamPath(basePath: string, path: string): string {
  if (!path.startsWith('/upload/')) return basePath + path;
  const rest = path.slice('/upload/v1beta'.length);
  const m = /^(.*)(\/v1[a-z0-9]*)$/.exec(basePath);
  return m ? `${m[1]}/upload${m[2]}${rest}` : `/upload${basePath}${rest}`;
}

/**
 * The generation or embedding method path `path` is, if one. Group 1 is the version for the Gemini API, the whole path
 * before the model (it starts with `/`) for Vertex AI.
 */
const methodPath = (path: string): RegExpExecArray | null =>
  isVertex(path) ? VERTEX_PATH.exec(path) : (PATH.exec(path) ?? EMBED_PATH.exec(path));

function requestFacts(url: string): { model: string; stream: boolean; vertex?: boolean } | null {
  const q = url.indexOf('?');
  const m = methodPath(q === -1 ? url : url.slice(0, q));
  if (!m) return null;
  let model = m[2] as string;
  try {
    model = decodeURIComponent(model);
  } catch {
    /* as sent */
  }
  // The model goes back into the upstream path (upstreamPath): a `.` or `..` segment there would name another path;
  // so does the project or location of a Vertex AI path, which goes upstream as sent.
  if (model.split('/').some((seg) => seg === '.' || seg === '..'))
    throw new LlmscopeError(
      'LLMSCOPE_ERR_MALFORMED_REQUEST',
      `the model in the path, "${model.slice(0, 256)}", has a "." or ".." segment; name a model, e.g. /v1beta/models/gemini-2.5-flash:generateContent`,
      { param: 'model' },
    );
  if (m[1]?.startsWith('/') && hasDotSegment(m[1]))
    throw new LlmscopeError(
      'LLMSCOPE_ERR_MALFORMED_REQUEST',
      `the path's project or location has a "." or ".." segment; name them, e.g. /v1/projects/my-project/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent`,
    );
  const stream = m[3] === 'streamGenerateContent';
  // A Vertex AI path goes to a gemini provider on a Vertex host first (isVertexBaseUrl).
  return m[1]?.startsWith('/') ? { model, stream, vertex: true } : { model, stream };
}

/**
 * A virtual key sent as `?key=lsk_...` (Google's REST examples, curl): moved into `x-goog-api-key` (unless the client
 * sent that header too) and taken out of the URL; a Google key in `?key=` is left as sent.
 */
function takeUrlKey(url: string, headers: IncomingHttpHeaders): string {
  const q = url.indexOf('?');
  if (q === -1 || !url.includes('key=lsk_', q)) return url;
  const params = new URLSearchParams(url.slice(q + 1));
  const keys = params.getAll('key');
  const virtual = keys.find((k) => k.startsWith('lsk_'));
  if (virtual === undefined) return url;
  if (headers['x-goog-api-key'] === undefined) headers['x-goog-api-key'] = virtual;
  params.delete('key');
  for (const k of keys) if (!k.startsWith('lsk_')) params.append('key', k);
  const rest = params.toString();
  return rest ? `${url.slice(0, q)}?${rest}` : url.slice(0, q);
}

export const geminiAdapter: ProviderAdapter = {
  format: 'gemini',
  routes: {},
  passThrough: [],
  passThroughPath,
  passThroughUpstreamPath,
  // The embeddings are on the `embeddings` endpoint, which stays OpenAI's route key (adapterFor): the gateway takes
  // this adapter from the route, not from the endpoint.
  matchPath: (path) =>
    PATH.test(path) || (isVertex(path) && VERTEX_PATH.test(path))
      ? 'generate_content'
      : EMBED_PATH.test(path)
        ? 'embeddings'
        : null,
  endpoints: ['generate_content'],
  requestFacts,
  takeUrlKey,
  // The provider's baseUrl ends in /v1beta (or /v1); the method and query (alt=sse, key) are the client's. A Vertex AI
  // path keeps its version, project and location as sent (the provider's baseUrl is the Vertex host).
  upstreamPath(_endpoint, url, model) {
    const q = url.indexOf('?');
    const m = methodPath(q === -1 ? url : url.slice(0, q));
    const before = m?.[1]?.startsWith('/') ? m[1] : '/models/';
    return `${before}${modelInPath(model)}:${m?.[3] ?? 'generateContent'}${q === -1 ? '' : url.slice(q)}`;
  },
  injectsStreamUsage: false,
  params(body) {
    if (Array.isArray(body.requests) || body.content !== undefined) return {}; // an embeddings request
    const g = obj(body.generationConfig ?? body.generation_config);
    const out: Record<string, number> = {};
    if (!g) return out;
    const names: Record<string, string> = {
      maxOutputTokens: 'max_tokens',
      temperature: 'temperature',
      topP: 'top_p',
      topK: 'top_k',
      seed: 'seed',
    };
    for (const k in names) if (typeof g[k] === 'number') out[names[k] as string] = g[k] as number;
    return out;
  },
  promptText,
  responseInfo,
  streamReader: () => new GeminiStreamReader(),
  // streamGenerateContent without alt=sse answers one JSON array, written element by element.
  bodyStreamMeter: (_endpoint, contentType) =>
    /^application\/json\b/i.test(contentType) ? new JsonArrayStreamMeter(new GeminiStreamReader()) : null,
  errorTypeOf,
  renderError,
  example: (endpoint) =>
    endpoint === 'embeddings'
      ? { body: '{"content": {"parts": [{"text": "..."}]}}', model: 'gemini-embedding-001' }
      : { body: '{"contents": [{"role": "user", "parts": [{"text": "..."}]}]}', model: 'gemini-2.5-flash' },
};
