// The simulated OpenAI-compatible upstream: OpenAI's wire format with exact (or seeded, jittered) timing,
// deterministic text, faults injected by rate or per request by header, and a record of clients that went away.
//
// Per-request headers (all optional):
//   x-simulator-fault: rate_limit | server_error | timeout | cut | refusal | content_filter | overloaded | bad_request
//   x-simulator-ttft-ms, x-simulator-tpot-ms, x-simulator-output-tokens   override the timing and length
//   x-simulator-reply: <text>          the content is exactly this text, streamed one real token per chunk
//   x-simulator-cached-tokens: N       reported as usage.prompt_tokens_details.cached_tokens (at most the prompt)
//   x-simulator-tool-call: <name> or {"name":..., "arguments":...}   chat only: the model calls this tool
//   x-simulator-stream-error: <type>   a stream ends half-way with `data: {"error": {... "type": <type>}}` and no
//                                      [DONE], as OpenAI (and vLLM) report a failure once a stream has begun;
//                                      `rate_limit_exceeded` sends the 429's body (type `requests`, that code)
// A chat whose last message (or a prompt) contains `[[llmscope-judge]]` is answered with x-simulator-reply if
// given, else with the JSON written after the marker, else with DEFAULT_JUDGE_REPLY.
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import {
  anthropicError,
  anthropicMessages,
  countMessageTokens,
  messagesProblem,
  vertexClaudeRoute,
} from './anthropic.js';
import { FileStore, handlePlatform, isPlatformRoute } from './files.js';
import {
  geminiGenerate,
  geminiMethod,
  geminiMethodProblem,
  geminiMethodRoute,
  geminiModel,
  geminiModelList,
  geminiProblem,
  geminiRoute,
  googleError,
} from './gemini.js';
import { BatchStore, handleMedia, isMediaRoute } from './media.js';
import {
  checkNumber,
  parseNumber,
  type ResolvedSimulatorOptions,
  resolveSimulatorOptions,
  SimulatorOptionError,
  type SimulatorOptions,
} from './options.js';
import { attachRealtimeSimulator } from './realtime.js';
import {
  compactResponse,
  countResponseInputTokens,
  openaiResponses,
  responseById,
  responsesProblem,
} from './responses.js';
import { responsesWsSimulator } from './responses-ws.js';
import {
  countChatTokens,
  countTokens,
  generateTokens,
  hash32,
  messageText,
  mulberry32,
  gaussian as normal,
  pick,
  REFUSALS,
  type Rng,
  tokenChunks,
} from './text.js';
import {
  badRequestBody,
  type ChatUsage,
  chatCompletion,
  chatStream,
  chatToolCompletion,
  chatUsage,
  completionStream,
  completionUsage,
  embeddingVector,
  errorBody,
  type FinishReason,
  INVALID_JSON_MESSAGE,
  invalidRequest,
  modelList,
  modelObject,
  openAiId,
  overloadedBody,
  type ResponseMeta,
  rateLimitBody,
  SSE_DONE,
  type StreamFormat,
  servedTier,
  serverErrorBody,
  type ToolCall,
  textCompletion,
  toolCallStream,
  vectorBase64,
  vectorFloats,
} from './wire.js';

export const FAULTS = [
  'rate_limit',
  'server_error',
  'timeout',
  'cut',
  'refusal',
  'content_filter',
  'overloaded',
  'bad_request',
] as const;
export type Fault = (typeof FAULTS)[number];

export const JUDGE_MARKER = '[[llmscope-judge]]';
export const DEFAULT_JUDGE_REPLY = '{"verdict":"pass","score":1,"reason":"simulated judge"}';
/** Request bodies above this are answered 413. */
export const MAX_BODY_BYTES = 64 * 1024 * 1024;
/** Cancellation records kept in `stats.cancellations` (oldest dropped first), so memory stays bounded. */
export const MAX_CANCEL_RECORDS = 1000;
/** Least time between the last chunk written and a `cut`. */
const CUT_GRACE_MS = 10;
/** The retry hint sent with simulated 429s. */
export const RATE_LIMIT_RETRY_MS = 1000;

/** A client that went away before its response was complete. */
export interface CancelRecord {
  /** The request's `x-request-id` header, or the id the simulator generated. */
  requestId: string;
  path: string;
  /** When the simulator saw the connection close: `performance.timeOrigin + performance.now()` (epoch ms). */
  at: number;
  /** Milliseconds from the request's arrival. */
  elapsedMs: number;
}

/** What a request looked like on arrival (after its body was parsed), for tests of what a gateway forwards. */
export interface RequestRecord {
  requestId: string;
  method: string;
  path: string;
  /** The path with its query string, as received. */
  url: string;
  headers: IncomingHttpHeaders;
  body: unknown;
  at: number;
}

export interface SimulatorStats {
  /** Every request received, any route. */
  requests: number;
  /** Requests whose response is not yet complete. */
  inFlight: number;
  /** Responses completed (any status). */
  completed: number;
  /** Clients that went away before their response was complete. */
  cancelled: number;
  /** Faults applied, by kind (from rates or headers). */
  faults: Record<Fault, number>;
  /** The latest cancellations, oldest first (at most MAX_CANCEL_RECORDS). */
  cancellations: CancelRecord[];
}

