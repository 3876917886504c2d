// The server socket: plain HTTP, or HTTPS when `server.tls` names a certificate and key (for those without a
// TLS-terminating proxy; the session cookie is then Secure).
import { readFileSync } from 'node:fs';
import {
  createServer,
  IncomingMessage,
  maxHeaderSize,
  type Server,
  type ServerResponse,
  STATUS_CODES,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { Server as TlsServer } from 'node:tls';
import { LlmscopeError, renderError } from '../errors.js';
import { BODY_IDLE, type BodyIdle, dropRest } from './body.js';
import { isLingering } from './linger.js';

export interface TlsFiles {
  cert: string;
  key: string;
}

type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * No limit on the time a request's body takes to arrive (`requestTimeout: 0`: a large upload on a slow link), but its
 * headers must be in within `headersTimeout`: node derives that from requestTimeout when it is not given
 * (min(60 s, requestTimeout)), so with 0 it was off too and a client trickling a header line every few seconds held its
 * connection (and a file descriptor) for ever. Node checks every `connectionsCheckingInterval` (30 s by default).
 */
export const HEADERS_TIMEOUT_MS = 60_000;

type Dumpable = IncomingMessage & { _dump(): void; _dumped?: boolean; [DROPPING]?: true };
const nodeDump = (IncomingMessage.prototype as Dumpable)._dump;
const DROPPING = Symbol('llmscope.dropping');

/**
 * What a request of llmscope's listeners has for node's `_dump`: a body still coming when its answer has finished
 * and nobody read it has its rest dropped bounded (dropRest: at most 1 MiB more, then the connection closed after a
 * lingering close bounded at 128 MiB), rather than read and dropped without end. Node drains an unread body itself
 * once the answer is sent (`resOnFinish` calls `req._dump()` when nothing read it, to reach the next request on the
 * connection): a client that never stopped sending was read for ever, whichever route answered without reading (a
 * GET handler given a body, a static file, /metrics, a 401 or 404 answered in place). Here at the one place that
 * drain starts, every route is covered without each remembering to; a body read to its end, or being read (a stream
 * relayed upstream, an upload), never comes here, and a small one all in when its answer went is drained by node as
 * before (the connection serves the next request).
 *
 * Set on each request (one property, ~2-30 ns) rather than by a subclass of IncomingMessage (no cost): undici leaves
 * alone the socket of a request body it destroys only when its constructor is node's own (util.destroy), and a
 * gateway worker relays a body to the primary as undici's request body, so with a subclass a body the primary
 * refused early cost the client its answer (its socket reset).
 */
function boundedDump(this: Dumpable): void {
  if (this.complete || this._dumped) {
    nodeDump.call(this);
    return;
  }
  if (this[DROPPING]) return;
  this[DROPPING] = true;
  // Not node's `_dumped`: with it set node's parser drops the body's pieces unseen, and nothing could count them.
  // Its 'data' listeners go as node's would; dropRest's reads (and counts) what comes.
  this.removeAllListeners('data');
  dropRest(this, 0);
}

/** Shorter header timing, for tests of it. */
export interface ListenerTiming {
  headersTimeoutMs: number;
  checkEveryMs: number;
  /** SEND_TIMEOUT_MS, for tests of it (checked every `checkEveryMs`). */
  sendTimeoutMs?: number;
}

/**
 * Longest a connection's answer may wait with none of it taken by the client (nginx's send_timeout, 60 s): a client
 * that never reads a streamed answer (or a WebSocket's messages) held its connection, the call's concurrency slot and
 * the upstream's stream, paused by back-pressure, for ever. Checked every SEND_CHECK_MS, so a stalled connection is
 * closed 60-70 s after its last byte went; one that reads, however slowly, or waits on an upstream with nothing to
 * send, is never cut.
 */
export const SEND_TIMEOUT_MS = 60_000;
const SEND_CHECK_MS = 10_000;

type Watched = Duplex & { writableLength: number; bytesWritten: number };

/**
 * Closes the connections of `server` whose pending answer bytes have not moved for `timeoutMs`: per connection one
 * entry in a set (no cost per request), and one sweep of them every `everyMs`. `bytesWritten - writableLength` is what
 * the kernel took (node counts both its buffer and the write in flight in each).
 */
function closeStalledSends(server: Server, secure: boolean, timeoutMs: number, everyMs: number): void {
  const stalls = new Map<Watched, { sent: number; since: number }>();
  const sockets = new Set<Watched>();
  server.on(secure ? 'secureConnection' : 'connection', (s: Watched) => {
    sockets.add(s);
    s.once('close', () => {
      sockets.delete(s);
      stalls.delete(s);
    });
  });
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const s of sockets) {
      const pending = s.writableLength;
      if (!pending) {
        stalls.delete(s);
        continue;
      }
      const sent = s.bytesWritten - pending;
      const was = stalls.get(s);
      if (was === undefined || was.sent !== sent) stalls.set(s, { sent, since: now });
      else if (now - was.since >= timeoutMs) s.destroy();
    }
  }, everyMs);
  sweep.unref();
  server.once('close', () => clearInterval(sweep));
}

