// OpenAI's Realtime API over WebSocket through the gateway: the upgrade at `/v1/realtime` (query as sent) is admitted as
// an HTTP call is (virtual keys, rate limits, budgets: the gateway's hooks), routed by its `model` to an
// OpenAI-compatible provider, and opened there as the same WebSocket (the provider's base URL, http→ws, https→wss) with
// the client's auth (Authorization, OpenAI-Beta, the browser's `openai-insecure-api-key.<key>` subprotocol) unless the
// provider has its own key or a virtual key was used. Only once the upstream has accepted is the client's upgrade
// completed (with the subprotocol the upstream chose), so an upstream's refusal reaches the client as it was sent
// (status, body). Then every frame is relayed both ways as it came (text and binary), and a close on either side closes
// the other with the same code and reason.
//
// The Responses API's WebSocket mode (`/v1/responses`) is upgraded and opened the same way, at the provider its `?model=`
// routes to (else the default one), and metered per response.create by ResponsesWsSession (../openai-responses/ws.ts);
// a provider's refusal of that upgrade reaches the client as 426 websocket_not_supported (Codex then goes on over HTTP).
//
// Metering (meter.ts) reads the server events as they pass: each `response.done`, and each completed input audio
// transcription, becomes one LlmCall (endpoint `realtime`), recorded through the same hooks' settle and the same recorder as an HTTP call. It fails open: an error
// in it stops the metering of that session, never the relay.
import type { IncomingHttpHeaders, IncomingMessage, Server } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import { keepText } from '../../calls/bounded-text.js';
import { headerText } from '../../calls/header-text.js';
import type { LlmCall, Recorder } from '../../calls/index.js';
import { arrivedInternals, metadataOfHeaders, statusOf, tpotOf, unspentCall } from '../../calls/index.js';
import type { Config } from '../../config/index.js';
import { LlmscopeError, renderError } from '../../errors.js';
import { now } from '../../gateway/now.js';
import type { Admission, Attribution, GatewayHook } from '../../gateway/proxy.js';
import { ModelRouter } from '../../gateway/routing.js';
import { cookieForUpstream, relaysOwnKey, type Upstream } from '../../gateway/upstream.js';
import { checkGatewayLoopbackHost } from '../../http/index.js';
import { maskBody } from '../../privacy/mask.js';
import { Redactor } from '../../privacy/redact.js';
import { formatTraceparent, newSpanId, newTraceId, parseTraceparent, uuidv7 } from '../../telemetry/ids.js';
import { ResponsesWsSession } from '../openai-responses/ws.js';
import { recordSettled } from '../record-settled.js';
import { RealtimeMeter, type RealtimeResponse } from './meter.js';
import { isWebSocketUpgrade, serveAsPlainRequest } from './plain-upgrade.js';

export const REALTIME_PATH = '/v1/realtime';
/**
 * Marks (in its hook state) a Realtime upgrade's admission, which a session holds for its first response: held while
 * the session waits, maybe for minutes (server VAD starts the first response when the user speaks). A `serve --workers`
 * worker that dies is not known to have had a response running on it, so the recorder process gives back what it
 * reserved and records no call for it (src/cluster/admissions.ts).
 */
export const REALTIME_SESSION_STATE = 'realtimeSession';
/**
 * The Responses API's WebSocket mode: upgraded and opened at the provider here as a Realtime session is, its messages
 * metered per response by ResponsesWsSession (src/providers/openai-responses/ws.ts). A provider that refuses the
 * upgrade (vLLM, any without the mode) makes it a 426 websocket_not_supported, on which a client such as the Codex
 * CLI goes on over HTTP at once.
 */
export const RESPONSES_WS_PATH = '/v1/responses';

export interface RealtimeDeps {
  config: Config;
  recorder: Recorder;
  logger: Logger;
  upstreams: ReadonlyMap<string, Upstream>;
  /** The gateway's admission hooks (in a `serve --workers` worker: the one that runs the primary's). */
  hooks: readonly GatewayHook[];
  /** True while shutting down: new sessions get 503. */
  draining: () => boolean;
  /** llmscope listens on loopback: a session without a virtual key needs a loopback Host, as a call does. */
  loopback: boolean;
  /**
   * Releases what an admission reserved (budgets, tokens per minute) when no call will settle it: the upgrade refused
   * or failed after it was admitted, a session that ended before any response, a later response refused. Absent: the
   * hooks' `settle` with a call that spent nothing (one process); a `serve --workers` worker asks the primary, which
   * holds the admission (`hooks.abandon`).
   */
  release?: (a: Admission) => void;
  /**
   * Told once a session, when its first response starts (response.created) on the upgrade's admission, which it
   * holds till then (REALTIME_SESSION_STATE): a `serve --workers` worker tells the recorder process, so that should
   * it die while that response runs, the response is recorded as cut (as a later one is) rather than released
   * unrecorded as an idle session's admission is.
   */
  onFirstResponse?: (a: Admission, responseId: string) => void;
  /**
   * Takes a place for one Responses WebSocket response among the process's calls in flight (server.maxConcurrentCalls,
   * with the HTTP calls: GatewayProxy.admitCarried): a function that frees it, or the error that refuses it. Absent:
   * only the per-connection bound applies.
   */
  admitCall?: () => (() => void) | LlmscopeError;
  /**
   * The process's redactor (counting in llmscope_redactions_total, as HTTP masking does); absent: one of the config's
   * patterns that counts nowhere.
   */
  redactor?: Redactor;
}