/** When a chat or completions stream's first token went out, against when it was due (both from the request's arrival). */
export interface FirstTokenRecord {
  requestId: string;
  path: string;
  dueMs: number;
  sentMs: number;
}

export interface SimulatorEvents {
  request: [RequestRecord];
  cancel: [CancelRecord];
  /** A stream's first token written: how late the simulator itself was (a loaded machine's timers fire late). */
  'first-token': [FirstTokenRecord];
}

export interface Simulator {
  /** Base URL for OpenAI clients, e.g. `http://127.0.0.1:8081/v1`. */
  url: string;
  port: number;
  host: string;
  options: ResolvedSimulatorOptions;
  /** Live counters (the same object, updated in place). */
  stats: SimulatorStats;
  events: EventEmitter<SimulatorEvents>;
  /** Stops listening, abandons every response in progress and closes every connection. */
  close(): Promise<void>;
}

/** Starts the simulator; rejects on invalid options (SimulatorOptionError) or when the port is taken. */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const opts = resolveSimulatorOptions(options);
  const stats: SimulatorStats = {
    requests: 0,
    inFlight: 0,
    completed: 0,
    cancelled: 0,
    faults: {
      rate_limit: 0,
      server_error: 0,
      timeout: 0,
      cut: 0,
      refusal: 0,
      content_filter: 0,
      overloaded: 0,
      bad_request: 0,
    },
    cancellations: [],
  };
  const events = new EventEmitter<SimulatorEvents>();
  const state: ServerState = {
    opts,
    stats,
    events,
    faultRng: mulberry32(hash32(opts.seed, 'faults')),
    sequence: 0,
    fingerprint: `fp_${hash32(opts.seed, 'fingerprint').toString(16).padStart(8, '0')}`,
    active: new Set(),
    closing: false,
    files: new FileStore(),
    batches: new BatchStore(),
  };
  const server = createServer((req, res) => {
    handle(state, req, res).catch(() => {
      // Nothing in handle() should throw; if it does, answer 500 rather than leave the client hanging.
      if (!res.headersSent) sendJson(res, 500, serverErrorBody());
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5000;
  // The Responses API's WebSocket mode (responses-ws.ts): each response.create runs as a streamed POST would.
  const responsesWs = responsesWsSimulator(state, (headers) => {
    const directives = readDirectives(headers, state.opts);
    const fault = directives.fault ?? drawFault(state);
    if (fault) state.stats.faults[fault]++;
    state.sequence++;
    const clock = makeClock(directives.ttftMs, directives.tpotMs, state.opts.jitter, state.opts.seed, state.sequence);
    return { directives: { ...directives, fault }, clock, seed: state.opts.seed };
  });
  // OpenAI's Realtime API over WebSocket (realtime.ts), and the Responses upgrades it hands on
  const realtime = attachRealtimeSimulator(server, state, responsesWs.upgrade);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const hostInUrl = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  let closed: Promise<void> | null = null;
  return {
    url: `http://${hostInUrl}:${port}/v1`,
    port,
    host: opts.host,
    options: opts,
    stats,
    events,
    close() {
      closed ??= (async () => {
        state.closing = true;
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        const pending = [...state.active].map((ex) => ex.closed);
        for (const ex of state.active) ex.stop();
        realtime.close();
        responsesWs.close();
        server.closeAllConnections();
        await Promise.all([stopped, ...pending]);
      })();
      return closed;
    },
  };
}

interface ServerState {
  opts: ResolvedSimulatorOptions;
  stats: SimulatorStats;
  events: EventEmitter<SimulatorEvents>;
  faultRng: Rng;
  sequence: number;
  fingerprint: string;
  active: Set<Exchange>;
  closing: boolean;
  /** Files uploaded through the Files API (files.ts). */
  files: FileStore;
  /** Batches created through the Batch API (media.ts). */
  batches: BatchStore;
}

/** One request/response: its clock, its pending timer, and whether it must stop (client gone or shutdown). */
class Exchange {
  stopped = false;
  /** Set when the simulator cuts the connection itself (fault `cut`), so it is not counted as a cancellation. */
  selfClosed = false;
  /** Resolves when the response is closed (finished, cut, or the client gone). */
  readonly closed: Promise<void>;
  private timer: NodeJS.Timeout | null = null;
  private wake: (() => void) | null = null;
  /** Told when a stream's first token is written (see `play`). */
  onFirstToken: ((dueMs: number, sentMs: number) => void) | null = null;

  constructor(
    readonly res: ServerResponse,
    readonly t0: number,
    readonly requestId: string,
  ) {
    this.closed = new Promise<void>((resolve) => res.once('close', () => resolve()));
  }

  /** Resolves when the monotonic clock reaches `t0 + offsetMs`, or as soon as the exchange stops. */
  async waitUntil(offsetMs: number): Promise<void> {
    // Timers may fire up to a millisecond early (libuv's clock is cached per loop turn): check and wait again.
    for (let wait = this.t0 + offsetMs - performance.now(); wait > 0 && !this.stopped; ) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.timer = setTimeout(resolve, wait);
      });
      wait = this.t0 + offsetMs - performance.now();
    }
  }

  /** Waits for the response's 'drain' (backpressure), or until the exchange stops. */
  drain(): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        this.res.off('drain', done);
        this.wake = null;
        resolve();
      };
      this.wake = done;
      this.res.on('drain', done);
    });
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  /** Cuts the connection mid-response (fault `cut`). */
  cut(): void {
    this.selfClosed = true;
    this.stop();
    this.res.destroy();
  }
}