/**
 * The server socket, answering what node's HTTP parser refuses in the error shape (`answerClientError`). A request
 * body that stops arriving for `bodyIdle.ms` (server.bodyIdleTimeout; 60 s when not given) is answered 408 by
 * whoever reads it (readBody, watchBodyIdle), and counted by `bodyIdle.onTimeout`.
 */
export function createListener(
  tls: TlsFiles | undefined,
  handler: RequestHandler,
  timing?: ListenerTiming,
  bodyIdle?: BodyIdle,
): Server {
  const serve: RequestHandler = (req, res) => {
    if (typeof nodeDump === 'function') (req as Dumpable)._dump = boundedDump;
    if (bodyIdle) (req as IncomingMessage & { [BODY_IDLE]?: BodyIdle })[BODY_IDLE] = bodyIdle;
    handler(req, res);
  };
  const options = {
    keepAliveTimeout: 65_000,
    requestTimeout: 0,
    headersTimeout: timing?.headersTimeoutMs ?? HEADERS_TIMEOUT_MS,
    ...(timing ? { connectionsCheckingInterval: timing.checkEveryMs } : {}),
  };
  const server = createBareListener(tls, serve, options);
  server.on('clientError', answerClientError);
  closeStalledSends(
    server,
    tls !== undefined,
    timing?.sendTimeoutMs ?? SEND_TIMEOUT_MS,
    timing?.sendTimeoutMs !== undefined ? timing.checkEveryMs : SEND_CHECK_MS,
  );
  return server;
}

function createBareListener(tls: TlsFiles | undefined, handler: RequestHandler, options: object): Server {
  if (!tls) return createServer(options, handler);
  const read = (what: 'cert' | 'key') => {
    try {
      return readFileSync(tls[what]);
    } catch (err) {
      throw new LlmscopeError(
        'LLMSCOPE_ERR_CONFIG_INVALID',
        `server.tls.${what}: cannot read ${tls[what]} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      );
    }
  };
  try {
    return createHttpsServer({ ...options, cert: read('cert'), key: read('key') }, handler);
  } catch (err) {
    if (err instanceof LlmscopeError) throw err;
    throw new LlmscopeError(
      'LLMSCOPE_ERR_CONFIG_INVALID',
      `server.tls: the certificate and key do not load as PEM (${(err as Error).message})`,
    );
  }
}

/** `https` for a TLS listener, else `http`. */
export function schemeOf(server: Server): 'http' | 'https' {
  return server instanceof TlsServer ? 'https' : 'http';
}

/**
 * What node's HTTP parser refused before any route saw a request, answered as node itself would by status (431 for
 * headers over its limit, 408 for headers that never finished arriving, 400 for bytes that are not HTTP/1.1) but in
 * the OpenAI error shape with a message that says what was wrong, and the connection closed. A reset connection, or
 * one whose answer has already begun, is only closed.
 */
export function answerClientError(err: NodeJS.ErrnoException & { reason?: string }, socket: Duplex): void {
  // The client's FIN in a lingering close ends the refused body early (a parse error): the close is lingering's.
  if (isLingering(socket)) return;
  const answering = (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage;
  if (err.code === 'ECONNRESET' || !socket.writable || answering?.headersSent) {
    socket.destroy();
    return;
  }
  const r = renderError(clientErrorOf(err));
  const body = JSON.stringify(r.body);
  socket.end(
    `HTTP/1.1 ${r.status} ${STATUS_CODES[r.status]}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

function clientErrorOf(err: NodeJS.ErrnoException & { reason?: string }): LlmscopeError {
  if (err.code === 'HPE_HEADER_OVERFLOW')
    return new LlmscopeError(
      'LLMSCOPE_ERR_HEADERS_TOO_LARGE',
      `the request line and headers are larger than ${maxHeaderSize} bytes; send fewer or shorter headers, or put long values in the body rather than the URL`,
    );
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT')
    return new LlmscopeError(
      'LLMSCOPE_ERR_REQUEST_TIMEOUT',
      'the request did not arrive in time; send its headers at once',
    );
  const reason = (err.reason ?? err.message ?? '').slice(0, 200);
  return new LlmscopeError(
    'LLMSCOPE_ERR_MALFORMED_REQUEST',
    `the request is not valid HTTP/1.1 (${err.code ?? 'parse error'}${reason ? `: ${reason}` : ''})`,
  );
}
