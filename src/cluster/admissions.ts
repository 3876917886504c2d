// The admissions the recorder process ran for one gateway worker (`serve --workers N`), kept until their calls come
// back finished. An admission may reserve on the one ledger (a budget's estimate, a key's tokens per minute); the call
// settles it when it ends. A worker that dies never sends the calls it had in flight, so the recorder settles what
// they reserved itself, as calls that reached no answer and spent nothing, and records each as far as it knows it
// (cutCall: cost unknown, so the store, and a restart that rebuilds budgets from it, count nothing for them either);
// not those the worker said it finished (its `inflight` message's `done`), whose clients had their answers. Without
// the settling a daily budget lost, for the rest of the day, the room of every call a crashed worker had in flight. A call the worker finished but dropped at
// its hand-off (its queue to the recorder full, or shut) is not recorded either, but it did reach its answer: the
// worker says so (`shed`), and it settles with what it spent, as one process settles a call its store lane drops.

import { type LlmCall, type Metadata, unspentCall } from '../calls/index.js';
import { type Attribution, type GatewayHook, UNRECORDED_ADMISSION } from '../gateway/proxy.js';
import { REALTIME_SESSION_STATE } from '../providers/openai-realtime/proxy.js';
import { ADMISSION_ID, ADMISSION_TICKET, type AdmissionSnapshot, runHooksFor, settleFor } from './worker.js';

export { ADMISSION_ID };

/**
 * Admissions kept per worker at least (the recorder sizes it above the calls a worker can hold: in flight plus its
 * hand-off queue). Past it the oldest is settled as a call that spent nothing, and its state kept (as many again), so
 * should its call come back after all it does not settle twice.
 */
export const MAX_OPEN = 65_536;

interface Open {
  requestId: string;
  endpoint: AdmissionSnapshot['endpoint'];
  model: string;
  provider: string;
  attribution: Attribution;
  state: Record<string, unknown>;
  stream: boolean;
  /** When the call arrived in the worker (else when it was admitted here). */
  startedAt: number;
  metadata: Metadata | null;
  /** The worker said it finished the call (its client had the whole answer) and will hand it over. */
  finished: boolean;
  /** A Realtime upgrade's admission whose first response the worker said started: that response's id. */
  running?: string;
}

/** How a worker that died ended, for the calls it cut (`release`). */
export interface WorkerExit {
  pid: number | undefined;
  /** Its signal, or `code N`. */
  how: string;
  /** Records a call it cut (the recorder process's recorder). */
  record(call: LlmCall): void;
}

let lastId = 0;

/** Abandoned tickets kept for a phase still running (more than a worker's admissions in flight in 10 s, in practice). */
const ABANDONED_KEPT = 65_536;

export class WorkerAdmissions {
  private readonly open = new Map<number, Open>();
  /** The state of admissions settled when they were pushed out, by id (at most maxOpen). */
  private readonly evicted = new Map<number, Record<string, unknown>>();
  /** How many admissions were pushed out since the last `takeEvicted()`. */
  private evictedSince = 0;
  /** Tickets of admissions the worker stopped waiting for (at most ABANDONED_KEPT). */
  private readonly abandoned = new Set<number>();

  constructor(
    private readonly hooks: readonly GatewayHook[],
    private readonly maxOpen = MAX_OPEN,
  ) {}

  get size(): number {
    return this.open.size;
  }

  /** Runs one admission phase for the worker (what it answers), and keeps the admission until its call returns. */
  async run(phase: 'authenticate' | 'admit', snapshot: AdmissionSnapshot): Promise<Record<string, unknown>> {
    let changed: Record<string, unknown>;
    try {
      changed = await runHooksFor(this.hooks, phase, snapshot);
    } catch (err) {
      // A hook refused the call after others of this phase reserved for it (a key's tokens per minute, then a
      // budget). One process settles what they reserved when it records the refused call; here the worker's copy of
      // the state never had it, so it is settled now, as a call that spent nothing.
      const state = snapshot.state;
      const id = state?.[ADMISSION_ID];
      if (typeof id === 'number') this.open.delete(id);
      if (state && typeof state === 'object') settleFor(this.hooks, lostCall(openOf(snapshot, state), Date.now()));
      throw err;
    }
    const state = (changed.state ?? snapshot.state) as Record<string, unknown> | undefined;
    // A pass-through's key check: no call will come back to settle it, so none is awaited (nor cut if the worker dies).
    if (state?.[UNRECORDED_ADMISSION] === true) return changed;
    const ticket = state?.[ADMISSION_TICKET];
    if (state && typeof state === 'object' && typeof ticket === 'number' && this.abandoned.delete(ticket)) {
      // The worker gave up waiting and refused the call: it will not come back admitted.
      const id = state[ADMISSION_ID];
      if (typeof id === 'number') this.open.delete(id);
      settleFor(this.hooks, lostCall(openOf(snapshot, state), Date.now()));
      return changed;
    }
    if (state && typeof state === 'object') {
      let id = state[ADMISSION_ID];
      if (typeof id !== 'number') {
        id = ++lastId;
        state[ADMISSION_ID] = id;
        changed.state = state;
      }
      this.open.delete(id as number);
      this.open.set(
        id as number,
        openOf(
          { ...snapshot, attribution: (changed.attribution as Attribution | undefined) ?? snapshot.attribution },
          state,
        ),
      );
      if (this.open.size > this.maxOpen) this.evictOldest();
    }
    return changed;
  }