export interface RealtimeGateway {
  /** Sessions open now. */
  readonly sessions: number;
  /** Sessions open now by kind: Realtime's, and the Responses API's WebSocket mode (llmscope_websocket_sessions). */
  sessionsByKind(): { realtime: number; responses: number };
  /** Closes every session (1001, going away) on both sides; resolves once their sockets are gone (bounded). */
  closeAll(timeoutMs?: number): Promise<void>;
}

/** The browser's way to send a key: a WebSocket subprotocol, since a browser cannot set Authorization. */
const KEY_PROTOCOL = 'openai-insecure-api-key.';
/** The handshake and hop-by-hop headers: the upstream handshake makes its own. */
const NOT_FORWARDED = new Set([
  'host',
  'connection',
  'upgrade',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'content-length',
  'accept-encoding',
  'expect',
  'traceparent',
  'tracestate',
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-extensions',
  'sec-websocket-protocol',
]);
const WS_KEY = /^[+/0-9A-Za-z]{22}==$/;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** What ws accepts to send in a close frame. */
const sendableCode = (code: number): boolean =>
  (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
/** Chosen subprotocol of an upgrade whose upstream accepted (read by handleProtocols). */
const CHOSEN = Symbol('realtime.protocol');

function header(h: IncomingHttpHeaders, name: string): string | null {
  const v = h[name];
  const s = Array.isArray(v) ? v[0] : v;
  // UTF-8 bytes arrive read as latin1 ("fé" as "fÃ©"): decoded back, so the store and labels hold what was sent
  return s ? headerText(s).slice(0, 256) : null;
}

/**
 * Whether server.corsOrigins names a browser's Origin, compared as the /api CORS check and the gateway's cross-site
 * check compare them: as normalized origins (scheme and host lowercased, a default port dropped), so
 * `https://App.example.com:443` in the config names the `https://app.example.com` a browser sends.
 */
function namedOrigin(origin: string, corsOrigins: readonly string[]): boolean {
  let own: string;
  try {
    own = new URL(origin).origin;
  } catch {
    // "null" (a sandboxed frame, a file: page) or garbage: named by nothing
    return false;
  }
  return corsOrigins.some((o) => {
    try {
      return new URL(o).origin === own;
    } catch {
      return false;
    }
  });
}

/** Answers an upgrade with llmscope's own error, as HTTP, in OpenAI's error shape; the socket is closed after. */
function refuse(socket: Duplex, err: unknown, requestId: string): void {
  if (socket.destroyed) return;
  const r = renderError(err);
  const body = JSON.stringify(r.body);
  let head = `HTTP/1.1 ${r.status} ${STATUS_CODES[r.status] ?? 'Error'}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nx-request-id: ${requestId}\r\n`;
  for (const [k, v] of Object.entries(r.headers)) head += `${k}: ${v}\r\n`;
  socket.end(`${head}connection: close\r\n\r\n${body}`);
}

/** What a session's calls share. */
interface SessionFacts {
  requestId: string;
  traceId: string;
  parentSpanId: string | null;
  /** The upgrade's traceparent said not sampled: the session's calls are not exported. */
  unsampled: boolean;
  model: string | null;
  up: Upstream;
  admission: Admission | null;
  /** The Responses API's WebSocket mode (its upgrade's headers): metered per response.create, not as Realtime. */
  responses: IncomingHttpHeaders | null;
  attribution: Attribution;
  metadata: LlmCall['metadata'];
}

/**
 * Serves `/v1/realtime` and `/v1/responses` (the Responses API's WebSocket mode) upgrades on `server`; any other
 * upgrade is refused (404).
 */
/**
 * privacy.maskUpstream on a Realtime session: a client event's text (session.update's instructions, a
 * conversation.item.create's content, response.create's instructions and input) is masked as an HTTP call's body is
 * (maskBody), and the event re-serialized when anything was found; an event without a match, an audio append (most of
 * a voice session's messages, never parsed) and anything that is not JSON go upstream as they came.
 */
function realtimeMask(redactor: Redactor): (data: Buffer) => Buffer {
  return (data) => {
    if (data.subarray(0, 128).includes('input_audio_buffer.append')) return data;
    let m: unknown;
    try {
      m = JSON.parse(data.toString('utf8'));
    } catch {
      return data;
    }
    return maskBody(redactor, m) ? Buffer.from(JSON.stringify(m)) : data;
  };
}

export function attachRealtime(server: Server, d: RealtimeDeps): RealtimeGateway {
  const router = new ModelRouter(d.config.providers, d.config.routes, ['openai-compatible']);
  // The Responses format's providers, as the HTTP route routes it (src/gateway/proxy.ts: PROVIDER_TYPES)
  const responsesRouter = new ModelRouter(d.config.providers, d.config.routes, [
    'openai-responses',
    'openai-compatible',
  ]);
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    skipUTF8Validation: true,
    maxPayload: Math.max(d.config.server.bodyLimit, 16 * 1024 * 1024),
    handleProtocols: (_offered, req) => (req as IncomingMessage & { [CHOSEN]?: string })[CHOSEN] || false,
  });
  // privacy.maskUpstream: a Realtime session's text events are masked before they go upstream (realtimeMask).
  const mask = d.config.privacy.maskUpstream
    ? realtimeMask(d.redactor ?? new Redactor({ patterns: d.config.privacy.patterns }))
    : null;
  const live = new Set<WebSocket>();
  /** Of `live`, the Responses API's WebSocket mode sessions. */
  let liveResponses = 0;
  const gone = new Set<Promise<void>>();
  const release = (a: Admission): void => {
    try {
      if (d.release) d.release(a);
      else {
        const call = unspentCall({
          requestId: a.requestId,
          provider: a.provider,
          model: a.model,
          endpoint: 'realtime',
          stream: true,
          errorType: 'client_closed_request',
          attribution: a.attribution,
          hooks: a.state,
          at: now(),
        });
        for (const h of d.hooks) h.settle?.(a, call);
      }
    } catch (err) {
      d.logger.warn(
        { event: 'realtime_release_failed', err: (err as Error)?.message, request_id: a.requestId },
        'what a realtime admission reserved was not released',
      );
    }
  };
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (!isWebSocketUpgrade(req)) return serveAsPlainRequest(server, req, socket, head);
    socket.on('error', () => undefined);
    const incoming = header(req.headers, 'x-request-id');
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : uuidv7();
    open(req, socket, head, requestId).catch((err) => {
      if (!(err instanceof LlmscopeError))
        d.logger.error({ event: 'gateway_error', err, request_id: requestId }, 'realtime upgrade failed');
      refuse(socket, err, requestId);
    });
  });

  async function open(req: IncomingMessage, socket: Duplex, head: Buffer, requestId: string): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://llmscope');
    const path = url.pathname;
    const responsesWs = path === RESPONSES_WS_PATH;
    if (path !== REALTIME_PATH && !responsesWs)
      throw new LlmscopeError(
        'LLMSCOPE_ERR_NOT_FOUND',
        `no WebSocket route at ${path}; llmscope serves OpenAI's Realtime API at ${REALTIME_PATH}?model=...`,
      );
    const key = header(req.headers, 'sec-websocket-key');
    const version = header(req.headers, 'sec-websocket-version');
    if (req.method !== 'GET' || !key || !WS_KEY.test(key) || (version !== '13' && version !== '8'))
      throw new LlmscopeError(
        'LLMSCOPE_ERR_MALFORMED_REQUEST',
        'not a valid WebSocket upgrade (GET with Sec-WebSocket-Key and Sec-WebSocket-Version: 13)',
      );
    if (d.draining())
      throw new LlmscopeError(
        'LLMSCOPE_ERR_SHUTTING_DOWN',
        'llmscope is shutting down; retry against another replica',
        {
          headers: { 'retry-after': '1' },
        },
      );
    // The client's offered subprotocols; a browser's key among them is read as its Authorization.
    const offered = (header(req.headers, 'sec-websocket-protocol') ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean);
    const protocolKey = offered.find((p) => p.startsWith(KEY_PROTOCOL))?.slice(KEY_PROTOCOL.length) ?? null;
    const headers: IncomingHttpHeaders = { ...req.headers };
    if (headers.authorization === undefined && protocolKey) headers.authorization = `Bearer ${protocolKey}`;
    const virtualKey = /^Bearer\s+lsk_/i.test(String(headers.authorization ?? ''));
    if (d.loopback)
      checkGatewayLoopbackHost({ headers } as IncomingMessage, path, () => relaysOwnKey(d.upstreams, d.config));
    // A browser page on another site can open a WebSocket to llmscope (no CORS for WebSockets): without a virtual key
    // it would ride on the provider's key or loopback trust, so only the origins server.corsOrigins names may.
    const origin = header(req.headers, 'origin');
    if (origin !== null && !virtualKey && !namedOrigin(origin, d.config.server.corsOrigins))
      throw new LlmscopeError(
        'LLMSCOPE_ERR_FORBIDDEN',
        `a browser page at ${origin} may open a Realtime session only with a virtual key (the openai-insecure-api-key.lsk_... subprotocol), or when server.corsOrigins names its origin`,
      );
    const meta = metadataOfHeaders(req.headers);
    if (meta?.problem)
      throw new LlmscopeError('LLMSCOPE_ERR_INVALID_METADATA', `invalid metadata: ${meta.problem.message}`, {
        param: meta.problem.param,
      });
    const model = url.searchParams.get('model');
    const attribution: Attribution = {
      user: header(req.headers, 'x-llmscope-user'),
      team: header(req.headers, 'x-llmscope-team'),
      feature: header(req.headers, 'x-llmscope-feature'),
      session: header(req.headers, 'x-llmscope-session'),
      apiKeyId: null,
    };
    const admission: Admission | null =
      d.hooks.length === 0
        ? null
        : {
            requestId,
            endpoint: responsesWs ? 'responses' : 'realtime',
            format: responsesWs ? 'openai-responses' : 'openai-compatible',
            model: model ?? '',
            provider: '',
            body: {},
            headers,
            attribution,
            forwardClientAuth: true,
            state: responsesWs ? {} : { [REALTIME_SESSION_STATE]: true },
          };
    // From here the admission may hold reservations: released unless a session takes them over.
    let handed = false;
    try {
      await admitAndOpen();
    } finally {
      // A Responses connection's upgrade admission only authenticated it: each response.create is admitted itself.
      if ((!handed || responsesWs) && admission) release(admission);
    }

    async function admitAndOpen(): Promise<void> {
      if (admission) for (const h of d.hooks) if (h.authenticate) await h.authenticate(admission);
      // A sideband connection (`?call_id=`) names no model: the default provider's. A Responses connection names its
      // model per response.create: it goes to the provider its `?model=` routes to, else the default one.
      const routing = responsesWs ? responsesRouter : router;
      const types = responsesWs ? 'openai-responses or openai-compatible' : 'openai-compatible';
      const resolved = model ? routing.resolve(model) : null;
      const provider = resolved?.provider ?? (model ? null : routing.defaultProvider());
      if (!provider)
        throw new LlmscopeError(
          'LLMSCOPE_ERR_UNROUTABLE_MODEL',
          model
            ? `no provider of type ${types} serves model "${model}"`
            : `no provider of type ${types} is configured; add one to providers in the config file`,
          { param: 'model' },
        );
      const up = d.upstreams.get(provider.name) as Upstream;
      if (admission && !responsesWs) {
        (admission as { provider: string }).provider = provider.name;
        for (const h of d.hooks) if (h.admit) await h.admit(admission);
      }
      if (socket.destroyed) return;

      // The upstream URL: the provider's base URL as a WebSocket URL, the client's query (its model as routed).
      const target = new URL(up.provider.baseUrl);
      target.protocol = target.protocol === 'https:' ? 'wss:' : 'ws:';
      target.pathname = `${up.basePath}${responsesWs ? '/responses' : '/realtime'}`;
      target.search = url.search;
      if (resolved && model && resolved.upstreamModel !== model)
        target.searchParams.set('model', resolved.upstreamModel);
      const tp = parseTraceparent(req.headers.traceparent);
      const traceId = tp?.traceId ?? newTraceId();
      const parentSpanId = tp?.parentSpanId ?? null;
      // the client's trace not sampled (flags 00): its calls recorded, not exported, 00 sent on (decision 59)
      const unsampled = tp !== null && (tp.flags & 1) === 0;
      const forwardAuth = (admission?.forwardClientAuth ?? true) && !up.hasKey;
      const out: Record<string, string> = {};
      for (const k in req.headers) {
        const v = req.headers[k];
        if (v === undefined || NOT_FORWARDED.has(k) || k.startsWith('x-llmscope-')) continue;
        if ((k === 'authorization' || k === 'x-api-key') && !forwardAuth) continue;
        if (k === 'cookie') {
          const c = cookieForUpstream(Array.isArray(v) ? v.join('; ') : v);
          if (c !== null) out[k] = c;
          continue;
        }
        out[k] = Array.isArray(v) ? v.join(', ') : v;
      }
      Object.assign(out, up.extraHeaders, up.auth);
      out.traceparent = formatTraceparent(traceId, newSpanId(), unsampled ? 0 : 1);
      out['x-request-id'] = requestId;
      const protocols = offered.filter((p) => forwardAuth || !p.startsWith(KEY_PROTOCOL));
      const upstream = new WebSocket(target, protocols, {
        headers: out,
        perMessageDeflate: false,
        skipUTF8Validation: true,
        handshakeTimeout: up.timeoutMs,
      });
      upstream.binaryType = 'nodebuffer';
      // The client left while the upstream was being opened.
      const dropped = () => upstream.terminate();
      socket.once('close', dropped);
      await new Promise<void>((resolve, reject) => {
        upstream.once('unexpected-response', (_r, res) => {
          // The upstream refused the upgrade: its answer goes to the client as it was (status, type, body).
          socket.off('close', dropped);
          if (responsesWs) {
            // ...but a Responses client is told 426, the answer on which Codex goes on over HTTP at once (a 404 or
            // any other costs it its reconnect retries first); over HTTP it then gets the provider's own answer.
            res.resume();
            upstream.terminate();
            reject(
              new LlmscopeError(
                'LLMSCOPE_ERR_UPGRADE_REFUSED',
                `provider "${provider.name}" does not serve the Responses API's WebSocket mode (it answered the upgrade ${res.statusCode}); send the call over HTTP (POST ${RESPONSES_WS_PATH})`,
              ),
            );
            return;
          }
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', () => undefined);
          res.on('end', () => {
            const body = Buffer.concat(chunks);
            let h = `HTTP/1.1 ${res.statusCode} ${res.statusMessage ?? STATUS_CODES[res.statusCode ?? 502] ?? ''}\r\n`;
            for (const k of ['content-type', 'retry-after', 'www-authenticate', 'x-request-id', 'openai-organization'])
              if (res.headers[k] !== undefined) h += `${k}: ${String(res.headers[k])}\r\n`;
            if (res.headers['x-request-id'] === undefined) h += `x-request-id: ${requestId}\r\n`;
            if (!socket.destroyed)
              socket.end(
                Buffer.concat([Buffer.from(`${h}content-length: ${body.length}\r\nconnection: close\r\n\r\n`), body]),
              );
            upstream.terminate();
            resolve();
          });
        });
        upstream.once('error', (err) => {
          socket.off('close', dropped);
          reject(
            /timeout/i.test(err.message)
              ? new LlmscopeError(
                  'LLMSCOPE_ERR_UPSTREAM_TIMEOUT',
                  `provider "${provider.name}" did not accept the WebSocket within ${up.timeoutMs} ms; raise providers[].timeout or check the upstream`,
                )
              : new LlmscopeError(
                  'LLMSCOPE_ERR_UPSTREAM_UNREACHABLE',
                  `cannot open the ${responsesWs ? 'Responses' : 'Realtime'} WebSocket at provider "${provider.name}" (${(err as NodeJS.ErrnoException).code ?? err.message}); check providers[].baseUrl and that the upstream is running`,
                ),
          );
        });
        upstream.once('open', () => {
          socket.off('close', dropped);
          upstream.removeAllListeners('error');
          upstream.removeAllListeners('unexpected-response');
          if (!socket.destroyed) {
            (req as IncomingMessage & { [CHOSEN]?: string })[CHOSEN] = upstream.protocol;
            // (the callback runs at once unless the client's socket is gone)
            wss.handleUpgrade(req, socket, head, (client) => {
              handed = true;
              relay(client, upstream, {
                requestId,
                traceId,
                parentSpanId,
                unsampled,
                model,
                up,
                // (a Responses connection's was released above: its calls are admitted one by one)
                admission: responsesWs ? null : admission,
                attribution,
                metadata: meta?.metadata ?? null,
                // (with a browser's subprotocol key as its Authorization, for each response's admission)
                responses: responsesWs ? headers : null,
              });
            });
          }
          if (!handed) upstream.terminate();
          resolve();
        });
      });
    }
  }

  function relay(client: WebSocket, upstream: WebSocket, s: SessionFacts): void {
    live.add(client);
    if (s.responses) liveResponses++;
    let ended!: () => void;
    const closed = new Promise<void>((r) => {
      ended = r;
    });
    gone.add(closed);
    /** Who closed first: a response still open then was cut by that side. */
    let closedBy: 'client' | 'upstream' | null = null;
    const recorder = new SessionRecorder(d, s, release, (err) => {
      // A later response that its admission refuses (a budget spent, a key revoked) ends the session.
      const r = renderError(err);
      const text = JSON.stringify({
        type: 'error',
        event_id: `event_${uuidv7()}`,
        error: { ...r.body.error, event_id: null },
      });
      if (client.readyState === WebSocket.OPEN) client.send(text);
      const reason = Buffer.from(r.body.error.message).subarray(0, 120);
      if (client.readyState === WebSocket.OPEN) client.close(1008, reason);
      if (upstream.readyState === WebSocket.OPEN) upstream.close(1008, reason);
    });
    let meter: RealtimeMeter | null = new RealtimeMeter(s.model, (r) => recorder.finished(r, meter, closedBy));
    meter.onCreated = (id, model) => recorder.created(id, model);
    const failed = (err: unknown) => {
      meter = null;
      d.logger.warn(
        { event: 'realtime_meter_failed', err: (err as Error)?.message, request_id: s.requestId },
        'realtime session passed through unmetered from here on',
      );
    };
    const toUpstream = new Forward(client, upstream);
    const toClient = new Forward(upstream, client);
    const responses = s.responses
      ? new ResponsesWsSession(
          {
            recorder: d.recorder,
            logger: d.logger,
            hooks: d.hooks,
            router: responsesRouter,
            up: s.up,
            release,
            admitCall: d.admitCall,
          },
          {
            traceId: s.traceId,
            parentSpanId: s.parentSpanId,
            unsampled: s.unsampled,
            headers: s.responses,
            metadata: s.metadata,
          },
          (text) => {
            if (client.readyState === WebSocket.OPEN) client.send(text);
          },
          {
            pause: () => {
              if (!client.isPaused) client.pause();
            },
            // (unless the upstream's own backlog holds it: Forward resumes it then)
            resume: () => {
              if (client.isPaused && toUpstream.waiting <= FORWARD_LOW_BYTES && client.readyState === WebSocket.OPEN)
                client.resume();
            },
          },
        )
      : null;
    if (responses) {
      // A Responses connection: each client message through its session (admitted, maybe answered there), each
      // upstream event passed on, then read.
      meter = null;
      client.on('message', (data: RawData, binary: boolean) =>
        responses.client(data as Buffer, binary, now(), (out) =>
          toUpstream.send(typeof out === 'string' ? Buffer.from(out) : out, binary),
        ),
      );
      upstream.on('message', (data: RawData, binary: boolean) => {
        toClient.send(data as Buffer, binary);
        responses.server(data as Buffer, binary, now());
      });
    } else {
      client.on('message', (data: RawData, binary: boolean) => {
        const out = mask && !binary ? mask(data as Buffer) : (data as Buffer);
        toUpstream.send(out, binary);
        if (meter)
          try {
            meter.client(out, binary, now());
          } catch (err) {
            failed(err);
          }
      });
      upstream.on('message', (data: RawData, binary: boolean) => {
        toClient.send(data as Buffer, binary);
        if (meter)
          try {
            meter.server(data as Buffer, binary, now());
          } catch (err) {
            failed(err);
          }
      });
    }
    const pass = (to: WebSocket, code: number, reason: Buffer) => {
      if (to.readyState === WebSocket.CLOSED || to.readyState === WebSocket.CLOSING) return;
      if (code === 1006) to.terminate();
      else if (sendableCode(code)) to.close(code, reason);
      else to.close();
    };
    let open = 2;
    const both = () => {
      if (--open > 0) return;
      if (live.delete(client) && s.responses) liveResponses--;
      responses?.end(now(), closedBy);
      try {
        meter?.end(now());
      } catch (err) {
        failed(err);
      }
      recorder.end();
      ended();
      gone.delete(closed);
    };
    client.on('close', (code, reason) => {
      closedBy ??= 'client';
      pass(upstream, code, reason);
      both();
    });
    upstream.on('close', (code, reason) => {
      closedBy ??= 'upstream';
      pass(client, code, reason);
      both();
    });
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
  }

  return {
    get sessions() {
      return live.size;
    },
    sessionsByKind() {
      return { realtime: live.size - liveResponses, responses: liveResponses };
    },
    async closeAll(timeoutMs = 2000) {
      for (const ws of live) ws.close(1001, 'llmscope is shutting down');
      const all = Promise.all([...gone]);
      await Promise.race([all, new Promise((r) => setTimeout(r, timeoutMs).unref())]);
      for (const ws of live) ws.terminate();
    },
  };
}

