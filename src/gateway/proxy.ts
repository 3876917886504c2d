// The gateway's hot path for every gateway route (/v1/chat/completions, /v1/messages, ...): parse, route, forward,
// pass bytes through, timestamp, enqueue. It is one path for every wire format: what differs (upstream path,
// prompt, usage, stream events, error shape) is the call's ProviderAdapter (src/providers/). Everything else (tokens, spans, cost, metrics, store, logs) runs
// later on the finished LlmCall, in the recorder's enrichers and sinks.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import { errors as undiciErrors } from 'undici';
import { keepMeteredOutput, keepText } from '../calls/bounded-text.js';
import { headerText } from '../calls/header-text.js';
import type { CallEvent, CallInternals, Endpoint, LlmCall, Metadata, Recorder } from '../calls/index.js';
import {
  arrivedInternals,
  METADATA_MAX_KEYS,
  METADATA_MAX_VALUE,
  metadataOfHeaders,
  RecentIds,
  statusOf,
  toolUsesOf,
  tpotOf,
} from '../calls/index.js';
import { type BilledUnits, defaultImageModel, requestUnitsOf, unitsEvent } from '../calls/units.js';
import type { Config } from '../config/index.js';
import { ERRORS, jsonErrorText, LlmscopeError } from '../errors.js';
import {
  ClientClosedError,
  dropRest,
  lingerOnClose,
  PARSE_AS_IT_COMES,
  parseJsonInTurns,
  readJsonBody,
  refuseEncodedJson,
  sendJson,
  watchBodyIdle,
} from '../http/index.js';
import { adapterFor, type ProviderAdapter, type Usage, type WireFormat } from '../providers/index.js';
import {
  audioSecondsOf,
  formFieldReader,
  multipartBoundary,
  platformUsageOf,
  USAGE_ENDPOINTS,
  USAGE_TAIL_BYTES,
} from '../providers/openai-compatible/platform-usage.js';
import { BackgroundCalls, isFinishedAnswer, MAX_POLL_BYTES } from '../providers/openai-responses/background.js';
import { leaveRequest, type RequestContext, requestContext, resumeRequest } from '../telemetry/context.js';
import { formatTraceparent, newSpanId, newTraceId, parseTraceparent, uuidv7 } from '../telemetry/ids.js';
import { HeldUpload, heldBytesOf } from './held-upload.js';
import { filterGeminiModels, modelMatcher, modelNotListed } from './models.js';
import { now } from './now.js';
import { MAX_PARSE_BYTES, Relay } from './relay.js';
import { ModelRouter, type Resolved, vertexRouter } from './routing.js';
import { clientHeaders, relaysOwnKey, type Upstream, upstreamHeaders } from './upstream.js';

type Json = Record<string, unknown>;

export { now };

export interface Attribution {
  user: string | null;
  team: string | null;
  feature: string | null;
  session: string | null;
  apiKeyId: string | null;
}

/**
 * The key in an admission's state marking one that no call will settle: a pass-through's or a model list's key check
 * (authenticate only, never recorded). The recorder process of `serve --workers` keeps no such admission open
 * awaiting its call (cluster/admissions.ts): kept, a worker's death recorded each as a call it cut.
 */
export const UNRECORDED_ADMISSION = 'gateway.unrecorded';

/** What an admission hook sees and may change before the call is forwarded. */
export interface Admission {
  readonly requestId: string;
  /** The call's trace and span ids (its log lines'), for a hook that logs where the call's context is not current. */
  readonly traceId?: string;
  readonly spanId?: string;
  readonly endpoint: Endpoint;
  /** The wire format the client speaks (an embeddings call may be OpenAI's or Gemini's); absent: the endpoint's. */
  readonly format?: WireFormat;
  readonly model: string;
  readonly provider: string;
  readonly body: Json;
  readonly headers: IncomingHttpHeaders;
  attribution: Attribution;
  /** Whether the client asked for a stream; absent where the admitting code does not say (a Realtime session). */
  readonly stream?: boolean;
  /** When the call arrived (epoch ms); absent where the admitting code does not say. */
  readonly startedAt?: number;
  /** The call's metadata (x-llmscope-meta-* headers), when it has any. */
  readonly metadata?: Metadata | null;
  /** Set false when a hook consumed the client's Authorization (a virtual key). */
  forwardClientAuth: boolean;
  /** Set true when a hook rewrote `body` in place (privacy.maskUpstream): the upstream then gets it re-serialized. */
  bodyChanged?: boolean;
  /** Scratch space kept on the call (`internal.hooks`) for `settle`. */
  state: Record<string, unknown>;
  /** Headers a hook adds to the answer of an admitted call (e.g. `x-ratelimit-*`); the upstream's own win. */
  responseHeaders?: Record<string, string>;
  /** The models (names or patterns) the admitted virtual key may call, when it names some: the model lists show only these. */
  allowedModels?: readonly string[];
}

/**
 * A capability that takes part in admission: virtual keys, budgets. `admit` may throw an LlmscopeError to
 * refuse the call (it is recorded and answered in the OpenAI error shape); `settle` runs once when the
 * call has ended, before it is recorded, and must not throw.
 */
export interface GatewayHook {
  readonly name: string;
  /** Runs before routing; e.g. a virtual key sets attribution. */
  authenticate?(a: Admission): void | Promise<void>;
  /**
   * For a call refused before its authenticate hooks all passed and no key admitted its caller (no key, an unknown or
   * revoked one, a body refused before the key was read): true when the user, team, feature, session and metadata its
   * client claimed must not be recorded, since nothing vouches for them (a gateway that takes virtual keys).
   */
  distrusts?(): boolean;
  admit?(a: Admission): void | Promise<void>;
  settle?(a: Admission, call: LlmCall): void;
}

/**
 * For a call refused before a live key admitted its caller (the HTTP routes, the Responses WebSocket, and a gateway
 * worker's call in the recorder process): when a hook distrusts such calls (virtual keys exist), clears the user,
 * team, feature and session its client claimed and returns true (its metadata is to go too); otherwise false.
 */
export function dropUnvouchedClaims(
  hooks: readonly GatewayHook[],
  claims: { user: string | null; team: string | null; feature: string | null; session: string | null },
): boolean {
  if (!hooks.some((h) => h.distrusts?.() === true)) return false;
  claims.user = claims.team = claims.feature = claims.session = null;
  return true;
}

export interface ProxyDeps {
  config: Config;
  recorder: Recorder;
  logger: Logger;
  /** Routes calls in the OpenAI-compatible format; the proxy builds the other formats' routers from the config. */
  router: ModelRouter;
  upstreams: Map<string, Upstream>;
  hooks: GatewayHook[];
  /**
   * privacy.maskUpstream for the bodies the gateway passes through unrecorded (Anthropic's count_tokens, Gemini's
   * countTokens, OpenAI's moderations, images, speech, input_tokens, ...): masks a parsed JSON body in place, true
   * when it changed. Calls are masked by the hook instead.
   */
  maskPassThrough?: (body: unknown) => boolean;
  /** True while shutting down: new calls get 503. */
  draining: () => boolean;
  inflight: Set<ServerResponse>;
  /** Told of each call refused at a limit (`server.maxConcurrentCalls`, `server.maxBufferedBytes`) or while draining. */
  onShed?: (reason: ShedReason) => void;
  /**
   * Whether a call is already recorded under a client's `x-request-id` that this process has not seen lately: one the
   * store holds (from before a restart, ingested, from another replica) or, in a gateway worker, one another worker
   * was sent. Asked while the call's body is read; true re-keys the call as a repeat (callIdOf). Never rejects: a
   * failed check answers false (the client's id is used, as before the check existed).
   */
  idTaken?: (id: string) => Promise<boolean>;
  /**
   * Set in a gateway worker (`serve --workers`): a poll this process relayed of a background response it does not
   * hold, with its answer, for the worker that does (the primary passes it to the others, `finishBackground`).
   */
  onOtherPoll?: (id: string, body: string) => void;
}

export type ShedReason = 'concurrency' | 'memory' | 'shutting_down';

/**
 * The id a call is recorded under when a call was already recorded under its client's `x-request-id`: the client's id
 * (cut to fit 128 characters) followed by `.` and a new UUIDv7.
 */
const repeatId = (clientId: string): string => `${clientId.slice(0, 128 - 37)}.${uuidv7()}`;

/** Seconds a client refused at a limit is asked to wait before retrying. */
const RETRY_AFTER_S = 1;

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Sets `x-request-id` on an answer of the gateway's surface that is not a call (GET /v1/models, an unknown /v1 route, a
 * method a call route does not take): the client's id when it is a valid one, else a new UUIDv7, as a call's answer
 * carries (DESIGN: always returned). Such answers are not recorded; the id still lets a client quote it.
 */
export function answerRequestId(req: IncomingMessage, res: ServerResponse): string {
  const incomingId = header(req.headers, 'x-request-id');
  const id = incomingId && REQUEST_ID.test(incomingId) ? incomingId : uuidv7();
  if (!res.headersSent) res.setHeader('x-request-id', id);
  return id;
}
/** How many client request ids the gateway remembers to tell a repeated one (`callIdOf`). */
export const CLIENT_IDS = 100_000;
/**
 * The provider types that serve calls in each format. An OpenAI-compatible upstream serves the Responses API too
 * (OpenAI, vLLM, ...); a provider of type openai-responses serves only it.
 */
const PROVIDER_TYPES: Record<WireFormat, readonly WireFormat[]> = {
  'openai-compatible': ['openai-compatible'],
  anthropic: ['anthropic'],
  'openai-responses': ['openai-responses', 'openai-compatible'],
  gemini: ['gemini'],
};