  /** The oldest admission is settled as a call that spent nothing, rather than forgotten with what it reserved. */
  private evictOldest(): void {
    const [id, a] = this.open.entries().next().value as [number, Open];
    this.open.delete(id);
    this.evictedSince++;
    settleFor(this.hooks, lostCall(a, Date.now()));
    this.evicted.set(id, a.state);
    if (this.evicted.size > this.maxOpen) this.evicted.delete(this.evicted.keys().next().value as number);
  }

  /**
   * The worker stopped waiting for an admission of its call (`ticket`: its ADMISSION_TICKET) and refused the call:
   * what the admission reserved settles as a call that spent nothing, now if its phase is done, else when it is.
   */
  abandon(ticket: unknown): void {
    if (typeof ticket !== 'number') return;
    for (const [id, a] of this.open)
      if (a.state[ADMISSION_TICKET] === ticket) {
        this.open.delete(id);
        settleFor(this.hooks, lostCall(a, Date.now()));
        break;
      }
    // A phase still running for it settles when it ends (run): kept until then, a bounded number.
    this.abandoned.add(ticket);
    if (this.abandoned.size > ABANDONED_KEPT) this.abandoned.delete(this.abandoned.values().next().value as number);
  }

  /**
   * The worker finished these calls (its `inflight` message's `done`): should it die before handing them over, they
   * are lost, not cut, and are not recorded as cut.
   */
  finished(ids: readonly number[]): void {
    for (const id of ids) {
      const a = this.open.get(id);
      if (a) a.finished = true;
    }
  }

  /**
   * Realtime sessions' first responses started on their upgrades' admissions (the worker's `inflight` message's
   * `running`: admission id, response id): should the worker die before they finish, each is recorded as cut.
   */
  running(started: readonly unknown[]): void {
    for (const s of started) {
      if (!Array.isArray(s) || typeof s[0] !== 'number' || typeof s[1] !== 'string') continue;
      const a = this.open.get(s[0]);
      if (a) a.running = s[1];
    }
  }

  /** How many admissions were pushed out (settled as spending nothing) since the last call. */
  takeEvicted(): number {
    const n = this.evictedSince;
    this.evictedSince = 0;
    return n;
  }

  /**
   * A call the worker finished came back: its admission settles with it. One pushed out and settled already gets the
   * recorder's settled state over its own, so its hooks do not settle it again.
   */
  returned(call: LlmCall): void {
    const hooks = call.internal?.hooks;
    const id = hooks?.[ADMISSION_ID];
    if (typeof id !== 'number') return;
    if (this.open.delete(id)) return;
    const settled = this.evicted.get(id);
    if (settled && hooks) {
      this.evicted.delete(id);
      Object.assign(hooks, settled);
    }
  }

  /**
   * The worker finished these calls but dropped them at its hand-off (they will not be recorded): each settles with
   * what it spent, its tokens counted and priced in the worker. Returns how many had an admission open.
   */
  shed(calls: readonly LlmCall[]): number {
    let n = 0;
    for (const call of calls) {
      const id = call.internal?.hooks?.[ADMISSION_ID];
      if (typeof id !== 'number' || !this.open.delete(id)) continue;
      n++;
      // Settled now with its usage, counted and priced in the worker. A hook that waits for the recorder's tokenizer
      // when a call that reached its upstream has no usage (which the worker's tokenizer would have counted) would
      // wait for ever: it then settles as a call that reached nothing, billing nothing, as the recorder would have.
      settleFor(this.hooks, call);
      const internal = call.internal as NonNullable<LlmCall['internal']>;
      settleFor(this.hooks, { ...call, internal: { ...internal, upstreamStartAt: null } });
    }
    return n;
  }

