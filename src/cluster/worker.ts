// A gateway worker (`serve --workers N`, N ≥ 2): one of N processes serving the connections the primary accepts. It
// runs what a client waits for on /v1 (parse, admit, forward, pass bytes, timestamps) and, off the request path, the
// per-call work that needs only the config and the call: tokens, redaction, the modules' per-call parts (pricing,
// refusals, text sampled for evaluation), content, this worker's metrics and request log lines. It hands
// each enriched call to the primary (the recorder process) over IPC, in bounded batches; what must be one per
// deployment runs there: settling budgets, the store, spend, quality evaluations, alerts, OTLP export. Admission
// hooks (virtual keys, budgets, rate limits) run in the primary too, one RPC per phase, so every worker reserves on
// the one ledger. Anything else (/api, the dashboard, /metrics, /readyz, OTLP, ingest) is relayed to the primary's
// loopback listener, which answers for the whole deployment.
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { pipeline } from 'node:stream/promises';
import type { TLSSocket } from 'node:tls';
import { collectDefaultMetrics, type MetricObjectWithValues, type MetricValue, Registry } from 'prom-client';
import { Pool } from 'undici';
import type { CallContext } from '../app-context.js';
import { CountingRecorder, CUT_CALLS_WAIT_MS, callWork, isLoopback, redactorOf } from '../call-work.js';
import type { LlmCall, Recorder } from '../calls/index.js';
import { builtinCallParts } from '../cli/call-parts.js';
import type { Config } from '../config/index.js';
import { durationMs } from '../config/index.js';
import {
  estimateInputTokens,
  INPUT_ESTIMATE,
  outputLimitFields,
  UNITS_ESTIMATE,
  unitsEstimateOf,
} from '../cost/budgets.js';
import { UNIT_ENDPOINTS } from '../cost/units.js';
import { LlmscopeError } from '../errors.js';
import {
  refuseCrossSite,
  refuseEmptySegment,
  refuseNonLoopbackHost,
  requestTarget,
  serveGateway,
} from '../gateway/dispatch.js';
import { type Admission, type GatewayHook, GatewayProxy } from '../gateway/proxy.js';
import { ModelRouter } from '../gateway/routing.js';
import { clientHeaders, createUpstream, type Upstream } from '../gateway/upstream.js';
import { clientClosed, createListener, internalErrorId, sendError } from '../http/index.js';
import { isOtlpPath, sendOtlpError } from '../otlp/status.js';
import { maskBody } from '../privacy/index.js';
import { attachRealtime } from '../providers/openai-realtime/index.js';
import type { CallLogRow } from '../store/index.js';
import { CallLogs } from '../telemetry/call-logs.js';
import { dropLogger } from '../telemetry/drop-log.js';
import { createLogger } from '../telemetry/logging.js';
import { Metrics } from '../telemetry/metrics.js';
import { type AttributedError, pack, type Rpc, RpcPackError, unpack } from './rpc.js';

/** The header that proves a request to the primary's loopback listener came from one of its workers. */
export const INTERNAL_HEADER = 'x-llmscope-internal';

/** What the primary sends a worker once it says hello. */
export interface WorkerInit {
  t: 'init';
  config: Config;
  /** The primary's loopback listener, for everything that is not a /v1 call. */
  internalUrl: string;
  internalToken: string;
  /** Which admission phases have hooks in the primary (no hooks: no round trip), and what of the body each reads. */
  phases: { authenticate: boolean; admit: boolean; body?: BodyNeeds };
  /** The primary's modules' per-call parts (`ctx.perCall`), by name, in order: this worker runs them on its calls. */
  callParts: string[];
  /**
   * Whether a primary hook distrusts calls no live key vouched for (GatewayHook.distrusts: virtual keys exist) when the
   * worker starts; the heartbeat's ping (PingMessage) keeps it current.
   */
  distrusts?: boolean;
}

/** The primary's heartbeat, asked of each worker that serves; it carries what the worker's hooks cannot tell alone. */
export interface PingMessage {
  /** GatewayHook.distrusts of the primary's hooks now (WorkerInit.distrusts). */
  distrusts: boolean;
}

/**
 * Finished calls, batched, and how many calls this worker has in flight. The channel carries JSON (measured on 16
 * cores: the recorder spent 146 µs per call with it against 164 with V8's structured clone, and the fleet passed 19%
 * more calls). What hooks and per-call parts kept on a call (`internal.hooks`) goes as it is when JSON carries it
 * intact (quality's sampled text, a refusal's verdict), and packed when it does not (a virtual key, with a Set in it).
 */
export interface CallsMessage {
  t: 'calls';
  /** The batch's number: the primary answers `{ t: 'calls-ack', id }` once its calls are recorded. */
  id: number;
  calls: WireCall[];
  inflight: number;
}

/**
 * How long the primary waits for room in its lossless lanes (store, spend, quality) before recording a worker's
 * batch anyway (its lanes then drop and count what does not fit), and how long a worker waits for the ack.
 */
export const HANDOFF_WAIT_MS = 10_000;

export type WireCall = LlmCall & { hooksPacked?: string };

