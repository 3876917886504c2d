// The simulator's OpenAI Responses API (POST /v1/responses, GET and DELETE /v1/responses/{id},
// GET /v1/responses/{id}/input_items, POST /v1/responses/{id}/cancel, POST /v1/responses/compact and
// POST /v1/responses/input_tokens):
// OpenAI's Response objects and event stream with the simulator's exact timing, usage with cached and reasoning
// tokens, function calls, refusals, incomplete (max_output_tokens) and failed responses, background ones (answered
// `queued` at once; GET says `in_progress` until the time the answer would have taken, then gives the finished
// response; a cancel before then makes it `cancelled`, without output or usage), so tests of the gateway's
// /v1/responses run offline with the official `openai` client.
//
// Per-request headers, beside the simulator's own (x-simulator-fault, -ttft-ms, -tpot-ms, -output-tokens, -reply,
// -cached-tokens, -tool-call):
//   x-simulator-reasoning-tokens: N     reported as output_tokens_details.reasoning_tokens (and in output_tokens);
//                                       the answer starts after them. With reasoning.summary asked for (as Codex
//                                       does), a reasoning item comes first, its summary (up to 8 tokens) streamed
//                                       as response.reasoning_summary_text.delta events while the model reasons, and
//                                       its encrypted_content when include names reasoning.encrypted_content
//   x-simulator-stream-error: <code>    the response fails half-way: `response.failed` with error.code <code>
//                                       (a non-streamed one answers the failed Response object)
//   x-simulator-web-searches: N         with the web search tool declared (`web_search`, `web_search_preview`), N
//                                       web_search_call items (default 1) before the answer, their pages' tokens in
//                                       input_tokens; a declared `file_search` tool: one file_search_call item
// A response continuing a kept one (`previous_response_id`) is billed that response's input and output tokens besides
// its own input, as OpenAI prepends the earlier conversation.
// Faults: rate_limit (429), server_error (500), overloaded (503), bad_request (400), timeout, cut, refusal and
// content_filter (a refusal part).
import type { IncomingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { MessagesDirectives as Directives, SimClock, SimExchange } from './anthropic.js';
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
import { lastUserText, queryOf, responsesFileSearches, responsesWebSearches, resultTokens } from './web-search.js';
import {
  badRequestBody,
  errorBody,
  invalidRequest,
  openAiId,
  overloadedBody,
  rateLimitBody,
  servedTier,
  serverErrorBody,
} from './wire.js';

type Json = Record<string, unknown>;

/** Responses kept (with their input items) for GET /v1/responses/{id} and the rest, oldest dropped first. */
const MAX_KEPT = 1000;
/** `doneAt`: for a background response still being generated, when it finishes (performance.now()). */
const kept = new Map<string, { response: Json; input: Json[]; doneAt?: number }>();

function keep(r: Json, input: Json[], doneAt?: number): void {
  kept.set(r.id as string, doneAt === undefined ? { response: r, input } : { response: r, input, doneAt });
  if (kept.size > MAX_KEPT) kept.delete(kept.keys().next().value as string);
}

const ITEM_ID_PREFIX: Record<string, string> = { message: 'msg_', function_call: 'fc_', function_call_output: 'fco_' };

/**
 * A request's `input` as OpenAI lists it back (GET /v1/responses/{id}/input_items): a string is one user message of
 * `input_text`, a message's string content becomes one text part, and every item has an id (its own when it was
 * sent with one).
 */
function inputItemsOf(input: unknown): Json[] {
  const list: unknown[] =
    typeof input === 'string' ? [{ type: 'message', role: 'user', content: input }] : Array.isArray(input) ? input : [];
  return list
    .filter((x): x is Json => typeof x === 'object' && x !== null)
    .map((x) => {
      const type = typeof x.type === 'string' ? x.type : 'message';
      const id = typeof x.id === 'string' ? x.id : openAiId(ITEM_ID_PREFIX[type] ?? 'item_', 48);
      if (type !== 'message') return { ...x, id };
      const content =
        typeof x.content === 'string'
          ? [{ type: x.role === 'assistant' ? 'output_text' : 'input_text', text: x.content }]
          : x.content;
      return { id, type: 'message', role: x.role, content, status: 'completed' };
    });
}

const noResponse = (id: string) => errorBody(`No response found with id '${id}'.`, 'invalid_request_error');

/** GET /v1/responses/{id}/input_items: `order` (desc by default), `after` an item id, `limit` 1-100 (20). */
function listInputItems(items: Json[], query: URLSearchParams): { status: number; body: Json } {
  const order = query.get('order') ?? 'desc';
  if (order !== 'asc' && order !== 'desc')
    return {
      status: 400,
      body: invalidRequest(
        `Invalid value: '${order}'. Supported values are: 'asc' and 'desc'.`,
        'order',
        'invalid_value',
      ),
    };
  const limitText = query.get('limit');
  const limit = limitText === null ? 20 : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100)
    return {
      status: 400,
      body: invalidRequest(
        `Invalid 'limit': expected an integer between 1 and 100, but got ${limitText} instead.`,
        'limit',
        'invalid_value',
      ),
    };
  let ordered = order === 'asc' ? items : [...items].reverse();
  const after = query.get('after');
  if (after !== null) {
    const at = ordered.findIndex((x) => x.id === after);
    ordered = at < 0 ? [] : ordered.slice(at + 1);
  }
  const data = ordered.slice(0, limit);
  return {
    status: 200,
    body: {
      object: 'list',
      data,
      first_id: data[0]?.id ?? null,
      last_id: data[data.length - 1]?.id ?? null,
      has_more: ordered.length > limit,
    },
  };
}