function header(h: IncomingHttpHeaders, name: string): string | null {
  const v = h[name];
  const s = Array.isArray(v) ? v[0] : v;
  // UTF-8 bytes arrive read as latin1 ("fé" as "fÃ©"): decoded back, so the store and labels hold what was sent
  return s ? headerText(s).slice(0, 256) : null;
}

/**
 * The admission of a platform call that spends money (passThrough's `spends`): the flight's attribution (the body's
 * `user` when no header named one), model, body and arrival, as a call's is.
 */
function platformAdmission(
  flight: Flight,
  body: Json,
  model: string | null,
  bytes: number,
  headers: IncomingHttpHeaders,
): Admission {
  flight.requestBytes = bytes;
  // An image generation that names no model is billed as OpenAI's default model: priced, and held by budgets, as it.
  model ||= defaultImageModel(flight.endpoint, body);
  if (model) flight.model = model.slice(0, 256);
  flight.stream = body.stream === true;
  if (typeof body.user === 'string' && body.user && !flight.attribution.user)
    flight.attribution.user = body.user.slice(0, 256);
  // What a JSON image or speech request will be billed for if answered (n images of its size and quality, the
  // characters of its input): recorded with the call (a multipart upload's form is not read for it).
  if (flight.endpoint === 'audio.speech' || (flight.endpoint.startsWith('images.') && typeof body.prompt === 'string'))
    flight.requestUnits = requestUnitsOf(flight.endpoint, body);
  const admission = admissionOf(flight, body, headers, model ?? '');
  flight.admission = admission;
  return admission;
}

/** A call's admission, from its flight: what the gateway's hooks read and change (the flight's own attribution). */
function admissionOf(flight: Flight, body: Json, headers: IncomingHttpHeaders, model: string): Admission {
  return {
    requestId: flight.requestId,
    traceId: flight.traceId,
    spanId: flight.internal.spanId,
    endpoint: flight.endpoint,
    format: flight.adapter.format,
    model,
    provider: '',
    body,
    headers,
    attribution: flight.attribution,
    stream: flight.stream,
    startedAt: flight.arrivalAt,
    metadata: flight.metadata ?? null,
    forwardClientAuth: true,
    state: {},
  };
}

/** A multipart platform call's admission as its form passes (GatewayProxy.formAdmission). */
interface FormAdmission {
  /** Resolves once the call is admitted; rejects with its refusal (or the upload's end: client gone, idle). */
  readonly gate: Promise<void>;
  /** Whether admission has answered (or the upload ended before it could). */
  decided(): boolean;
  /** The error a hook refused the call with, or null. */
  refusal(): unknown;
  /** Resolves once no admission phase is running: what one reserved is then in the admission's state. */
  settled(): Promise<void>;
  /** The upload ended before admission answered: the gate rejects with `err`. */
  abort(err: unknown): void;
}

/** The per-request state of one call in flight. */
class Flight {
  readonly arrivalAt = now();
  readonly internal: CallInternals;
  model = 'unknown';
  provider = 'llmscope';
  stream = false;
  httpStatus = 0;
  errorType: string | null = null;
  errorMessage: string | null = null;
  upstreamRequestId: string | null = null;
  finishReason: string | null = null;
  refusal = false;
  /** The upstream's stream or body said the call failed although its HTTP status was 2xx. */
  failedInBody = false;
  /** And that failure was a rate limit: recorded `rate_limited`, as the same error's 429 answer is. */
  rateLimitedInBody = false;
  usage: Usage | null = null;
  /** Events recorded with the call (a platform call's audio tokens or billed units); none for the others. */
  events: CallEvent[] | null = null;
  /** The units a platform call's request says it is billed for when answered (an image's, a speech's); units.ts. */
  requestUnits: BilledUnits | null = null;
  requestBytes = 0;
  /** Request-body bytes this call counts against `server.maxBufferedBytes` while in flight (-1 once released). */
  heldBytes = 0;
  responseBytes = 0;
  cancelled = false;
  timedOut = false;
  admission: Admission | null = null;
  /** Set once every authenticate hook passed; a call refused before keeps its client's claims only if no hook distrusts them. */
  vouched = false;
  /** The upstream exchange while it runs (the client going away then cancels it). */
  relay: Relay | null = null;
  attribution: Attribution;
  /** From `x-llmscope-meta-<key>` headers; a problem with them refuses the call (400 invalid_metadata). */
  metadata: Metadata | null = null;
  metadataProblem: { message: string; param: string } | null = null;
  /** The key a client sent in the URL (Gemini's `?key=`): never kept, so taken out of the call's error message. */
  urlKeys: string[] | null = null;
  private ended = false;

  /** The client's `x-request-id` being checked against the store and other workers (ProxyDeps.idTaken), or null. */
  idCheck: Promise<boolean> | null = null;

  constructor(
    /** The call's id: re-keyed once, before its body is used, when idCheck finds the client's id taken. */
    public requestId: string,
    readonly traceId: string,
    readonly endpoint: Endpoint,
    readonly adapter: ProviderAdapter,
    headers: IncomingHttpHeaders,
    parentSpanId: string | null,
  ) {
    this.internal = arrivedInternals(this.arrivalAt, newSpanId(), newSpanId(), parentSpanId);
    this.attribution = {
      user: header(headers, 'x-llmscope-user'),
      team: header(headers, 'x-llmscope-team'),
      feature: header(headers, 'x-llmscope-feature'),
      session: header(headers, 'x-llmscope-session'),
      apiKeyId: null,
    };
    const meta = metadataOfHeaders(headers);
    if (meta) {
      if (meta.problem) this.metadataProblem = meta.problem;
      else this.metadata = meta.metadata;
    }
  }

  /** The client connection closed: if the upstream exchange is still running, the call is cancelled. */
  clientGone(res: ServerResponse): void {
    if (this.relay === null || res.writableFinished) return;
    this.cancelled = true;
    this.relay.cancel();
  }

  /** Builds the call once; later calls return null. */
  finish(hooks: GatewayHook[]): LlmCall | null {
    if (this.ended) return null;
    this.ended = true;
    const endedAt = now();
    const i = this.internal;
    const u = this.usage;
    const latency = endedAt - this.arrivalAt;
    const upstreamMs = i.upstreamStartAt !== null ? (i.upstreamEndAt ?? endedAt) - i.upstreamStartAt : 0;
    const status =
      this.failedInBody && !this.cancelled && !this.timedOut
        ? this.rateLimitedInBody
          ? 'rate_limited'
          : 'upstream_error'
        : statusOf(this.httpStatus, { cancelled: this.cancelled, timedOut: this.timedOut });
    const outputTokens = u?.outputTokens ?? null;
    if (u?.cacheWrite1hInputTokens) i.cacheWrite1hInputTokens = u.cacheWrite1hInputTokens;
    if (u?.serviceTier) i.serviceTier = u.serviceTier;
    if (u?.toolUses) i.toolUses = toolUsesOf(u.toolUses, i.tools);
    const a = this.attribution;
    // Refused before a key vouched for the caller: what it claimed (x-llmscope-* headers, the body's user) is not
    // recorded, so an unauthenticated client cannot write calls into a team's or a user's ledger (QA36). A key that
    // admitted the caller and then refused the call (a model it may not call) set the attribution itself.
    if (!this.vouched && a.apiKeyId === null) {
      if (dropUnvouchedClaims(hooks, a)) this.metadata = null;
      else i.unvouched = true;
    }
    const call: LlmCall = {
      requestId: this.requestId,
      traceId: this.traceId,
      startedAt: this.arrivalAt,
      endedAt,
      provider: this.provider,
      model: this.model,
      endpoint: this.endpoint,
      stream: this.stream,
      status,
      httpStatus: this.httpStatus,
      errorType: this.errorType,
      errorMessage: this.urlKeys === null ? this.errorMessage : withoutKeys(this.errorMessage, this.urlKeys),
      // Named one by one rather than spread: a spread in the middle of the literal added every field after it to the
      // object one at a time (map transitions and a growing out-of-object property array, for each call).
      user: a.user,
      team: a.team,
      feature: a.feature,
      session: a.session,
      apiKeyId: a.apiKeyId,
      metadata: this.metadata,
      upstreamRequestId: this.upstreamRequestId,
      inputTokens: u?.inputTokens ?? null,
      outputTokens,
      cachedInputTokens: u?.cachedInputTokens ?? null,
      cacheWriteInputTokens: u?.cacheWriteInputTokens ?? null,
      reasoningTokens: u?.reasoningTokens ?? null,
      tokenSource: u ? 'usage' : null,
      ttftMs: this.stream && i.firstContentAt !== null ? i.firstContentAt - this.arrivalAt : null,
      tpotMs: this.stream ? tpotOf(i.firstContentAt, i.lastContentAt, outputTokens) : null,
      latencyMs: latency,
      overheadMs: Math.max(0, latency - upstreamMs),
      costUsd: null,
      price: null,
      finishReason: this.finishReason,
      refusal: this.refusal || this.finishReason === 'content_filter',
      requestBytes: this.requestBytes,
      responseBytes: this.responseBytes,
      source: 'gateway',
      spans: [],
      events: this.events ?? [],
      content: null,
      internal: i,
    };
    if (this.admission) {
      i.hooks = this.admission.state;
      for (const h of hooks) h.settle?.(this.admission, call);
    }
    return call;
  }
}