type Route =
  | 'chat'
  | 'completions'
  | 'embeddings'
  | 'messages'
  | 'count_tokens'
  | 'responses'
  | 'responses_compact'
  | 'responses_input_tokens'
  | 'gemini'
  | 'gemini_method';
const POST_ROUTES: Record<string, Route> = {
  '/v1/chat/completions': 'chat',
  '/v1/completions': 'completions',
  '/v1/embeddings': 'embeddings',
  // Anthropic's Messages API (anthropic.ts)
  '/v1/messages': 'messages',
  '/v1/messages/count_tokens': 'count_tokens',
  // OpenAI's Responses API (responses.ts)
  '/v1/responses': 'responses',
  '/v1/responses/compact': 'responses_compact',
  '/v1/responses/input_tokens': 'responses_input_tokens',
};

const ANTHROPIC_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  404: 'not_found_error',
  413: 'request_too_large',
};
const GOOGLE_STATUS: Record<number, string> = { 400: 'INVALID_ARGUMENT', 404: 'NOT_FOUND', 413: 'INVALID_ARGUMENT' };

/**
 * The simulator's own error (a malformed body, one too large, an unknown path, a bad x-simulator-* header) in the
 * shape of the API `path` belongs to, as that provider answers: Anthropic's under /v1/messages, Google's under
 * /v1beta (and Gemini's /v1/models/{m}:method), OpenAI's elsewhere. `openai` is the OpenAI-shaped body.
 */
function ownError(path: string, status: number, message: string, openai: unknown): unknown {
  if (path === '/v1/messages' || path.startsWith('/v1/messages/') || vertexClaudeRoute(path))
    return anthropicError(ANTHROPIC_TYPES[status] ?? 'invalid_request_error', message);
  if (path.startsWith('/v1beta/') || geminiRoute(path))
    return googleError(status, GOOGLE_STATUS[status] ?? 'INVALID_ARGUMENT', message);
  return openai;
}

