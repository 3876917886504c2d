// One upstream exchange as an undici dispatch handler: the response goes to the client chunk by chunk as undici
// delivers it (no intermediate body stream, promise or AbortController per call), SSE is metered beside the
// bytes, and a non-streamed body is kept (bounded) for the usage read after the call.
//
// It implements the handler methods undici's client calls itself (onConnect, onHeaders, onData, onComplete,
// onError: the ones its own `request()` implements), not the controller form (onRequestStart, onResponseStart, ...):
// undici wraps a handler of that form in an adapter per call that parses the response headers, and the (empty)
// trailers, into objects before calling it; here the raw headers are read once, by undici's own parseHeaders.
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { type Dispatcher, errors as undiciErrors, util as undiciUtil } from 'undici';
import type { CallInternals, Endpoint } from '../calls/index.js';
import type { ProviderAdapter, StreamMetering } from '../providers/index.js';
import { now } from './now.js';
import { StreamMeter } from './sse.js';
import { clientHeaders } from './upstream.js';

/** Largest non-streamed response body kept in memory to read usage from. */
export const MAX_PARSE_BYTES = 8 * 1024 * 1024;

/** Most of a held 400's body kept before it is passed on anyway (an error body is far smaller). */
const HOLD_BYTES = 64 * 1024;

/**
 * How much of the answer may wait in the client's socket (Node's write buffer) before the upstream's reading is paused
 * until it drains. Node's own mark is 16 KiB (64 KiB from Node 22 on): a 64-token stream, about 20 KB, arriving in one
 * read was over it on every call, so undici paused and resumed the response, and the answer's end went out in a
 * write of its own after the drain. Memory stays bounded per call by this, as before by Node's mark.
 */
export const CLIENT_BUFFER_BYTES = 64 * 1024;

/** What the relay reads and fills in of the call in flight. */
export interface RelayCall {
  readonly requestId: string;
  readonly endpoint: Endpoint;
  /** The call's wire format: its reader meters the stream. */
  readonly adapter: ProviderAdapter;
  readonly arrivalAt: number;
  /** The call asked for a stream (its body's `stream`, or its URL for Gemini). */
  readonly stream: boolean;
  readonly internal: CallInternals;
  httpStatus: number;
  responseBytes: number;
  cancelled: boolean;
  /** The provider's own id for the exchange (its answer's `request-id` or `x-request-id`), or null. */
  upstreamRequestId: string | null;
}

/** At most this many characters of a provider's request id are kept. */
const UPSTREAM_ID_CHARS = 256;

export class Relay implements Dispatcher.DispatchHandler {
  /** Resolves when the exchange is over: null when the response ended, else the error (before or after its headers). */
  readonly done: Promise<Error | null>;
  /** True once the upstream's response headers arrived (and were passed on, unless the client was gone). */
  headersReceived = false;
  /** Where a 3xx answer sent the call (its Location), or null. */
  redirectedTo: string | null = null;
  meter: StreamMetering | null = null;
  readonly kept: Buffer[] = [];
  keptBytes = 0;
  private settle!: (err: Error | null) => void;
  /** undici's abort of this request, once it is on a connection. */
  private abort: ((err?: Error) => void) | null = null;
  /** undici's resume of a paused response. */
  private resume: (() => void) | null = null;
  private cancelRequested = false;
  /**
   * Set by the gateway when it added `stream_options` itself: a 400 (or FastAPI's 422) is held back from the client
   * until its body says whether it refuses that field (then `refusedStreamOptions`, and nothing goes to the client:
   * the gateway sends the call again without it) or not (then it is passed on as it came).
   */
  holdBadRequest = false;
  /** The upstream answered 400/422 naming `stream_options` (only with holdBadRequest); the client got nothing. */
  refusedStreamOptions = false;
  /** A 400/422 held back: its status and the headers for the client. */
  private held: { status: number; headers: Record<string, string | string[]> } | null = null;

  /**
   * `injectedUsage`: llmscope asked for usage on the client's behalf (strip it from the stream). `extraHeaders`: the
   * admission hooks' headers for the answer (`x-ratelimit-*`); the upstream's own headers of the same name win.
   */
  constructor(
    private readonly res: ServerResponse,
    private readonly call: RelayCall,
    private readonly injectedUsage: boolean,
    private readonly extraHeaders: Record<string, string> | null = null,
  ) {
    this.done = new Promise((resolve) => {
      this.settle = resolve;
    });
  }

