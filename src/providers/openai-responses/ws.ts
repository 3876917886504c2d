// The Responses API's WebSocket mode (`wss://…/v1/responses`, what the Codex CLI tries before HTTP) relayed by the
// gateway: the upgrade is admitted and opened at the provider as the Realtime API's is (src/providers/openai-realtime/
// proxy.ts); this is what happens on the open connection. The client sends `response.create` messages (the same
// top-level fields as POST /v1/responses), the upstream answers each with the same events as the SSE stream
// (response.created, response.output_text.delta, ..., response.completed / .failed / .incomplete, or `error`), and
// several responses run one after the other on the one connection (with `stream_id`, on lanes of their own).
//
// Each `response.create` is a call, as a POST /v1/responses with `stream: true` is: admitted through the gateway's
// hooks with its model and body (virtual keys' model allow-lists, rate limits, budgets, masking), routed by its model,
// then forwarded (as sent, or re-serialized when a route's alias or a hook changed it). A refusal is answered with an
// `error` event, as OpenAI sends one (`{type: "error", status, error: {type, code, message, param}}`), recorded as
// the refused HTTP call is, and the connection stays open. The upstream's events pass to the client unchanged and are
// read beside them by the Responses stream reader the SSE meter uses, so each response becomes one LlmCall (endpoint
// `responses`, stream true) with the same tokens, TTFT (first output delta since the response.create arrived), TPOT,
// finish reason, status, refusal, tool-call text and error as the streamed HTTP call. A response still open when the
// connection closes is recorded cancelled (the client closed) or upstream_stream_cut (the upstream did), with what its
// deltas streamed, counted by the tokenizer as a cut HTTP stream is.
//
// Routing cannot change mid-connection (the upstream connection holds the conversation's state: previous_response_id
// with store:false): the connection goes to the provider routed at the upgrade (its `?model=`, else the default
// provider), and a response.create whose model routes to another provider is refused with an `error` event
// (model_not_found) naming both; such a client opens a connection per provider, or uses HTTP.
import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from 'pino';
import { keepMeteredOutput, keepText } from '../../calls/bounded-text.js';
import { headerText } from '../../calls/header-text.js';
import type { CallInternals, LlmCall, Recorder } from '../../calls/index.js';
import { arrivedInternals, statusOf, toolUsesOf, tpotOf } from '../../calls/index.js';
import { ERRORS, jsonErrorText, LlmscopeError, renderError } from '../../errors.js';
import { type Admission, type Attribution, dropUnvouchedClaims, type GatewayHook } from '../../gateway/proxy.js';
import type { ModelRouter } from '../../gateway/routing.js';
import { MAX_EVENT_CHARS, SKIM } from '../../gateway/sse.js';
import type { Upstream } from '../../gateway/upstream.js';
import { JsonStreamParser } from '../../http/json-stream.js';
import { newSpanId, uuidv7 } from '../../telemetry/ids.js';
import { obj, tallyChunk } from '../adapter.js';
import { recordSettled } from '../record-settled.js';
import { leadingType } from '../scan.js';
import { StreamTally } from '../stream-tally.js';
import { codexSession, fastResponsesEvent, openaiResponsesAdapter, readEventObject } from './index.js';

type Json = Record<string, unknown>;

export interface ResponsesWsDeps {
  recorder: Recorder;
  logger: Logger;
  hooks: readonly GatewayHook[];
  /** Routes the Responses format (providers of type openai-responses and openai-compatible). */
  router: ModelRouter;
  /** The provider the connection was opened at. */
  up: Upstream;
  /** Releases what a refused admission's earlier hooks reserved (as the Realtime relay does). */
  release: (a: Admission) => void;
  /**
   * Takes a place for one response among the process's calls in flight (server.maxConcurrentCalls, shared with HTTP
   * calls: GatewayProxy.admitCarried): a function that frees it, or the error to answer (counted there, not recorded).
   */
  admitCall?: () => (() => void) | LlmscopeError;
}