async function handle(state: ServerState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const t0 = performance.now();
  const { stats } = state;
  stats.requests++;
  stats.inFlight++;
  const requestId = headerText(req.headers['x-request-id']) ?? `req_${randomBytes(16).toString('hex')}`;
  const path = (req.url ?? '/').split('?', 1)[0]!;
  const ex = new Exchange(res, t0, requestId);
  ex.onFirstToken = (dueMs, sentMs) => state.events.emit('first-token', { requestId, path, dueMs, sentMs });
  state.active.add(ex);
  res.on('close', () => {
    state.active.delete(ex);
    stats.inFlight--;
    const gone = !res.writableFinished && !ex.selfClosed && !state.closing;
    ex.stop();
    if (res.writableFinished) stats.completed++;
    if (!gone) return;
    stats.cancelled++;
    const record: CancelRecord = {
      requestId,
      path,
      at: performance.timeOrigin + performance.now(),
      elapsedMs: performance.now() - t0,
    };
    stats.cancellations.push(record);
    if (stats.cancellations.length > MAX_CANCEL_RECORDS) stats.cancellations.shift();
    state.events.emit('cancel', record);
  });
  // As OpenAI's API does, the answer's x-request-id is the provider's own id for the exchange, whatever the client
  // sent (which the simulator keeps as the exchange's id in its own events, where llmscope's calls are found).
  res.setHeader('x-request-id', `req_${randomBytes(16).toString('hex')}`);

  const method = req.method ?? 'GET';
  if (method === 'GET' && path === '/healthz') return sendJson(res, 200, { status: 'ok' });
  const created = Math.floor(Date.now() / 1000);
  if (method === 'GET' && path === '/v1/models') return sendJson(res, 200, modelList(state.opts.models, created));
  if (method === 'GET' && path.startsWith('/v1/models/') && path.length > '/v1/models/'.length) {
    return sendJson(res, 200, modelObject(safeDecode(path.slice('/v1/models/'.length)), created));
  }
  if (path.startsWith('/v1/responses/') && !(method === 'POST' && POST_ROUTES[path]))
    return responseById(ex, method, path, new URLSearchParams((req.url ?? '').split('?', 2)[1] ?? ''));
  // OpenAI's Files API and moderations (files.ts)
  if (isPlatformRoute(method, path)) {
    const raw = method === 'POST' ? await readBody(req) : Buffer.alloc(0);
    if (raw === null) return; // client went away while sending; counted by the 'close' handler
    if (raw === 'too_large') {
      const message = `Request body too large: the simulator accepts at most ${MAX_BODY_BYTES} bytes.`;
      return sendJson(res, 413, invalidRequest(message));
    }
    const query = new URLSearchParams((req.url ?? '').split('?', 2)[1] ?? '');
    return handlePlatform(state.files, req, res, path, query, raw, state.opts.seed);
  }
  // OpenAI's image, audio and batch APIs (media.ts)
  if (isMediaRoute(method, path)) {
    const raw = method === 'POST' ? await readBody(req) : Buffer.alloc(0);
    if (raw === null) return;
    if (raw === 'too_large') {
      const message = `Request body too large: the simulator accepts at most ${MAX_BODY_BYTES} bytes.`;
      return sendJson(res, 413, invalidRequest(message));
    }
    // A status fault asked for by header fails the call here too (README: "makes the simulator fail that call").
    const fault = method === 'POST' ? headerText(req.headers['x-simulator-fault']) : null;
    if (fault !== null && STATUS_FAULTS.has(fault)) return sendStatusFault(res, fault, mediaModelOf(raw));
    const query = new URLSearchParams((req.url ?? '').split('?', 2)[1] ?? '');
    return handleMedia(state.files, state.batches, req, res, path, query, raw, state.opts.seed);
  }
  // Gemini's routes name the model in the path (gemini.ts)
  if (method === 'GET' && path === '/v1beta/models') return sendJson(res, 200, geminiModelList(state.opts.models));
  if (method === 'GET' && /^\/v1beta\/models\/[^:/]+$/.test(path))
    return sendJson(res, 200, geminiModel(safeDecode(path.slice('/v1beta/models/'.length))));
  const gemini = method === 'POST' ? geminiRoute(path) : null;
  const geminiOther = method === 'POST' && !gemini ? geminiMethodRoute(path) : null;
  const claude = method === 'POST' && !gemini && !geminiOther ? vertexClaudeRoute(path) : null;
  const route = gemini
    ? 'gemini'
    : geminiOther
      ? 'gemini_method'
      : claude
        ? claude.count
          ? 'count_tokens'
          : 'messages'
        : method === 'POST'
          ? POST_ROUTES[path]
          : undefined;
  if (!route) {
    const message = `Invalid URL (${method} ${path})`;
    return sendJson(res, 404, ownError(path, 404, message, invalidRequest(message)));
  }

  const raw = await readBody(req);
  if (raw === null) return; // client went away while sending; counted by the 'close' handler
  if (raw === 'too_large') {
    const message = `Request body too large: the simulator accepts at most ${MAX_BODY_BYTES} bytes.`;
    return sendJson(res, 413, ownError(path, 413, message, invalidRequest(message)));
  }
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    return sendJson(
      res,
      400,
      ownError(path, 400, 'The request body is not valid JSON.', invalidRequest(INVALID_JSON_MESSAGE)),
    );
  }
  state.events.emit('request', {
    requestId,
    method,
    path,
    url: req.url ?? path,
    headers: req.headers,
    body,
    at: performance.timeOrigin + t0,
  });
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    const message = 'Invalid request body: expected a JSON object.';
    return sendJson(res, 400, ownError(path, 400, message, invalidRequest(message, null, 'invalid_type')));
  }
  // Claude on Vertex AI: the model from the path (the event above keeps the body as sent)
  const b = (claude && !claude.count ? { ...body, model: claude.model } : body) as Record<string, unknown>;
  if (route === 'gemini_method') {
    const at = geminiOther!;
    const wrong = geminiMethodProblem(at.method, b);
    if (wrong) return sendJson(res, 400, wrong);
    return geminiMethod(
      ex,
      at,
      b,
      state.opts.seed,
      (seed, model, text, dims) => vectorFloats(embeddingVector(seed, model, text, dims)),
      headerText(req.headers['x-simulator-usage']) !== 'none',
    );
  }
  if (route === 'messages' || route === 'count_tokens') {
    const wrong =
      claude && typeof b.anthropic_version !== 'string'
        ? 'anthropic_version: Field required'
        : messagesProblem(claude && !claude.count ? '/v1/messages' : path, b);
    if (wrong) return sendJson(res, 400, anthropicError('invalid_request_error', wrong));
    if (route === 'count_tokens') return countMessageTokens(ex, b);
  }
  if (route === 'responses_input_tokens') return countResponseInputTokens(ex, b);
  // a FastAPI server whose request model forbids extra fields (refuseStreamOptions: 'pydantic')
  if (
    state.opts.refuseStreamOptions === 'pydantic' &&
    (route === 'chat' || route === 'completions') &&
    b.stream_options !== undefined
  )
    return sendJson(res, 422, {
      detail: [
        {
          type: 'extra_forbidden',
          loc: ['body', 'stream_options'],
          msg: 'Extra inputs are not permitted',
          input: b.stream_options,
        },
      ],
    });
  const problem =
    route === 'messages'
      ? null
      : route === 'responses' || route === 'responses_compact'
        ? responsesProblem(b)
        : route === 'gemini'
          ? geminiProblem(b)
          : validate(route, b, state.opts.refuseStreamOptions);
  if (problem) return sendJson(res, 400, problem);

  let directives: Directives;
  try {
    directives = readDirectives(req.headers, state.opts);
  } catch (err) {
    if (!(err instanceof SimulatorOptionError)) throw err;
    return sendJson(
      res,
      400,
      ownError(path, 400, err.message, invalidRequest(err.message, null, 'invalid_simulator_header')),
    );
  }
  const drawn = drawFault(state);
  const fault = directives.fault ?? drawn;
  if (fault && !(route === 'embeddings' && (fault === 'refusal' || fault === 'content_filter'))) {
    state.stats.faults[fault]++;
  }
  if (route === 'messages') {
    state.sequence++;
    const clock = makeClock(directives.ttftMs, directives.tpotMs, state.opts.jitter, state.opts.seed, state.sequence);
    return anthropicMessages(ex, req.headers, b, { ...directives, fault }, clock, state.opts.seed);
  }
  if (route === 'gemini') {
    state.sequence++;
    const clock = makeClock(directives.ttftMs, directives.tpotMs, state.opts.jitter, state.opts.seed, state.sequence);
    const at = gemini ?? { model: String(b.model), stream: false };
    // Without ?alt=sse Google streams one JSON array, its elements written as they come.
    const sse = new URLSearchParams((req.url ?? '').split('?', 2)[1] ?? '').get('alt') === 'sse';
    return geminiGenerate(ex, req.headers, { ...at, sse }, b, { ...directives, fault }, clock, state.opts.seed);
  }
  if (route === 'responses_compact') {
    state.sequence++;
    const clock = makeClock(directives.ttftMs, directives.tpotMs, state.opts.jitter, state.opts.seed, state.sequence);
    return compactResponse(ex, req.headers, b, { ...directives, fault }, clock);
  }
  if (route === 'responses') {
    state.sequence++;
    const clock = makeClock(directives.ttftMs, directives.tpotMs, state.opts.jitter, state.opts.seed, state.sequence);
    return openaiResponses(ex, req.headers, b, { ...directives, fault }, clock, state.opts.seed);
  }
  if (fault && STATUS_FAULTS.has(fault)) return sendStatusFault(res, fault, String(b.model));

  state.sequence++;
  const clock = makeClock(directives.ttftMs, directives.tpotMs, state.opts.jitter, state.opts.seed, state.sequence);
  if (route === 'embeddings') return embeddings(state, ex, b, clock, fault === 'cut');
  return generate(state, ex, route, b, directives, clock, fault);
}

