// The simulator's Gemini API (POST /v1beta/models/{model}:generateContent and :streamGenerateContent, as server-sent
// events with ?alt=sse, else as Google streams without it: one JSON array whose elements are written as they come):
// Google's GenerateContentResponse with the simulator's exact timing, usageMetadata with cached and thoughts
// tokens, function calls and safety blocks, so tests of the gateway's Gemini route run offline with @google/genai.
//
// Per-request headers, beside the simulator's own (x-simulator-fault, -ttft-ms, -tpot-ms, -output-tokens, -reply,
// -cached-tokens, -tool-call):
//   x-simulator-reasoning-tokens: N     reported as usageMetadata.thoughtsTokenCount
//   x-simulator-safety-after: N         the answer is blocked by the safety filters after N chunks of text: a stream
//                                       passes them, then a candidate with finishReason SAFETY and no content; a body
//                                       answers that candidate alone (usage counts the N)
//   (with generationConfig.thinkingConfig.includeThoughts, up to 8 tokens of thought summary come first as parts
//   marked `thought: true`, streamed while the model thinks)
// Embeddings (:embedContent, :batchEmbedContents) answer usageMetadata.promptTokenCount, the tokens of the texts
// embedded, as the Gemini API's EmbeddingUsageMetadata does; `x-simulator-usage: none` leaves it out, as older API
// versions (and Vertex AI's) do.
// Faults: rate_limit (429 RESOURCE_EXHAUSTED), server_error (500), overloaded (503 UNAVAILABLE), bad_request (400
// INVALID_ARGUMENT), timeout, cut, refusal (finishReason SAFETY with no
// content) and content_filter (the prompt blocked: promptFeedback.blockReason SAFETY, no candidates, no output).
import type { IncomingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { MessagesDirectives as Directives, SimClock, SimExchange } from './anthropic.js';
import { countTokens, generateTokens, hash32, tokenChunks } from './text.js';
import { openAiId } from './wire.js';

type Json = Record<string, unknown>;

const PATH = /^\/(v1beta|v1)\/models\/([^:]+):(generateContent|streamGenerateContent)$/;
/** Gemini on Vertex AI: `/v1[beta1]/[projects/{p}/locations/{l}/]publishers/google/models/{model}:{method}`. */
const VERTEX =
  /^\/(v1|v1beta1)\/(?:projects\/[^/]+\/locations\/[^/]+\/)?publishers\/google\/models\/([^:/]+):([A-Za-z]+)$/;
const vertex = (path: string): string => {
  const m = VERTEX.exec(path);
  return m ? `/v1/models/${m[2]}:${m[3]}` : path;
};

/** The model and method of a Gemini path, or null. */
export function geminiRoute(path: string): { model: string; stream: boolean } | null {
  const m = PATH.exec(vertex(path));
  if (!m) return null;
  let model = m[2] as string;
  try {
    model = decodeURIComponent(model);
  } catch {
    /* as sent */
  }
  return { model, stream: m[3] === 'streamGenerateContent' };
}

export const googleError = (code: number, status: string, message: string) => ({ error: { code, message, status } });

/** The reason a generateContent request is invalid, in Google's words, or null. */
export function geminiProblem(b: Json): Json | null {
  if (!Array.isArray(b.contents) || b.contents.length === 0)
    return googleError(400, 'INVALID_ARGUMENT', '* GenerateContentRequest.contents: contents is not specified\n');
  return null;
}

function sendJson(ex: SimExchange, status: number, body: unknown): void {
  if (ex.res.destroyed) return;
  const text = JSON.stringify(body);
  ex.res.writeHead(status, {
    'content-type': 'application/json; charset=UTF-8',
    'content-length': Buffer.byteLength(text),
  });
  ex.res.end(text);
}

function partsText(content: unknown): string {
  const parts = (content as Json | null)?.parts;
  if (!Array.isArray(parts)) return '';
  return parts.map((p) => (typeof (p as Json)?.text === 'string' ? ((p as Json).text as string) : '')).join('');
}

function promptTokens(b: Json): number {
  let n = countTokens(partsText(b.systemInstruction));
  for (const c of b.contents as unknown[]) n += countTokens(partsText(c)) + 2;
  return n;
}

function headerNumber(h: IncomingHttpHeaders, name: string): number {
  const v = h[name];
  const n = Number(Array.isArray(v) ? v[0] : v);
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
}

/** Answers generateContent / streamGenerateContent, with the fault (if any) applied. */
export async function geminiGenerate(
  ex: SimExchange,
  headers: IncomingHttpHeaders,
  route: { model: string; stream: boolean; sse?: boolean },
  b: Json,
  d: Directives,
  clock: SimClock,
  seed: number,
): Promise<void> {
  const fault = d.fault;
  // A stream without alt=sse answers its errors as a one-element array too.
  const error = (e: Json): unknown => (route.stream && route.sse === false ? [e] : e);
  if (fault === 'rate_limit')
    return sendJson(
      ex,
      429,
      error(googleError(429, 'RESOURCE_EXHAUSTED', 'Resource has been exhausted (e.g. check quota).')),
    );
  if (fault === 'server_error')
    return sendJson(ex, 500, error(googleError(500, 'INTERNAL', 'An internal error has occurred.')));
  if (fault === 'overloaded')
    return sendJson(
      ex,
      503,
      error(googleError(503, 'UNAVAILABLE', 'The model is overloaded. Please try again later.')),
    );
  if (fault === 'bad_request')
    return sendJson(
      ex,
      400,
      error(
        googleError(400, 'INVALID_ARGUMENT', 'Invalid value at \'generation_config.temperature\' (TYPE_FLOAT), "hot"'),
      ),
    );
  if (fault === 'timeout') return;

  const prompt = promptTokens(b);
  const cached = Math.min(d.cachedTokens, prompt);
  const thoughts = headerNumber(headers, 'x-simulator-reasoning-tokens');
  const blocked = fault === 'refusal' || fault === 'content_filter';
  const promptBlocked = fault === 'content_filter';
  const tool = d.toolCall && !blocked ? d.toolCall : null;
  let chunks: string[];
  let perChunk: number[];
  if (blocked) {
    chunks = [];
    perChunk = [];
  } else if (tool || d.reply !== null) {
    const split = tokenChunks(tool ? tool.arguments : (d.reply as string));
    chunks = tool ? [split.chunks.join('')] : split.chunks;
    perChunk = tool ? [split.tokens.reduce((s, t) => s + t, 0)] : split.tokens;
  } else {
    chunks = generateTokens(hash32(seed, 'gemini', route.model, JSON.stringify(b.contents)), d.outputTokens);
    perChunk = chunks.map(() => 1);
  }
  const tokensOf = (count: number) => perChunk.slice(0, count).reduce((s, t) => s + t, 0);
  const cap = ((b.generationConfig as Json | undefined)?.maxOutputTokens ?? null) as number | null;
  let n = chunks.length;
  let finish = blocked ? 'SAFETY' : 'STOP';
  if (cap !== null && tokensOf(n) > cap) {
    while (n > 0 && tokensOf(n) > cap) n--;
    finish = 'MAX_TOKENS';
  }
  // The answer blocked by the safety filters part-way (x-simulator-safety-after: N): N chunks of text, then a
  // candidate with finishReason SAFETY and no content (a stream has already passed the text on; a body has none).
  const safetyAfter = nonNegative(headers['x-simulator-safety-after']);
  const midBlock = safetyAfter !== null && !blocked && !tool && safetyAfter < n;
  if (midBlock) {
    n = safetyAfter;
    finish = 'SAFETY';
  }
  const lastToken: number[] = [];
  for (let k = 0, t = -1; k < n; k++) {
    t += perChunk[k] as number;
    lastToken.push(t);
  }
  const dueAt = (k: number) => clock(thoughts + (lastToken[k] ?? 0));
  const responseId = openAiId('', 22);
  const usage = (out: number): Json => ({
    promptTokenCount: prompt,
    candidatesTokenCount: out,
    totalTokenCount: prompt + out + thoughts,
    ...(cached ? { cachedContentTokenCount: cached } : {}),
    ...(thoughts ? { thoughtsTokenCount: thoughts } : {}),
    promptTokensDetails: [{ modality: 'TEXT', tokenCount: prompt }],
  });
  const parts = (text: string): Json[] =>
    tool ? [{ functionCall: { name: tool.name, args: JSON.parse(text || '{}') } }] : [{ text }];
  const candidate = (text: string | null, end: string | null): Json => ({
    ...(text === null ? {} : { content: { parts: parts(text), role: 'model' } }),
    ...(end ? { finishReason: end } : {}),
    ...(end === 'SAFETY'
      ? { safetyRatings: [{ category: 'HARM_CATEGORY_DANGEROUS_CONTENT', probability: 'HIGH', blocked: true }] }
      : {}),
    index: 0,
  });
  const cutAfter = fault === 'cut' ? Math.max(1, Math.floor(n / 2)) : null;
  // Thought summaries (generationConfig.thinkingConfig.includeThoughts): parts marked `thought: true` before the
  // answer, up to 8 tokens of them streamed one a tpot while the model thinks.
  const thinkingConfig = (b.generationConfig as Json | undefined)?.thinkingConfig as Json | undefined;
  const thoughtChunks =
    thinkingConfig?.includeThoughts === true && thoughts > 0 && !blocked
      ? generateTokens(hash32(seed, 'gemini-thoughts', route.model, JSON.stringify(b.contents)), Math.min(thoughts, 8))
      : [];
  const thoughtCandidate = (text: string): Json => ({
    content: { parts: [{ text, thought: true }], role: 'model' },
    index: 0,
  });
  // A blocked prompt: no candidates, the reason in promptFeedback, usage with the prompt only.
  const blockedPrompt = (): Json => ({
    promptFeedback: {
      blockReason: 'SAFETY',
      safetyRatings: [{ category: 'HARM_CATEGORY_DANGEROUS_CONTENT', probability: 'HIGH', blocked: true }],
    },
    usageMetadata: {
      promptTokenCount: prompt,
      totalTokenCount: prompt,
      ...(cached ? { cachedContentTokenCount: cached } : {}),
    },
    modelVersion: route.model,
    responseId,
  });

  if (!route.stream) {
    await ex.waitUntil(dueAt(n - 1));
    if (ex.stopped) return;
    if (cutAfter !== null) return ex.cut();
    if (promptBlocked) return sendJson(ex, 200, blockedPrompt());
    const text = chunks.slice(0, n).join('');
    let answer = candidate(blocked || midBlock ? null : text, finish);
    // The thought summary comes first; an answer blocked part-way (no content of its own) has only it
    if (thoughtChunks.length > 0) {
      const thought = { text: thoughtChunks.join(''), thought: true };
      if (answer.content) ((answer.content as Json).parts as Json[]).unshift(thought);
      else answer = { content: { parts: [thought], role: 'model' }, ...answer };
    }
    return sendJson(ex, 200, {
      candidates: [answer],
      usageMetadata: usage(tokensOf(n)),
      modelVersion: route.model,
      responseId,
    });
  }

  // ?alt=sse: one `data:` event per chunk. Without it: a JSON array, `[` and each element written as it comes (Google
  // pretty-prints them and separates them with `\r\n,\r\n`), `]` at the end.
  const sse = route.sse !== false;
  ex.res.writeHead(200, {
    'content-type': sse ? 'text/event-stream' : 'application/json; charset=UTF-8',
    'cache-control': 'no-cache',
  });
  let written = 0;
  const event = (o: Json): string =>
    sse ? `data: ${JSON.stringify(o)}\r\n\r\n` : `${written++ === 0 ? '[' : '\r\n,\r\n'}${JSON.stringify(o, null, 2)}`;
  const close = sse ? '' : '\r\n]';
  if (n === 0) {
    await ex.waitUntil(clock(0));
    if (ex.stopped) return;
    ex.res.end(
      (promptBlocked
        ? event(blockedPrompt())
        : event({
            candidates: [candidate(null, finish)],
            usageMetadata: usage(0),
            modelVersion: route.model,
            responseId,
          })) + close,
    );
    return;
  }
  for (let j = 0; j < thoughtChunks.length; j++) {
    await ex.waitUntil(clock(j));
    if (ex.stopped) return;
    const data = event({
      candidates: [thoughtCandidate(thoughtChunks[j] as string)],
      usageMetadata: usage(0),
      modelVersion: route.model,
      responseId,
    });
    if (!ex.res.write(data)) {
      await ex.drain();
      if (ex.stopped) return;
    }
  }
  const sent = cutAfter ?? n;
  for (let k = 0; k < sent; k++) {
    await ex.waitUntil(dueAt(k));
    if (ex.stopped) return;
    const last = k === n - 1 && !midBlock;
    const data = event({
      candidates: [candidate(chunks[k] as string, last ? finish : null)],
      usageMetadata: usage(tokensOf(k + 1)),
      modelVersion: route.model,
      responseId,
    });
    if (!ex.res.write(data)) {
      await ex.drain();
      if (ex.stopped) return;
    }
  }
  if (cutAfter !== null) {
    await ex.waitUntil(Math.max(clock(thoughts + (lastToken[cutAfter - 1] ?? -1) + 1), performance.now() - ex.t0 + 10));
    if (!ex.stopped) ex.cut();
    return;
  }
  if (midBlock) {
    await ex.waitUntil(clock(thoughts + (lastToken[n - 1] ?? -1) + 1));
    if (ex.stopped) return;
    ex.res.end(
      event({
        candidates: [candidate(null, 'SAFETY')],
        usageMetadata: usage(tokensOf(n)),
        modelVersion: route.model,
        responseId,
      }) + close,
    );
    return;
  }
  ex.res.end(close);
}

/** A header's non-negative integer, or null when absent or not one. */
function nonNegative(v: string | string[] | undefined): number | null {
  const s = Array.isArray(v) ? v[0] : v;
  if (s === undefined || !/^\d+$/.test(s.trim())) return null;
  return Number(s.trim());
}

// ---------- the routes beside generateContent: models, countTokens, embeddings ----------

const METHOD_PATH = /^\/(v1beta|v1)\/models\/([^:]+):(countTokens|embedContent|batchEmbedContents)$/;

export type GeminiMethod = 'countTokens' | 'embedContent' | 'batchEmbedContents';

/** The model and method of a Gemini countTokens / embedContent / batchEmbedContents path, or null. */
export function geminiMethodRoute(path: string): { model: string; method: GeminiMethod } | null {
  const m = METHOD_PATH.exec(vertex(path));
  if (!m) return null;
  let model = m[2] as string;
  try {
    model = decodeURIComponent(model);
  } catch {
    /* as sent */
  }
  return { model, method: m[3] as GeminiMethod };
}

/** Google's Model resource for `id` (GET /v1beta/models/{id}, and each entry of the list). */
export function geminiModel(id: string): Json {
  const embedding = id.includes('embedding');
  return {
    name: `models/${id}`,
    baseModelId: id,
    version: '001',
    displayName: id,
    description: 'A model of the llmscope simulator.',
    inputTokenLimit: embedding ? 2048 : 1048576,
    outputTokenLimit: embedding ? 1 : 65536,
    supportedGenerationMethods: embedding
      ? ['embedContent', 'batchEmbedContents', 'countTokens']
      : ['generateContent', 'countTokens', 'createCachedContent'],
  };
}

/** GET /v1beta/models: the simulator's models, one page. */
export function geminiModelList(ids: readonly string[]): Json {
  return { models: ids.map(geminiModel) };
}

/** The reason a countTokens / embedContent / batchEmbedContents body is invalid, in Google's words, or null. */
export function geminiMethodProblem(method: GeminiMethod, b: Json): Json | null {
  const bad = (m: string) => googleError(400, 'INVALID_ARGUMENT', m);
  if (method === 'countTokens') {
    const inner = b.generateContentRequest as Json | undefined;
    if (!Array.isArray(b.contents) && !Array.isArray(inner?.contents))
      return bad('* CountTokensRequest: contents or generateContentRequest is not specified\n');
    return null;
  }
  if (method === 'embedContent') {
    if (!Array.isArray((b.content as Json | undefined)?.parts))
      return bad('* EmbedContentRequest.content: content is not specified\n');
    return null;
  }
  if (!Array.isArray(b.requests) || b.requests.length === 0)
    return bad('* BatchEmbedContentsRequest.requests: requests is not specified\n');
  for (const r of b.requests as unknown[])
    if (!Array.isArray(((r as Json | null)?.content as Json | undefined)?.parts))
      return bad('* BatchEmbedContentsRequest.requests[].content: content is not specified\n');
  return null;
}

/**
 * Answers a (valid) countTokens, embedContent or batchEmbedContents request; the embeddings with their usageMetadata
 * unless `usage` is false.
 */
export function geminiMethod(
  ex: SimExchange,
  route: { model: string; method: GeminiMethod },
  b: Json,
  seed: number,
  vector: (seed: number, model: string, text: string, dimensions: number) => number[],
  usage = true,
): void {
  if (route.method === 'countTokens') {
    const inner = (b.generateContentRequest as Json | undefined) ?? b;
    const totalTokens = promptTokens({ contents: inner.contents ?? [], systemInstruction: inner.systemInstruction });
    sendJson(ex, 200, { totalTokens });
    return;
  }
  const embed = (r: Json) => {
    const dims =
      typeof r.outputDimensionality === 'number' && r.outputDimensionality > 0 ? r.outputDimensionality : 768;
    return { values: vector(seed, route.model, partsText(r.content), Math.floor(dims)) };
  };
  const requests = route.method === 'embedContent' ? [b] : (b.requests as Json[]);
  let tokens = 0;
  for (const r of requests) tokens += countTokens(partsText(r.content));
  const usageMetadata = {
    promptTokenCount: tokens,
    promptTokenDetails: [{ modality: 'TEXT', tokenCount: tokens }],
  };
  const answer: Json = route.method === 'embedContent' ? { embedding: embed(b) } : { embeddings: requests.map(embed) };
  if (usage) answer.usageMetadata = usageMetadata;
  sendJson(ex, 200, answer);
}