/** What a connection's calls share. */
export interface ResponsesWsFacts {
  traceId: string;
  parentSpanId: string | null;
  /** The upgrade's traceparent said not sampled (flags 00): the connection's calls are recorded, not exported. */
  unsampled?: boolean;
  /** The upgrade request's headers (attribution, Codex's session_id, what the hooks read). */
  headers: IncomingHttpHeaders;
  metadata: LlmCall['metadata'];
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** Longest error message kept on a call (as the HTTP route keeps). */
const ERROR_MESSAGE_CHARS = 512;
const clip = (s: string): string | null => {
  const t = s.trim();
  return t ? (t.length > ERROR_MESSAGE_CHARS ? `${t.slice(0, ERROR_MESSAGE_CHARS - 1)}…` : t) : null;
};
/** Responses one connection may have forwarded and not yet finished; one more is refused (503 overloaded). */
export const MAX_OPEN_RESPONSES = 256;
/** Bytes of client messages waiting for their turn (an admission that waits) before the client is no longer read... */
export const BACKLOG_HIGH_BYTES = 8 * 1024 * 1024;
/** ...and how far they must fall before it is read again. */
export const BACKLOG_LOW_BYTES = 1024 * 1024;
const TERMINAL = new Set(['response.completed', 'response.failed', 'response.incomplete', 'error']);
const STREAM_ID = /"stream_id":"((?:[^"\\]|\\.)*)"/;

/** An event's JSON parsed with the SSE meter's skim limits (each string cut to its first 64K characters). */
function skimmed(text: string): unknown {
  const p = new JsonStreamParser(SKIM);
  p.write(text);
  return p.end();
}