/** When token `i` (0-based) is due, in ms after the request arrived. */
type Clock = (i: number) => number;

function makeClock(ttft: number, tpot: number, jitter: boolean, seed: number, sequence: number): Clock {
  if (!jitter) return (i) => ttft + i * tpot;
  // Log-normal delays whose mean is the configured one (exp(σZ − σ²/2) has mean 1), cumulated lazily.
  const rng = mulberry32(hash32(seed, 'jitter', String(sequence)));
  const logNormal = (mean: number, sigma: number) => mean * Math.exp(sigma * normal(rng) - (sigma * sigma) / 2);
  const times = [logNormal(ttft, 0.35)];
  return (i) => {
    while (times.length <= i) times.push(times[times.length - 1]! + logNormal(tpot, 0.25));
    return times[i]!;
  };
}

function drawFault(state: ServerState): Fault | null {
  const o = state.opts;
  let r = state.faultRng();
  const rates: [Fault, number][] = [
    ['server_error', o.errorRate],
    ['rate_limit', o.rateLimitRate],
    ['timeout', o.timeoutRate],
    ['cut', o.cutRate],
    ['refusal', o.refusalRate],
  ];
  for (const [fault, rate] of rates) {
    if (r < rate) return fault;
    r -= rate;
  }
  return null;
}

interface Directives {
  fault: Fault | null;
  ttftMs: number;
  tpotMs: number;
  outputTokens: number;
  reply: string | null;
  cachedTokens: number;
  toolCall: { name: string; arguments: string } | null;
  /** Chat and completions streams: end half-way with an error event of this type. */
  streamError: string | null;
}

function readDirectives(headers: IncomingHttpHeaders, opts: ResolvedSimulatorOptions): Directives {
  const fault = headerText(headers['x-simulator-fault']);
  if (fault !== null && !(FAULTS as readonly string[]).includes(fault)) {
    throw new SimulatorOptionError(`x-simulator-fault must be one of ${FAULTS.join(', ')}, got "${fault}"`);
  }
  const num = (name: string, kind: 'ms' | 'tokens', fallback: number) => {
    const v = headerText(headers[name]);
    return v === null ? fallback : parseNumber(name, v, kind);
  };
  const reply = headerText(headers['x-simulator-reply']);
  return {
    fault: fault as Fault | null,
    ttftMs: num('x-simulator-ttft-ms', 'ms', opts.ttftMs),
    tpotMs: num('x-simulator-tpot-ms', 'ms', opts.tpotMs),
    outputTokens: num('x-simulator-output-tokens', 'tokens', opts.outputTokens),
    reply: reply === null ? null : utf8FromLatin1(reply),
    cachedTokens: num('x-simulator-cached-tokens', 'tokens', 0),
    toolCall: toolCallOf(headerText(headers['x-simulator-tool-call'])),
    streamError: headerText(headers['x-simulator-stream-error']),
  };
}