/**
 * Log lines this worker kept for its calls (GET /api/requests/:id `logs`), batched: the recorder process writes them
 * to the store with its own. Each call's cap and each line's size are applied here.
 */
export interface CallLogsMessage {
  t: 'call-logs';
  rows: CallLogRow[];
}

/**
 * Calls this worker finished but dropped at its hand-off (its queue to the primary full, a batch not taken in time,
 * or shut): they will not be recorded, but what their admissions reserved (budgets, tokens per minute) must settle
 * now, with what they spent, rather than when the worker exits. Only calls with hook state go, without their text.
 */
export interface ShedMessage {
  t: 'shed';
  calls: WireCall[];
}

/** A dropped call as a `shed` message carries it: what settling reads (attribution, usage, cost, hook state). */
export function shedOf(call: LlmCall): WireCall {
  return toWire({ ...call, spans: [], events: [], content: null });
}

/** Whether JSON carries `v` intact: null, strings, booleans, finite numbers, and arrays and plain objects of them. */
export function jsonSafe(v: unknown, depth = 0): boolean {
  if (v === null) return true;
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(v);
    case 'object': {
      if (depth > 16) return false;
      if (Array.isArray(v)) {
        for (const x of v) if (!jsonSafe(x, depth + 1)) return false;
        return true;
      }
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) return false;
      for (const k in v) if (!jsonSafe((v as Record<string, unknown>)[k], depth + 1)) return false;
      return true;
    }
    default:
      return false;
  }
}

/** A call as it goes on the channel. */
export function toWire(call: LlmCall): WireCall {
  const hooks = call.internal?.hooks;
  if (!hooks || !call.internal || jsonSafe(hooks)) return call;
  return { ...call, internal: { ...call.internal, hooks: undefined }, hooksPacked: pack(hooks) };
}

/** A call as it came off the channel. */
export function fromWire(w: WireCall): LlmCall {
  if (w.hooksPacked === undefined) return w;
  const { hooksPacked, ...call } = w;
  if (call.internal) call.internal.hooks = unpack<Record<string, unknown>>(hooksPacked);
  return call;
}

/** The fields of an admission a hook may change; they travel back from the primary. */
export type AdmissionSnapshot = Omit<Admission, 'headers' | 'body'> & { headers: IncomingHttpHeaders; body: unknown };

/** How long a worker waits for the primary to run the admission hooks before answering 503. */
const ADMIT_TIMEOUT_MS = 10_000;

/**
 * How long a call waits for the primary to say whether its client's x-request-id is taken (another worker's, or
 * stored) before going on under that id anyway: the call's upstream request waits for the answer.
 */
const ID_TAKEN_WAIT_MS = 1_000;

/**
 * The key in a call's hook state that names its admission in this worker (a count of its own): set before the first
 * phase goes to the primary, so the worker can name an admission whose answer it stopped waiting for.
 */
export const ADMISSION_TICKET = 'cluster.ticket';
let tickets = 0;
/**
 * How soon a worker tells the primary how many calls it has in flight after the number changes (also sent with every
 * batch): the primary counts a dying worker's calls in flight from it, so a call that started just before the worker
 * died is counted too. At most one message per this many ms.
 */
const INFLIGHT_TELL_MS = 50;

/**
 * The key in a call's hook state that names its admission in the recorder process (set there, on the first phase):
 * `returned`, `shed` and the worker's `inflight` message name admissions by it.
 */
export const ADMISSION_ID = 'cluster.admission';

/**
 * How many calls this worker has unfinished, and the admissions (ADMISSION_ID) of calls it finished since its last
 * such message that it has not handed over yet: should it die before it does, the recorder process knows those calls
 * reached their answer (they are lost, not cut), and records the rest of its open admissions as cut (admissions.ts).
 * Sent at most once per INFLIGHT_TELL_MS, within that of a change: never one message per call.
 */
export interface InflightMessage {
  t: 'inflight';
  inflight: number;
  done?: number[];
  /**
   * Realtime sessions whose first response started since the last such message, each its upgrade's admission
   * (ADMISSION_ID, which the response holds) and the response's id: once a session, never one message per event. Should
   * the worker die while it runs, the recorder process records it as cut, as a later response (admissions.ts).
   */
  running?: [number, string][];
}

/** The admission id a finished call carries (its hook state's ADMISSION_ID), or null. */
export function admissionIdOf(call: LlmCall): number | null {
  const id = call.internal?.hooks?.[ADMISSION_ID];
  return typeof id === 'number' ? id : null;
}

/** A worker's recorder, which says (`finished`) each call given to it: the proxy gives it each call as it finishes. */
class HandoffRecorder extends CountingRecorder {
  finished: (call: LlmCall) => void = () => {};
  override record(call: LlmCall): void {
    this.finished(call);
    super.record(call);
  }
}

/** The worker's calls in flight (the proxy adds and deletes them); `changed` runs on every change. */
class InflightSet extends Set<ServerResponse> {
  changed: () => void = () => {};
  override add(res: ServerResponse): this {
    super.add(res);
    this.changed();
    return this;
  }
  override delete(res: ServerResponse): boolean {
    const had = super.delete(res);
    if (had) this.changed();
    return had;
  }
}

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'proxy-connection',
  'te',
  'trailer',
  'host',
  'expect',
]);