function sendJson(ex: SimExchange, status: number, body: unknown): void {
  if (ex.res.destroyed) return;
  const text = JSON.stringify(body);
  ex.res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  ex.res.end(text);
}

/** The reason a Responses request is invalid, in OpenAI's words, or null. */
export function responsesProblem(b: Json): Json | null {
  if (typeof b.model !== 'string' || b.model === '')
    return invalidRequest('Missing required parameter: model.', 'model');
  if (b.input !== undefined && typeof b.input !== 'string' && !Array.isArray(b.input))
    return invalidRequest("Invalid type for 'input': expected a string or an array.", 'input');
  const cap = b.max_output_tokens;
  if (cap !== undefined && cap !== null && (typeof cap !== 'number' || !Number.isInteger(cap) || cap < 16))
    return invalidRequest(
      `Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, but got ${String(cap)} instead.`,
      'max_output_tokens',
    );
  return null;
}

/**
 * GET and DELETE /v1/responses/{id}, GET /v1/responses/{id}/input_items and POST /v1/responses/{id}/cancel, for the
 * responses this simulator created and stored; an unknown id is a 404 in OpenAI's shape.
 */
export function responseById(ex: SimExchange, method: string, path: string, query: URLSearchParams): void {
  const { status, body } = answerById(method, path, query);
  sendJson(ex, status, body);
}

function answerById(method: string, path: string, query: URLSearchParams): { status: number; body: Json } {
  const m = /^\/v1\/responses\/([^/]+)(?:\/(cancel|input_items))?$/.exec(path);
  const id = m ? safeDecode(m[1] as string) : '';
  const action = m?.[2] ?? null;
  const allowed =
    action === 'cancel'
      ? method === 'POST'
      : action === 'input_items'
        ? method === 'GET'
        : method === 'GET' || method === 'DELETE';
  if (!m || !allowed) return { status: 404, body: invalidRequest(`Invalid URL (${method} ${path})`) };
  const r = kept.get(id);
  if (!r) return { status: 404, body: noResponse(id) };
  if (action === 'input_items') return listInputItems(r.input, query);
  const generating = r.doneAt !== undefined && performance.now() < r.doneAt;
  if (action === 'cancel') {
    if (r.response.background !== true)
      return { status: 400, body: invalidRequest('Only responses created with background=true can be cancelled.') };
    // cancelled while generating: it stays cancelled, without output or usage; a finished one is answered as it is
    if (generating) {
      r.response = { ...r.response, ...UNFINISHED, status: 'cancelled' };
      r.doneAt = undefined;
    }
    return { status: 200, body: r.response };
  }
  if (method === 'DELETE') {
    kept.delete(id);
    return { status: 200, body: { id, object: 'response.deleted', deleted: true } };
  }
  return { status: 200, body: generating ? { ...r.response, ...UNFINISHED, status: 'in_progress' } : r.response };
}