/** `x-simulator-tool-call`: a bare tool name (arguments `{}`), or JSON `{"name", "arguments"}` (text or object). */
function toolCallOf(v: string | null): Directives['toolCall'] {
  if (v === null) return null;
  const text = utf8FromLatin1(v).trim();
  if (/^[A-Za-z0-9_-]{1,64}$/.test(text)) return { name: text, arguments: '{}' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = null;
  }
  const o = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
  if (typeof o.name !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(o.name)) {
    throw new SimulatorOptionError(
      'x-simulator-tool-call must be a tool name (letters, digits, "_" or "-") or JSON {"name": ..., "arguments": ...}',
    );
  }
  const args =
    o.arguments === undefined ? '{}' : typeof o.arguments === 'string' ? o.arguments : JSON.stringify(o.arguments);
  return { name: o.name, arguments: args };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function headerText(v: string | string[] | undefined): string | null {
  if (v === undefined) return null;
  return Array.isArray(v) ? v.join(', ') : v;
}

/** Node reads header bytes as latin1; a client that sent UTF-8 gets its text back (valid UTF-8 only). */
function utf8FromLatin1(v: string): string {
  const s = Buffer.from(v, 'latin1').toString('utf8');
  return s.includes('\uFFFD') && !v.includes('\uFFFD') ? v : s;
}

// ---------- validation, with OpenAI's wording ----------

function validate(route: Route, b: Record<string, unknown>, refuseStreamOptions: boolean | 'pydantic' = false) {
  if (typeof b.model !== 'string' || b.model === '') return invalidRequest('you must provide a model parameter');
  // Azure OpenAI before api-version 2024-09-01-preview
  if (refuseStreamOptions === true && b.stream_options !== undefined && route !== 'embeddings')
    return invalidRequest('Unrecognized request argument supplied: stream_options');
  if (b.stream !== undefined && b.stream !== null && typeof b.stream !== 'boolean') {
    return typeError('stream', 'a boolean', b.stream);
  }
  if (b.stream_options != null && b.stream !== true) {
    return invalidRequest("The 'stream_options' parameter is only allowed when 'stream' is enabled.", 'stream_options');
  }
  if (route === 'chat') {
    if (b.messages === undefined) return missing('messages');
    if (!Array.isArray(b.messages)) return typeError('messages', 'an array of objects', b.messages);
    if (b.messages.length === 0) {
      return invalidRequest(
        "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
        'messages',
        'empty_array',
      );
    }
  }
  for (const key of ['max_tokens', 'max_completion_tokens']) {
    const v = b[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number' || !Number.isInteger(v)) return typeError(key, 'an integer', v);
    if (v < 1) {
      return invalidRequest(
        `Invalid '${key}': integer below minimum value. Expected a value >= 1, but got ${v} instead.`,
        key,
        'integer_below_min_value',
      );
    }
  }
  if (route === 'completions' && b.prompt !== undefined && b.prompt !== null && !isPrompt(b.prompt)) {
    return typeError('prompt', 'a string or an array of strings or tokens', b.prompt);
  }
  if (route === 'embeddings') {
    if (b.input === undefined) return missing('input');
    if (!isPrompt(b.input) || b.input === '' || (Array.isArray(b.input) && b.input.length === 0)) {
      return invalidRequest(
        "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.",
        'input',
      );
    }
    if (b.dimensions !== undefined && b.dimensions !== null) {
      try {
        checkNumber('dimensions', b.dimensions, 'dimensions');
      } catch (err) {
        return invalidRequest(`Invalid 'dimensions': ${(err as Error).message}.`, 'dimensions');
      }
    }
    const fmt = b.encoding_format;
    if (fmt !== undefined && fmt !== null && fmt !== 'float' && fmt !== 'base64') {
      return invalidRequest(
        `Invalid value: '${String(fmt)}'. Supported values are: 'float' and 'base64'.`,
        'encoding_format',
        'invalid_value',
      );
    }
  }
  return null;
}

const missing = (param: string) =>
  invalidRequest(`Missing required parameter: '${param}'.`, param, 'missing_required_parameter');

function typeError(param: string, expected: string, got: unknown) {
  const kind = Array.isArray(got) ? 'an array' : got === null ? 'null' : `a ${typeof got}`;
  return invalidRequest(
    `Invalid type for '${param}': expected ${expected}, but got ${kind} instead.`,
    param,
    'invalid_type',
  );
}

/** A prompt or embedding input: string, string[], token ids, or arrays of token ids. */
function isPrompt(v: unknown): boolean {
  if (typeof v === 'string') return true;
  if (!Array.isArray(v)) return false;
  return v.every(
    (x) =>
      typeof x === 'string' ||
      typeof x === 'number' ||
      (Array.isArray(x) && x.every((t: unknown) => typeof t === 'number')),
  );
}

/** Prompt pieces as texts to count (token-id arrays count one token per id). */
function promptTokens(p: unknown): number {
  if (typeof p === 'string') return countTokens(p);
  if (!Array.isArray(p)) return 0;
  let n = 0;
  for (const x of p) n += typeof x === 'number' ? 1 : Array.isArray(x) ? x.length : countTokens(String(x));
  return n;
}

function promptString(p: unknown): string {
  if (typeof p === 'string') return p;
  return Array.isArray(p) ? p.filter((x) => typeof x === 'string').join('\n') : '';
}

// ---------- chat and completions ----------

async function generate(
  state: ServerState,
  ex: Exchange,
  route: 'chat' | 'completions',
  b: Record<string, unknown>,
  d: Directives,
  clock: Clock,
  fault: Fault | null,
): Promise<void> {
  const model = b.model as string;
  const messages = route === 'chat' ? (b.messages as unknown[]) : [];
  // Tool definitions are billed as prompt, as their JSON (as anthropic.ts bills them).
  const prompt =
    route === 'chat'
      ? countChatTokens(messages) +
        (Array.isArray(b.tools) && b.tools.length ? countTokens(JSON.stringify(b.tools)) : 0)
      : promptTokens(b.prompt);
  const lastText = route === 'chat' ? messageText(messages[messages.length - 1]) : promptString(b.prompt);
  const seed = hash32(
    state.opts.seed,
    route,
    model,
    JSON.stringify(route === 'chat' ? messages : (b.prompt ?? '')),
    String(b.seed ?? ''),
  );

  // What to say: a tool call (chat), an explicit reply (or judge verdict), then a refusal, else pseudo-English.
  const refusal = fault === 'refusal';
  const tool: ToolCall | null =
    route === 'chat' && d.toolCall && !refusal ? { id: openAiId('call_', 24), ...d.toolCall } : null;
  const reply =
    tool?.arguments ?? d.reply ?? judgeReply(lastText) ?? (refusal ? pick(mulberry32(seed), REFUSALS) : null);
  let chunks: string[];
  let perChunk: number[] | null = null; // tokens carried by each chunk; null: one each
  if (reply !== null) {
    const split = tokenChunks(reply);
    chunks = split.chunks;
    perChunk = split.tokens;
  } else {
    chunks = generateTokens(seed, d.outputTokens);
  }

  // How it ends: the max_tokens cap, a content filter half-way, or naturally.
  const cap = (b.max_completion_tokens ?? b.max_tokens ?? null) as number | null;
  let finish: FinishReason = tool ? 'tool_calls' : 'stop';
  let n = chunks.length; // chunks to send
  const tokensOf = (count: number) => (perChunk ? perChunk.slice(0, count).reduce((s, t) => s + t, 0) : count);
  if (cap !== null && tokensOf(n) > cap) {
    while (n > 0 && tokensOf(n) > cap) n--;
    finish = 'length';
  }
  if (fault === 'content_filter') {
    n = Math.floor(n / 2);
    finish = 'content_filter';
  }
  const lastToken: number[] = []; // index of the last token of each chunk, which decides when it is sent
  for (let k = 0, t = -1; k < n; k++) {
    t += perChunk ? perChunk[k]! : 1;
    lastToken.push(t);
  }
  const completion = tokensOf(n);
  const cached = Math.min(d.cachedTokens, prompt);
  const usage = route === 'chat' ? chatUsage(prompt, completion, cached) : completionUsage(prompt, completion);
  const meta: ResponseMeta = {
    id: openAiId(route === 'chat' ? 'chatcmpl-' : 'cmpl-'),
    created: Math.floor(Date.now() / 1000),
    model,
    systemFingerprint: state.fingerprint,
    serviceTier: servedTier(b.service_tier),
  };
  // chunks sent before the cut (or, in a stream, before the error event that ends it)
  const failing = b.stream === true && d.streamError !== null;
  const cutAfter = fault === 'cut' || failing ? Math.max(1, Math.floor(n / 2)) : null;
  const dueAt = (k: number) => clock(lastToken[k] ?? 0);

  if (b.stream !== true) {
    const text = chunks.slice(0, n).join('');
    await ex.waitUntil(cutAfter !== null ? dueAt(Math.min(cutAfter, n) - 1) : dueAt(n - 1));
    if (ex.stopped) return;
    if (cutAfter !== null) return ex.cut();
    const payload = tool
      ? chatToolCompletion(meta, tool, text, finish, usage)
      : route === 'chat'
        ? chatCompletion(meta, text, refusal ? text : null, finish, usage)
        : textCompletion(meta, text, finish, usage);
    return sendJson(ex.res, 200, payload);
  }

  const includeUsage = (b.stream_options as { include_usage?: unknown } | null)?.include_usage === true;
  const format: StreamFormat = tool
    ? toolCallStream(meta, includeUsage, tool)
    : route === 'chat'
      ? chatStream(meta, includeUsage)
      : completionStream(meta, includeUsage);
  ex.res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
  ex.res.flushHeaders();
  await play(ex, streamEvents(format, chunks, n, dueAt, refusal, finish, includeUsage ? usage : null, cutAfter));
  if (ex.stopped) return;
  if (failing) {
    const body =
      d.streamError === 'rate_limit_exceeded'
        ? rateLimitBody(String(b.model), RATE_LIMIT_RETRY_MS)
        : errorBody(
            'The server had an error while processing your request. Sorry about that!',
            d.streamError as string,
          );
    ex.res.end(`data: ${JSON.stringify(body)}\n\n`);
    return;
  }
  if (cutAfter !== null) {
    // Cut when the next token would have been due, and not before the chunks already written can reach the
    // client (a reader's stream that errors drops what it has not yet handed over).
    const next = clock((lastToken[Math.min(cutAfter, n) - 1] ?? -1) + 1);
    await ex.waitUntil(Math.max(next, performance.now() - ex.t0 + CUT_GRACE_MS));
    if (!ex.stopped) ex.cut();
    return;
  }
  ex.res.end();
}

function judgeReply(text: string): string | null {
  const at = text.indexOf(JUDGE_MARKER);
  if (at < 0) return null;
  const rest = text.slice(at + JUDGE_MARKER.length).trim();
  return rest.startsWith('{') || rest.startsWith('[') ? rest : DEFAULT_JUDGE_REPLY;
}

interface TimedEvent {
  /** Due time in ms after the request arrived. */
  at: number;
  data: string;
}

/** The stream's events in order; the role chunk travels with the first content chunk, the end with the last. */
function* streamEvents(
  format: StreamFormat,
  chunks: string[],
  n: number,
  dueAt: (k: number) => number,
  refusal: boolean,
  finish: FinishReason,
  usage: ChatUsage | null,
  cutAfter: number | null,
): Generator<TimedEvent> {
  const sent = cutAfter === null ? n : Math.min(cutAfter, n);
  if (sent === 0) {
    if (cutAfter !== null) return;
    yield { at: dueAt(0), data: format.start() + closing(format, finish, usage) };
    return;
  }
  for (let k = 0; k < sent; k++) {
    let data = format.content(chunks[k]!, refusal);
    if (k === 0) data = format.start() + data;
    if (k === n - 1 && cutAfter === null) data += closing(format, finish, usage);
    yield { at: dueAt(k), data };
  }
}

function closing(format: StreamFormat, finish: FinishReason, usage: ChatUsage | null): string {
  return format.finish(finish) + (usage ? format.usage(usage) : '') + SSE_DONE;
}

const BATCH_BYTES = 64 * 1024;

/**
 * Writes each event at its due time. Every due time is measured from the request's arrival, so timer lateness never
 * accumulates; events already due go out in one write (all of them when ttft = tpot = 0), and a full socket
 * buffer is waited out ('drain') instead of growing memory.
 */
async function play(ex: Exchange, events: Iterator<TimedEvent>): Promise<void> {
  let next = events.next();
  let first = true;
  while (!next.done) {
    await ex.waitUntil(next.value.at);
    if (ex.stopped) return;
    const due = next.value.at;
    let batch = '';
    do {
      batch += next.value.data;
      next = events.next();
    } while (!next.done && batch.length < BATCH_BYTES && ex.t0 + next.value.at <= performance.now());
    const written = ex.res.write(batch);
    if (first) {
      first = false;
      ex.onFirstToken?.(due, performance.now() - ex.t0);
    }
    if (!written) {
      await ex.drain();
      if (ex.stopped) return;
    }
  }
}

// ---------- embeddings ----------

async function embeddings(state: ServerState, ex: Exchange, b: Record<string, unknown>, clock: Clock, cut: boolean) {
  const model = b.model as string;
  const input = b.input;
  const items: unknown[] =
    typeof input === 'string' || typeof (input as unknown[])[0] === 'number' ? [input] : (input as unknown[]);
  const dimensions = (b.dimensions as number | undefined | null) ?? state.opts.embeddingDimensions;
  const base64 = b.encoding_format === 'base64';
  let tokens = 0;
  const data = items.map((item, index) => {
    tokens += promptTokens(typeof item === 'string' ? item : [item]);
    const v = embeddingVector(
      state.opts.seed,
      model,
      typeof item === 'string' ? item : JSON.stringify(item),
      dimensions,
    );
    return { object: 'embedding', index, embedding: base64 ? vectorBase64(v) : vectorFloats(v) };
  });
  await ex.waitUntil(clock(0));
  if (ex.stopped) return;
  if (cut) return ex.cut();
  sendJson(ex.res, 200, { object: 'list', data, model, usage: { prompt_tokens: tokens, total_tokens: tokens } });
}

// ---------- plumbing ----------

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** The whole body; null if the client went away; 'too_large' past MAX_BODY_BYTES. */
function readBody(req: IncomingMessage): Promise<Buffer | null | 'too_large'> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) over = true;
      if (!over) parts.push(chunk);
    });
    req.on('end', () => resolve(over ? 'too_large' : Buffer.concat(parts)));
    req.on('error', () => resolve(null));
    req.on('close', () => {
      if (!req.complete) resolve(null);
    });
  });
}

