// The simulator's Anthropic Messages API (POST /v1/messages, /v1/messages/count_tokens): Anthropic's wire format
// with the simulator's exact timing, usage with prompt-cache reads and writes, tool_use blocks and refusals, so
// tests of the gateway's /v1/messages run offline with the official @anthropic-ai/sdk. Claude on Vertex AI's paths
// (`/v1/projects/{p}/locations/{l}/publishers/anthropic/models/{model}:rawPredict`, `:streamRawPredict`, and
// `count-tokens:rawPredict`) are answered by the same routes, the model from the path (@anthropic-ai/vertex-sdk).
//
// Per-request headers, beside the simulator's own (x-simulator-fault, -ttft-ms, -tpot-ms, -output-tokens, -reply,
// -cached-tokens, -tool-call):
//   x-simulator-cache-write-tokens: N   reported as usage.cache_creation_input_tokens (at most the uncached prompt)
//   x-simulator-cache-write-1h-tokens: N  of those, written to the 1-hour cache: usage.cache_creation's
//                                       ephemeral_1h_input_tokens (the rest are ephemeral_5m_input_tokens)
//   x-simulator-stream-error: <type>    a stream ends half-way with Anthropic's `event: error` of this type
//                                       (e.g. overloaded_error) instead of message_stop
//   x-simulator-reasoning-tokens: N     with extended thinking on (`thinking: {type: "enabled"}`), N tokens of
//                                       thinking (default 4, at most budget_tokens) before the answer: a `thinking`
//                                       block (thinking_delta events, then a signature_delta), counted in output_tokens
//   x-simulator-web-searches: N         with the web search server tool declared (`tools: [{type:
//                                       "web_search_20250305", ...}]`), N searches (default 1, at most max_uses)
//                                       before the answer: server_tool_use and web_search_tool_result blocks, their
//                                       pages' tokens in input_tokens, usage.server_tool_use.web_search_requests: N
// `x-simulator-cached-tokens` is reported as usage.cache_read_input_tokens. Faults: rate_limit (429), server_error
// (500), overloaded (529 overloaded_error), bad_request (400 invalid_request_error), timeout, cut, refusal and
// content_filter (both: stop_reason `refusal`).
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import {
  countChatTokens,
  countTokens,
  generateTokens,
  hash32,
  mulberry32,
  pick,
  REFUSALS,
  tokenChunks,
} from './text.js';
import { anthropicSearches, lastUserText, queryOf, resultTokens, searchResults } from './web-search.js';
import { openAiId } from './wire.js';

/** What the simulator's exchange offers a handler (see server.ts). */
export interface SimExchange {
  readonly res: ServerResponse;
  readonly t0: number;
  readonly stopped: boolean;
  waitUntil(offsetMs: number): Promise<void>;
  drain(): Promise<void>;
  cut(): void;
}

export interface MessagesDirectives {
  fault: string | null;
  outputTokens: number;
  reply: string | null;
  cachedTokens: number;
  toolCall: { name: string; arguments: string } | null;
}

/** When token `i` (0-based) is due, in ms after the request arrived. */
export type SimClock = (i: number) => number;

type Json = Record<string, unknown>;

/** Anthropic's error body. */
export const anthropicError = (type: string, message: string) => ({ type: 'error', error: { type, message } });

const VERTEX =
  /^\/(?:v1|v1beta1)\/projects\/[^/]+\/locations\/[^/]+\/publishers\/anthropic\/models\/([^:/]+):(rawPredict|streamRawPredict)$/;

/**
 * A Claude on Vertex AI path: the model it names (its body has none; Vertex asks for `anthropic_version` there
 * instead), or `count` for count-tokens (whose body names the model). Null for any other path.
 */
export function vertexClaudeRoute(path: string): { model: string; count: boolean } | null {
  const m = VERTEX.exec(path);
  if (!m) return null;
  let model = m[1] as string;
  try {
    model = decodeURIComponent(model);
  } catch {
    /* as sent */
  }
  return { model, count: model === 'count-tokens' };
}

/** The reason a Messages request is invalid, in Anthropic's words, or null. */
export function messagesProblem(path: string, b: Json): string | null {
  if (typeof b.model !== 'string' || b.model === '') return 'model: Field required';
  if (!Array.isArray(b.messages)) return 'messages: Field required';
  if (path === '/v1/messages') {
    if (typeof b.max_tokens !== 'number' || !Number.isInteger(b.max_tokens) || b.max_tokens < 1)
      return 'max_tokens: Field required';
    if (b.stream !== undefined && typeof b.stream !== 'boolean') return 'stream: Input should be a valid boolean';
  }
  return null;
}

function promptTokens(b: Json): number {
  const system = b.system;
  let n = countChatTokens(b.messages as unknown[]);
  if (typeof system === 'string') n += countTokens(system);
  else if (Array.isArray(system))
    for (const p of system) if (typeof (p as Json)?.text === 'string') n += countTokens((p as Json).text as string);
  if (Array.isArray(b.tools)) n += countTokens(JSON.stringify(b.tools));
  return n;
}

