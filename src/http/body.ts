// Request bodies: read with a limit (413 past it, without buffering the rest), JSON with a content-type check.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { StringDecoder } from 'node:string_decoder';
import { LlmscopeError } from '../errors.js';
import { JsonStreamParser, type ListLimit, TooManyItems } from './json-stream.js';
import { lingeringClose, lingerOnClose } from './linger.js';

/**
 * The client went away before its request body was whole (it closed or reset the connection mid-upload, or sent
 * less than its Content-Length and hung up): nobody is left to answer, and nothing failed on llmscope's side, so it
 * is no error to log (a gateway call ends `cancelled`, 499 client_closed_request).
 */
export class ClientClosedError extends Error {
  readonly code = 'client_closed_request';
  constructor() {
    super('the client closed the connection before its request body was complete');
  }
}

/** Whether `err` came of the client leaving mid-request (its body cut), not of anything llmscope did. */
export function clientClosed(req: IncomingMessage, err: unknown): boolean {
  return err instanceof ClientClosedError || (!req.complete && req.destroyed);
}

/**
 * Longest pause allowed between two pieces of a request body (`server.bodyIdleTimeout`), as nginx's
 * client_body_timeout: a slow upload that keeps moving takes as long as it needs, one that stops (or trickles a byte
 * now and then slower than this) is answered 408 and its connection closed, rather than hold its connection and its
 * memory for ever (`requestTimeout` is 0 so that slow uploads work).
 */
export const BODY_IDLE_TIMEOUT_MS = 60_000;

/** A listener's body idle timeout (server.bodyIdleTimeout), and what counts each request it cut. */
export interface BodyIdle {
  ms: number;
  onTimeout?: () => void;
}

/** Where the listener puts its BodyIdle on each request (createListener). */
export const BODY_IDLE = Symbol('llmscope.bodyIdle');

const DEFAULT_IDLE: BodyIdle = { ms: BODY_IDLE_TIMEOUT_MS };

/** The body idle timeout for `req`: its listener's, else BODY_IDLE_TIMEOUT_MS. */
export function bodyIdleOf(req: IncomingMessage): BodyIdle {
  return (req as IncomingMessage & { [BODY_IDLE]?: BodyIdle })[BODY_IDLE] ?? DEFAULT_IDLE;
}

/** The 408 for a body that stopped arriving. */
export function bodyTimedOut(ms: number): LlmscopeError {
  return new LlmscopeError(
    'LLMSCOPE_ERR_REQUEST_TIMEOUT',
    `the request body stopped arriving: nothing came for ${ms} ms (server.bodyIdleTimeout); send the body without long pauses`,
  );
}

/**
 * Calls `onIdle` when no piece of `req`'s body has come for its body idle timeout (bodyIdleOf); the answer
 * given then closes the connection (the rest of the body is not read). Returns the function that stops watching.
 *
 * One timer per request, refreshed per piece, started once the socket read that brought the headers is parsed (a
 * setImmediate) and only for a body not whole by then: a body that came with its headers (a gateway call's, mostly)
 * waits for nothing, and its timer with the refresh per piece (a re-insert in node's timer list each) cost 390-450
 * against 220-270 ns a request (in-process, batches of 32). (Not a nextTick: node's parser runs the tick queue
 * between its headers and body callbacks, so the body is not parsed yet then.)
 */
export function watchBodyIdle(req: IncomingMessage, onIdle: (err: LlmscopeError) => void): () => void {
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  const onData = () => (timer as NodeJS.Timeout).refresh();
  setImmediate(() => {
    // node's parser sets `complete` at the body's end
    if (stopped || req.complete) return;
    const idle = bodyIdleOf(req);
    const ms = idle.ms;
    timer = setTimeout(() => {
      req.off('data', onData);
      // The answer about to be given says `connection: close` and the socket is closed after it.
      const res = (req.socket as (typeof req.socket & { _httpMessage?: { shouldKeepAlive: boolean } }) | null)
        ?._httpMessage;
      if (res) res.shouldKeepAlive = false;
      req.pause();
      idle.onTimeout?.();
      onIdle(bodyTimedOut(ms));
    }, ms);
    timer.unref();
    req.on('data', onData);
  });
  return () => {
    stopped = true;
    if (timer === null) return;
    clearTimeout(timer);
    req.off('data', onData);
  };
}

/** Declared body lengths past which the body is read into one buffer of its length as it arrives. */
const WHOLE_FROM = 64 * 1024;