  /** The client went away: abort the upstream request (now, or as soon as it is on a connection). */
  cancel(): void {
    if (this.abort) this.abort(new undiciErrors.RequestAbortedError());
    else this.cancelRequested = true;
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abort = abort;
    if (this.cancelRequested) abort(new undiciErrors.RequestAbortedError());
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    this.resume = resume;
    const headers = undiciUtil.parseHeaders(rawHeaders) as IncomingHttpHeaders;
    const c = this.call;
    const i = c.internal;
    i.upstreamHeadersAt = now();
    c.httpStatus = statusCode;
    this.headersReceived = true;
    if (statusCode >= 300 && statusCode < 400) this.redirectedTo = String(headers.location ?? '');
    const streaming = statusCode < 300 && String(headers['content-type'] ?? '').startsWith('text/event-stream');
    const out = clientHeaders(headers, !streaming && !this.injectedUsage);
    const extra = this.extraHeaders;
    if (extra !== null) for (const k in extra) if (out[k] === undefined) out[k] = extra[k] as string;
    // The provider's id for the exchange, which a support ticket to it asks for: Anthropic's `request-id` (passed on
    // as it came), else its `x-request-id` (OpenAI, Azure, Mistral, Groq), which the answer's own replaces and so is
    // passed on as `x-upstream-request-id`. An upstream that echoes the id llmscope sent (vLLM) has none of its own.
    const upId = headers['x-request-id'];
    if (typeof upId === 'string' && upId !== c.requestId && upId !== '') {
      out['x-upstream-request-id'] = upId;
      c.upstreamRequestId = upId.slice(0, UPSTREAM_ID_CHARS);
    }
    const anthropicId = headers['request-id'];
    if (typeof anthropicId === 'string' && anthropicId !== '')
      c.upstreamRequestId = anthropicId.slice(0, UPSTREAM_ID_CHARS);
    out['x-request-id'] = c.requestId;
    // Overhead up to the first byte (the record holds the whole call's): before the upstream, and since its headers.
    out['x-llmscope-overhead-ms'] = (
      (i.upstreamStartAt ?? c.arrivalAt) -
      c.arrivalAt +
      (now() - i.upstreamHeadersAt)
    ).toFixed(3);
    if (this.res.destroyed) {
      c.cancelled = true;
      this.abort?.(new undiciErrors.RequestAbortedError());
      return true;
    }
    // 400, or 422 (a FastAPI server's request validation)
    if ((statusCode === 400 || statusCode === 422) && this.holdBadRequest) {
      this.held = { status: statusCode, headers: out };
      return true;
    }
    this.res.writeHead(statusCode, out);
    if (streaming) this.meter = new StreamMeter(c.endpoint, this.injectedUsage, c.adapter.streamReader(c.endpoint));
    // A stream in another framing (Gemini's JSON array without alt=sse), metered by the format's own meter.
    else if (c.stream && statusCode < 300 && c.adapter.bodyStreamMeter)
      this.meter = c.adapter.bodyStreamMeter(c.endpoint, String(headers['content-type'] ?? ''));
    return true;
  }

  /** False pauses undici's reading of the response until the client's socket drains (over CLIENT_BUFFER_BYTES). */
  onData(chunk: Buffer): boolean {
    const at = now();
    let out: Buffer | string = chunk;
    if (this.meter) out = this.meter.push(chunk, at);
    else {
      if (this.keptBytes < MAX_PARSE_BYTES) {
        this.kept.push(chunk);
        this.keptBytes += chunk.length;
        // Too large to read usage from: let go of it now rather than when the call ends.
        if (this.keptBytes >= MAX_PARSE_BYTES) this.kept.length = 0;
      }
      if (this.held !== null) {
        if (this.keptBytes < HOLD_BYTES) return true;
        // no error body this large: not the refusal, pass on what came (this chunk included)
        return this.release();
      }
    }
    if (out.length === 0) return true;
    this.call.responseBytes += out.length;
    if (this.res.write(out) || this.res.writableLength < CLIENT_BUFFER_BYTES) return true;
    this.res.once('drain', () => this.resume?.());
    return false;
  }

  onComplete(): void {
    const at = now();
    this.call.internal.upstreamEndAt = at;
    if (this.held !== null) {
      const kept = this.kept;
      if (Buffer.concat(kept, this.keptBytes).includes('stream_options')) {
        this.held = null;
        this.refusedStreamOptions = true;
        this.settle(null);
        return;
      }
      this.release();
    }
    if (this.meter) {
      const rest = this.meter.end(at);
      if (rest) {
        this.call.responseBytes += rest.length;
        this.res.write(rest);
      }
    }
    this.res.end();
    this.settle(null);
  }

  onError(err: Error): void {
    this.call.internal.upstreamEndAt = now();
    if (this.held !== null) this.release();
    // The upstream cut the response (or timed out): the client sees the same cut.
    if (this.headersReceived && !this.call.cancelled) this.res.destroy();
    this.settle(err);
  }

  /** Passes a held 400/422 on: its headers and the body so far. False when the client's socket needs to drain. */
  private release(): boolean {
    const held = this.held as { status: number; headers: Record<string, string | string[]> };
    this.held = null;
    if (this.res.destroyed) return true;
    this.res.writeHead(held.status, held.headers);
    let ok = true;
    for (const chunk of this.kept) {
      this.call.responseBytes += chunk.length;
      ok = this.res.write(chunk);
    }
    if (ok) return true;
    this.res.once('drain', () => this.resume?.());
    return false;
  }
}