export class GatewayProxy {
  /** Request-body bytes held by calls in flight (declared or read). */
  private buffered = 0;
  /** Pass-through requests being relayed (not calls: not in `inflight`); shutdown waits for them too. */
  private passing = 0;
  get passThroughsInFlight(): number {
    return this.passing;
  }
  /** Calls in flight that came on a connection already open (response.create on a Responses WebSocket). */
  private carried = 0;
  /**
   * Admits a call that comes on a connection already open (a `response.create` on a Responses WebSocket) under the
   * limits a new HTTP call meets at the door (server.maxConcurrentCalls, shared with them; draining): a function that
   * frees its place (once; the caller calls it when the call ends, however it ends), or the error an HTTP call gets
   * there (503 overloaded / shutting_down), counted as shed (llmscope_gateway_shed_total) and not recorded, as there.
   */
  admitCarried(): (() => void) | LlmscopeError {
    const reason = this.shedReason(0);
    if (reason !== null) {
      this.d.onShed?.(reason);
      return this.shedError(reason);
    }
    this.carried++;
    let held = true;
    return () => {
      if (held) {
        held = false;
        this.carried--;
      }
    };
  }
  /**
   * Holds a request body read outside the gateway (POST /api/ingest) against server.maxBufferedBytes until `res`
   * closes, as a call's is (its declared length; a chunked one holds none): false, holding nothing, when it would pass
   * the limit (the caller answers 503; not a gateway call, so not in llmscope_gateway_shed_total).
   */
  holdBody(res: ServerResponse, declared: number): boolean {
    const bytes = Number.isFinite(declared) && declared > 0 ? declared : 0;
    if (this.buffered + bytes > this.d.config.server.maxBufferedBytes) return false;
    this.buffered += bytes;
    res.once('close', () => {
      this.buffered -= bytes;
    });
    return true;
  }
  /** Model routing per wire format: a call goes only to a provider that speaks its format. */
  private readonly routers = new Map<WireFormat, ModelRouter>();

  /** The client ids (`x-request-id`) this process has recorded a call under lately. */
  private readonly clientIds = new RecentIds(CLIENT_IDS);

  /** Background Responses answered queued, held until a poll relays them finished. */
  private readonly background: BackgroundCalls;

  constructor(private readonly d: ProxyDeps) {
    this.routers.set('openai-compatible', d.router);
    this.background = new BackgroundCalls((call) => d.recorder.record(call));
  }

  /** Whether a call without a virtual key may go upstream on llmscope's own provider key (relaysOwnKey). */
  relaysOwnKey(): boolean {
    return relaysOwnKey(this.d.upstreams, this.d.config);
  }

  /**
   * The id a call that came with the client's `x-request-id` is recorded (and answered) under: the client's, unless a
   * call was already recorded under it — an SDK's retry resends its headers, and an app passes its own request's id on
   * to each LLM call it makes — then the client's followed by `.` and a new UUIDv7. Every attempt reached the upstream
   * and may cost: under one id, the store kept the first and dropped the others (the retry that succeeded, its tokens
   * and cost), while /metrics counted each.
   */
  private callIdOf(clientId: string): string {
    if (!this.clientIds.has(clientId)) {
      this.clientIds.addNew(clientId);
      return clientId;
    }
    return repeatId(clientId);
  }

  private routerFor(format: WireFormat): ModelRouter {
    let r = this.routers.get(format);
    if (!r) {
      r = new ModelRouter(this.d.config.providers, this.d.config.routes, PROVIDER_TYPES[format]);
      this.routers.set(format, r);
    }
    return r;
  }

  /** Per format, its providers on a Vertex AI host (isVertexBaseUrl), asked first for a call on a Vertex path. */
  private readonly vertexRouters = new Map<WireFormat, ModelRouter>();

  /**
   * The provider `model` goes to: for a Vertex AI path (`vertex`), one of the format's providers on a Vertex host by
   * its routes and models (or the one such provider naming no models), else any provider of the format, as for others.
   */
  private resolveModel(format: WireFormat, model: string, vertex: boolean): Resolved | null {
    if (vertex) {
      let r = this.vertexRouters.get(format);
      if (!r) {
        r = vertexRouter(this.d.config.providers, this.d.config.routes, PROVIDER_TYPES[format]);
        this.vertexRouters.set(format, r);
      }
      const hit = r.resolve(model);
      if (hit) return hit;
    }
    return this.routerFor(format).resolve(model);
  }

  /**
   * Entry point for one gateway call; never throws. `adapter`: the route's wire format, when the endpoint is not its
   * own (Gemini's embeddings are `embeddings` calls in Gemini's format).
   */
  handle(req: IncomingMessage, res: ServerResponse, endpoint: Endpoint, adapter = adapterFor(endpoint)): void {
    const incomingId = header(req.headers, 'x-request-id');
    let requestId = incomingId && REQUEST_ID.test(incomingId) ? incomingId : uuidv7();
    // Overload protection, before any work: a bounded number of calls, holding a bounded number of body bytes.
    const declared = Math.min(Number(req.headers['content-length']) || 0, this.d.config.server.bodyLimit);
    const shed = this.shedReason(declared);
    if (shed !== null) {
      this.shed(req, res, requestId, shed, adapter);
      return;
    }
    if (requestId === incomingId) requestId = this.callIdOf(requestId);
    const parent = parseTraceparent(req.headers.traceparent);
    const traceId = parent?.traceId ?? newTraceId();
    const flight = new Flight(requestId, traceId, endpoint, adapter, req.headers, parent?.parentSpanId ?? null);
    // A client id new to this process may still name a stored call, or one another worker was sent: asked now, the
    // answer awaited once the body is read (serve), so the check runs while the body arrives.
    if (requestId === incomingId && this.d.idTaken) flight.idCheck = this.d.idTaken(requestId);
    // The client's trace not sampled (flags 00): recorded as any call, not exported, 00 sent on (decision 59).
    if (parent !== null && (parent.flags & 1) === 0) flight.internal.unsampled = true;
    const ctx: RequestContext = { request_id: requestId, trace_id: traceId, span_id: flight.internal.spanId };
    // x-request-id goes with the answer's own headers (the relay's writeHead, or the error): a header set on `res`
    // beforehand would make Node merge every upstream header into it one setHeader at a time.
    this.d.inflight.add(res);
    flight.heldBytes = declared;
    this.buffered += declared;
    res.once('close', () => {
      this.d.inflight.delete(res);
      this.buffered -= flight.heldBytes;
      flight.heldBytes = -1;
      flight.clientGone(res);
    });
    // The call's code runs in its request context (log lines carry its ids): its start here, and after each await
    // in serve, which resumes the context and leaves it again before the next (telemetry/context.ts).
    requestContext.run(ctx, () => {
      this.serve(req, res, flight, ctx).catch((err) => requestContext.run(ctx, () => this.fail(res, flight, err)));
    });
  }

  /**
   * Why a request arriving now must be refused at the door, or null: while draining, a call is refused like one over a
   * limit (the upstream never sees it, so it is no LLM call to record: as upstream_error it blamed the upstream for
   * llmscope's own shutdown), only counted.
   */
  private shedReason(declared: number): ShedReason | null {
    const limits = this.d.config.server;
    return this.d.draining()
      ? 'shutting_down'
      : this.d.inflight.size + this.passing + this.carried >= limits.maxConcurrentCalls
        ? 'concurrency'
        : this.buffered + declared > limits.maxBufferedBytes
          ? 'memory'
          : null;
  }

  /**
   * The models a model-list request's virtual key may call (its `models`), or null when it presents no `lsk_` key or
   * its key names none: the list is then unfiltered. A key that is unknown, revoked or expired is refused as on calls.
   */
  async allowedModels(req: IncomingMessage): Promise<readonly string[] | null> {
    const h = req.headers;
    const presented = h.authorization ?? h['x-api-key'] ?? h['x-goog-api-key'];
    if (this.d.hooks.length === 0 || !String(presented ?? '').includes('lsk_')) return null;
    const anthropic = h['anthropic-version'] !== undefined;
    const admission: Admission = {
      requestId: uuidv7(),
      endpoint: anthropic ? 'messages' : 'chat.completions',
      format: anthropic ? 'anthropic' : h['x-goog-api-key'] !== undefined ? 'gemini' : 'openai-compatible',
      model: '',
      provider: '',
      body: {},
      headers: h,
      attribution: { user: null, team: null, feature: null, session: null, apiKeyId: null },
      forwardClientAuth: true,
      state: { [UNRECORDED_ADMISSION]: true },
    };
    for (const hook of this.d.hooks) if (hook.authenticate) await hook.authenticate(admission);
    return admission.allowedModels?.length ? admission.allowedModels : null;
  }

  /** Answers a request on a gateway route with llmscope's own error, in the route's shape (unrecorded). */
  refuse(res: ServerResponse, endpoint: Endpoint, err: LlmscopeError, adapter = adapterFor(endpoint)): void {
    sendErrorAs(adapter, res, err);
  }