/**
 * Reads the whole body as a Buffer, refusing (413) past `limit` bytes without buffering the rest, and (408) one that
 * stops arriving for the body idle timeout (watchBodyIdle). A body of a declared length is read into one buffer of
 * that length as it comes (no copy of the whole at its end: 40 MB cost ~170 ms of event loop on a busy host).
 * `onChunk` sees each piece; what it throws refuses the body then (the rest is not kept).
 */
export function readBody(
  req: IncomingMessage,
  limit: number,
  advice = 'send a smaller body or raise server.bodyLimit in the config',
  onChunk?: (c: Buffer) => void,
): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    dropRest(req, limit);
    return Promise.reject(tooLarge(limit, advice));
  }
  return new Promise((resolve, reject) => {
    // Node's parser hands over exactly content-length bytes: a body of a declared length over one socket read fills
    // a buffer of that length (a smaller one is usually one chunk, taken as it is).
    const whole = Number.isInteger(declared) && declared > WHOLE_FROM ? Buffer.allocUnsafe(declared) : null;
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    const stop = watchBodyIdle(req, (err) => {
      if (failed) return;
      failed = true;
      reject(err);
    });
    req.on('data', (c: Buffer) => {
      if (failed) return;
      if (size + c.length > limit || (whole && size + c.length > whole.length)) {
        failed = true;
        stop();
        dropRest(req, limit);
        reject(tooLarge(limit, advice));
        return;
      }
      if (whole) c.copy(whole, size);
      else chunks.push(c);
      size += c.length;
      if (onChunk)
        try {
          onChunk(c);
        } catch (err) {
          failed = true;
          stop();
          reject(err);
        }
    });
    req.on('end', () => {
      stop();
      if (failed) return;
      if (whole) resolve(size === whole.length ? whole : whole.subarray(0, size));
      else resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    });
    req.on('error', (e) => {
      stop();
      if (failed) return;
      failed = true;
      reject(req.complete ? e : new ClientClosedError());
    });
    // A connection closed mid-body without an 'error' (or before any data) must not leave the read waiting forever.
    req.on('close', () => {
      stop();
      if (failed || req.complete) return;
      failed = true;
      reject(new ClientClosedError());
    });
  });
}

/** Bytes of a refused body's rest dropped at least (dropRest), whatever the body limit. */
const DROP_AT_LEAST = 1024 * 1024;
/** How long a refused body's rest is dropped at most (dropRest), as nginx's lingering_time (30 s) but shorter. */
const DROP_MS = 10_000;

/**
 * After a body is refused before its end (413, or a batch with more records than it may hold), the rest of it, which
 * no answer needs: node reads and drops it so the connection can take the next request, but at most `limit` bytes
 * more (1 MiB at least; a chunked body declares no end, a declared length may be anything), for at most DROP_MS, and
 * with no gap longer than the body idle timeout; past any of them the connection is closed once the answer is sent,
 * with a lingering close (lingeringClose: the write side shut, what still comes read and dropped, bounded): destroyed
 * at once, a client still sending was reset, and the reset could discard the answer before it read it.
 */
export function dropRest(req: IncomingMessage, limit: number): void {
  if (req.complete) return;
  const bound = Math.max(limit, DROP_AT_LEAST);
  let dropped = 0;
  let closing = false;
  // node's own close after an answer that says `connection: close` lingers too
  lingerOnClose(req);
  const close = () => {
    if (closing) return;
    closing = true;
    clearTimeout(idle);
    clearTimeout(total);
    const socket = req.socket;
    if (!socket) return;
    const res = (socket as typeof socket & { _httpMessage?: ServerResponse })._httpMessage;
    if (res && !res.writableFinished) {
      if (!res.headersSent) res.shouldKeepAlive = false;
      res.once('finish', () => lingeringClose(socket));
    } else lingeringClose(socket);
  };
  const idle = setTimeout(close, bodyIdleOf(req).ms);
  const total = setTimeout(close, DROP_MS);
  idle.unref();
  total.unref();
  req.on('data', (c: Buffer) => {
    dropped += c.length;
    if (dropped > bound) close();
    else if (!closing) idle.refresh();
  });
  const done = () => {
    clearTimeout(idle);
    clearTimeout(total);
  };
  req.once('end', done);
  req.once('close', done);
}

/** Bodies past which JSON is parsed piece by piece as it arrives (JsonStreamParser), not whole at its end. */
export const PARSE_AS_IT_COMES = 1024 * 1024;