/**
 * What of a call's body the primary's hooks of a phase read: all of it (privacy.maskUpstream rewrites it; a hook not
 * named below), only what the admission estimate reads (INPUT_ESTIMATE, made in the worker, and the output limit
 * fields), or nothing.
 */
export type BodyNeed = 'whole' | 'estimate' | 'none';
export interface BodyNeeds {
  authenticate: BodyNeed;
  admit: BodyNeed;
}
/** Hooks that read no body (virtual keys: the Authorization header). */
const READS_NO_BODY = new Set(['virtual-keys']);
/** Hooks that read the body only through inputEstimateOf and maxOutputTokens (src/cost/budgets.ts). */
const READS_ESTIMATE = new Set(['budgets', 'rate-limits']);

/** What of the body the primary's `hooks` read in each phase (any hook not known here: all of it). */
export function bodyNeeds(hooks: readonly GatewayHook[]): BodyNeeds {
  const need = (phase: 'authenticate' | 'admit'): BodyNeed => {
    let n: BodyNeed = 'none';
    for (const h of hooks) {
      if (!h[phase] || READS_NO_BODY.has(h.name)) continue;
      if (!READS_ESTIMATE.has(h.name)) return 'whole';
      n = 'estimate';
    }
    return n;
  };
  return { authenticate: need('authenticate'), admit: need('admit') };
}

/**
 * The body a phase's snapshot carries: all of it, none, or (for the admission estimate) the output limit fields, the
 * input estimate being made here and put in the admission's state. A 40 MB prompt then crosses the IPC channel to
 * the recorder process only when a hook there reads or rewrites it (privacy.maskUpstream).
 */
function bodyFor(need: BodyNeed, a: Admission): unknown {
  if (need === 'whole') return a.body;
  if (need === 'none') return {};
  a.state[INPUT_ESTIMATE] = estimateInputTokens(a.body, a.endpoint);
  // A platform call's units (images, characters of speech: budgets.ts unitsEstimateOf), made here as the prompt is.
  if (UNIT_ENDPOINTS.has(a.endpoint)) a.state[UNITS_ESTIMATE] = unitsEstimateOf(a);
  return outputLimitFields(a.body as Record<string, unknown>);
}

/** The gateway hook that runs the primary's hooks for one phase: the admission goes there and its changes come back. */
export function remoteHook(
  rpc: Rpc,
  phases: WorkerInit['phases'],
  timeoutMs = ADMIT_TIMEOUT_MS,
  trust: { distrusts: boolean } = { distrusts: false },
): GatewayHook {
  const run = async (phase: 'authenticate' | 'admit', a: Admission): Promise<void> => {
    if (typeof a.state[ADMISSION_TICKET] !== 'number') a.state[ADMISSION_TICKET] = ++tickets;
    const need = phases.body?.[phase] ?? 'whole';
    const body = bodyFor(need, a);
    const snapshot: AdmissionSnapshot = {
      requestId: a.requestId,
      traceId: a.traceId,
      spanId: a.spanId,
      endpoint: a.endpoint,
      format: a.format,
      model: a.model,
      provider: a.provider,
      body,
      headers: a.headers,
      attribution: a.attribution,
      // What the recorder process records of the call should this worker die with it in flight (admissions.ts).
      stream: a.stream,
      startedAt: a.startedAt,
      metadata: a.metadata,
      forwardClientAuth: a.forwardClientAuth,
      state: a.state,
    };
    let changed: Record<string, unknown>;
    try {
      changed = await rpc.call<Record<string, unknown>>(`hooks.${phase}`, snapshot, timeoutMs);
    } catch (err) {
      if (err instanceof LlmscopeError) {
        const at = (err as AttributedError).attribution;
        if (at) Object.assign(a.attribution, at);
        throw err;
      }
      // A body the primary cannot be handed (JSON nested thousands deep overflows V8's serializer): the client's to
      // fix, not a busy recorder to retry against (as 503 overloaded it would be retried for ever). Nothing was sent.
      if (err instanceof RpcPackError)
        throw new LlmscopeError(
          'LLMSCOPE_ERR_INVALID_BODY',
          'the request body is nested too deeply for llmscope to pass to its recorder process; send JSON nested at most a few hundred levels deep',
        );
      // The call is refused here; should the primary still admit it (it was slow, not gone), what that reserved must
      // not stay held: it settles the admission as soon as it can.
      rpc.call('hooks.abandon', a.state[ADMISSION_TICKET], timeoutMs).catch(() => {});
      throw new LlmscopeError(
        'LLMSCOPE_ERR_OVERLOADED',
        `llmscope's recorder process did not admit the call (${(err as Error).message}); retry shortly`,
        { headers: { 'retry-after': '1' } },
      );
    }
    // The attribution object is the flight's own: change it in place, as a hook in this process would.
    const {
      attribution,
      body: rewritten,
      ...rest
    } = changed as {
      attribution?: Admission['attribution'];
      body?: Record<string, unknown>;
    };
    if (attribution) Object.assign(a.attribution, attribution);
    // A hook that rewrote the body (privacy.maskUpstream) sends it back; its contents replace the flight's in place,
    // since the gateway goes on with the same object. (Only a body sent whole can come back rewritten.)
    if (rewritten && need === 'whole') {
      const own = a.body as Record<string, unknown>;
      for (const k of Object.keys(own)) delete own[k];
      Object.assign(own, rewritten);
    }
    Object.assign(a, rest);
  };
  return {
    name: 'primary',
    // As the primary's hooks said at the last heartbeat: a call refused before a key vouched for it loses its client's
    // claims here, so this worker's own request log line carries none either (the primary checks again, as it records).
    distrusts: () => trust.distrusts,
    ...(phases.authenticate ? { authenticate: (a: Admission) => run('authenticate', a) } : {}),
    ...(phases.admit ? { admit: (a: Admission) => run('admit', a) } : {}),
  };
}

