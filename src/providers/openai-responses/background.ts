// Background Responses (`background: true`, not streamed): the upstream answers `queued` (or `in_progress`) at once
// and generates afterwards; the client polls `GET /v1/responses/{id}` until the response is done (or follows its
// event stream, `?stream=true`, whose final event carries it), or cancels it (`POST /v1/responses/{id}/cancel`). The call is held here, unrecorded, from its answer until a poll or a cancel
// relays a finished response (completed, incomplete, failed, cancelled): then it is recorded once, with that
// response's usage, status and finish reason, so its output tokens and cost are in llmscope's figures and /metrics,
// spend and budgets count it once. A call no poll finishes within HOLD_MS, one pushed out by MAX_HELD newer ones, and
// those held at shutdown are recorded as they were answered (`queued`, input counted with the tokenizer). Under
// `serve --workers`, a worker relaying a finished poll of a call it does not hold passes it to the others (the
// gateway's onOtherPoll, through the recorder process), so a poll on another connection finishes the call too.
import { keepText } from '../../calls/bounded-text.js';
import type { LlmCall } from '../../calls/index.js';
import { responseInfo } from './index.js';

/** How long a background call waits for the poll that finishes it. */
export const HOLD_MS = 60 * 60_000;
/** Background calls held at once; the oldest is recorded as it is when one more arrives. */
export const MAX_HELD = 10_000;
/** A poll's answer larger than this is passed on without being read (the call then waits for the next poll). */
export const MAX_POLL_BYTES = 8 * 1024 * 1024;

/** A poll's path, with or without the client's `/v1` (the pass-through's path is the upstream's, after its base). */
const POLL = /^(?:\/v1)?\/responses\/([^/?]+)(\/cancel)?(?:\?|$)/;

interface Held {
  call: LlmCall;
  timer: NodeJS.Timeout;
}

/** True for a call recorded as a background response not finished yet (a non-streamed `queued`/`in_progress`). */
export function isUnfinishedBackground(call: LlmCall): boolean {
  return (
    call.endpoint === 'responses' &&
    !call.stream &&
    call.status === 'ok' &&
    (call.finishReason === 'queued' || call.finishReason === 'in_progress') &&
    !!call.internal?.responseId
  );
}

/** The events of a Responses stream whose `response` is the finished one. */
const FINAL_EVENTS = new Set(['response.completed', 'response.incomplete', 'response.failed']);

/**
 * The Response a poll's 2xx answer carries: its JSON body, or for a poll that follows the response's event stream
 * (`?stream=true`) the `response` of the stream's final event (completed, incomplete, failed); null when neither.
 */