/** A JSON body read: its bytes, and (past PARSE_AS_IT_COMES) its value or its syntax error, parsed as it came. */
export interface JsonBody {
  raw: Buffer;
  parsed?: { value: unknown } | { error: SyntaxError };
}

/**
 * Reads a body as readBody does and, once it passes PARSE_AS_IT_COMES bytes, parses it as JSON piece by piece as it
 * arrives, so that no single turn of the event loop decodes or parses all of a large body (40 MB: ~500 ms held at
 * once on a busy 2-core host, before). A smaller body comes without `parsed`: JSON.parse it, which is faster whole.
 * With `list`, a body parsed as it comes whose list passes it is refused there, unread past it: TooManyItems.
 */
export async function readJsonBody(req: IncomingMessage, limit: number, list?: ListLimit): Promise<JsonBody> {
  let early: Buffer[] | null = [];
  let earlyBytes = 0;
  let parser: JsonStreamParser | null = null;
  let decoder: StringDecoder | null = null;
  let error: SyntaxError | null = null;
  const feed = (c: Buffer) => {
    if (error) return;
    try {
      (parser as JsonStreamParser).write((decoder as StringDecoder).write(c));
    } catch (err) {
      if (err instanceof TooManyItems) throw err;
      error = err as SyntaxError;
    }
  };
  const raw = await readBody(req, limit, undefined, (c) => {
    if (early !== null) {
      early.push(c);
      earlyBytes += c.length;
      if (earlyBytes <= PARSE_AS_IT_COMES) return;
      parser = new JsonStreamParser(undefined, list);
      decoder = new StringDecoder('utf8');
      const first = early;
      early = null;
      for (const e of first) feed(e);
      return;
    }
    feed(c);
  });
  if (parser === null) return { raw };
  if (!error)
    try {
      (parser as JsonStreamParser).write((decoder as unknown as StringDecoder).end());
      return { raw, parsed: { value: (parser as JsonStreamParser).end() } };
    } catch (err) {
      error = err as SyntaxError;
    }
  return { raw, parsed: { error: error as unknown as SyntaxError } };
}

function tooLarge(limit: number, advice: string): LlmscopeError {
  return new LlmscopeError(
    'LLMSCOPE_ERR_BODY_TOO_LARGE',
    `request body is larger than the limit of ${limit} bytes; ${advice}`,
  );
}

/**
 * Refuses a JSON body sent with a content-encoding (gzip, deflate, br): it would be parsed as its compressed bytes
 * and quoted back as invalid JSON. The gateway routes and the JSON /api routes take uncompressed bodies.
 */
export function refuseEncodedJson(req: IncomingMessage, limit = 0): void {
  const enc = req.headers['content-encoding'];
  if (enc === undefined || enc === '' || enc.trim().toLowerCase() === 'identity') return;
  // its rest: at most `limit` more (1 MiB at least), then the connection is closed after the answer
  dropRest(req, limit);
  throw new LlmscopeError(
    'LLMSCOPE_ERR_UNSUPPORTED_MEDIA_TYPE',
    `this route takes an uncompressed JSON body, got content-encoding "${enc.trim().toLowerCase().slice(0, 64)}"; send it without content-encoding`,
  );
}

/**
 * Parses a JSON request body, requiring a JSON content type; errors say what to fix. A body over PARSE_AS_IT_COMES is
 * parsed piece by piece as it arrives (readJsonBody), so a large one (an /api/ingest batch) does not hold the event
 * loop for the whole of it at its end. `list`: as readJsonBody.
 */
export async function readJson(req: IncomingMessage, limit: number, list?: ListLimit): Promise<unknown> {
  const ct = String(req.headers['content-type'] ?? '');
  if (!/^application\/(.+\+)?json\b/i.test(ct)) {
    dropRest(req, limit);
    throw new LlmscopeError(
      'LLMSCOPE_ERR_UNSUPPORTED_MEDIA_TYPE',
      `expected a JSON body with content-type application/json, got ${ct ? `"${ct}"` : 'no content-type'}`,
    );
  }
  refuseEncodedJson(req, limit);
  const { raw, parsed } = await readJsonBody(req, limit, list);
  try {
    if (parsed === undefined) return JSON.parse(raw.toString('utf8'));
    if ('error' in parsed) throw parsed.error;
    return parsed.value;
  } catch (err) {
    throw new LlmscopeError(
      'LLMSCOPE_ERR_INVALID_JSON',
      `request body is not valid JSON (${(err as Error).message}); send a JSON object`,
    );
  }
}