/** A call's events: the audio parts of its tokens (priced at the audio rates), a transcription's billed seconds. */
function eventsOf(r: RealtimeResponse): LlmCall['events'] {
  const out: LlmCall['events'] = [];
  if (r.audio)
    out.push({
      time: r.doneAt,
      name: 'realtime.audio_tokens',
      attributes: {
        input_audio_tokens: r.audio.input,
        cached_audio_tokens: r.audio.cachedInput,
        output_audio_tokens: r.audio.output,
      },
    });
  if (r.transcription && r.transcription.seconds !== null)
    out.push({
      time: r.doneAt,
      name: 'realtime.transcription_duration',
      attributes: { seconds: r.transcription.seconds },
    });
  return out;
}

/** Bytes one side may have sent on and not yet written to the other before llmscope stops reading it. */
export const FORWARD_HIGH_BYTES = 8 * 1024 * 1024;
/** ...and how far they must fall before it reads on. */
export const FORWARD_LOW_BYTES = 1024 * 1024;

/**
 * One direction of the relay, with backpressure: frames from `from` are sent on to `to` as they come; while more than
 * FORWARD_HIGH_BYTES of them wait to be written (a client reading slower than the audio comes, a slow link), `from`
 * is paused (its socket no longer read, so TCP slows its sender) until they fall under FORWARD_LOW_BYTES. Memory per
 * session stays bounded instead of growing with what the slow side has not taken.
 */