function headerNumber(h: IncomingHttpHeaders, name: string): number {
  const v = h[name];
  const n = Number(Array.isArray(v) ? v[0] : v);
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const sse = (type: string, data: Json): string => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;

/** A short id for a signature, the same for the same seed and model. */
const id32 = (seed: number, model: string): string => hash32(seed, 'signature', model).toString(36);

/** Answers POST /v1/messages/count_tokens. */
export function countMessageTokens(ex: SimExchange, b: Json): void {
  sendJson(ex.res, 200, { input_tokens: promptTokens(b) });
}

/** Answers POST /v1/messages, streamed or not, with the fault (if any) applied. */
export async function anthropicMessages(
  ex: SimExchange,
  headers: IncomingHttpHeaders,
  b: Json,
  d: MessagesDirectives,
  clock: SimClock,
  seed: number,
): Promise<void> {
  const { res } = ex;
  // Anthropic's API answers every call, errors too, with its own `request-id` and no `x-request-id`.
  res.removeHeader('x-request-id');
  res.setHeader('request-id', `req_${randomBytes(12).toString('hex')}`);
  const fault = d.fault;
  const model = b.model as string;
  if (fault === 'rate_limit') {
    res.setHeader('retry-after', '1');
    return sendJson(res, 429, anthropicError('rate_limit_error', 'Number of requests has exceeded your rate limit.'));
  }
  if (fault === 'server_error') return sendJson(res, 500, anthropicError('api_error', 'Internal server error'));
  // Anthropic's own status for an overloaded API (its SDKs retry it)
  if (fault === 'overloaded') return sendJson(res, 529, anthropicError('overloaded_error', 'Overloaded'));
  if (fault === 'bad_request')
    return sendJson(
      res,
      400,
      anthropicError('invalid_request_error', 'temperature: Input should be less than or equal to 1'),
    );
  if (fault === 'timeout') return;

  const prompt = promptTokens(b);
  const read = Math.min(d.cachedTokens, prompt);
  const write = Math.min(headerNumber(headers, 'x-simulator-cache-write-tokens'), prompt - read);
  const refusal = fault === 'refusal' || fault === 'content_filter';
  const tool = d.toolCall && !refusal ? { id: openAiId('toolu_', 24), ...d.toolCall } : null;
  // The web search server tool, when declared: its searches come first (a server_tool_use block and its
  // web_search_tool_result each), their pages read as input tokens, counted in usage.server_tool_use.
  const searches = tool || refusal ? 0 : anthropicSearches(b, headers);
  const query = searches > 0 ? queryOf(lastUserText(b.messages)) : '';
  const input = prompt - read - write + (searches > 0 ? resultTokens(query, searches) : 0);
  const searchBlocks: [Json, Json][] = [];
  for (let j = 0; j < searches; j++) {
    const useId = openAiId('srvtoolu_', 24);
    searchBlocks.push([
      { type: 'server_tool_use', id: useId, name: 'web_search', input: { query }, caller: { type: 'direct' } },
      {
        type: 'web_search_tool_result',
        tool_use_id: useId,
        caller: { type: 'direct' },
        content: searchResults(query, j).map((r) => ({
          type: 'web_search_result',
          url: r.url,
          title: r.title,
          encrypted_content: Buffer.from(r.text).toString('base64'),
          page_age: r.page_age,
        })),
      },
    ]);
  }
  /** The search blocks' events, from block `from` on (streamed: a server_tool_use's input as one delta). */
  const searchEvents = (from: number): string =>
    searchBlocks
      .map(([use, result], j) => {
        const k = from + 2 * j;
        return (
          sse('content_block_start', { index: k, content_block: { ...use, input: {} } }) +
          sse('content_block_delta', {
            index: k,
            delta: { type: 'input_json_delta', partial_json: JSON.stringify(use.input) },
          }) +
          sse('content_block_stop', { index: k }) +
          sse('content_block_start', { index: k + 1, content_block: result }) +
          sse('content_block_stop', { index: k + 1 })
        );
      })
      .join('');
  const serverToolUse =
    searches > 0 ? { server_tool_use: { web_search_requests: searches, web_fetch_requests: 0 } } : {};
  const rng = mulberry32(hash32(seed, 'anthropic', model, JSON.stringify(b.messages)));
  const reply = tool?.arguments ?? d.reply ?? (refusal ? pick(rng, REFUSALS) : null);
  let chunks: string[];
  let perChunk: number[];
  if (reply !== null) {
    const split = tokenChunks(reply);
    chunks = split.chunks;
    perChunk = split.tokens;
  } else {
    chunks = generateTokens(hash32(seed, 'anthropic', model, JSON.stringify(b.messages)), d.outputTokens);
    perChunk = chunks.map(() => 1);
  }
  let stop = tool ? 'tool_use' : refusal ? 'refusal' : 'end_turn';
  let n = chunks.length;
  const tokensOf = (count: number) => perChunk.slice(0, count).reduce((s, t) => s + t, 0);
  const cap = b.max_tokens as number;
  // Extended thinking: the thinking tokens come first, one a tpot, and count in output_tokens (and max_tokens).
  const thinkingConfig = b.thinking as Json | undefined;
  const budget = typeof thinkingConfig?.budget_tokens === 'number' ? thinkingConfig.budget_tokens : Infinity;
  const thinkingTokens =
    thinkingConfig?.type === 'enabled' && !refusal
      ? Math.min(headerNumber(headers, 'x-simulator-reasoning-tokens') || 4, budget, cap)
      : 0;
  const thinking = generateTokens(
    hash32(seed, 'anthropic-thinking', model, JSON.stringify(b.messages)),
    thinkingTokens,
  );
  const signature = Buffer.from(`sim-signature-${id32(seed, model)}`).toString('base64');
  if (tokensOf(n) + thinkingTokens > cap) {
    while (n > 0 && tokensOf(n) + thinkingTokens > cap) n--;
    stop = 'max_tokens';
  }
  const output = tokensOf(n) + thinkingTokens;
  const lastToken: number[] = [];
  for (let k = 0, t = -1; k < n; k++) {
    t += perChunk[k] as number;
    lastToken.push(t);
  }
  const dueAt = (k: number) => clock(thinkingTokens + (lastToken[k] ?? 0));
  /** The text (or tool_use) block's index: after the thinking block and the searches' blocks when there are. */
  const at = (thinkingTokens > 0 ? 1 : 0) + 2 * searches;
  const hour = Math.min(headerNumber(headers, 'x-simulator-cache-write-1h-tokens'), write);
  const usage = {
    input_tokens: input,
    cache_creation_input_tokens: write,
    cache_read_input_tokens: read,
    cache_creation: { ephemeral_5m_input_tokens: write - hour, ephemeral_1h_input_tokens: hour },
  };
  const id = openAiId('msg_', 24);
  const cutAfter = fault === 'cut' ? Math.max(1, Math.floor(n / 2)) : null;
  const streamError = headers['x-simulator-stream-error'];

  if (b.stream !== true) {
    await ex.waitUntil(n > 0 ? dueAt((cutAfter ?? n) - 1) : clock(Math.max(0, thinkingTokens - 1)));
    if (ex.stopped) return;
    if (cutAfter !== null) return ex.cut();
    const text = chunks.slice(0, n).join('');
    let input: unknown = {};
    if (tool) {
      try {
        input = JSON.parse(text);
      } catch {
        input = {};
      }
    }
    const content: Json[] = tool
      ? [{ type: 'tool_use', id: tool.id, name: tool.name, input }]
      : [{ type: 'text', text }];
    content.unshift(...searchBlocks.flat());
    if (thinkingTokens > 0) content.unshift({ type: 'thinking', thinking: thinking.join(''), signature });
    return sendJson(res, 200, {
      id,
      type: 'message',
      role: 'assistant',
      model,
      content,
      stop_reason: stop,
      stop_sequence: null,
      usage: { ...usage, output_tokens: output, ...serverToolUse },
    });
  }

  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
  });
  const block = tool ? { type: 'tool_use', id: tool.id, name: tool.name, input: {} } : { type: 'text', text: '' };
  res.write(
    sse('message_start', {
      message: {
        id,
        type: 'message',
        role: 'assistant',
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { ...usage, output_tokens: 1 },
      },
    }) +
      (thinkingTokens > 0
        ? sse('content_block_start', { index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } })
        : searchEvents(0) + sse('content_block_start', { index: at, content_block: block })) +
      sse('ping', {}),
  );
  if (thinkingTokens > 0) {
    for (let j = 0; j < thinkingTokens; j++) {
      await ex.waitUntil(clock(j));
      if (ex.stopped) return;
      res.write(sse('content_block_delta', { index: 0, delta: { type: 'thinking_delta', thinking: thinking[j] } }));
    }
    res.write(
      sse('content_block_delta', { index: 0, delta: { type: 'signature_delta', signature } }) +
        sse('content_block_stop', { index: 0 }) +
        searchEvents(1) +
        sse('content_block_start', { index: at, content_block: block }),
    );
  }
  const sent = cutAfter ?? (typeof streamError === 'string' ? Math.max(1, Math.floor(n / 2)) : n);
  for (let k = 0; k < sent && k < n; k++) {
    await ex.waitUntil(dueAt(k));
    if (ex.stopped) return;
    const delta = tool
      ? { type: 'input_json_delta', partial_json: chunks[k] }
      : { type: 'text_delta', text: chunks[k] };
    if (!res.write(sse('content_block_delta', { index: at, delta }))) {
      await ex.drain();
      if (ex.stopped) return;
    }
  }
  if (cutAfter !== null) {
    await ex.waitUntil(Math.max(clock((lastToken[cutAfter - 1] ?? -1) + 1), performance.now() - ex.t0 + 10));
    if (!ex.stopped) ex.cut();
    return;
  }
  if (typeof streamError === 'string') {
    res.end(sse('error', { error: { type: streamError, message: 'Overloaded' } }));
    return;
  }
  res.end(
    sse('content_block_stop', { index: at }) +
      sse('message_delta', {
        delta: { stop_reason: stop, stop_sequence: null },
        usage: { output_tokens: output, ...serverToolUse },
      }) +
      sse('message_stop', {}),
  );
}