/**
 * The faults that answer with a status (or never answer) before any content: the ones the chat, completions and
 * embeddings routes answer so, and all the image, audio and batch routes take.
 */
const STATUS_FAULTS: ReadonlySet<string> = new Set([
  'rate_limit',
  'server_error',
  'overloaded',
  'bad_request',
  'timeout',
]);

/** Answers a status fault (STATUS_FAULTS) in OpenAI's shape; `timeout` never answers. */
function sendStatusFault(res: ServerResponse, fault: string, model: string): void {
  if (fault === 'rate_limit') {
    res.setHeader('retry-after', String(Math.ceil(RATE_LIMIT_RETRY_MS / 1000)));
    res.setHeader('retry-after-ms', String(RATE_LIMIT_RETRY_MS));
    res.setHeader('x-ratelimit-limit-requests', '500');
    res.setHeader('x-ratelimit-remaining-requests', '0');
    res.setHeader('x-ratelimit-reset-requests', `${RATE_LIMIT_RETRY_MS}ms`);
    sendJson(res, 429, rateLimitBody(model, RATE_LIMIT_RETRY_MS));
  } else if (fault === 'server_error') sendJson(res, 500, serverErrorBody());
  else if (fault === 'overloaded') {
    res.setHeader('retry-after', '1');
    sendJson(res, 503, overloadedBody());
  } else if (fault === 'bad_request') sendJson(res, 400, badRequestBody());
  // timeout: accepted, never answered: ends when the client goes away or on close()
}

/** A media request's model: its JSON body's, else a multipart form's (for the rate-limit message only). */
function mediaModelOf(raw: Buffer): string {
  const head = raw.subarray(0, 64 * 1024).toString('latin1');
  const json = /"model"\s*:\s*"([^"]{1,128})"/.exec(head);
  if (json) return json[1] as string;
  const form = /name="model"\r\n\r\n([^\r\n]{1,128})/.exec(head);
  return form ? (form[1] as string) : 'unknown';
}