/** What the primary receives from a hook phase run for a worker: every field a hook may have changed. */
export async function runHooksFor(
  hooks: readonly GatewayHook[],
  phase: 'authenticate' | 'admit',
  snapshot: AdmissionSnapshot,
): Promise<Record<string, unknown>> {
  const a = { ...snapshot } as Admission;
  for (const h of hooks) {
    const f = h[phase];
    try {
      if (f) await f.call(h, a);
    } catch (err) {
      // A live key that admitted the caller and refused the call (a model it may not call): the worker records the
      // refusal with the key's attribution, as one process does.
      if (err instanceof LlmscopeError && a.attribution.apiKeyId)
        (err as AttributedError).attribution = { ...a.attribution };
      throw err;
    }
  }
  const {
    body,
    headers: _h,
    requestId: _r,
    traceId: _t,
    spanId: _s,
    endpoint: _e,
    format: _f,
    model: _m,
    provider: _p,
    stream: _st,
    startedAt: _sa,
    metadata: _md,
    ...changed
  } = a;
  // The body goes back only when a hook rewrote it (privacy.maskUpstream): most calls' bodies cross once.
  return a.bodyChanged ? { ...changed, body } : changed;
}

/** Runs the primary's `settle` hooks on a call a worker finished (what `Flight.finish` does in one process). */
export function settleFor(hooks: readonly GatewayHook[], call: LlmCall): void {
  const state = call.internal?.hooks;
  if (!state) return;
  const a: Admission = {
    requestId: call.requestId,
    endpoint: call.endpoint,
    model: call.model,
    provider: call.provider,
    body: {},
    headers: {},
    attribution: {
      user: call.user,
      team: call.team,
      feature: call.feature,
      session: call.session,
      apiKeyId: call.apiKeyId,
    },
    forwardClientAuth: true,
    state,
  };
  for (const h of hooks) h.settle?.(a, call);
}

/**
 * Adds to a worker's recorder the per-call work one process runs on its calls (server.ts callWork: tokens, redaction,
 * then the modules' per-call parts named by the recorder process, in its order, then content; the metrics
 * and request log sinks). A part with no built-in build (src/cli/modules.ts builtinCallParts) fails the worker's start.
 */
export function addCallWork(recorder: Recorder, ctx: CallContext, callParts: readonly string[]): void {
  const work = callWork(ctx.config, {
    metrics: ctx.metrics,
    logger: ctx.logger,
    redactor: redactorOf(ctx.config, ctx.metrics),
  });
  const builtin = new Map(builtinCallParts().map((p) => [p.name, p]));
  const parts = callParts.map((name) => {
    const part = builtin.get(name);
    if (!part)
      throw new LlmscopeError(
        'LLMSCOPE_ERR_CONFIG_INVALID',
        `the module part "${name}" cannot run in a gateway worker: serve --workers runs the built-in modules' per-call parts only`,
      );
    return part;
  });
  for (const e of work.head) recorder.addEnricher(e);
  for (const part of parts) for (const e of part.build(ctx)) recorder.addEnricher(e);
  for (const e of work.tail) recorder.addEnricher(e);
  for (const s of work.sinks) recorder.addSink(s);
}

export interface GatewayWorker {
  readonly server: Server;
  /** This worker's logger (its lines carry `worker`: its pid). */
  readonly log: Pick<ReturnType<typeof createLogger>, 'warn' | 'flush'>;
  /**
   * Stops taking calls, lets those in flight finish (bounded by server.shutdownGrace), hands every finished call on.
   * `alone`: only this worker stops while the others serve (a SIGTERM of its own, a rolling restart): it stops
   * accepting connections but answers requests on those it has (each then closed), rather than refusing them.
   */
  drain(opts?: { alone?: boolean }): Promise<void>;
  /** This worker's metrics, as `GET /metrics` adds them up (also sent with its last message when it drains). */
  metrics(): Promise<MetricObjectWithValues<MetricValue<string>>[]>;
  /** The primary recorded batch `id` (its `calls-ack`). */
  acked(id: number): void;
  /** The channel to the primary closed: batches waiting for an ack fail (and are counted as dropped). */
  disconnected(): void;
  /**
   * Serves a client connection the primary accepted and handed over (it listens on the public port, not the workers):
   * true when taken; false while draining, when the caller closes its copy unread and the primary gives it to
   * another worker.
   */
  accept(socket: Socket): boolean;
}