  /**
   * Relays a request that is not an LLM call (count_tokens, GET /v1/responses/{id}, cancel, Gemini's countTokens and
   * embedContent, OpenAI's files, batches, images, audio...) to a provider of the format, unrecorded, its body bytes,
   * content type and query as sent: to the provider of the model the path names (`pathModel`) or the body's, when one
   * does (with `fallback`, the default provider when none serves it), else the format's default provider. Virtual
   * keys are checked as for calls (authenticate hooks); errors come in the format's shape.
   *
   * `spends`: a platform call that spends money (image generation, speech, transcription, a batch; decision 108): it
   * is admitted as a call is (authenticate, then admit: keys' rate limits, budgets), refused with the same error a
   * call gets, and recorded under that endpoint (a refusal too), its body still relayed as it came.
   */
  async passThrough(
    req: IncomingMessage,
    res: ServerResponse,
    adapter: ProviderAdapter,
    path: string,
    pathModel: string | null = null,
    fallback = false,
    vertex = false,
    spends: Endpoint | null = null,
  ): Promise<void> {
    const incomingId = header(req.headers, 'x-request-id');
    let requestId = incomingId && REQUEST_ID.test(incomingId) ? incomingId : uuidv7();
    const method = req.method ?? 'GET';
    const hasBody = method !== 'GET' && method !== 'HEAD' && method !== 'DELETE';
    const ct = req.headers['content-type'];
    const json = ct === undefined || /^application\/(.+\+)?json\b/i.test(ct);
    // A body that is not JSON (a multipart upload: files, audio) names no model: one of a declared length within
    // server.bodyLimit is streamed to the provider as it arrives rather than held whole; any other is read first
    // (bounded: over the limit, 413 before the provider is asked).
    const declared = Number(req.headers['content-length']);
    const limit = this.d.config.server.bodyLimit;
    const streamed = hasBody && !json && declared > 0 && declared <= limit;
    // A recorded platform call's multipart upload (a transcription, an image edit) names its model in a form field,
    // which may follow a 25 MB file: admitted once the form has said it (decision 137, formAdmission), its upload
    // relayed meanwhile with its last bytes held back.
    const byForm = spends !== null && streamed && /^multipart\/form-data\b/i.test(ct ?? '');
    // The same limits as calls: in flight (server.maxConcurrentCalls, and drained at shutdown), and a body read whole
    // counts against server.maxBufferedBytes while it is held (a streamed upload holds none of it).
    let held = streamed || !hasBody ? 0 : Math.min(declared || 0, limit);
    const shed = this.shedReason(held);
    if (shed !== null) {
      this.shed(req, res, requestId, shed, adapter);
      return;
    }
    const flight = spends === null ? null : this.platformFlight(req, requestId, incomingId, spends, adapter);
    if (flight !== null) requestId = flight.requestId;
    // Counted apart from calls (inflight): those are the calls a worker's death or a cut drain leaves unrecorded.
    this.passing++;
    this.buffered += held;
    res.once('close', () => {
      this.passing--;
      this.buffered -= held;
      held = 0;
    });
    res.setHeader('x-request-id', requestId);
    const upstreamPath = adapter.takeUrlKey ? adapter.takeUrlKey(path, req.headers) : path;
    let form: FormAdmission | null = null;
    try {
      // A large JSON body is parsed as it arrives (readJsonBody), not in one go once read.
      const sent = hasBody && !streamed ? await readJsonBody(req, limit) : null;
      const raw = sent?.raw ?? null;
      if (raw && raw.length > held && !res.closed) {
        this.buffered += raw.length - held;
        held = raw.length;
      }
      // A GET's, HEAD's or DELETE's body (not sent on) is dropped after the answer, bounded (createListener:
      // req.resume() here read it without end from a client that never stopped sending).
      let model: string | null = pathModel || null;
      let body: Json = {};
      if (raw && raw.length > 0 && json) {
        try {
          const early = sent?.parsed;
          const parsed = (
            early === undefined ? JSON.parse(raw.toString('utf8')) : 'value' in early ? early.value : null
          ) as unknown;
          if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Json;
        } catch {
          /* the upstream answers a malformed body itself */
        }
        if (model === null && typeof body.model === 'string' && body.model) model = body.model;
      }
      // A model's own entry (Gemini's GET /v1beta/models/{model}) is read, not called: for a virtual key whose models
      // do not match it, a 404 as for a model outside its list (below), not the 403 of a call.
      const modelRead = method === 'GET' && model !== null;
      const admission: Admission =
        flight === null
          ? {
              requestId,
              endpoint: (Object.values(adapter.routes)[0] ?? adapter.endpoints?.[0]) as Endpoint,
              format: adapter.format,
              model: modelRead ? '' : (model ?? ''),
              provider: '',
              body,
              headers: req.headers,
              attribution: { user: null, team: null, feature: null, session: null, apiKeyId: null },
              forwardClientAuth: true,
              state: { [UNRECORDED_ADMISSION]: true },
            }
          : platformAdmission(flight, body, model, streamed ? declared : (raw?.length ?? 0), req.headers);
      for (const h of this.d.hooks) if (h.authenticate) await h.authenticate(admission);
      if (flight !== null) flight.vouched = true;
      // A virtual key with models sees only those in the model list (Gemini's GET /v1beta/models), as on /v1/models.
      const allowed = admission.allowedModels ?? null;
      if (allowed !== null && modelRead && !modelMatcher(allowed)(model as string))
        throw modelNotListed(model as string, 'GET /v1beta/models');
      const listedOnly =
        allowed !== null && method === 'GET' && model === null && /^\/models(?:\?|$)/.test(upstreamPath)
          ? modelMatcher(allowed)
          : null;
      const router = this.routerFor(adapter.format);
      // The platform's other APIs (fallback) go to the default provider when no provider serves their model.
      const provider =
        (model ? (this.resolveModel(adapter.format, model, vertex)?.provider ?? null) : null) ??
        (!model || fallback ? router.defaultProvider() : null);
      if (!provider)
        throw new LlmscopeError(
          'LLMSCOPE_ERR_UNROUTABLE_MODEL',
          model
            ? `no provider of type ${adapter.format} serves model "${model}"`
            : `no provider of type ${adapter.format} is configured; add one to providers in the config file`,
          { param: model ? 'model' : null },
        );
      const up = this.d.upstreams.get(provider.name) as Upstream;
      if (flight !== null) {
        // Admitted as a call: the keys' rate limits and the budgets (which refuse it here, before the provider is asked;
        // a multipart upload's once its form names the model, formAdmission).
        flight.provider = provider.name;
        (admission as { provider: string }).provider = provider.name;
        if (!byForm) for (const h of this.d.hooks) if (h.admit) await h.admit(admission);
        const i = flight.internal;
        i.routedAt = now();
        i.serverAddress = up.host;
        i.serverPort = up.port;
      }
      if (up.google) await up.google.ready(req.headers, admission.forwardClientAuth, this.d.logger);
      // privacy.maskUpstream: a JSON body's text is masked as a call's is (re-serialized only when something was found).
      // A recorded platform call's admit hooks may have masked it already (bodyChanged), as a call's are.
      const out =
        raw && json && (admission.bodyChanged || this.d.maskPassThrough?.(body))
          ? Buffer.from(JSON.stringify(body))
          : raw;
      // Not a call: llmscope makes no span of it, so the client's trace context goes on as it came (the upstream's
      // span a child of the client's); without one, a trace of its own.
      // A recorded platform call is the call's: its upstream span's, as a call's.
      const parent = parseTraceparent(req.headers.traceparent);
      const headers = upstreamHeaders(req.headers, up, {
        traceparent: flight
          ? formatTraceparent(flight.traceId, flight.internal.upstreamSpanId, flight.internal.unsampled ? 0 : 1)
          : parent
            ? formatTraceparent(parent.traceId, parent.parentSpanId, parent.flags)
            : formatTraceparent(newTraceId(), newSpanId()),
        tracestate: parent ? (header(req.headers, 'tracestate') ?? undefined) : undefined,
        requestId,
        forwardClientAuth: admission.forwardClientAuth,
        bodyLength: streamed ? declared : (out?.length ?? 0),
      });
      if (!raw && !streamed) {
        delete headers['content-type'];
        delete headers['content-length'];
      } else if (ct !== undefined) headers['content-type'] = ct; // a multipart body's boundary, as sent
      // A multipart upload's admission, run as its form passes (decision 137); its gate opens the upload's held end.
      form = byForm && flight !== null ? this.formAdmission(req, flight, admission) : null;
      // The client's body through a stream of its own: undici destroys a failed request's body, which must not be
      // the client's request (its socket carries the answer); `pipe` lets go of it then, and the rest is drained.
      // Held: the last bytes and, by the form's boundary, everything from its closing delimiter on (decision 159).
      const heldUpload =
        form !== null ? new HeldUpload(heldBytesOf(ct ?? ''), form.gate, multipartBoundary(ct ?? '')) : null;
      const upload = streamed ? req.pipe(heldUpload ?? new PassThrough()) : undefined;
      if (form !== null && upload) {
        const f = form;
        // An epilogue over MAX_EPILOGUE ended the upload with a 400: the admission stops there too.
        upload.once('error', (err) => {
          if (err === heldUpload?.overflow) f.abort(err);
        });
        // Refused: the provider's request ends without its last bytes (never a whole request), at once.
        f.gate.catch((err: unknown) => upload.destroy(err instanceof Error ? err : new Error(String(err))));
        // The provider gone before the form was read (its early answer, a cut): the form is still read to its model.
        upload.once('close', () => {
          if (!req.readableEnded && !f.decided()) req.resume();
        });
      }
      // A client gone mid-upload ends the upstream request rather than leave it waiting for the rest.
      if (upload) req.once('close', () => req.complete || upload.destroy(new Error('client closed the request')));
      // One that stops arriving (server.bodyIdleTimeout) ends it too, and is answered 408.
      let idle: LlmscopeError | null = null;
      if (upload) {
        const stop = watchBodyIdle(req, (err) => {
          idle = err;
          form?.abort(err);
          upload.destroy(err);
          // The provider answered before the body was whole (a 404, a 400) and the answer went: nothing is left to
          // say 408 on, and the rest of the body will not come, so the connection is closed rather than held.
          if (res.writableEnded) req.socket?.destroy();
        });
        req.once('end', stop);
        req.once('close', stop);
      }
      let answer: Awaited<ReturnType<typeof up.pool.request>>;
      if (flight !== null) flight.internal.upstreamStartAt = now();
      try {
        answer = await up.pool.request({
          path: adapter.passThroughUpstreamPath
            ? adapter.passThroughUpstreamPath(up.basePath, upstreamPath)
            : up.basePath + upstreamPath,
          method: method as 'GET',
          headers,
          body: upload ?? out ?? undefined,
        });
      } catch (err) {
        throw form?.refusal() ?? idle ?? heldUpload?.overflow ?? upstreamFailure(err, up);
      }
      // The provider answered before the form was admitted (an early error), or as it was refused: nothing goes to the
      // client but the refusal, and nothing before admission has answered.
      if (form !== null) {
        try {
          await form.gate;
        } catch (err) {
          answer.body.destroy();
          throw err;
        }
      }
      if (answer.statusCode === 401 && up.google) up.google.rejected(headers.authorization);
      if (listedOnly !== null && answer.statusCode < 300 && !answer.headers['content-encoding']) {
        const text = await answer.body.text();
        let list: unknown = null;
        try {
          list = JSON.parse(text);
        } catch {
          /* passed on as it came */
        }
        const out = list === null ? text : JSON.stringify(filterGeminiModels(list, listedOnly));
        res.writeHead(answer.statusCode, {
          ...clientHeaders(answer.headers, false),
          'content-length': String(Buffer.byteLength(out)),
          'x-request-id': requestId,
        });
        res.end(out);
        return;
      }
      if (flight !== null) {
        await this.relayPlatformAnswer(res, flight, answer);
        return;
      }
      res.writeHead(answer.statusCode, { ...clientHeaders(answer.headers, true), 'x-request-id': requestId });
      // A poll of a held background response: its answer is read as it passes, to finish the call. In a gateway worker
      // a poll of one held by another worker (a poll on another connection) is read too, for that worker.
      const polled =
        answer.statusCode < 300 && !answer.headers['content-encoding']
          ? this.background.waitingOn(method, path, this.d.onOtherPoll !== undefined)
          : null;
      const read: Buffer[] = [];
      let readBytes = 0;
      if (polled !== null)
        answer.body.on('data', (c: Buffer) => {
          readBytes += c.length;
          if (readBytes <= MAX_POLL_BYTES) read.push(c);
        });
      await pipeline(answer.body, res);
      if (polled !== null && readBytes <= MAX_POLL_BYTES) {
        const text = Buffer.concat(read, readBytes).toString('utf8');
        // Held here: finished here. Else, once finished, passed to the other workers (polls before then are not).
        if (this.background.holds(polled)) this.background.finish(polled, text);
        else if (this.d.onOtherPoll && isFinishedAnswer(polled, text)) this.d.onOtherPoll(polled, text);
      }
    } catch (err) {
      if (streamed && !req.readableEnded) req.resume(); // a body not (wholly) sent on: read and dropped
      if (flight !== null) {
        if (form !== null) {
          // A form's admission phase still running finishes first: what it reserves is in the state the call settles.
          await form.settled();
          // Refused: the provider never had the request whole, so never ran it (recorded as a refusal before it).
          if (err === form.refusal()) flight.internal.upstreamStartAt = flight.internal.upstreamEndAt = null;
        }
        this.failPlatform(req, res, flight, err);
        return;
      }
      if (!(err instanceof LlmscopeError) && !(err instanceof ClientClosedError))
        this.d.logger.error({ event: 'gateway_error', err }, 'pass-through request failed');
      sendErrorAs(adapter, res, err);
    }
  }