export function polledResponse(body: string): Record<string, unknown> | null {
  const asObject = (v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  const parse = (text: string): Record<string, unknown> | null => {
    try {
      return asObject(JSON.parse(text));
    } catch {
      return null;
    }
  };
  if (body.trimStart().startsWith('{')) return parse(body);
  // Server-sent events: the last `data:` line naming a final event (each event's data is one line of JSON).
  let end = body.length;
  while (end > 0) {
    const at = body.lastIndexOf('data:', end - 1);
    if (at === -1) return null;
    if (at === 0 || body[at - 1] === '\n' || body[at - 1] === '\r') {
      let stop = body.indexOf('\n', at);
      if (stop === -1) stop = body.length;
      const event = parse(body.slice(at + 5, stop).trim());
      if (event && typeof event.type === 'string' && FINAL_EVENTS.has(event.type)) return asObject(event.response);
    }
    end = at;
  }
  return null;
}

/**
 * True when `body` is background response `id` finished (completed, incomplete, failed, cancelled). A response that
 * says `background: false` (OpenAI's answer to a retrieve of an ordinary stored response) is none: no worker holds
 * it, so it is not passed around. One that does not say (a server that omits the field) may be.
 */
export function isFinishedAnswer(id: string, body: string): boolean {
  const o = polledResponse(body);
  if (!o || o.id !== id) return false;
  if ((o as { background?: unknown }).background === false) return false;
  const status = (o as { status?: unknown }).status;
  return typeof status === 'string' && status !== 'queued' && status !== 'in_progress';
}

export class BackgroundCalls {
  private readonly held = new Map<string, Held>();

  constructor(
    private readonly record: (call: LlmCall) => void,
    private readonly opts: { holdMs?: number; maxHeld?: number } = {},
  ) {}

  get size(): number {
    return this.held.size;
  }

  /** Holds an unfinished background call until a poll finishes it; false (record it now) for any other call. */
  hold(call: LlmCall): boolean {
    const id = call.internal?.responseId;
    if (!id || !isUnfinishedBackground(call)) return false;
    if (this.held.has(id)) return false;
    if (this.held.size >= (this.opts.maxHeld ?? MAX_HELD)) this.release(this.held.keys().next().value as string);
    const timer = setTimeout(() => this.release(id), this.opts.holdMs ?? HOLD_MS);
    timer.unref();
    this.held.set(id, { call, timer });
    return true;
  }

  /** The ids of the background responses whose calls are held here. */
  ids(): string[] {
    return [...this.held.keys()];
  }

  /** True while the call of background response `id` is held here. */
  holds(id: string): boolean {
    return this.held.has(id);
  }

  /**
   * The id of a held call that a pass-through request may finish (`GET /v1/responses/{id}` or
   * `POST /v1/responses/{id}/cancel`), else null. With `anyHeld` (a gateway worker, whose fellow workers hold calls
   * too) the id of any such request, held here or not.
   */
  waitingOn(method: string, path: string, anyHeld = false): string | null {
    if (this.held.size === 0 && !anyHeld) return null;
    const m = POLL.exec(path);
    if (!m || (m[2] ? method !== 'POST' : method !== 'GET')) return null;
    let id = m[1] as string;
    try {
      id = decodeURIComponent(id);
    } catch {
      return null;
    }
    return anyHeld || this.held.has(id) ? id : null;
  }

  /**
   * A poll of `id` was answered 2xx with `body`: when it is the finished response, the held call takes its usage,
   * status and finish reason and is recorded. True when it was.
   */
  finish(id: string, body: string): boolean {
    const h = this.held.get(id);
    if (!h) return false;
    const o = polledResponse(body);
    if (!o || o.id !== id) return false;
    const info = responseInfo(o);
    if (info.finishReason === null || info.finishReason === 'queued' || info.finishReason === 'in_progress')
      return false;
    const call = h.call;
    const i = call.internal;
    call.finishReason = info.finishReason;
    call.refusal = info.refusal !== null || info.finishReason === 'content_filter';
    if (o.status === 'cancelled') {
      call.status = 'cancelled';
      call.errorType = 'response_cancelled';
    } else if (info.error) {
      call.status = info.rateLimited ? 'rate_limited' : 'upstream_error';
      call.errorType = info.error;
      if (info.errorMessage) call.errorMessage = info.errorMessage.slice(0, 512);
    }
    const u = info.usage;
    if (u) {
      call.inputTokens = u.inputTokens;
      call.outputTokens = u.outputTokens;
      call.cachedInputTokens = u.cachedInputTokens;
      call.cacheWriteInputTokens = u.cacheWriteInputTokens;
      call.reasoningTokens = u.reasoningTokens;
      call.tokenSource = 'usage';
    }
    if (i) {
      const kept = keepText(info.text);
      i.outputText = kept.text;
      if (kept.totalChars !== kept.text.length) i.outputChars = kept.totalChars;
      if (typeof o.model === 'string') i.responseModel = o.model;
      if (u?.serviceTier) i.serviceTier = u.serviceTier;
      if (u?.toolUses) i.toolUses = u.toolUses;
    }
    this.take(id);
    this.record(call);
    return true;
  }

  /** Records every held call as it is (shutdown). */
  releaseAll(): void {
    for (const id of [...this.held.keys()]) this.release(id);
  }

  /**
   * Records now, as they are, the held calls of end user `user` (an erase of their data is about to run: recorded
   * now, they are erased with the user's other calls instead of stored after the erase by a later poll). Returns how
   * many; a later poll of one passes through unrecorded.
   */
  releaseUser(user: string): number {
    let n = 0;
    for (const [id, h] of [...this.held])
      if (h.call.user === user) {
        this.take(id);
        this.record(h.call);
        n++;
      }
    return n;
  }

  private take(id: string): Held | undefined {
    const h = this.held.get(id);
    if (!h) return undefined;
    clearTimeout(h.timer);
    this.held.delete(id);
    return h;
  }

  private release(id: string): void {
    const h = this.take(id);
    if (h) this.record(h.call);
  }
}