function header(h: IncomingHttpHeaders, name: string): string | null {
  const v = h[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s ? headerText(s).slice(0, 256) : null;
}

/** One response on the connection: its request, what its events said so far (the SSE meter's tally). */
class WsResponse extends StreamTally {
  readonly internal: CallInternals;
  model = 'unknown';
  provider = 'llmscope';
  httpStatus = 200;
  /** The upstream said the response started (response.created): a later `error` is a failure in the stream. */
  started = false;
  /** The status an `error` event said (WebSocket mode's `status`), when the response never started. */
  errorStatus: number | null = null;
  errorType: string | null = null;
  responseBytes = 0;
  admission: Admission | null = null;
  endedAt: number | null = null;
  /** Frees the response's place among the calls in flight (admitCall), once it ends. */
  free: (() => void) | null = null;
  /** Refused before a live key admitted it: recorded without the connection's metadata (refuse). */
  noMetadata = false;

  constructor(
    readonly arrivalAt: number,
    readonly lane: string,
    readonly requestBytes: number,
    readonly attribution: Attribution,
    parentSpanId: string | null,
  ) {
    super();
    this.internal = arrivedInternals(arrivalAt, newSpanId(), newSpanId(), parentSpanId);
  }
}

/** The calls of one Responses WebSocket connection: admitted, forwarded, metered and recorded one response at a time. */
export class ResponsesWsSession {
  /** Responses forwarded and not yet finished, per lane (`stream_id`, '' without). */
  private readonly lanes = new Map<string, WsResponse[]>();
  /** Whether any response named a stream_id (only then are server events searched for one). */
  private named = false;
  /** Client messages are handled in order: an admission that waits (a key looked up) holds the ones after it. */
  private queue: Promise<void> = Promise.resolve();
  /** Bytes of the client messages in the queue. */
  private backlog = 0;
  /** Responses forwarded and not finished, on all lanes. */
  private open = 0;
  private ended = false;

  constructor(
    private readonly d: ResponsesWsDeps,
    private readonly f: ResponsesWsFacts,
    /** Sends llmscope's own event (an `error`) to the client. */
    private readonly reply: (text: string) => void,
    /** Stops and restarts reading the client while its messages wait (BACKLOG_HIGH_BYTES): memory stays bounded. */
    private readonly flow?: { pause(): void; resume(): void },
  ) {}

  /** A client message arrived at `at`; `forward` sends what goes on to the upstream (in the order they came). */
  client(data: Buffer, binary: boolean, at: number, forward: (out: Buffer | string) => void): void {
    const n = data.length;
    this.backlog += n;
    if (this.backlog > BACKLOG_HIGH_BYTES) this.flow?.pause();
    this.queue = this.queue.then(async () => {
      try {
        if (binary) forward(data);
        else await this.fromClient(data, at, forward);
      } catch (err) {
        this.d.logger.warn(
          { event: 'responses_ws_meter_failed', err: (err as Error)?.message },
          'a Responses WebSocket message was passed on unmetered',
        );
        forward(data);
      } finally {
        this.backlog -= n;
        if (this.backlog <= BACKLOG_LOW_BYTES) this.flow?.resume();
      }
    });
  }

  private async fromClient(data: Buffer, at: number, forward: (out: Buffer | string) => void): Promise<void> {
    if (this.ended) return;
    let msg: unknown;
    try {
      msg = JSON.parse(data.toString('utf8'));
    } catch (err) {
      // Answered here, as the HTTP route answers a body that is not JSON: an `error` event, and the refusal recorded.
      const r = new WsResponse(at, '', data.length, this.attributionOf(null), this.f.parentSpanId);
      if (this.f.unsampled) r.internal.unsampled = true;
      this.refuse(
        r,
        new LlmscopeError(
          'LLMSCOPE_ERR_INVALID_JSON',
          `message is not valid JSON (${jsonErrorText(err)}); send {"type": "response.create", "model": "...", "input": "..."}`,
        ),
        null,
      );
      return;
    }
    const m = obj(msg);
    // Any other message (an event type llmscope does not know) is the upstream's to answer.
    if (m?.type !== 'response.create') {
      forward(data);
      return;
    }
    const lane = typeof m.stream_id === 'string' ? m.stream_id : '';
    const r = new WsResponse(at, lane, data.length, this.attributionOf(m), this.f.parentSpanId);
    if (this.f.unsampled) r.internal.unsampled = true;
    if (this.open >= MAX_OPEN_RESPONSES) {
      this.refuse(
        r,
        new LlmscopeError(
          'LLMSCOPE_ERR_OVERLOADED',
          `${MAX_OPEN_RESPONSES} responses are already in flight on this WebSocket connection; wait for one to finish`,
        ),
        lane,
      );
      return;
    }
    // A place among the process's calls in flight, as a new HTTP call takes one at the door; refused as there: an
    // `error` event (503 overloaded, or shutting_down), counted as shed and not recorded (the upstream never saw it).
    const place = this.d.admitCall?.();
    if (place instanceof LlmscopeError) {
      this.reply(this.errorEvent(place, lane));
      return;
    }
    if (place) r.free = place;
    try {
      await this.admitAndForward(r, m, data, at, lane, forward);
    } finally {
      // Freed when recorded; one the connection's end left neither forwarded nor recorded is freed here.
      if (r.free && !this.lanes.get(lane)?.includes(r)) this.freeOf(r);
    }
  }

  private freeOf(r: WsResponse): void {
    const free = r.free;
    r.free = null;
    free?.();
  }

  private async admitAndForward(
    r: WsResponse,
    m: Json,
    data: Buffer,
    at: number,
    lane: string,
    forward: (out: Buffer | string) => void,
  ): Promise<void> {
    const model = m.model;
    if (typeof model !== 'string' || model.length === 0) {
      this.refuse(
        r,
        new LlmscopeError(
          'LLMSCOPE_ERR_MISSING_MODEL',
          'response.create has no "model"; name the model to call, e.g. "model": "gpt-4o-mini"',
          { param: 'model' },
        ),
        lane,
      );
      return;
    }
    r.model = model.slice(0, 256);
    const d = this.d;
    const a: Admission | null =
      d.hooks.length === 0
        ? null
        : {
            requestId: uuidv7(),
            endpoint: 'responses',
            format: 'openai-responses',
            model: r.model,
            provider: '',
            body: m,
            headers: this.f.headers,
            attribution: r.attribution,
            forwardClientAuth: true,
            state: {},
          };
    try {
      if (a) for (const h of d.hooks) if (h.authenticate) await h.authenticate(a);
      const resolved = d.router.resolve(r.model);
      if (!resolved)
        throw new LlmscopeError(
          'LLMSCOPE_ERR_UNROUTABLE_MODEL',
          `no provider of type openai-responses or openai-compatible serves model "${r.model}"`,
          { param: 'model' },
        );
      if (resolved.provider.name !== d.up.provider.name)
        throw new LlmscopeError(
          'LLMSCOPE_ERR_UNROUTABLE_MODEL',
          `model "${r.model}" is served by provider "${resolved.provider.name}", and this WebSocket connection is to provider "${d.up.provider.name}" (routed when it opened; a connection cannot change provider); open a connection for that model (wss://…/v1/responses?model=${r.model}) or send it over HTTP`,
          { param: 'model' },
        );
      r.provider = resolved.provider.name;
      if (a) {
        (a as { provider: string }).provider = r.provider;
        for (const h of d.hooks) if (h.admit) await h.admit(a);
      }
      r.admission = a;
      let out: Buffer | string = data;
      if (resolved.upstreamModel !== r.model) {
        m.model = resolved.upstreamModel;
        out = JSON.stringify(m);
      } else if (a?.bodyChanged) out = JSON.stringify(m);
      this.prepare(r, m);
      if (this.ended) return;
      if (lane) this.named = true;
      let list = this.lanes.get(lane);
      if (!list) {
        list = [];
        this.lanes.set(lane, list);
      }
      list.push(r);
      this.open++;
      r.internal.upstreamStartAt = at;
      forward(out);
    } catch (err) {
      if (a) d.release(a);
      this.refuse(r, err, lane);
    }
  }

  /** The attribution headers name, the body's end user and Codex's session when they name none. */
  private attributionOf(body: Json | null): Attribution {
    const h = this.f.headers;
    const at: Attribution = {
      user: header(h, 'x-llmscope-user'),
      team: header(h, 'x-llmscope-team'),
      feature: header(h, 'x-llmscope-feature'),
      session: header(h, 'x-llmscope-session'),
      apiKeyId: null,
    };
    if (body) {
      const user = openaiResponsesAdapter.userOf?.(body);
      if (typeof user === 'string' && !at.user) at.user = user.slice(0, 256);
    }
    if (!at.session) at.session = codexSession(h)?.slice(0, 256) ?? null;
    return at;
  }

  /** What the HTTP route reads of the request: params, prompt, tools, routing time. */
  private prepare(r: WsResponse, body: Json): void {
    const i = r.internal;
    const ad = openaiResponsesAdapter;
    i.routedAt = r.arrivalAt;
    i.serverAddress = this.d.up.host;
    i.serverPort = this.d.up.port;
    i.params = ad.params(body);
    const assistant: number[] = [];
    const prompt = keepText(ad.promptText(body, 'responses', assistant), assistant);
    i.promptText = prompt.text;
    if (prompt.totalChars !== prompt.text.length) i.promptChars = prompt.totalChars;
    if (assistant.length > 0) i.assistantRanges = assistant;
    if (ad.promptFraming) i.promptFraming = ad.promptFraming(body, 'responses');
    if (Array.isArray(body.tools) && body.tools.length > 0) i.tools = body.tools;
  }

  /** Answers a refused response.create with an `error` event, and records it as the HTTP route records a refusal. */
  private refuse(r: WsResponse, err: unknown, lane: string | null): void {
    if (!(err instanceof LlmscopeError))
      this.d.logger.error({ event: 'gateway_error', err }, 'unexpected error on a Responses WebSocket');
    const rendered = renderError(err);
    this.reply(this.errorEvent(err, lane));
    r.httpStatus = rendered.status;
    r.errorType = err instanceof LlmscopeError ? ERRORS[err.code].code : 'internal_error';
    r.errorMessage = clip(err instanceof Error ? err.message : String(err));
    if (err instanceof LlmscopeError) r.internal.ownError = true;
    // Refused before a live key admitted this response (it named no model; the connection's key was revoked or
    // expired since it opened): what the upgrade's headers claimed is not recorded once keys exist (QA36), as on the
    // HTTP route; in a gateway worker the recorder process decides (internal.unvouched).
    if (r.attribution.apiKeyId === null) {
      if (dropUnvouchedClaims(this.d.hooks, r.attribution)) r.noMetadata = true;
      else r.internal.unvouched = true;
    }
    r.endedAt = r.arrivalAt;
    this.record(r, null);
  }

  /** An `error` event as OpenAI sends one, for `err`. */
  private errorEvent(err: unknown, lane: string | null): string {
    const rendered = renderError(err);
    const event: Json = { type: 'error', status: rendered.status, error: rendered.body.error };
    if (lane) event.stream_id = lane;
    return JSON.stringify(event);
  }

  /** An upstream message arrived at `at` (already passed on to the client). Fails open: never ends the relay. */
  server(data: Buffer, binary: boolean, at: number): void {
    if (binary || this.ended) return;
    try {
      this.fromServer(data, at);
    } catch (err) {
      this.d.logger.warn(
        { event: 'responses_ws_meter_failed', err: (err as Error)?.message },
        'a Responses WebSocket event was passed on unread',
      );
    }
  }

  private fromServer(data: Buffer, at: number): void {
    const text = data.toString('utf8');
    let lane = '';
    if (this.named) {
      const s = STREAM_ID.exec(text);
      if (s) lane = JSON.parse(`"${s[1]}"`) as string; // (its escapes, as the client sent them)
    }
    const r = this.lanes.get(lane)?.[0];
    if (!r) return;
    r.responseBytes += data.length;
    const i = r.internal;
    if (i.upstreamHeadersAt === null) i.upstreamHeadersAt = at;
    let type = leadingType(text);
    // The common events are read without parsing (fastResponsesEvent, the SSE meter's first reader); any other is
    // parsed once, here, for both what the meter reads and what this reads (the response's id, an error's status).
    let info = fastResponsesEvent(text);
    let parsed: Json | null = null;
    if (info === null || type === null || type === 'response.created' || type === 'error') {
      let o: unknown;
      try {
        // An event longer than the SSE meter reads whole (a response.completed holding a generated image's base64)
        // is skimmed as it skims one: its strings cut to their first 64K characters, so several MB are never
        // parsed into strings; its usage and status are read all the same.
        o = text.length > MAX_EVENT_CHARS ? skimmed(text) : JSON.parse(text);
      } catch {
        o = undefined;
      }
      if (o !== undefined) {
        parsed = obj(o);
        info ??= readEventObject(o);
      }
      if (type === null || parsed !== null) type = typeof parsed?.type === 'string' ? parsed.type : type;
    }
    if (info) tallyChunk(r, info, at);
    if (type === 'response.created') {
      r.started = true;
      const resp = obj(parsed?.response);
      if (typeof resp?.id === 'string') i.responseId = resp.id;
      if (typeof resp?.model === 'string') i.responseModel = resp.model;
    } else if (type === 'error' && !r.started && typeof parsed?.status === 'number' && parsed.status >= 400)
      r.errorStatus = parsed.status;
    if (type !== null && TERMINAL.has(type)) {
      this.lanes.get(lane)?.shift();
      this.open--;
      i.upstreamEndAt = at;
      r.endedAt = at;
      this.record(r, null);
    }
  }

  /** The connection closed (`closedBy` first): every response still open is recorded cut. */
  end(at: number, closedBy: 'client' | 'upstream' | null): void {
    if (this.ended) return;
    this.ended = true;
    for (const list of this.lanes.values())
      for (const r of list) {
        r.internal.upstreamEndAt = at;
        r.endedAt = at;
        this.record(r, closedBy === 'upstream' ? 'upstream' : 'client');
      }
    this.lanes.clear();
  }

  private record(r: WsResponse, cutBy: 'client' | 'upstream' | null): void {
    this.freeOf(r);
    recordSettled(this.d, r.admission, () => this.call(r, cutBy), {
      event: 'responses_ws_record_failed',
      message: 'a Responses WebSocket response was not recorded',
    });
  }

  /** The LlmCall the streamed HTTP call would have made (src/gateway/proxy.ts: Flight.finish and the meter's read). */
  private call(r: WsResponse, cutBy: 'client' | 'upstream' | null): LlmCall {
    const i = r.internal;
    const endedAt = r.endedAt ?? r.arrivalAt;
    let httpStatus = r.httpStatus;
    let errorType = r.errorType;
    let errorMessage = r.errorMessage;
    let failedInBody = false;
    const cancelled = cutBy === 'client';
    if (cutBy === 'client') {
      httpStatus = 499;
      errorType = 'client_closed_request';
    } else if (cutBy === 'upstream') {
      httpStatus = 502;
      errorType = 'upstream_stream_cut';
      errorMessage = 'the upstream closed the WebSocket before the response was done';
    } else if (r.errorStatus !== null) {
      // An `error` before the response started: the upstream refused the request, as its HTTP 4xx/5xx answer does.
      httpStatus = r.errorStatus;
      errorType = r.error;
      errorMessage = r.errorMessage === null ? null : clip(r.errorMessage);
    } else if (r.error !== null && errorType === null) {
      failedInBody = true;
      errorType = r.error;
      if (r.errorMessage !== null) errorMessage = clip(r.errorMessage);
    }
    keepMeteredOutput(i, r);
    const u = r.usage;
    const status = failedInBody
      ? r.rateLimited
        ? 'rate_limited'
        : 'upstream_error'
      : statusOf(httpStatus, { cancelled });
    const outputTokens = u?.outputTokens ?? null;
    if (u?.cacheWrite1hInputTokens) i.cacheWrite1hInputTokens = u.cacheWrite1hInputTokens;
    if (u?.serviceTier) i.serviceTier = u.serviceTier;
    if (u?.toolUses) i.toolUses = toolUsesOf(u.toolUses, i.tools);
    const latency = endedAt - r.arrivalAt;
    const upstreamMs = i.upstreamStartAt !== null ? (i.upstreamEndAt ?? endedAt) - i.upstreamStartAt : 0;
    const a = r.attribution;
    const id = i.responseId && REQUEST_ID.test(i.responseId) ? i.responseId : uuidv7();
    return {
      requestId: id,
      traceId: this.f.traceId,
      startedAt: r.arrivalAt,
      endedAt,
      provider: r.provider,
      model: r.model,
      endpoint: 'responses',
      stream: true,
      status,
      httpStatus,
      errorType,
      errorMessage,
      user: a.user,
      team: a.team,
      feature: a.feature,
      session: a.session,
      apiKeyId: a.apiKeyId,
      metadata: r.noMetadata ? null : this.f.metadata,
      inputTokens: u?.inputTokens ?? null,
      outputTokens,
      cachedInputTokens: u?.cachedInputTokens ?? null,
      cacheWriteInputTokens: u?.cacheWriteInputTokens ?? null,
      reasoningTokens: u?.reasoningTokens ?? null,
      tokenSource: u ? 'usage' : null,
      ttftMs: i.firstContentAt !== null ? i.firstContentAt - r.arrivalAt : null,
      tpotMs: tpotOf(i.firstContentAt, i.lastContentAt, outputTokens),
      latencyMs: latency,
      overheadMs: Math.max(0, latency - upstreamMs),
      costUsd: null,
      price: null,
      finishReason: r.finishReason,
      refusal: r.refusal !== null || r.finishReason === 'content_filter',
      requestBytes: r.requestBytes,
      responseBytes: r.responseBytes,
      source: 'gateway',
      spans: [],
      events: [],
      content: null,
      internal: i,
    };
  }
}