/** What a background response says while it is generated (or once cancelled then). */
const UNFINISHED = { output: [], usage: null, error: null, incomplete_details: null };

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * What OpenAI bills a response continuing an earlier one (`previous_response_id`) beyond its own input: the earlier
 * conversation, prepended (that response's input and output tokens); 0 for an id the simulator does not keep.
 */
function earlierTokens(id: unknown): number {
  const u = typeof id === 'string' ? (kept.get(id)?.response.usage as Json | null | undefined) : null;
  if (!u) return 0;
  return (
    (typeof u.input_tokens === 'number' ? u.input_tokens : 0) +
    (typeof u.output_tokens === 'number' ? u.output_tokens : 0)
  );
}

function inputTokens(b: Json): number {
  let n = typeof b.instructions === 'string' ? countTokens(b.instructions) : 0;
  // Tool definitions are billed as prompt, as their JSON (as anthropic.ts bills them).
  if (Array.isArray(b.tools) && b.tools.length) n += countTokens(JSON.stringify(b.tools));
  if (typeof b.input === 'string') return n + countTokens(b.input) + 7;
  if (Array.isArray(b.input)) {
    n += countChatTokens(b.input.filter((x) => (x as Json | null)?.role !== undefined));
    for (const x of b.input) {
      const o = x as Json | null;
      if (o?.type === 'function_call_output' || o?.type === 'custom_tool_call_output')
        n += countTokens(typeof o.output === 'string' ? o.output : JSON.stringify(o.output ?? ''));
      // the model's earlier tool calls: the tool's name and its arguments (a custom tool's input)
      else if (o?.type === 'function_call' || o?.type === 'custom_tool_call') {
        if (typeof o.name === 'string') n += countTokens(o.name);
        const args = o.type === 'function_call' ? o.arguments : o.input;
        if (typeof args === 'string') n += countTokens(args);
      }
    }
  }
  return n;
}

function headerNumber(h: IncomingHttpHeaders, name: string): number {
  const v = h[name];
  const n = Number(Array.isArray(v) ? v[0] : v);
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
}

/**
 * POST /v1/responses/input_tokens (the SDK's responses.inputTokens.count): the input tokens a response to this body
 * would be billed, `{object: "response.input_tokens", input_tokens}`. Not a generation: no faults, no delay.
 */
export function countResponseInputTokens(ex: SimExchange, b: Json): void {
  if (b.input !== undefined && b.input !== null && typeof b.input !== 'string' && !Array.isArray(b.input))
    sendJson(ex, 400, invalidRequest("Invalid type for 'input': expected a string or an array.", 'input'));
  else sendJson(ex, 200, { object: 'response.input_tokens', input_tokens: inputTokens(b) });
}

/** The fault's error answer (rate limit, server error, overload, bad request), true when one was sent. */
function faultAnswer(ex: SimExchange, fault: Directives['fault'], model: string): boolean {
  if (fault === 'rate_limit') {
    ex.res.setHeader('retry-after', '1');
    sendJson(ex, 429, rateLimitBody(model, 1000));
  } else if (fault === 'server_error') sendJson(ex, 500, serverErrorBody());
  else if (fault === 'overloaded') {
    ex.res.setHeader('retry-after', '1');
    sendJson(ex, 503, overloadedBody());
  } else if (fault === 'bad_request') sendJson(ex, 400, badRequestBody());
  else return false;
  return true;
}

/**
 * POST /v1/responses/compact (the SDK's responses.compact; Codex compacts a long conversation with it): a model pass
 * over the whole input, billed like a response. Answers OpenAI's `response.compaction` object: the input's user
 * messages, then one `compaction` item whose encrypted content stands for the rest; usage with the input's tokens
 * (cached ones per x-simulator-cached-tokens), the compaction's output tokens (x-simulator-output-tokens, plus
 * x-simulator-reasoning-tokens), answered when the last of them is due. Faults as on POST /v1/responses (timeout and
 * cut too); never streamed, never stored.
 */
export async function compactResponse(
  ex: SimExchange,
  headers: IncomingHttpHeaders,
  b: Json,
  d: Directives,
  clock: SimClock,
): Promise<void> {
  if (faultAnswer(ex, d.fault, b.model as string) || d.fault === 'timeout') return;
  const input = inputTokens(b);
  const reasoning = headerNumber(headers, 'x-simulator-reasoning-tokens');
  const output = d.outputTokens + reasoning;
  await ex.waitUntil(clock(Math.max(0, output - 1)));
  if (ex.stopped) return;
  if (d.fault === 'cut') return ex.cut();
  const users = inputItemsOf(b.input)
    .filter((item) => item.type === 'message' && item.role === 'user')
    .map((item) => ({ ...item, status: 'completed' }));
  const id = openAiId('cmp_', 48);
  sendJson(ex, 200, {
    id: openAiId('resp_', 48),
    object: 'response.compaction',
    created_at: Math.floor(Date.now() / 1000),
    output: [
      ...users,
      { id, type: 'compaction', encrypted_content: Buffer.from(`sim-compaction-${id}`).toString('base64') },
    ],
    usage: {
      input_tokens: input,
      input_tokens_details: { cached_tokens: Math.min(d.cachedTokens, input) },
      output_tokens: output,
      output_tokens_details: { reasoning_tokens: reasoning },
      total_tokens: input + output,
    },
  });
}

/** Answers POST /v1/responses, streamed or not, with the fault (if any) applied. */
export async function openaiResponses(
  ex: SimExchange,
  headers: IncomingHttpHeaders,
  b: Json,
  d: Directives,
  clock: SimClock,
  seed: number,
): Promise<void> {
  const { res } = ex;
  const fault = d.fault;
  const model = b.model as string;
  if (faultAnswer(ex, fault, model) || fault === 'timeout') return;

  const refusal = fault === 'refusal' || fault === 'content_filter';
  const tool = d.toolCall && !refusal ? d.toolCall : null;
  // The built-in tools declared (web search, file search) run first: a web_search_call or file_search_call output
  // item each, what they found read as input tokens.
  const webSearches = tool || refusal ? 0 : responsesWebSearches(b, headers);
  const fileSearches = tool || refusal ? 0 : responsesFileSearches(b);
  const query =
    webSearches + fileSearches > 0 ? queryOf(typeof b.input === 'string' ? b.input : lastUserText(b.input)) : '';
  const hosted: Json[] = [];
  for (let j = 0; j < webSearches; j++)
    hosted.push({
      id: openAiId('ws_', 48),
      type: 'web_search_call',
      status: 'completed',
      action: { type: 'search', query },
    });
  for (let j = 0; j < fileSearches; j++)
    hosted.push({
      id: openAiId('fs_', 48),
      type: 'file_search_call',
      status: 'completed',
      queries: [query],
      results: null,
    });
  const input =
    inputTokens(b) + earlierTokens(b.previous_response_id) + resultTokens(query, webSearches + fileSearches);
  const cached = Math.min(d.cachedTokens, input);
  const reasoning = headerNumber(headers, 'x-simulator-reasoning-tokens');
  const rngSeed = hash32(seed, 'responses', model, JSON.stringify(b.input ?? ''), JSON.stringify(b.instructions ?? ''));
  const reply = tool?.arguments ?? d.reply ?? (refusal ? pick(mulberry32(rngSeed), REFUSALS) : null);
  let chunks: string[];
  let perChunk: number[];
  if (reply !== null) {
    const split = tokenChunks(reply);
    chunks = split.chunks;
    perChunk = split.tokens;
  } else {
    chunks = generateTokens(rngSeed, d.outputTokens);
    perChunk = chunks.map(() => 1);
  }
  const tokensOf = (count: number) => perChunk.slice(0, count).reduce((s, t) => s + t, 0);
  const cap = typeof b.max_output_tokens === 'number' ? b.max_output_tokens - reasoning : null;
  let n = chunks.length;
  let incomplete = false;
  if (cap !== null && tokensOf(n) > cap) {
    while (n > 0 && tokensOf(n) > cap) n--;
    incomplete = true;
  }
  const streamError = headers['x-simulator-stream-error'];
  const failCode = typeof streamError === 'string' ? streamError : null;
  if (failCode !== null) n = Math.max(1, Math.floor(n / 2));
  const lastToken: number[] = [];
  for (let k = 0, t = -1; k < n; k++) {
    t += perChunk[k] as number;
    lastToken.push(t);
  }
  const dueAt = (k: number) => clock(reasoning + (lastToken[k] ?? 0));
  const output = tokensOf(n) + reasoning;
  // A reasoning summary (Codex asks for one: reasoning.summary "auto"): a reasoning item before the answer, its
  // summary streamed one token a tpot while the model reasons; its encrypted content when `include` asks for it.
  const reasoningConfig = b.reasoning as Json | undefined;
  const summaryMode = typeof reasoningConfig?.summary === 'string' ? reasoningConfig.summary : null;
  const summary =
    summaryMode !== null && reasoning > 0 && !refusal
      ? generateTokens(hash32(rngSeed, 'summary'), Math.min(reasoning, 8))
      : [];
  const first = summary.length > 0 ? 1 : 0;
  const oi = first + hosted.length;
  const reasoningId = openAiId('rs_', 48);
  const encrypted =
    Array.isArray(b.include) && b.include.includes('reasoning.encrypted_content')
      ? Buffer.from(`sim-reasoning-${reasoningId}`).toString('base64')
      : null;
  const reasoningItem = (text: string): Json => ({
    id: reasoningId,
    type: 'reasoning',
    summary: text ? [{ type: 'summary_text', text }] : [],
    ...(encrypted !== null ? { encrypted_content: encrypted } : {}),
  });
  const id = openAiId('resp_', 48);
  const itemId = tool ? openAiId('fc_', 48) : openAiId('msg_', 48);
  const callId = openAiId('call_', 24);
  const text = chunks.slice(0, n).join('');
  const cutAfter = fault === 'cut' ? Math.max(1, Math.floor(n / 2)) : null;
  const status = failCode !== null ? 'failed' : incomplete ? 'incomplete' : 'completed';
  const usage = {
    input_tokens: input,
    input_tokens_details: { cached_tokens: cached },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: reasoning },
    total_tokens: input + output,
  };
  const itemDone = (done: string): Json =>
    tool
      ? { id: itemId, type: 'function_call', status: 'completed', arguments: done, call_id: callId, name: tool.name }
      : {
          id: itemId,
          type: 'message',
          status: status === 'completed' ? 'completed' : 'incomplete',
          role: 'assistant',
          content: [
            refusal
              ? { type: 'refusal', refusal: done }
              : { type: 'output_text', annotations: [], logprobs: [], text: done },
          ],
        };
  const response = (st: string, out: Json[], u: Json | null): Json => ({
    id,
    object: 'response',
    created_at: Math.floor(Date.now() / 1000),
    status: st,
    background: b.background === true,
    error: st === 'failed' ? { code: failCode, message: `The response failed: ${failCode}.` } : null,
    incomplete_details: st === 'incomplete' ? { reason: 'max_output_tokens' } : null,
    instructions: b.instructions ?? null,
    max_output_tokens: b.max_output_tokens ?? null,
    model,
    output: out,
    parallel_tool_calls: true,
    previous_response_id: b.previous_response_id ?? null,
    reasoning: { effort: reasoningConfig?.effort ?? null, summary: summaryMode },
    service_tier: servedTier(b.service_tier),
    store: b.store !== false,
    temperature: b.temperature ?? 1,
    text: { format: { type: 'text' } },
    tool_choice: b.tool_choice ?? 'auto',
    tools: b.tools ?? [],
    top_p: b.top_p ?? 1,
    truncation: 'disabled',
    usage: u,
    user: b.user ?? null,
    metadata: b.metadata ?? {},
  });
  const final = response(
    status,
    [...(summary.length > 0 ? [reasoningItem(summary.join(''))] : []), ...hosted, itemDone(text)],
    usage,
  );
  // a background response is generated after its answer: finished when a plain one would have been answered
  if (b.store !== false)
    keep(final, inputItemsOf(b.input), b.background === true && b.stream !== true ? ex.t0 + dueAt(n - 1) : undefined);

  if (b.stream !== true) {
    // background: answered queued at once; the stored response (GET) is the finished one
    if (b.background === true) return sendJson(ex, 200, response('queued', [], null));
    await ex.waitUntil(dueAt(n - 1));
    if (ex.stopped) return;
    if (cutAfter !== null) return ex.cut();
    return sendJson(ex, 200, final);
  }

  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
  let seq = 0;
  const ev = (type: string, data: Json): string =>
    `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...data })}\n\n`;
  const started = response('in_progress', [], null);
  const addedItem = tool
    ? { id: itemId, type: 'function_call', status: 'in_progress', arguments: '', call_id: callId, name: tool.name }
    : { id: itemId, type: 'message', status: 'in_progress', role: 'assistant', content: [] };
  const part = refusal
    ? { type: 'refusal', refusal: '' }
    : { type: 'output_text', annotations: [], logprobs: [], text: '' };
  res.write(ev('response.created', { response: started }) + ev('response.in_progress', { response: started }));
  if (summary.length > 0) {
    const at = { item_id: reasoningId, output_index: 0, summary_index: 0 };
    res.write(
      ev('response.output_item.added', {
        output_index: 0,
        item: { ...reasoningItem(''), encrypted_content: undefined },
      }) + ev('response.reasoning_summary_part.added', { ...at, part: { type: 'summary_text', text: '' } }),
    );
    for (let j = 0; j < summary.length; j++) {
      await ex.waitUntil(clock(j));
      if (ex.stopped) return;
      res.write(ev('response.reasoning_summary_text.delta', { ...at, delta: summary[j] }));
    }
    const done = summary.join('');
    res.write(
      ev('response.reasoning_summary_text.done', { ...at, text: done }) +
        ev('response.reasoning_summary_part.done', { ...at, part: { type: 'summary_text', text: done } }) +
        ev('response.output_item.done', { output_index: 0, item: reasoningItem(done) }),
    );
  }
  let head = '';
  hosted.forEach((item, j) => {
    const at = { output_index: first + j, item_id: item.id };
    const kind = item.type as string;
    head +=
      ev('response.output_item.added', { output_index: first + j, item: { ...item, status: 'in_progress' } }) +
      ev(`response.${kind}.in_progress`, at) +
      ev(`response.${kind}.searching`, at) +
      ev(`response.${kind}.completed`, at) +
      ev('response.output_item.done', { output_index: first + j, item });
  });
  head += ev('response.output_item.added', { output_index: oi, item: addedItem });
  if (!tool) head += ev('response.content_part.added', { item_id: itemId, output_index: oi, content_index: 0, part });
  res.write(head);
  const deltaType = tool
    ? 'response.function_call_arguments.delta'
    : refusal
      ? 'response.refusal.delta'
      : 'response.output_text.delta';
  const sent = cutAfter ?? n;
  for (let k = 0; k < sent; k++) {
    await ex.waitUntil(dueAt(k));
    if (ex.stopped) return;
    const at = tool ? { item_id: itemId, output_index: oi } : { item_id: itemId, output_index: oi, content_index: 0 };
    const extra = deltaType === 'response.output_text.delta' ? { logprobs: [] } : {};
    if (!res.write(ev(deltaType, { ...at, delta: chunks[k], ...extra }))) {
      await ex.drain();
      if (ex.stopped) return;
    }
  }
  if (cutAfter !== null) {
    await ex.waitUntil(
      Math.max(clock(reasoning + (lastToken[cutAfter - 1] ?? -1) + 1), performance.now() - ex.t0 + 10),
    );
    if (!ex.stopped) ex.cut();
    return;
  }
  let tail = '';
  const item = itemDone(text);
  if (tool) tail += ev('response.function_call_arguments.done', { item_id: itemId, output_index: oi, arguments: text });
  else {
    const donePart = (item.content as Json[])[0] as Json;
    const at = { item_id: itemId, output_index: oi, content_index: 0 };
    tail += refusal
      ? ev('response.refusal.done', { ...at, refusal: text })
      : ev('response.output_text.done', { ...at, text, logprobs: [] });
    tail += ev('response.content_part.done', { ...at, part: donePart });
  }
  tail += ev('response.output_item.done', { output_index: oi, item });
  tail += ev(`response.${status}`, { response: final });
  res.end(tail);
}