  /**
   * The worker is gone (and its channel closed, so no call of it can still come back): settles every admission
   * whose call never returned, as a call cut before any answer. With `exit` (it died: a crash, an OOM kill, SIGKILL),
   * each of those calls the worker had not said it finished is recorded too, as the recorder knows it (cutCall), once.
   * Returns how many were settled.
   */
  release(exit?: WorkerExit): number {
    const n = this.open.size;
    const now = Date.now();
    const open = [...this.open.values()];
    this.open.clear();
    for (const a of open) {
      // A Realtime session's upgrade admission, held for its first response: most such sessions wait with none running
      // (a voice session listening), so the worker's death cut no call of theirs; recorded, each would be a 502 call
      // that never was. A first response the worker said started (`running`) is recorded as cut, with its id, as a
      // later response (whose admission is its own) is.
      const idle = a.state[REALTIME_SESSION_STATE] === true && a.running === undefined;
      if (!exit || a.finished || idle) {
        settleFor(this.hooks, lostCall(a, now));
        continue;
      }
      const call = cutCall(a.running === undefined ? a : { ...a, requestId: a.running }, now, exit);
      // Settled here as spending nothing (no upstream reached, as far as the recorder knows), then recorded: the
      // recorder's own settling (the cost enricher) then finds nothing pending, so it settles once.
      settleFor(this.hooks, call);
      // Then marked as a call that may have reached its provider (the recorder cannot tell): priced unknown (null),
      // not as a call refused before it left, which costs 0.
      (call.internal as NonNullable<LlmCall['internal']>).upstreamStartAt = a.startedAt;
      exit.record(call);
    }
    return n;
  }
}

function openOf(snapshot: AdmissionSnapshot, state: Record<string, unknown>): Open {
  return {
    requestId: snapshot.requestId,
    endpoint: snapshot.endpoint,
    model: snapshot.model,
    provider: snapshot.provider,
    attribution: { ...snapshot.attribution },
    state,
    stream: snapshot.stream === true,
    startedAt: typeof snapshot.startedAt === 'number' ? snapshot.startedAt : Date.now(),
    metadata: snapshot.metadata ?? null,
    finished: false,
  };
}

/**
 * A call a dying worker cut (docs/deploy.md, "Crash of a gateway worker"): its client saw the connection close, before
 * or during the answer (or, for a background response held for its poll, will never get it). Recorded as llmscope's gateway failing it: `upstream_error` (the one status for a call that
 * failed past the client's request; it was not the client's doing, so not `cancelled`), 502 (what a proxy answers when
 * the hop behind it fails; a stream's client had 200 then a cut, as with `upstream_stream_cut`), error_type
 * `worker_exited`. Tokens and cost unknown (null): the recorder never saw its answer, though the provider may bill
 * what it sent. Its time runs from its arrival to when the recorder saw the worker's exit.
 */
function cutCall(a: Open, now: number, exit: Pick<WorkerExit, 'pid' | 'how'>): LlmCall {
  const call = unspentCall({
    requestId: a.requestId,
    provider: a.provider,
    model: a.model,
    endpoint: a.endpoint,
    stream: a.stream,
    errorType: 'worker_exited',
    attribution: a.attribution,
    hooks: a.state,
    at: a.startedAt,
  });
  call.status = 'upstream_error';
  call.httpStatus = 502;
  call.errorMessage = `the gateway worker serving the call (pid ${exit.pid ?? 'unknown'}) exited (${exit.how}) before the call finished: its answer, or the rest of it, never reached the client`;
  call.metadata = a.metadata;
  call.endedAt = Math.max(now, a.startedAt);
  call.latencyMs = call.endedAt - a.startedAt;
  return call;
}

/** The call an admission led to, as far as the recorder knows it: refused, or cut in a worker that died; no tokens, no cost. */
function lostCall(a: Open, now: number): LlmCall {
  return unspentCall({
    requestId: a.requestId,
    provider: a.provider,
    model: a.model,
    endpoint: a.endpoint,
    stream: false,
    errorType: 'worker_exited',
    attribution: a.attribution,
    hooks: a.state,
    at: now,
  });
}