  /**
   * The Flight of a platform call that spends money (passThrough's `spends`): its id (a repeated client id re-keyed,
   * as a call's), its trace (the client's continued), its attribution from the x-llmscope-* headers.
   */
  private platformFlight(
    req: IncomingMessage,
    requestId: string,
    incomingId: string | null,
    endpoint: Endpoint,
    adapter: ProviderAdapter,
  ): Flight {
    const id = requestId === incomingId ? this.callIdOf(requestId) : requestId;
    const parent = parseTraceparent(req.headers.traceparent);
    const flight = new Flight(
      id,
      parent?.traceId ?? newTraceId(),
      endpoint,
      adapter,
      req.headers,
      parent?.parentSpanId ?? null,
    );
    if (parent !== null && (parent.flags & 1) === 0) flight.internal.unsampled = true;
    // Its metadata headers are recorded when valid; invalid ones are dropped rather than refused (as before the
    // platform's calls were recorded, the call goes on).
    flight.metadataProblem = null;
    return flight;
  }

  /**
   * A multipart platform call's admission (decision 137), run as its form passes on to the provider: once the form's
   * `model` field is read, the key is asked again with it (its `models`: 403 model_not_allowed), then the call is
   * admitted as a JSON call is (the keys' rate limits, the budgets, one ledger with `serve --workers` and PostgreSQL).
   * An image edit or variation is admitted once its `n`, `size` and `quality` are read too, or the form ends (an image
   * costs by them: budgets reserve n images at their price); it names no model: OpenAI's default, dall-e-2 (gpt-image-1
   * for an edit asking a quality only that takes). A form that ends naming none: admitted with no model, as before.
   * The fields read are the admission's body (what the estimates read) and the call's requestUnits.
   */
  private formAdmission(req: IncomingMessage, flight: Flight, admission: Admission): FormAdmission {
    const images = flight.endpoint === 'images.edits' || flight.endpoint === 'images.variations';
    const fields = admission.body;
    const readers = new Map(
      (images ? ['model', 'n', 'size', 'quality'] : ['model']).map(
        // by the form's boundary: a field only where a part's headers name it, never bytes of the file that look so
        (f) => [f, formFieldReader(f, multipartBoundary(header(req.headers, 'content-type') ?? ''))] as const,
      ),
    );
    if (images) flight.requestUnits = requestUnitsOf(flight.endpoint, fields);
    const hooks = this.d.hooks;
    let decided = false;
    let refusal: unknown = null;
    let named = false;
    let admitting = false;
    let open: () => void = () => {};
    let refuse: (err: unknown) => void = () => {};
    const gate = new Promise<void>((resolve, reject) => {
      open = resolve;
      refuse = reject;
    });
    gate.catch(() => {}); // answered through refusal(); the upload's end waits on it
    let step: Promise<void> = Promise.resolve();
    const run = (work: () => Promise<void> | void): void => {
      step = step
        .then(() => (decided ? undefined : work()))
        .catch((err: unknown) => {
          if (decided) return;
          decided = true;
          refusal = err;
          refuse(err);
        });
    };
    const name = (model: string): void => {
      named = true;
      flight.model = model.slice(0, 256);
      (admission as { model: string }).model = flight.model;
      // The key's models, now that the call names one (authenticate read none): refused here if it may not call it.
      run(async () => {
        for (const h of hooks) if (h.authenticate) await h.authenticate(admission);
      });
    };
    const admit = (): void => {
      if (admitting) return;
      admitting = true;
      run(async () => {
        for (const h of hooks) if (h.admit) await h.admit(admission);
        decided = true;
        open();
      });
    };
    const onData = (c: Buffer): void => {
      for (const [f, read] of readers) {
        const v = read(c);
        if (v === null) continue;
        readers.delete(f);
        if (f === 'model') name(v);
        else {
          fields[f] = f === 'n' ? Number(v) : v;
          flight.requestUnits = requestUnitsOf(flight.endpoint, fields);
        }
      }
      if (readers.size === 0) {
        req.off('data', onData);
        admit();
      }
    };
    req.on('data', onData);
    req.once('end', () => {
      req.off('data', onData);
      if (!named && images)
        name(
          flight.endpoint === 'images.edits'
            ? (defaultImageModel('images.generations', fields) ?? 'dall-e-2')
            : 'dall-e-2',
        );
      admit();
    });
    const abort = (err: unknown): void => {
      if (decided) return;
      decided = true;
      refuse(err);
    };
    req.once('close', () => {
      if (!req.complete) abort(new ClientClosedError());
    });
    return {
      gate,
      decided: () => decided,
      refusal: () => refusal,
      settled: () => step,
      abort,
    };
  }