export class Forward {
  private pending = 0;

  constructor(
    private readonly from: WebSocket,
    private readonly to: WebSocket,
  ) {}

  get waiting(): number {
    return this.pending;
  }

  send(data: Buffer, binary: boolean): void {
    if (this.to.readyState !== WebSocket.OPEN) return;
    const n = data.length;
    this.pending += n;
    this.to.send(data, { binary }, () => {
      this.pending -= n;
      if (this.pending <= FORWARD_LOW_BYTES && this.from.isPaused && this.from.readyState === WebSocket.OPEN)
        this.from.resume();
    });
    if (this.pending > FORWARD_HIGH_BYTES && !this.from.isPaused) this.from.pause();
  }
}

/**
 * The calls of one session: each response admitted (the upgrade's admission is the first response's; each later one
 * is admitted again when it is created, as a new HTTP call would be, and a refusal ends the session), then, once done,
 * built into an LlmCall, settled with its admission's hooks and recorded.
 */
class SessionRecorder {
  private first: Admission | null;
  private readonly admissions = new Map<string, Promise<Admission | null>>();
  /**
   * Why a response the provider had started was refused its admission, and that admission's hook state (the key that
   * authenticated it), by response id (until it is recorded).
   */
  private readonly refusals = new Map<string, { err: unknown; state: Record<string, unknown> }>();
  private ending = false;