/**
 * Starts the worker's HTTP(S) server, which serves the connections the primary hands it (`accept`): the primary
 * listens on the public port and gives each connection to a live worker. `send` puts a message on the channel to the primary; `rpc` is the channel's RPC side.
 */
export async function startWorker(
  init: WorkerInit,
  channel: { send(msg: unknown, cb: (err: Error | null) => void): boolean; connected(): boolean },
  rpc: Rpc,
): Promise<GatewayWorker> {
  const config = init.config;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'])
    registry.removeSingleMetric(name);
  const metrics = new Metrics(registry, {
    labelBudget: config.telemetry.labelBudget,
    labelHardCap: config.telemetry.labelHardCap,
  });
  // Its calls' lines go to the recorder process, which writes them to the store (a channel gone: dropped, counted).
  const callLogs = new CallLogs({
    maxLines: config.telemetry.callLogLines,
    onDrop: (lines) => metrics.dropped.inc({ sink: 'call_logs' }, lines),
  });
  callLogs.attach((rows) => {
    if (!channel.connected()) throw new Error('the recorder process is gone');
    const msg: CallLogsMessage = { t: 'call-logs', rows };
    channel.send(msg, () => {});
  });
  const logger = createLogger({
    level: config.telemetry.logLevel,
    format: config.telemetry.logFormat,
    onDrop: (lines) => metrics.dropped.inc({ sink: 'logs' }, lines),
    // the recorder and every worker write request lines to the one stdout
    sharedStdout: true,
    tee: callLogs.maxLines > 0 ? (s) => callLogs.note(s) : undefined,
  }).child({ worker: process.pid });
  const inflight = new InflightSet();

  // The per-call work, as in one process (server.ts callWork and the modules' parts), then three sinks: this
  // worker's metrics and request log, and the hand-off to the primary, each bounded (recorder.capacity) and counted
  // when shed, like any sink.
  let lastWarn = 0;
  /** Admissions of calls finished since the last `inflight` message and not handed over since (InflightMessage). */
  const untold = new Set<number>();
  /** Realtime sessions' first responses started since the last `inflight` message: admission id, response id. */
  const firstResponses = new Map<number, string>();
  const handedOver = (calls: readonly LlmCall[]): void => {
    if (untold.size === 0) return;
    for (const c of calls) {
      const id = admissionIdOf(c);
      if (id !== null) untold.delete(id);
    }
  };
  const noteDrop = dropLogger(logger);
  const recorder = new HandoffRecorder({
    capacity: config.recorder.capacity,
    onDrop: (sink, n, reason, calls) => {
      metrics.dropped.inc({ sink }, n);
      noteDrop(sink, n, reason);
      if (sink !== 'primary') return;
      // Dropped: the `shed` message below settles them (their admissions close there), or the recorder is gone.
      handedOver(calls);
      if (!channel.connected()) return;
      const held = calls.filter((c) => c.internal?.hooks && Object.keys(c.internal.hooks).length > 0);
      if (held.length === 0) return;
      const msg: ShedMessage = { t: 'shed', calls: held.map(shedOf) };
      channel.send(msg, () => {});
    },
    onSinkError: (sink, err) => {
      const t = Date.now();
      if (t - lastWarn < 10_000) return;
      lastWarn = t;
      logger.warn({ event: 'sink_error', sink, err: (err as Error)?.message ?? String(err) }, `sink ${sink} failed`);
    },
    onEnricherError: (enricher, err) =>
      logger.warn({ event: 'enricher_error', enricher, err: (err as Error)?.message }, `enricher ${enricher} failed`),
  });
  addCallWork(recorder, { config, registry, metrics, logger, clock: { now: () => Date.now() } }, init.callParts);
  // The hand-off waits for the primary's ack of each batch, which comes once the batch is recorded there with room
  // in its lossless lanes: a recorder slower than the fleet slows this lane (bounded by recorder.capacity, then
  // dropped and counted here) instead of its own lanes overflowing and losing calls the workers sent.
  let batches = 0;
  const acks = new Map<number, { ok: () => void; fail: (err: Error) => void; timer: NodeJS.Timeout }>();
  const settle = (id: number, err?: Error): void => {
    const a = acks.get(id);
    if (!a) return;
    acks.delete(id);
    clearTimeout(a.timer);
    if (err) a.fail(err);
    else a.ok();
  };
  recorder.addSink({
    name: 'primary',
    maxBatch: 256,
    lingerMs: config.storage.durability === 'every-call' ? 0 : 5,
    write: (calls) =>
      new Promise<void>((ok, fail) => {
        if (!channel.connected()) return fail(new Error('the recorder process is gone'));
        const id = ++batches;
        const timer = setTimeout(
          () => settle(id, new Error('the recorder process did not take the batch in time')),
          HANDOFF_WAIT_MS * 2,
        );
        acks.set(id, { ok, fail, timer });
        // On the channel from here: their admissions close when the batch arrives (returned), nothing to tell.
        handedOver(calls);
        const msg: CallsMessage = { t: 'calls', id, calls: calls.map(toWire), inflight: unfinished() };
        channel.send(msg, (err) => {
          if (err) settle(id, err);
        });
      }),
  });
  const snapshot = async (): Promise<MetricObjectWithValues<MetricValue<string>>[]> => {
    for (const [sink, depth] of Object.entries(recorder.depths()))
      if (sink !== '_pending') metrics.queueDepth.set({ sink }, depth);
    return registry.getMetricsAsJSON();
  };
  rpc.on('metrics', snapshot);

  const upstreams = new Map<string, Upstream>();
  for (const p of config.providers) upstreams.set(p.name, createUpstream(p));
  const keys = { distrusts: init.distrusts === true };
  // The heartbeat (answered from this event loop: a worker stuck in a busy loop stops answering and is replaced).
  rpc.on('ping', (p) => {
    const ping = p as Partial<PingMessage> | null;
    if (typeof ping?.distrusts === 'boolean') keys.distrusts = ping.distrusts;
    return null;
  });
  const hooks: GatewayHook[] =
    init.phases.authenticate || init.phases.admit ? [remoteHook(rpc, init.phases, ADMIT_TIMEOUT_MS, keys)] : [];
  let draining = false;
  /** Draining with the whole deployment: new calls are refused (503 shutting_down). */
  let shedding = false;
  /** Draining alone: every answer closes its connection, so its client's next request opens one to another worker. */
  let closing = false;
  // privacy.maskUpstream on what the worker passes through (calls are masked by the primary's hook)
  const passThroughMask = config.privacy.maskUpstream ? redactorOf(config, metrics) : null;
  const proxy = new GatewayProxy({
    config,
    recorder,
    logger,
    router: new ModelRouter(config.providers, config.routes),
    upstreams,
    hooks,
    maskPassThrough: passThroughMask ? (body) => maskBody(passThroughMask, body) : undefined,
    draining: () => shedding,
    inflight,
    onShed: (reason) => metrics.shed.inc({ reason }),
    // A client's x-request-id this worker has not seen: the primary knows whether another worker was sent it or the
    // store holds it. No answer (the primary busy or gone) keeps the client's id.
    idTaken: (id) => rpc.call<boolean>('calls.idTaken', id, ID_TAKEN_WAIT_MS).catch(() => false),
    // A poll of a background response another worker holds: the primary passes its answer to the others.
    onOtherPoll: (id, body) => void rpc.call('background.poll', { id, body }, 20_000).catch(() => undefined),
  });
  /**
   * The calls this worker would lose if it died now, as it tells the primary: those in flight, and the background
   * responses held for their poll (answered queued, recorded only once a poll or their hold's end finishes them).
   */
  const unfinished = (): number => inflight.size + proxy.backgroundHeld;
  rpc.on('background.finish', (arg) => {
    const { id, body } = arg as { id: string; body: string };
    return proxy.finishBackground(String(id), String(body));
  });

  // An erase of a user's data (run in the primary) first has this worker record the user's held background responses,
  // and answers once they are handed over, so that the erase finds them with the user's other calls.
  rpc.on('background.releaseUser', async (user) => {
    const n = proxy.releaseBackgroundOf(String(user));
    if (n > 0) await recorder.flush();
    return n;
  });
  // ... and then sends the lines its calls logged so far (the request lines too), before answering: on the one
  // channel they reach the primary first, so the erase removes them with the calls.
  rpc.on('call-logs.flush', async () => {
    await recorder.flush();
    await callLogs.flush();
    return true;
  });

  // No cap on the connections to the primary: each relayed request has its own, as it has its own connection to the
  // worker (one process serves each on the client's). With a cap (64), that many uploads to /api trickling in held
  // them all and every relayed request queued behind them: /healthz, /readyz and /metrics stopped answering.
  const primary = new Pool(init.internalUrl, { connections: null, bodyTimeout: 0, headersTimeout: 0 });
  const trust = config.server.trustProxy;
  const peerOf = (req: IncomingMessage): string => (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
  const trusted = (req: IncomingMessage): boolean =>
    trust === true ? true : trust === false ? false : trust.includes(peerOf(req));
  const first = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v)?.split(',')[0];

  /**
   * Relayed requests in flight (/metrics, /api, the dashboard, ingest, OTLP): a draining worker lets them finish, as
   * it does its calls, instead of closing their connections under them (a scrape or an ingest batch that reached a
   * worker as a rolling restart stopped it got its socket closed with no answer).
   */
  let relaying = 0;
  const relay = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    relaying++;
    try {
      await relayTo(req, res);
    } finally {
      relaying--;
    }
  };
  /** Relays a request the primary answers, saying who the client is as the primary would have seen it. */
  const relayTo = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers))
      if (v !== undefined && !HOP_BY_HOP.has(k) && !k.startsWith('x-forwarded-'))
        headers[k] = Array.isArray(v) ? v.join(', ') : v;
    // The primary trusts only its workers' forwarding headers; they carry what the client's hop said (or what a
    // proxy this deployment trusts said), so its sign-in limits, cookies and origin checks see the same client.
    const t = trusted(req);
    const xff = req.headers['x-forwarded-for'];
    const hops = (Array.isArray(xff) ? xff.join(',') : (xff ?? '')).split(',');
    // Untrusted, the client's own entries are kept before its address (which stays last, the one the primary reads
    // as the client): loopback trust is refused to a request a proxy on this host forwarded for someone else.
    headers['x-forwarded-for'] =
      (t && hops[hops.length - 1]?.trim()) || (xff === undefined ? peerOf(req) : `${hops.join(',')}, ${peerOf(req)}`);
    headers['x-forwarded-proto'] = (req.socket as TLSSocket).encrypted
      ? 'https'
      : (t && first(req.headers['x-forwarded-proto'])?.trim()) || 'http';
    const host = (t && first(req.headers['x-forwarded-host'])) || req.headers.host;
    if (host) headers['x-forwarded-host'] = host;
    headers[INTERNAL_HEADER] = init.internalToken;
    const method = req.method ?? 'GET';
    const hasBody = method !== 'GET' && method !== 'HEAD';
    // The target as the primary would route it in one process (new URL): an asterisk-form `*` or other target that
    // is not origin-form made undici throw ("path must ... start with a slash"), a 500 with a stack in the log.
    const target = new URL(req.url ?? '/', 'http://llmscope');
    const answer = await primary.request({
      path: target.pathname + target.search,
      method: method as 'GET',
      headers,
      body: hasBody ? req : undefined,
    });
    // A body answered before it was whole (408 for one that stopped arriving, 413): the connection is closed after
    // the answer, rather than wait for the rest. A GET's or HEAD's body (not sent on) is dropped after the answer,
    // bounded (createListener; req.resume() read it without end from a client that never stopped sending).
    if (hasBody && !req.complete) res.shouldKeepAlive = false;
    res.writeHead(answer.statusCode, clientHeaders(answer.headers, true));
    try {
      await pipeline(answer.body, res);
    } catch (err) {
      // The client hung up before the whole answer (a scrape past its timeout, a closed page): nobody's error, as in
      // one process, where such a hang-up logs nothing (each was an error line with a stack). An answer the primary
      // failed to finish fails with undici's error, not this one, and is still logged.
      if ((err as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE' && !res.writableFinished) return;
      throw err;
    }
  };

  const loopback = isLoopback(config.server.host);
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (closing) res.setHeader('connection', 'close');
    if (refuseEmptySegment(proxy, req, res)) return;
    const target = requestTarget(req.url ?? '/');
    const path = target.pathname;
    // As src/server.ts: on the loopback bind a gateway call without a virtual key needs a loopback Host.
    if (loopback && refuseNonLoopbackHost(proxy, req, res, path)) return;
    if (refuseCrossSite(proxy, req, res, path, config.server.corsOrigins)) return;
    const gateway = serveGateway(proxy, req, res, target, upstreams, config.routes);
    if (gateway !== false) return gateway === true ? undefined : gateway;
    // A draining worker is not ready, whatever the primary says.
    if (path === '/readyz' && draining)
      throw new LlmscopeError('LLMSCOPE_ERR_SHUTTING_DOWN', 'this llmscope worker is shutting down');
    return relay(req, res);
  };

  const server = createListener(
    config.server.tls,
    (req, res) => {
      handle(req, res).catch((err) => {
        // A client that hung up mid-upload (a relayed ingest or export cut short) is nobody's error.
        if (!(err instanceof LlmscopeError) && !clientClosed(req, err))
          logger.error({ event: 'http_error', request_id: internalErrorId(res), err }, 'request failed');
        // A body refused before any of it was read: its rest dropped after the answer, bounded (createListener)
        if (res.headersSent) res.destroy();
        else if (isOtlpPath(req.url)) sendOtlpError(req, res, err);
        else sendError(res, err);
      });
    },
    undefined,
    { ms: durationMs(config.server.bodyIdleTimeout), onTimeout: () => metrics.bodyTimeouts.inc() },
  );
  // OpenAI's Realtime API (WebSocket upgrades at /v1/realtime), served here as in one process: admitted through the
  // primary's hooks, each response recorded through this worker's hand-off.
  const realtime = attachRealtime(server, {
    config,
    recorder,
    logger,
    upstreams,
    hooks,
    draining: () => shedding,
    loopback,
    // An admission no call will settle (a session without a response, an upgrade refused after it): the primary,
    // which holds it, settles it as spending nothing.
    release: (a) => void rpc.call('hooks.abandon', a.state[ADMISSION_TICKET], ADMIT_TIMEOUT_MS).catch(() => undefined),
    // A session's first response started on the upgrade's admission: told with the next `inflight` message.
    onFirstResponse: (a, responseId) => {
      const id = a.state[ADMISSION_ID];
      if (typeof id !== 'number') return;
      firstResponses.set(id, responseId);
      inflight.changed();
    },
    // Each Responses WebSocket response counts against server.maxConcurrentCalls with this worker's HTTP calls.
    admitCall: () => proxy.admitCarried(),
    redactor: redactorOf(config, metrics),
  });
  metrics.watchWebsocketSessions(() => realtime.sessionsByKind());
  // The server listens on nothing: its connections come from the primary (accept). 'listening' starts what a
  // listening http.Server runs (its connections list: headersTimeout and requestTimeout checks, closeIdleConnections).
  server.emit('listening');
  /** Connections open (for TLS, those past the handshake), so a drain alone knows when its clients have left. */
  const open = new Set<Socket>();
  const track = (s: Socket): void => {
    open.add(s);
    s.once('close', () => open.delete(s));
  };
  const tls = config.server.tls !== undefined;
  if (tls) server.on('secureConnection', track);
  const allClosed = async (): Promise<void> => {
    while (open.size > 0) await new Promise((r) => setTimeout(r, 20));
  };
  let telling: NodeJS.Timeout | null = null;
  const tell = (): void => {
    telling = null;
    const msg: InflightMessage = { t: 'inflight', inflight: unfinished() };
    if (untold.size > 0) {
      msg.done = [...untold];
      untold.clear();
    }
    if (firstResponses.size > 0) {
      msg.running = [...firstResponses];
      firstResponses.clear();
    }
    if (channel.connected()) channel.send(msg, () => {});
  };
  inflight.changed = () => {
    if (telling === null) {
      telling = setTimeout(tell, INFLIGHT_TELL_MS);
      telling.unref();
    }
  };
  // A finished call with an admission is told with the next message (it leaves `inflight` at about the same time, so
  // the same message carries it): no message of its own.
  recorder.finished = (call) => {
    const id = admissionIdOf(call);
    if (id === null) return;
    untold.add(id);
    inflight.changed();
  };

  let drained: Promise<void> | null = null;
  return {
    server,
    log: logger,
    metrics: snapshot,
    acked: (id) => settle(id),
    disconnected() {
      for (const id of [...acks.keys()]) settle(id, new Error('the recorder process is gone'));
    },
    accept(socket) {
      if (draining) return false;
      // As the server's own accept would set it up: http.Server's allowHalfOpen (it answers a client's half-close
      // itself) and noDelay (no Nagle delay on small writes, SSE chunks).
      const own = server as unknown as { allowHalfOpen?: boolean; noDelay?: boolean; keepAlive?: boolean };
      socket.allowHalfOpen = own.allowHalfOpen ?? true;
      if (own.noDelay !== false) socket.setNoDelay(true);
      if (own.keepAlive) socket.setKeepAlive(true);
      if (!tls) track(socket);
      server.emit('connection', socket);
      return true;
    },
    drain(opts = {}) {
      drained ??= (async () => {
        draining = true;
        const grace = durationMs(config.server.shutdownGrace);
        const deadline = Date.now() + grace;
        // It takes no new connection from here (accept refuses: the primary gives them to another worker).
        if (opts.alone) {
          // The other workers serve: closing this one's keep-alive connections at once would cut the requests their
          // clients are sending on them as they are closed (a rolling restart of 2 workers under 16 OpenAI clients
          // without retries: 12 connection errors). It answers what comes on the connections it has with
          // `connection: close`; those still idle after DRAIN_LINGER_MS are closed then.
          closing = true;
          await Promise.race([allClosed(), new Promise((r) => setTimeout(r, Math.min(DRAIN_LINGER_MS, grace)))]);
        } else {
          shedding = true;
        }
        server.closeIdleConnections();
        while ((inflight.size > 0 || proxy.passThroughsInFlight > 0 || relaying > 0) && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 20));
        // Background responses no poll finished yet: recorded as they were answered (queued).
        proxy.releaseBackground();
        const abandoned = inflight.size;
        const recordedBefore = recorder.recorded;
        // Realtime sessions are closed (1001, going away) rather than waited for: one may last half an hour.
        await realtime.closeAll();
        server.closeAllConnections();
        // Ends the connections checks 'listening' started (it listens on nothing: close's error is expected).
        server.close(() => {});
        // The calls cut at the grace's end finish a moment later (cancelled, with the tokens they had passed): they
        // reach the recorder before it closes, so their spend is not lost with the worker.
        await recorder.waitFor(recordedBefore + abandoned, CUT_CALLS_WAIT_MS);
        await recorder.close(Math.max(1000, deadline - Date.now()));
        noteDrop.flush();
        await callLogs.flush();
        await Promise.all([...upstreams.values()].map((u) => u.pool.close().catch(() => undefined)));
        await primary.close().catch(() => undefined);
        if (abandoned > 0) logger.warn({ event: 'worker_stopped', abandoned_calls: abandoned }, 'worker stopped');
        logger.flush();
      })();
      return drained;
    },
  };
}

/**
 * How long a worker draining alone (a rolling restart) keeps its idle keep-alive connections for requests already on
 * their way (each answered, then closed) before closing those still idle.
 */
export const DRAIN_LINGER_MS = 2_000;