  /** A platform call's answer: relayed as it came (with the admitted key's x-ratelimit-* headers), then recorded. */
  private async relayPlatformAnswer(
    res: ServerResponse,
    flight: Flight,
    answer: { statusCode: number; headers: IncomingHttpHeaders; body: Readable },
  ): Promise<void> {
    const i = flight.internal;
    flight.httpStatus = answer.statusCode;
    const upId = answer.headers['x-request-id'];
    if (typeof upId === 'string' && upId) flight.upstreamRequestId = upId.slice(0, 256);
    res.writeHead(answer.statusCode, {
      ...flight.admission?.responseHeaders,
      ...clientHeaders(answer.headers, true),
      'x-request-id': flight.requestId,
    });
    // An answer that may report token usage (the GPT image and transcribe models'), or an error: its end is kept to
    // read them from.
    const ct = String(answer.headers['content-type'] ?? '');
    const failed = answer.statusCode >= 400;
    const tail: Buffer[] | null =
      (failed || (answer.statusCode < 300 && USAGE_ENDPOINTS.has(flight.endpoint))) &&
      /^application\/json\b/i.test(ct) &&
      !answer.headers['content-encoding']
        ? []
        : null;
    let bytes = 0;
    let kept = 0;
    answer.body.on('data', (c: Buffer) => {
      bytes += c.length;
      if (tail === null) return;
      tail.push(c);
      kept += c.length;
      while (kept - (tail[0] as Buffer).length >= USAGE_TAIL_BYTES) kept -= (tail.shift() as Buffer).length;
    });
    try {
      await pipeline(answer.body, res);
    } finally {
      flight.responseBytes = bytes;
      i.upstreamEndAt = now();
    }
    if (failed) {
      // What the provider said, as a call's error is recorded (an error body beyond the kept end: its status alone).
      let json: unknown = null;
      try {
        if (tail !== null && bytes === kept) json = JSON.parse(Buffer.concat(tail, kept).toString('utf8'));
      } catch {
        /* not JSON after all */
      }
      flight.errorType = flight.adapter.errorTypeOf(json) ?? `http_${answer.statusCode}`;
      flight.errorMessage = errorMessageOf(json);
    } else if (tail !== null && tail.length > 0) {
      const text = Buffer.concat(tail, kept).toString('utf8');
      const read = platformUsageOf(flight.endpoint, text);
      if (read !== null) {
        flight.usage = read.usage;
        // Priced at the model's audio input rate (pricing.ts audioTokensOf), as a Realtime call's audio is.
        if (read.audioInputTokens > 0)
          flight.events = [
            { time: Date.now(), name: 'audio.tokens', attributes: { input_audio_tokens: read.audioInputTokens } },
          ];
      } else if (flight.endpoint === 'audio.transcriptions' || flight.endpoint === 'audio.translations') {
        // whisper-1: the seconds of audio it was billed for (its usage of type duration, or verbose_json's duration)
        const seconds = audioSecondsOf(text);
        if (seconds !== null) flight.requestUnits = { unit: 'second', count: seconds };
      }
    }
    // Billed per unit (DALL·E's images, speech's characters, whisper-1's seconds) when answered without a token usage.
    if (!failed && flight.usage === null && flight.requestUnits !== null) {
      const event = unitsEvent(flight.requestUnits, Date.now());
      flight.events = flight.events === null ? [event] : [...flight.events, event];
    }
    this.record(flight);
  }

  /**
   * A platform call that failed or was refused: answered as a call is (fail); or, its client gone mid-upload or its
   * answer under way, recorded cancelled (client) or cut (provider).
   */
  private failPlatform(req: IncomingMessage, res: ServerResponse, flight: Flight, err: unknown): void {
    const i = flight.internal;
    const gone = !res.writableFinished && (res.destroyed || res.socket?.destroyed !== false);
    if (!res.headersSent && !(gone && !req.complete)) {
      this.fail(res, flight, err);
      return;
    }
    if (i.upstreamStartAt !== null) i.upstreamEndAt ??= now();
    if (gone) {
      // The client went while its upload was sent on, or while the answer was relayed.
      flight.cancelled = true;
      flight.httpStatus = 499;
      flight.errorType = 'client_closed_request';
    } else {
      // The provider's answer broke off.
      flight.failedInBody = true;
      flight.errorType = 'upstream_stream_cut';
      flight.errorMessage = clip(err instanceof Error ? err.message : String(err));
    }
    if (!res.writableEnded) res.destroy();
    this.record(flight);
  }

  /** Refuses a call at a limit: 503 with Retry-After in the route's error shape, counted; the body is not read. */
  private shed(
    req: IncomingMessage,
    res: ServerResponse,
    requestId: string,
    reason: ShedReason,
    adapter: ProviderAdapter,
  ): void {
    this.d.onShed?.(reason);
    // The unread body is not wanted: close the connection after the answer rather than read it, with a lingering
    // close (a client still sending it was reset, and could lose the 503 to the reset).
    lingerOnClose(req);
    sendErrorAs(adapter, res, this.shedError(reason), {
      'retry-after': String(RETRY_AFTER_S),
      'x-request-id': requestId,
      connection: 'close',
    });
    req.resume();
  }

  /** The error a call refused at a limit or while draining gets. */
  private shedError(reason: ShedReason): LlmscopeError {
    const limit =
      reason === 'concurrency'
        ? `${this.d.config.server.maxConcurrentCalls} calls are in flight (server.maxConcurrentCalls)`
        : `calls in flight hold ${this.d.config.server.maxBufferedBytes} bytes of request bodies (server.maxBufferedBytes)`;
    return reason === 'shutting_down'
      ? new LlmscopeError('LLMSCOPE_ERR_SHUTTING_DOWN', 'llmscope is shutting down; retry against another replica')
      : new LlmscopeError('LLMSCOPE_ERR_OVERLOADED', `llmscope is at capacity: ${limit}; retry shortly`);
  }

  private record(flight: Flight): void {
    const call = flight.finish(this.d.hooks);
    // A background response answered queued waits for the poll that brings its usage (BackgroundCalls).
    if (call && !(flight.endpoint === 'responses' && !this.d.draining() && this.background.hold(call)))
      this.d.recorder.record(call);
  }

  /** Another worker relayed a poll of background response `id` (onOtherPoll): finishes it here if held here. */
  finishBackground(id: string, body: string): boolean {
    return this.background.finish(id, body);
  }

  /** The response ids of the background calls held here for their poll. */
  backgroundIds(): string[] {
    return this.background.ids();
  }

  /** Background calls answered queued and held for their poll, not recorded yet. */
  get backgroundHeld(): number {
    return this.background.size;
  }

  /** Records the background calls still waiting for their poll, as they were answered (shutdown). */
  releaseBackground(): void {
    this.background.releaseAll();
  }

  /** Records the background calls of end user `user` still waiting for their poll, as they are (before an erase). */
  releaseBackgroundOf(user: string): number {
    return this.background.releaseUser(user);
  }

  /** Answers with llmscope's own error and records the call. */
  private fail(res: ServerResponse, flight: Flight, err: unknown): void {
    // The client hung up mid-upload: a cancelled call (as one cut while answered), not an upstream error to log.
    if (err instanceof ClientClosedError) {
      flight.cancelled = true;
      flight.httpStatus = 499;
      flight.errorType = 'client_closed_request';
      this.record(flight);
      return;
    }
    if (!(err instanceof LlmscopeError))
      this.d.logger.error({ event: 'gateway_error', err }, 'unexpected gateway error');
    const code = err instanceof LlmscopeError ? ERRORS[err.code].code : 'internal_error';
    flight.httpStatus = err instanceof LlmscopeError ? err.status : 500;
    flight.errorType = code;
    flight.errorMessage = clip(err instanceof Error ? err.message : String(err));
    if (err instanceof LlmscopeError) flight.internal.ownError = true;
    if (err instanceof LlmscopeError && err.code === 'LLMSCOPE_ERR_UPSTREAM_TIMEOUT') flight.timedOut = true;
    sendErrorAs(flight.adapter, res, err, {
      'x-request-id': flight.requestId,
      ...flight.admission?.responseHeaders,
      'x-llmscope-overhead-ms': (now() - flight.arrivalAt).toFixed(3),
    });
    this.record(flight);
  }