  constructor(
    private readonly d: RealtimeDeps,
    private readonly s: SessionFacts,
    private readonly release: (a: Admission) => void,
    private readonly refused: (err: unknown) => void,
  ) {
    this.first = s.admission;
  }

  created(responseId: string, model: string | null = null): void {
    const base = this.s.admission;
    if (!base || this.ending) return;
    // An upgrade that named no model (a transcription session, whose URL may not name one; a sideband `?call_id=`):
    // each response is admitted for the model the session says it is of (its transcription model for a
    // transcription), so a key's models and the budgets' prices apply to what it calls.
    const named = base.model === '' && model ? model : null;
    if (this.first) {
      const first = this.first;
      this.first = null;
      // The upgrade's admission is the first response's, unless it was taken for no model by a key that names models:
      // then it is given back, and the response admitted for its own model.
      if (named === null || !first.allowedModels?.length) {
        this.admissions.set(responseId, Promise.resolve(first));
        this.d.onFirstResponse?.(first, responseId);
        return;
      }
      this.release(first);
    }
    const { allowedModels: _allowed, ...fields } = base;
    const a: Admission = {
      ...fields,
      model: named ?? base.model,
      requestId: responseId,
      attribution: { ...this.s.attribution },
      forwardClientAuth: true,
      state: {},
    };
    const hooks = this.d.hooks;
    const run = async (): Promise<Admission | null> => {
      try {
        for (const h of hooks) if (h.authenticate) await h.authenticate(a);
        for (const h of hooks) if (h.admit) await h.admit(a);
        return a;
      } catch (err) {
        // What the hooks before the refusing one reserved is released, as for a refused HTTP call.
        this.release(a);
        this.refusals.set(responseId, { err, state: a.state });
        this.refused(err);
        return null;
      }
    };
    this.admissions.set(responseId, run());
  }

