// The admissions the recorder process ran for one gateway worker (`serve --workers N`), kept until their calls come
// back finished. An admission may reserve on the one ledger (a budget's estimate, a key's tokens per minute); the call
// settles it when it ends. A worker that dies never sends the calls it had in flight, so the recorder settles what
// they reserved itself, as calls that reached no answer and spent nothing (they are not recorded: the store, and a
// restart that rebuilds budgets from it, count nothing for them either). Without this a daily budget lost, for the
// rest of the day, the room of every call a crashed worker had in flight. A call the worker finished but dropped at
// its hand-off (its queue to the recorder full, or shut) is not recorded either, but it did reach its answer: the
// worker says so (`shed`), and it settles with what it spent, as one process settles a call its store lane drops.

import { type LlmCall, unspentCall } from '../calls/index.js';
import type { Attribution, GatewayHook } from '../gateway/proxy.js';
import { ADMISSION_TICKET, type AdmissionSnapshot, runHooksFor, settleFor } from './worker.js';

/** The key in an admission's hook state (`internal.hooks` of its call) that names it. */
export const ADMISSION_ID = 'cluster.admission';

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
   * whose call never returned, as a call cut before any answer. Returns how many.
   */
  release(): number {
    const n = this.open.size;
    const now = Date.now();
    for (const a of this.open.values()) settleFor(this.hooks, lostCall(a, now));
    this.open.clear();
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
  };
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