  /**
   * The call, in its request context: each await leaves it (`leaveRequest`) and resumes it after (`resumeRequest`),
   * and it is left when the call's code ends, returning or throwing, in the same turn (no other code runs between).
   */
  private async serve(req: IncomingMessage, res: ServerResponse, flight: Flight, ctx: RequestContext): Promise<void> {
    try {
      const d = this.d;
      const ct = String(req.headers['content-type'] ?? '');
      if (!/^application\/(.+\+)?json\b/i.test(ct)) {
        dropRest(req, d.config.server.bodyLimit);
        throw new LlmscopeError(
          'LLMSCOPE_ERR_UNSUPPORTED_MEDIA_TYPE',
          `expected content-type application/json, got ${ct ? `"${ct}"` : 'none'}; send the request body as JSON`,
        );
      }
      refuseEncodedJson(req);
      leaveRequest();
      // A large body is parsed as it arrives, a piece per socket read, not in one go once read.
      const { raw, parsed: early } = await readJsonBody(req, d.config.server.bodyLimit);
      if (flight.idCheck !== null && (await flight.idCheck)) {
        flight.requestId = repeatId(flight.requestId);
        ctx.request_id = flight.requestId;
      }
      flight.idCheck = null;
      resumeRequest(ctx);
      flight.requestBytes = raw.length;
      if (raw.length > flight.heldBytes && flight.heldBytes !== -1) {
        // A body sent without (or beyond) its content-length counts once read.
        this.buffered += raw.length - flight.heldBytes;
        flight.heldBytes = raw.length;
      }
      let parsed: unknown;
      try {
        if (early === undefined) parsed = JSON.parse(raw.toString('utf8'));
        else if ('error' in early) throw early.error;
        else parsed = early.value;
      } catch (err) {
        throw new LlmscopeError(
          'LLMSCOPE_ERR_INVALID_JSON',
          `request body is not valid JSON (${jsonErrorText(err)}); send a JSON object such as ${flight.adapter.example?.(flight.endpoint).body ?? '{"model": "...", "messages": [...]}'}`,
        );
      }
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
        throw new LlmscopeError('LLMSCOPE_ERR_INVALID_BODY', 'request body must be a JSON object');
      const body = parsed as Json;
      // A virtual key in the URL (Gemini's ?key=lsk_...) moves to the format's key header, out of what goes upstream.
      if (flight.adapter.takeUrlKey) {
        req.url = flight.adapter.takeUrlKey(req.url ?? '', req.headers);
        flight.urlKeys = urlKeysOf(req.url);
      }
      // Formats whose URL names the model and streaming (Gemini) say them there; the others in the body.
      const facts = flight.adapter.requestFacts?.(req.url ?? '') ?? null;
      const model = facts ? facts.model : body.model;
      if (model !== undefined && model !== null && typeof model !== 'string')
        throw new LlmscopeError(
          'LLMSCOPE_ERR_INVALID_BODY',
          `"model" must be a string naming the model to call, e.g. "model": "${flight.adapter.example?.(flight.endpoint).model ?? 'gpt-4o-mini'}"; got ${Array.isArray(model) ? 'an array' : typeof model === 'object' ? 'an object' : `the ${typeof model} ${JSON.stringify(model)}`}`,
          { param: 'model' },
        );
      if (typeof model !== 'string' || model.length === 0)
        throw new LlmscopeError(
          'LLMSCOPE_ERR_MISSING_MODEL',
          `request body has no "model"; name the model to call, e.g. "model": "${flight.adapter.example?.(flight.endpoint).model ?? 'gpt-4o-mini'}"`,
          { param: 'model' },
        );
      flight.model = model.slice(0, 256);
      ctx.model = flight.model;
      flight.stream = facts ? facts.stream : body.stream === true;
      // The body's end user (OpenAI's `user`, Anthropic's metadata.user_id, ...) when no header named one.
      const bodyUser = flight.adapter.userOf ? flight.adapter.userOf(body) : body.user;
      if (typeof bodyUser === 'string' && !flight.attribution.user) flight.attribution.user = bodyUser.slice(0, 256);
      // The request's own session (Claude Code's, in its metadata.user_id; Codex's session_id header) when no
      // x-llmscope-session header named one.
      if (flight.adapter.sessionOf && !flight.attribution.session) {
        const s = flight.adapter.sessionOf(body, req.headers);
        if (typeof s === 'string' && s) flight.attribution.session = s.slice(0, 256);
      }
      if (flight.metadataProblem)
        throw new LlmscopeError(
          'LLMSCOPE_ERR_INVALID_METADATA',
          `invalid metadata: ${flight.metadataProblem.message}; send at most ${METADATA_MAX_KEYS} x-llmscope-meta-<key> headers with values of at most ${METADATA_MAX_VALUE} characters`,
          { param: flight.metadataProblem.param },
        );

      // Without hooks (no keys, budgets or masking configured) there is nothing to admit: no admission at all.
      const admission: Admission | null =
        d.hooks.length === 0 ? null : admissionOf(flight, body, req.headers, flight.model);
      flight.admission = admission;
      // A hook that has nothing to wait for answers at once (no promise, no turn of the event loop).
      if (admission)
        for (const h of d.hooks)
          if (h.authenticate) {
            const wait = h.authenticate(admission);
            if (wait) {
              leaveRequest();
              await wait;
              resumeRequest(ctx);
            }
          }
      flight.vouched = true;

      const adapter = flight.adapter;
      const router = this.routerFor(adapter.format);
      const resolved = this.resolveModel(adapter.format, flight.model, facts?.vertex === true);
      if (!resolved) {
        const known = router.knownPatterns();
        throw new LlmscopeError(
          'LLMSCOPE_ERR_UNROUTABLE_MODEL',
          `no provider of type ${adapter.format} serves model "${flight.model}"; ` +
            (known.length
              ? `configured models: ${known.slice(0, 20).join(', ')}`
              : adapter.format === 'openai-compatible'
                ? 'configure providers/routes in the config file, or start with --upstream URL'
                : `configure a provider with type: ${adapter.format} in the config file`),
          { param: 'model' },
        );
      }
      const up = d.upstreams.get(resolved.provider.name) as Upstream;
      flight.provider = resolved.provider.name;
      ctx.provider = flight.provider;
      if (admission) {
        (admission as { provider: string }).provider = flight.provider;
        for (const h of d.hooks)
          if (h.admit) {
            const wait = h.admit(admission);
            if (wait) {
              leaveRequest();
              await wait;
              resumeRequest(ctx);
            }
          }
      }
      const i = flight.internal;
      i.routedAt = now();
      i.serverAddress = up.host;
      i.serverPort = up.port;
      i.params = adapter.params(body);
      const assistant: number[] = [];
      const prompt = keepText(adapter.promptText(body, flight.endpoint, assistant), assistant);
      i.promptText = prompt.text;
      if (prompt.totalChars !== prompt.text.length) i.promptChars = prompt.totalChars;
      if (assistant.length > 0) i.assistantRanges = assistant;
      if (adapter.promptFraming) i.promptFraming = adapter.promptFraming(body, flight.endpoint);
      // Tool definitions are billed as prompt: kept as sent, read only to count a call without usage (tokens.ts).
      if (Array.isArray(body.tools) && body.tools.length > 0) i.tools = body.tools;

      // Ask for usage on streams; remember whether the client asked itself, so the extra chunk can be removed.
      // A provider that refused the field once (up.refusesStreamOptions) gets the body as the client sent it.
      let forward: Buffer | string | Buffer[] = raw;
      let injectedUsage = false;
      let addedField = false;
      let rewrite = resolved.upstreamModel !== flight.model;
      if (flight.stream && adapter.injectsStreamUsage && flight.endpoint !== 'embeddings' && !up.refusesStreamOptions) {
        const so = body.stream_options;
        const asked = !!so && typeof so === 'object' && (so as Json).include_usage === true;
        if (!asked) {
          injectedUsage = true;
          addedField = so === undefined;
          if (so === undefined && !rewrite) forward = withIncludeUsage(raw);
          else {
            body.stream_options = { ...(so && typeof so === 'object' ? (so as Json) : {}), include_usage: true };
            rewrite = true;
          }
        }
      }
      if (resolved.upstreamModel !== flight.model && !facts) body.model = resolved.upstreamModel;
      else if (facts) rewrite = false;
      if (rewrite || admission?.bodyChanged) forward = JSON.stringify(body);

      if (up.google) {
        leaveRequest();
        await up.google.ready(req.headers, admission?.forwardClientAuth ?? true, this.d.logger);
        resumeRequest(ctx);
      }
      const headers = upstreamHeaders(req.headers, up, {
        traceparent: formatTraceparent(flight.traceId, i.upstreamSpanId, i.unsampled ? 0 : 1),
        tracestate: header(req.headers, 'tracestate') ?? undefined,
        requestId: flight.requestId,
        forwardClientAuth: admission?.forwardClientAuth ?? true,
        bodyLength: Array.isArray(forward) ? forward.reduce((n, b) => n + b.length, 0) : Buffer.byteLength(forward),
      });
      let relay = new Relay(res, flight, injectedUsage, admission?.responseHeaders ?? null);
      // llmscope added stream_options: a 400 refusing it is held back, and the call sent again without it (below)
      relay.holdBadRequest = addedField;
      flight.relay = relay;
      i.upstreamStartAt = now();
      const upstreamPath = up.basePath + adapter.upstreamPath(flight.endpoint, req.url ?? '', resolved.upstreamModel);
      up.pool.dispatch(
        {
          path: upstreamPath,
          method: 'POST',
          headers,
          // a large body's parts (withIncludeUsage) one after the other, never copied into one
          body: Array.isArray(forward) ? Readable.from(forward, { objectMode: false }) : forward,
        },
        relay,
      );
      leaveRequest();
      let err = await relay.done;
      resumeRequest(ctx);
      if (relay.refusedStreamOptions) {
        // The upstream refused the stream_options llmscope added (Azure OpenAI before 2024-09-01-preview: 400
        // "Unrecognized request argument supplied: stream_options"), and the client has had nothing yet: the call
        // goes again as the client sent it, its stream metered as one without usage (tokens counted by the
        // tokenizer). The provider is remembered, so its later calls skip the failed round trip.
        if (!up.refusesStreamOptions) {
          up.refusesStreamOptions = true;
          this.d.logger.warn(
            { event: 'upstream_refuses_stream_options', provider: up.provider.name },
            'the provider refuses stream_options: streamed calls to it are sent without include_usage and their tokens counted by the tokenizer',
          );
        }
        delete body.stream_options;
        const again = rewrite || admission?.bodyChanged ? JSON.stringify(body) : raw;
        relay = new Relay(res, flight, false, admission?.responseHeaders ?? null);
        flight.relay = relay;
        up.pool.dispatch(
          {
            path: upstreamPath,
            method: 'POST',
            headers: upstreamHeaders(req.headers, up, {
              traceparent: formatTraceparent(flight.traceId, i.upstreamSpanId, i.unsampled ? 0 : 1),
              tracestate: header(req.headers, 'tracestate') ?? undefined,
              requestId: flight.requestId,
              forwardClientAuth: admission?.forwardClientAuth ?? true,
              bodyLength: Buffer.byteLength(again),
            }),
            body: again,
          },
          relay,
        );
        leaveRequest();
        err = await relay.done;
        resumeRequest(ctx);
      }
      flight.relay = null;
      if (flight.httpStatus === 401 && up.google) up.google.rejected(headers.authorization);
      if (err && !relay.headersReceived) {
        if (flight.cancelled) {
          flight.httpStatus = 499;
          flight.errorType = 'client_closed_request';
          this.record(flight);
          return;
        }
        throw upstreamFailure(err, up);
      }
      if (err && !flight.cancelled) {
        if (err instanceof undiciErrors.BodyTimeoutError) {
          flight.timedOut = true;
          flight.errorType = 'upstream_timeout';
        } else {
          flight.httpStatus = flight.httpStatus < 500 ? 502 : flight.httpStatus;
          flight.errorType = 'upstream_stream_cut';
        }
        flight.errorMessage = clip(err.message);
        this.d.logger.warn({ event: 'upstream_cut', err: err.message }, 'upstream response ended early');
      }

      const status = flight.httpStatus;
      const meter = relay.meter;
      if (relay.redirectedTo !== null && !flight.cancelled) {
        // A redirect is no answer (undici does not follow it; a provider's API does not redirect a call it served): the
        // provider's baseUrl is wrong (http:// for https://, a moved host or path). Failed upstream, its prompt not
        // counted or priced as if it had been answered; the client gets the redirect as sent.
        flight.failedInBody = true;
        flight.errorType = `http_${status}`;
        flight.errorMessage = clip(
          `the upstream redirected the call${relay.redirectedTo ? ` to ${redirectTarget(relay.redirectedTo)}` : ''}; set the provider's baseUrl to where it answers`,
        );
      } else if (meter) {
        keepMeteredOutput(i, meter);
        if (meter.failure)
          this.d.logger.warn(
            { event: 'stream_meter_failed', err: meter.failure.message },
            'stream passed through unread',
          );
        flight.usage = meter.usage;
        flight.finishReason = meter.finishReason;
        flight.refusal = meter.refusal !== null;
        // a Responses stream's id, which a later call's previous_response_id names (budgets estimate it by its size)
        if (meter.responseId) i.responseId = meter.responseId;
        if (meter.responseModel) i.responseModel = meter.responseModel;
        if (meter.error !== null && !err) {
          flight.failedInBody = true;
          flight.rateLimitedInBody = meter.rateLimited;
          flight.errorType = meter.error;
          if (meter.errorMessage !== null) flight.errorMessage = clip(meter.errorMessage);
        }
      } else if (relay.keptBytes > 0 && relay.keptBytes < MAX_PARSE_BYTES) {
        let json: unknown;
        const kept = relay.kept;
        try {
          // The answer has gone to the client. A large one is parsed a piece at a time, the event loop handed back
          // between turns (4 ms): JSON.parse of 7 MB with 80,000 tool calls, with its copy and decode, held it
          // 200-480 ms, delaying every other call (decision 43).
          if (relay.keptBytes > PARSE_AS_IT_COMES) {
            // in flight until recorded: a shutdown waits for it, a worker that dies counts it
            this.d.inflight.add(res);
            leaveRequest();
            try {
              json = await parseJsonInTurns(kept, 0);
            } finally {
              resumeRequest(ctx);
              this.d.inflight.delete(res);
            }
          } else
            json = JSON.parse(
              (kept.length === 1 ? (kept[0] as Buffer) : Buffer.concat(kept, relay.keptBytes)).toString('utf8'),
            );
        } catch {
          json = null;
        }
        if (status >= 400) {
          flight.errorType = adapter.errorTypeOf(json) ?? `http_${status}`;
          // What the upstream said, for the request page: its error message, else the start of a body that is not JSON.
          flight.errorMessage =
            errorMessageOf(json) ??
            (json === null ? clip(Buffer.concat(kept, relay.keptBytes).subarray(0, 4096).toString('utf8')) : null);
        } else {
          const info = adapter.responseInfo(json, flight.endpoint);
          if (info.error) {
            flight.failedInBody = true;
            flight.rateLimitedInBody = info.rateLimited === true;
            flight.errorType = info.error;
            if (info.errorMessage) flight.errorMessage = clip(info.errorMessage);
          }
          flight.usage = info.usage;
          flight.finishReason = info.finishReason;
          flight.refusal = info.refusal !== null;
          const kept = keepText(info.text);
          i.outputText = kept.text;
          if (kept.totalChars !== kept.text.length) i.outputChars = kept.totalChars;
          const o = json as Json | null;
          // Gemini names them modelVersion and responseId
          const model = o?.model ?? o?.modelVersion;
          const id = o?.id ?? o?.responseId;
          if (typeof model === 'string') i.responseModel = model;
          if (typeof id === 'string') i.responseId = id;
        }
      } else if (status >= 400) flight.errorType = `http_${status}`;
      // An answer too large to keep for reading: its size is what its output tokens are estimated from.
      else if (relay.keptBytes >= MAX_PARSE_BYTES) i.outputChars = flight.responseBytes;
      this.record(flight);
    } finally {
      leaveRequest();
    }
  }
}