  finished(r: RealtimeResponse, meter: RealtimeMeter | null, closedBy: 'client' | 'upstream' | null): void {
    const id = r.responseId ?? '';
    const admitted = this.admissions.get(id);
    this.admissions.delete(id);
    const sessionId = meter?.sessionId ?? null;
    const build = (a: Admission | null) => {
      const refusal = this.refusals.get(id);
      this.refusals.delete(id);
      recordSettled(this.d, a, () => this.call(r, sessionId, closedBy, a, refusal), {
        event: 'realtime_record_failed',
        message: 'a realtime response was not recorded',
        fields: { request_id: this.s.requestId },
      });
    };
    if (admitted) void admitted.then(build);
    else build(null);
  }

  /** The session ended: an upgrade admission no response used is released. */
  end(): void {
    this.ending = true;
    if (this.first) this.release(this.first);
    this.first = null;
  }

  private call(
    r: RealtimeResponse,
    sessionId: string | null,
    closedBy: string | null,
    a: Admission | null,
    refusal?: { err: unknown; state: Record<string, unknown> },
  ): LlmCall {
    const i = arrivedInternals(r.startedAt, newSpanId(), newSpanId(), this.s.parentSpanId);
    if (this.s.unsampled) i.unsampled = true;
    i.routedAt = r.startedAt;
    i.upstreamStartAt = r.startedAt;
    i.upstreamHeadersAt = r.createdAt;
    i.firstContentAt = r.firstOutputAt;
    i.lastContentAt = r.lastOutputAt;
    i.upstreamEndAt = r.doneAt;
    i.serverAddress = this.s.up.host;
    i.serverPort = this.s.up.port;
    i.responseModel = r.model;
    i.responseId = r.responseId;
    const prompt = keepText(r.promptText);
    i.promptText = prompt.text;
    if (prompt.totalChars !== prompt.text.length) i.promptChars = prompt.totalChars;
    const output = keepText(r.outputText);
    i.outputText = output.text;
    if (output.totalChars !== output.text.length) i.outputChars = output.totalChars;
    // a response the socket's end cut: what its deltas streamed (already bounded), counted with the tokenizer
    if (r.outputChars !== undefined) i.outputChars = r.outputChars;
    if (r.otherOutputText !== undefined) {
      i.otherOutputText = r.otherOutputText;
      if (r.otherOutputChars !== r.otherOutputText.length) i.otherOutputChars = r.otherOutputChars;
    }
    // ...and its audio, as the output audio tokens its bytes make (also in realtime.audio_tokens: priced as audio)
    if (r.usage === null && r.audio) i.outputAudioTokens = r.audio.output;
    const u = r.usage;
    const at = a?.attribution ?? this.s.attribution;
    let status: LlmCall['status'] = 'ok';
    let httpStatus = 200;
    let finishReason: string | null;
    let errorType: string | null = null;
    let errorMessage: string | null = null;
    if (r.transcription) finishReason = 'stop';
    else if (r.status === 'completed') finishReason = r.toolCall ? 'tool_calls' : 'stop';
    else if (r.status === 'incomplete') finishReason = r.reason ?? 'incomplete';
    else if (r.status === 'cancelled') {
      status = 'cancelled';
      finishReason = 'cancelled';
      errorType = r.reason ?? 'response_cancelled';
    } else if (r.status === 'failed') {
      status = 'upstream_error';
      finishReason = 'error';
      errorType = r.errorType ?? 'response_failed';
      errorMessage = r.errorMessage;
    } else {
      // The socket closed before the response was done: by the client (cancelled), or by the upstream.
      finishReason = null;
      if (closedBy === 'upstream') {
        // as an HTTP stream the provider cut (src/gateway/proxy.ts): counted with the tokenizer, as a client's close is
        status = 'upstream_error';
        httpStatus = 502;
        errorType = 'upstream_stream_cut';
      } else {
        status = 'cancelled';
        httpStatus = 499;
        errorType = 'client_closed_request';
      }
    }
    if (refusal !== undefined) {
      // Refused its admission once the provider had started it (a key revoked, a rate limit or a budget reached
      // meanwhile), which ended the session: recorded as that refusal (as the client's error event said), with the
      // tokens the provider spent on it, which its budgets count as spent (internal.spentUnadmitted) and its key's
      // tokens per minute take (the key in the refused admission's state, internal.refusedHooks).
      const e = renderError(refusal.err);
      httpStatus = e.status;
      status = statusOf(e.status);
      errorType = e.body.error.code ?? e.body.error.type;
      errorMessage = e.body.error.message;
      i.ownError = true;
      i.spentUnadmitted = true;
      i.refusedHooks = refusal.state;
    }
    // A transcription billed by duration (whisper-1) has no tokens: its usage is the audio's seconds (an event), its
    // transcript is not counted as tokens (its cost stays unknown, never a tokenizer's guess).
    const byDuration = r.transcription !== undefined && u === null;
    if (byDuration) i.outputText = null;
    const outputTokens = u?.outputTokens ?? null;
    const latency = r.doneAt - r.startedAt;
    const id = r.responseId && REQUEST_ID.test(r.responseId) ? r.responseId : uuidv7();
    return {
      requestId: id,
      traceId: this.s.traceId,
      startedAt: r.startedAt,
      endedAt: r.doneAt,
      provider: this.s.up.provider.name,
      model: (r.transcription ? (r.model ?? 'unknown') : (r.model ?? this.s.model ?? 'unknown')).slice(0, 256),
      endpoint: 'realtime',
      stream: true,
      status,
      httpStatus,
      errorType,
      errorMessage,
      user: at.user,
      team: at.team,
      feature: at.feature,
      session: at.session ?? sessionId,
      apiKeyId: at.apiKeyId,
      metadata: this.s.metadata,
      inputTokens: u?.inputTokens ?? null,
      outputTokens,
      cachedInputTokens: u?.cachedInputTokens ?? null,
      cacheWriteInputTokens: null,
      reasoningTokens: null,
      tokenSource: u || byDuration ? 'usage' : null,
      ttftMs: r.firstOutputAt !== null ? r.firstOutputAt - r.startedAt : null,
      tpotMs: tpotOf(r.firstOutputAt, r.lastOutputAt, outputTokens),
      latencyMs: latency,
      overheadMs: 0,
      costUsd: null,
      price: null,
      finishReason,
      refusal: r.reason === 'content_filter',
      requestBytes: r.requestBytes,
      responseBytes: r.responseBytes,
      source: 'gateway',
      spans: [],
      events: eventsOf(r),
      content: null,
      internal: i,
    };
  }
}