/**
 * Where a redirect points, as a call's error message may keep it: without its query, fragment and user info. A
 * redirect from http:// to https:// echoes the request's URL, and with it the client's credentials there (Gemini's
 * `?key=`), which are never stored.
 */
export function redirectTarget(location: string): string {
  const cut = location.search(/[?#]/);
  const base = cut === -1 ? location : location.slice(0, cut);
  const rest = cut === -1 ? '' : ' (its query left out)';
  return `${base.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1')}${rest}`;
}

/** The `key` values of a URL's query (a Google API key sent as `?key=`), or null when it has none. */
function urlKeysOf(url: string): string[] | null {
  const q = url.indexOf('?');
  if (q === -1 || !url.includes('key=', q)) return null;
  const keys = new URLSearchParams(url.slice(q + 1)).getAll('key').filter((k) => k.length >= 8);
  return keys.length > 0 ? keys : null;
}

/**
 * An error message without the client's URL keys: an upstream that echoes the request's URL (an Express app's
 * 'Cannot POST /v1beta/...?key=...', a proxy's error, a redirect) would otherwise have it stored, whether or not
 * privacy.redact's patterns know the key's form.
 */
function withoutKeys(message: string | null, keys: string[]): string | null {
  if (message === null) return null;
  let out = message;
  for (const k of keys) {
    out = out.split(k).join('[redacted-key]');
    const enc = encodeURIComponent(k);
    if (enc !== k) out = out.split(enc).join('[redacted-key]');
  }
  return out;
}

/** Longest error message kept on a call. */
const ERROR_MESSAGE_CHARS = 512;
const clip = (s: string): string | null => {
  const t = s.trim();
  return t ? (t.length > ERROR_MESSAGE_CHARS ? `${t.slice(0, ERROR_MESSAGE_CHARS - 1)}…` : t) : null;
};

/**
 * The message of an error body, in any provider's shape: OpenAI's and Anthropic's `{error: {message}}`, Gemini's
 * `{error: {message}}` (or a one-element array of it), a bare `{error: "..."}` or `{message}`.
 */
export function errorMessageOf(body: unknown): string | null {
  const b = (Array.isArray(body) ? body[0] : body) as Json | null;
  if (!b || typeof b !== 'object') return null;
  const e = b.error;
  if (typeof e === 'string') return clip(e);
  if (e && typeof e === 'object' && typeof (e as Json).message === 'string') return clip((e as Json).message as string);
  return typeof b.message === 'string' ? clip(b.message) : null;
}

const INCLUDE_USAGE = Buffer.from('"stream_options":{"include_usage":true},');

/**
 * The request body with `"stream_options":{"include_usage":true}` added as its first key, by splicing bytes
 * instead of re-serializing the parsed body. Only for a JSON object without `stream_options` (it has `model`, so
 * the added key is followed by a comma). A body over 1 MiB comes as its three parts, sent one after the other, not
 * copied into one (a 40 MB copy held the event loop ~360 ms on a busy host).
 */
export function withIncludeUsage(raw: Buffer): Buffer | Buffer[] {
  let at = 0;
  while (at < raw.length && raw[at] !== 0x7b) at++;
  const parts = [raw.subarray(0, at + 1), INCLUDE_USAGE, raw.subarray(at + 1)];
  return raw.length > 1024 * 1024 ? parts : Buffer.concat(parts);
}

/** Answers with llmscope's own error in the route's shape (unless the answer already started). */
function sendErrorAs(
  adapter: ProviderAdapter,
  res: ServerResponse,
  err: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // the request's URL: a Gemini stream without alt=sse gets its errors as a one-element array
  const r = adapter.renderError(err, res.req?.url);
  sendJson(res, r.status, r.body, { ...headers, ...r.headers });
}

function upstreamFailure(err: unknown, up: Upstream): LlmscopeError {
  if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError)
    return new LlmscopeError(
      'LLMSCOPE_ERR_UPSTREAM_TIMEOUT',
      `provider "${up.provider.name}" did not answer within ${up.timeoutMs} ms; raise providers[].timeout or check the upstream`,
    );
  const reason = (err as { code?: string; message?: string }).code ?? (err as Error).message ?? String(err);
  // Reached, then the connection closed under the request (a crash or restart, a proxy dropping it): baseUrl is right
  // (an HTTPS port named with http:// closes so too, sending nothing back: said when nothing came back over http://)
  if (err instanceof undiciErrors.SocketError) {
    const nothingBack = err.socket?.bytesRead === 0 && up.origin.startsWith('http://');
    return new LlmscopeError(
      'LLMSCOPE_ERR_UPSTREAM_UNREACHABLE',
      `provider "${up.provider.name}" at ${up.origin} closed the connection before its answer was complete (${reason}: ${err.message}); the upstream failed or restarted during the call, or a proxy dropped it: retry, or check the upstream's logs${nothingBack ? '; if every call to it ends so, its baseUrl may say http:// for a TLS port (use https://)' : ''}`,
    );
  }
  return new LlmscopeError(
    'LLMSCOPE_ERR_UPSTREAM_UNREACHABLE',
    `cannot reach provider "${up.provider.name}" at ${up.origin} (${reason}); check providers[].baseUrl and that the upstream is running`,
  );
}
