// `serve --workers N` (N ≥ 2): the primary process. It is the recorder: it owns the store (the single SQLite
// writer, or a PostgreSQL client), the sinks that are one per deployment, the modules' background work (one alert
// evaluator, one GPU poller, one set of rollups, reconciliation) and the one budget ledger. N gateway workers
// (worker.ts) serve the public port, run the /v1 hot path and each call's per-call work
// (tokens, redaction, pricing, refusals, metrics, request log), and hand enriched calls here over IPC; their admission
// hooks run here (one RPC per phase), so budgets and rate limits are exact across workers. The primary's own
// listener is on loopback, for the workers only: they relay /api, the dashboard, /metrics (which adds every
// worker's metrics to the primary's), /readyz, OTLP and ingest to it. The primary listens on the public port itself
// and hands each connection to a live worker in turn (distribute, below), keeping its copy until the worker says it
// took it: a connection handed to a worker that dies before taking it goes to another worker or is closed, never
// left hanging (node:cluster's round robin kept it open in the primary for ever). A worker that exits unexpectedly is started
// again (with backoff) and its calls in flight are counted; one that does not start, or stops answering the
// heartbeat, within server.workerTimeout is killed and started again; roll() replaces each in turn (SIGUSR2);
// close() drains every worker, then the primary.
import cluster, { type Worker } from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { type AddressInfo, Server as NetServer, type Socket } from 'node:net';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Counter, Gauge } from 'prom-client';
import { type LlmCall, RecentIds, type Recorder } from '../calls/index.js';
import type { Config } from '../config/index.js';
import { durationMs } from '../config/index.js';
import { LlmscopeError } from '../errors.js';
import { CLIENT_IDS, dropUnvouchedClaims } from '../gateway/proxy.js';
import type { WorkersReadiness } from '../http/index.js';
import { type App, type AppOptions, createApp } from '../server.js';
import { holdsCall } from '../store/index.js';
import { MAX_OPEN, WorkerAdmissions, type WorkerExit } from './admissions.js';
import { FleetMetrics, type Snapshot } from './fleet-metrics.js';
import { Rpc } from './rpc.js';
import {
  type AdmissionSnapshot,
  bodyNeeds,
  type CallLogsMessage,
  type CallsMessage,
  fromWire,
  HANDOFF_WAIT_MS,
  type InflightMessage,
  type PingMessage,
  type ShedMessage,
  settleFor,
  type WorkerInit,
} from './worker.js';

/** The number of gateway workers `server.workers` asks for (`auto`: one per core, less one for the recorder). */
export function workerCount(workers: Config['server']['workers'], cores = availableParallelism()): number {
  return workers === 'auto' ? Math.max(1, cores - 1) : workers;
}

/** The semi-space size gateway workers start with (MB): docs/deploy.md, "CPU per call: a larger young generation". */
export const WORKER_SEMI_SPACE_MB = 64;

/**
 * The node flags a gateway worker starts with: the primary's own, plus `--max-semi-space-size` unless the primary's
 * flags or NODE_OPTIONS (which the workers inherit) already set it. V8 sizes the young generation when a process
 * starts, so `npx llmscope serve --workers N` cannot give it to itself, but it can to the workers it forks: the hot
 * path's short-lived objects then die young instead of being copied (−7 to −11% CPU per call, measured there).
 */
export function workerExecArgv(execArgv: readonly string[], nodeOptions = ''): string[] {
  const set = (s: string): boolean => /(^|\s)--max[-_]semi[-_]space[-_]size\b/.test(s);
  if (execArgv.some(set) || set(nodeOptions)) return [...execArgv];
  return [...execArgv, `--max-semi-space-size=${WORKER_SEMI_SPACE_MB}`];
}

/** The compiled worker entry beside this file (worker-main.js in dist; .ts when run from source). */
function workerEntry(): string {
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  return fileURLToPath(new URL(`./worker-main.${ext}`, import.meta.url));
}

/**
 * Records a worker's batch of `n` calls (`record`) once the recorder's lossless lanes (store, spend, quality) have room
 * for it, waiting up to HANDOFF_WAIT_MS, then recording it anyway (those lanes drop and count what does not fit).
 * True when it was recorded at once; else a promise that settles once it is. The worker sends its next batch then.
 */
export function takeBatch(
  recorder: Pick<Recorder, 'hasRoom' | 'holdRoom'>,
  n: number,
  record: () => void,
): true | Promise<void> {
  if (recorder.hasRoom(n)) {
    record();
    return true;
  }
  return recorder.holdRoom(n, HANDOFF_WAIT_MS).then((release) => {
    try {
      record();
    } finally {
      release?.();
    }
  });
}

export interface Fleet {
  readonly app: App;
  /** The public base URL the workers serve on. */
  readonly base: string;
  /** Process ids of the workers now running. */
  pids(): number[];
  /**
   * Replaces every worker, one at a time (serve's SIGUSR2): each is sent SIGTERM (it drains alone, answering what
   * comes on its connections) and the next only once the fleet serves whole again. Resolves with how many were
   * replaced; a second call while one runs gets the same promise.
   */
  roll(): Promise<number>;
  /** Drains every worker (their finished calls recorded), then closes the primary's app. */
  close(): Promise<void>;
}

/** A connection handed to a worker, held here until it says it took it. */
interface Held {
  socket: Socket;
  at: number;
  /** On the channel: written to the worker (else still queued behind the one before, in this process). */
  sent: boolean;
}

interface Member {
  worker: Worker;
  /** It said it drains (or refused a connection): it gets no new connection. */
  draining: boolean;
  /** Connections handed to it that it has not said it took, by number, oldest first. */
  held: Map<number, Held>;
  rpc: Rpc;
  inflight: number;
  startedAt: number;
  drained: boolean;
  /** It said it listens: it served (an exit before is a failed start). */
  listening: boolean;
  /** Why it could not start, as it said (its `failed` message). */
  failure: string | null;
  /** The admissions run for it whose calls have not come back yet. */
  admissions: WorkerAdmissions;
  /** When it last sent anything (an answer to the heartbeat, calls, its in-flight count). */
  lastSeen: number;
  /** Why the recorder killed it, when it did: it did not start in time, or stopped answering. */
  killedFor: 'start_timeout' | 'unresponsive' | null;
  /** Kills it if it has not said it listens within server.workerTimeout. */
  startTimer: NodeJS.Timeout | null;
}

/**
 * Why a worker was started again (`llmscope_worker_restarts_total{reason}`): the one before it `crashed` (exited
 * non-zero or by a signal after it served: a crash, an OOM kill, SIGKILL), was `stopped` (drained and exited 0: a
 * SIGTERM sent to it alone, as in a rolling restart), failed to start (`start_failed`: exited before it listened),
 * did not start within server.workerTimeout (`start_timeout`), or stopped answering the recorder's heartbeat for that
 * long (`unresponsive`: a busy loop, SIGSTOP); the last two are killed by the recorder.
 */
export const RESTART_REASONS = ['crashed', 'stopped', 'start_failed', 'start_timeout', 'unresponsive'] as const;
export type RestartReason = (typeof RESTART_REASONS)[number];

/** The reason a worker that exited so is started again. */
export function restartReason(
  m: Pick<Member, 'listening' | 'killedFor'>,
  code: number | null,
  signal: string | null,
): RestartReason {
  if (m.killedFor) return m.killedFor;
  if (!m.listening) return 'start_failed';
  return code === 0 && !signal ? 'stopped' : 'crashed';
}

/**
 * How long fewer workers than configured may serve before /readyz says not ready: a crashed worker is started again
 * within a second or two, which should not take the host out of a load balancer; one that keeps failing should.
 */
export const WORKERS_READY_GRACE_MS = 10_000;

/** How long a connection waits in the recorder for a worker to serve it while none does (all died, restarting). */
export const CONNECTION_WAIT_MS = 10_000;
/** At most this many connections wait so; more are closed at once. */
const CONNECTION_WAIT_MAX = 1024;
/** A worker that has not taken a connection handed to it for this long (stopped, busy) is passed over while another takes them. */
const STALLED_MS = 1_000;

const RESTART_MIN_MS = 100;
const RESTART_MAX_MS = 10_000;
/** A worker that lived this long is healthy: its next restart starts from the shortest backoff again. */
const HEALTHY_MS = 30_000;
const METRICS_TIMEOUT_MS = 2_000;
/** How long a stop waits for the exit of a worker it killed for not draining (its cut calls are recorded then). */
const KILLED_EXIT_WAIT_MS = 2_000;
/** How often the primary takes each worker's metrics, so what a worker that dies had counted is kept (all but the last few seconds). */
const METRICS_REFRESH_MS = 5_000;

export async function startFleet(
  config: Config,
  n: number,
  opts: Pick<AppOptions, 'modules' | 'logDestination'> = {},
): Promise<Fleet> {
  const internalToken = randomBytes(24).toString('base64url');
  const members = new Map<number, Member>();
  const workerTimeoutMs = durationMs(config.server.workerTimeout);
  /** Since when fewer than n workers serve (null: all n serve), for /readyz. */
  let shortSince: number | null = Date.now();
  const serving = (): number => {
    let k = 0;
    for (const m of members.values()) if (m.listening && !m.drained) k++;
    return k;
  };
  const workersReadiness = (): WorkersReadiness => {
    const k = serving();
    return {
      configured: n,
      serving: k,
      ready: shortSince === null || Date.now() - shortSince <= WORKERS_READY_GRACE_MS,
    };
  };
  // The primary trusts forwarding headers from loopback only: its listener takes requests from its workers alone
  // (each carries internalToken), and they say who the client is.
  const primaryConfig: Config = {
    ...config,
    server: { ...config.server, trustProxy: ['127.0.0.1', '::1'] },
  };
  const app = await createApp(primaryConfig, {
    ...opts,
    listenOn: { host: '127.0.0.1', port: 0, plain: true },
    internalToken,
    workerMetrics: () => collectWorkerMetrics(),
    workersReadiness: () => workersReadiness(),
    recordsForWorkers: true,
  });
  const { logger, registry } = app.ctx;
  const log = logger.child({ module: 'cluster' });
  /** The client ids (`x-request-id`) any worker was sent lately (calls.idTaken), as a gateway process keeps its own. */
  const clientIds = new RecentIds(CLIENT_IDS);
  // Background responses held by the workers for their poll: an erase of a user has them record the user's first
  // (DELETE /api/users/{id}/data), then waits for those calls to reach the store, so the erase removes them too.
  app.ctx.erasers.push({
    name: 'background-responses-workers',
    before: async (user) => {
      const asked = [...members.values()]
        .filter((m) => m.worker.isConnected())
        .map((m) => m.rpc.call<number>('background.releaseUser', user, 10_000).catch(() => 0));
      const released = (await Promise.all(asked)).reduce((a, b) => a + b, 0);
      if (released > 0) await app.ctx.recorder.flush();
    },
    erase: async () => ({}),
  });
  // ... and after that, the lines the workers' calls logged (request lines too) reach the store before the user's
  // calls are looked up, so the erase removes them with the calls.
  app.ctx.erasers.push({
    name: 'call-logs-workers',
    before: async () => {
      const asked = [...members.values()]
        .filter((m) => m.worker.isConnected())
        .map((m) => m.rpc.call<boolean>('call-logs.flush', null, 10_000).catch(() => false));
      await Promise.all(asked);
      await app.callLogs.flush();
    },
    erase: async () => ({}),
  });
  const running = new Gauge({
    name: 'llmscope_workers',
    help: 'Gateway worker processes serving (serve --workers): started and listening, not draining.',
    registers: [registry],
  });
  new Gauge({
    name: 'llmscope_workers_configured',
    help: 'Gateway worker processes configured (server.workers, what auto came to): llmscope_workers below it means some are not serving.',
    registers: [registry],
  }).set(n);
  const restarts = new Counter({
    name: 'llmscope_worker_restarts_total',
    help: 'Gateway workers started again, by why the one before ended: crashed (exited non-zero or by a signal: a crash, an OOM kill, SIGKILL), stopped (drained and exited 0 on a SIGTERM of its own), start_failed (exited before it listened), start_timeout or unresponsive (killed: no start, or no heartbeat answer, within server.workerTimeout).',
    labelNames: ['reason'],
    registers: [registry],
  });
  // Every reason from 0, so increase() sees the first restart of each.
  for (const reason of RESTART_REASONS) restarts.inc({ reason }, 0);
  /** Sets llmscope_workers and notes when the fleet went short of n (or whole again), for /readyz. */
  const recount = (): void => {
    const k = serving();
    running.set(k);
    if (k >= n) shortSince = null;
    else shortSince ??= Date.now();
  };
  const lost = new Counter({
    name: 'llmscope_worker_lost_calls_total',
    help: 'Calls in flight in a gateway worker when it exited unexpectedly (as the worker last reported, within 50 ms of each change): their clients saw the connection close. Background responses it held for their poll (answered queued) are counted too. Those with an admission are recorded as the recorder knows them (upstream_error, error_type worker_exited, tokens and cost unknown); see docs/deploy.md.',
    registers: [registry],
  });

  // Each worker counts its own calls; /metrics adds up each worker's latest report (a worker that does not answer a
  // scrape in time counts as it last reported) and what workers that exited had counted, so the fleet's totals never
  // go down and no worker counts twice (fleet-metrics.ts).
  const fleetMetrics = new FleetMetrics();
  const ask = (id: number): Promise<Snapshot | null> => {
    const m = members.get(id);
    if (!m?.worker.isConnected()) return Promise.resolve(null);
    return m.rpc.call<Snapshot>('metrics', null, METRICS_TIMEOUT_MS).catch(() => null);
  };
  const refresh = (): Promise<Snapshot[]> => fleetMetrics.collect(ask);
  const collectWorkerMetrics = refresh;
  const refresher = setInterval(() => {
    void refresh();
    for (const m of members.values()) {
      const n = m.admissions.takeEvicted();
      if (n > 0)
        log.warn(
          { event: 'worker_admissions_evicted', pid: m.worker.process.pid, calls: n, max_open: maxOpen },
          `gateway worker ${m.worker.process.pid} had more than ${maxOpen} admissions whose calls never came back: the oldest ${n} were settled as spending nothing`,
        );
    }
  }, METRICS_REFRESH_MS);
  refresher.unref();

  // What each ping tells the workers: whether calls no live key vouched for lose their clients' claims (keys exist).
  const pingNow = (): PingMessage => ({ distrusts: app.hooks.some((h) => h.distrusts?.() === true) });
  // The heartbeat: each worker that serves is asked a few times per server.workerTimeout; one that has sent nothing
  // for that long (stuck in a busy loop, stopped) is killed and started again, as gunicorn's arbiter does, rather
  // than left holding its share of the port's connections unanswered. Its exit is handled as any (restarted, its
  // calls in flight counted). A recorder that was itself blocked past an interval judges no one on that turn: the
  // workers' answers may be waiting unread behind it.
  const beatMs = Math.max(200, Math.min(5_000, Math.floor(workerTimeoutMs / 3)));
  let lastBeat = Date.now();
  const heartbeat = setInterval(() => {
    const now = Date.now();
    const late = now - lastBeat > 2 * beatMs;
    lastBeat = now;
    for (const m of members.values()) {
      if (!m.listening || m.killedFor || !m.worker.isConnected()) continue;
      if (late) {
        m.lastSeen = now;
        continue;
      }
      const silentMs = now - m.lastSeen;
      if (silentMs > workerTimeoutMs) {
        m.killedFor = 'unresponsive';
        log.error(
          {
            event: 'worker_unresponsive',
            pid: m.worker.process.pid,
            silent_ms: silentMs,
            inflight: m.inflight,
            worker_timeout_ms: workerTimeoutMs,
          },
          `gateway worker ${m.worker.process.pid} has not answered for ${Math.round(silentMs / 1000)} s (server.workerTimeout ${Math.round(workerTimeoutMs / 1000)} s: a busy loop, or stopped): killing it; another is started`,
        );
        m.worker.process.kill('SIGKILL');
        continue;
      }
      m.rpc.call('ping', pingNow(), workerTimeoutMs).catch(() => undefined);
    }
  }, beatMs);
  heartbeat.unref();

  const internalUrl = await app.listen();
  const hooks = app.hooks;
  const phases = {
    authenticate: hooks.some((h) => h.authenticate),
    admit: hooks.some((h) => h.admit),
    body: bodyNeeds(hooks),
  };
  const recorder = app.ctx.recorder;
  // Admissions kept per worker: above all the calls a worker can hold (in flight, and queued or being sent at its
  // hand-off), so one is pushed out only if its call was lost some other way.
  const maxOpen = Math.max(MAX_OPEN, 2 * (config.server.maxConcurrentCalls + config.recorder.capacity + 256));
  const receiveCalls = (calls: LlmCall[]): void => {
    for (const call of calls) {
      try {
        // A worker's call refused before a live key admitted it: its client's claims go here, where the keys are.
        if (call.internal?.unvouched && dropUnvouchedClaims(hooks, call)) call.metadata = null;
        settleFor(hooks, call);
      } catch (err) {
        log.warn({ event: 'settle_failed', err: (err as Error).message }, 'a gateway hook failed to settle a call');
      }
      app.recordFromWorker(call);
    }
  };

  cluster.setupPrimary({
    exec: workerEntry(),
    args: [],
    execArgv: workerExecArgv(process.execArgv, process.env.NODE_OPTIONS),
    serialization: 'json',
  });
  let stopping = false;
  let backoff = RESTART_MIN_MS;
  /** Workers in a row that exited before they listened (a restart storm when it grows): reset by one that listens. */
  let failedStarts = 0;
  let restartTimer: NodeJS.Timeout | null = null;
  let base = '';
  let firstReady: (() => void) | null = null;
  let firstFailed: ((err: Error) => void) | null = null;

  // The public port: the recorder accepts each connection, unread (pauseOnConnect), and hands it to a worker.
  const gate = new NetServer({ pauseOnConnect: true }, (socket) => {
    socket.on('error', () => {});
    distribute(socket);
  });
  gate.on('error', (err: NodeJS.ErrnoException) =>
    log.warn(
      { event: 'accept_failed', err: err.code ?? err.message },
      `could not accept a connection (${err.code ?? err.message})`,
    ),
  );
  /** Connections waiting for a worker to serve (none does now), each closed after CONNECTION_WAIT_MS. */
  const waiting = new Map<Socket, NodeJS.Timeout>();
  let cursor = 0;
  let connections = 0;
  /** The next worker in turn that takes connections, passing over one that is not taking them while another is. */
  const pick = (): Member | null => {
    const list = [...members.values()];
    const now = Date.now();
    let fallback: Member | null = null;
    for (let i = 0; i < list.length; i++) {
      const m = list[(cursor + i) % list.length] as Member;
      if (!m.listening || m.draining || m.drained || m.killedFor || !m.worker.isConnected()) continue;
      const oldest = m.held.values().next().value as Held | undefined;
      if (oldest && now - oldest.at > STALLED_MS) {
        fallback ??= m;
        continue;
      }
      cursor = (cursor + i + 1) % list.length;
      return m;
    }
    return fallback;
  };
  /**
   * Hands a connection to a worker; the recorder keeps its copy (keepOpen) until the worker says it took it or refused
   * it, or its channel closes, so a connection is never left open on a worker that is gone.
   */
  const distribute = (socket: Socket): void => {
    if (socket.destroyed) return;
    const m = stopping ? null : pick();
    if (!m) {
      if (stopping || waiting.size >= CONNECTION_WAIT_MAX) {
        socket.destroy();
        return;
      }
      const t = setTimeout(() => {
        if (waiting.delete(socket)) socket.destroy();
      }, CONNECTION_WAIT_MS);
      t.unref();
      waiting.set(socket, t);
      return;
    }
    const id = ++connections;
    const h: Held = { socket, at: Date.now(), sent: false };
    m.held.set(id, h);
    m.worker.send({ t: 'conn', id }, socket, { keepOpen: true }, (err) => {
      if (!err) {
        h.sent = true;
        return;
      }
      // Not passed on (its channel closed or broken): still whole here, it goes to another worker.
      if (m.held.get(id) !== h) return;
      m.held.delete(id);
      m.draining = true;
      distribute(socket);
    });
  };
  /** A worker serves again: the connections waiting for one are handed out. */
  const releaseWaiting = (): void => {
    const sockets = [...waiting];
    waiting.clear();
    for (const [s, t] of sockets) {
      clearTimeout(t);
      distribute(s);
    }
  };

  const fork = (): void => {
    const worker = cluster.fork();
    // False only when the worker is gone: worker.send's own false means the message is queued behind others.
    const rpc = new Rpc((m) => {
      if (!worker.isConnected()) return false;
      worker.send(m);
      return true;
    });
    const member: Member = {
      worker,
      draining: false,
      held: new Map(),
      rpc,
      inflight: 0,
      startedAt: Date.now(),
      drained: false,
      listening: false,
      failure: null,
      admissions: new WorkerAdmissions(hooks, maxOpen),
      lastSeen: Date.now(),
      killedFor: null,
      startTimer: null,
    };
    members.set(worker.id, member);
    // A worker that never says it listens (hung while loading, stuck on a lock) is killed after server.workerTimeout
    // and handled as one that failed to start: restarted with backoff, or, while serve starts, failing the start.
    member.startTimer = setTimeout(() => {
      member.startTimer = null;
      if (member.listening || worker.isDead()) return;
      member.killedFor = 'start_timeout';
      member.failure = `it did not start serving within ${workerTimeoutMs} ms (server.workerTimeout); killed`;
      firstFailed?.(
        new LlmscopeError(
          'LLMSCOPE_ERR_CONFIG_INVALID',
          `a gateway worker did not start serving within ${workerTimeoutMs} ms (server.workerTimeout): a slow host needs a longer server.workerTimeout; anything it printed is above`,
        ),
      );
      worker.process.kill('SIGKILL');
    }, workerTimeoutMs);
    member.startTimer.unref();
    fleetMetrics.add(worker.id);
    // A message to a worker that has just died (an admission's answer, an ack: its channel not yet seen closed) fails
    // with EPIPE, emitted as the worker's 'error': unheard, it would end this process and the whole deployment. The
    // worker's exit is handled below; the error is only said.
    let channelError = false;
    worker.on('error', (err: NodeJS.ErrnoException) => {
      if (channelError) return;
      channelError = true;
      log.warn(
        { event: 'worker_channel_error', pid: worker.process.pid, err: err?.code ?? err?.message },
        `could not write to gateway worker ${worker.process.pid} (${err?.code ?? err?.message}): it is gone or going`,
      );
    });
    rpc.on('hooks.authenticate', (a) => member.admissions.run('authenticate', a as AdmissionSnapshot));
    rpc.on('hooks.admit', (a) => member.admissions.run('admit', a as AdmissionSnapshot));
    rpc.on('hooks.abandon', (ticket) => member.admissions.abandon(ticket));
    // A client's x-request-id new to a worker: taken when another worker was sent it lately or the store holds a call
    // under it; claimed for the fleet either way, so two calls with one id on two workers are stored as two.
    rpc.on('calls.idTaken', (arg) => {
      const id = String(arg);
      if (clientIds.has(id)) return true;
      clientIds.addNew(id);
      return holdsCall(app.ctx.store, id);
    });
    // A worker relayed a poll of a background response it does not hold (the poll came on another connection than
    // the call): the worker holding it finishes it with that answer. True when one did.
    rpc.on('background.poll', async (arg) => {
      const others = [...members.values()].filter((m) => m !== member && m.worker.isConnected());
      const done = await Promise.all(
        others.map((m) => m.rpc.call<boolean>('background.finish', arg, 10_000).catch(() => false)),
      );
      return done.includes(true);
    });
    worker.on('message', (msg: { t?: string } & Record<string, unknown>) => {
      member.lastSeen = Date.now();
      if (rpc.receive(msg)) return;
      switch (msg?.t) {
        case 'calls': {
          const m = msg as unknown as CallsMessage;
          member.inflight = m.inflight;
          // Recorded once the lossless lanes (store, spend, quality) have room, then acked: the worker sends its
          // next batch only then, so a fleet faster than the store is slowed rather than losing calls here.
          const ack = (): void => {
            if (worker.isConnected()) worker.send({ t: 'calls-ack', id: m.id });
          };
          // Their admissions are settled by them from now on, even while the batch waits for room.
          const calls = m.calls.map(fromWire);
          for (const c of calls) member.admissions.returned(c);
          const taken = takeBatch(recorder, calls.length, () => receiveCalls(calls));
          if (taken === true) ack();
          else void taken.then(ack);
          break;
        }
        case 'inflight': {
          const m = msg as unknown as InflightMessage;
          member.inflight = m.inflight;
          // Calls it finished and will hand over: should it die first, they are not recorded as cut.
          if (Array.isArray(m.done)) member.admissions.finished(m.done);
          // Realtime sessions' first responses it started: should it die, they are recorded as cut.
          if (Array.isArray(m.running)) member.admissions.running(m.running);
          break;
        }
        case 'call-logs':
          app.callLogs.accept((msg as unknown as CallLogsMessage).rows);
          break;
        case 'shed':
          // Calls it finished but dropped at its hand-off: what they reserved settles now, with what they spent.
          try {
            member.admissions.shed((msg as unknown as ShedMessage).calls.map(fromWire));
          } catch (err) {
            log.warn({ event: 'settle_failed', err: (err as Error).message }, 'a gateway hook failed to settle a call');
          }
          break;
        case 'hello': {
          const init: WorkerInit = {
            t: 'init',
            config,
            internalUrl,
            internalToken,
            phases,
            callParts: [...app.callParts],
            distrusts: pingNow().distrusts,
          };
          worker.send(init);
          break;
        }
        case 'took': {
          // It serves the connection with its own copy: this one is closed (the connection stays open).
          const h = member.held.get(msg.id as number);
          if (!h) break;
          member.held.delete(msg.id as number);
          h.socket.destroy();
          break;
        }
        case 'refused': {
          // It drains: it closed its copy unread, and the connection goes to another worker.
          member.draining = true;
          const h = member.held.get(msg.id as number);
          if (!h) break;
          member.held.delete(msg.id as number);
          distribute(h.socket);
          break;
        }
        case 'draining':
          member.draining = true;
          break;
        case 'listening':
          if (member.killedFor) break;
          member.listening = true;
          if (member.startTimer) clearTimeout(member.startTimer);
          member.startTimer = null;
          if (failedStarts > 0 && !firstReady)
            log.info(
              { event: 'worker_started', pid: worker.process.pid, after_failed_starts: failedStarts },
              `gateway worker ${worker.process.pid} serving, after ${failedStarts} that failed to start`,
            );
          failedStarts = 0;
          recount();
          firstReady?.();
          releaseWaiting();
          break;
        case 'failed':
          member.failure = String(msg.message);
          firstFailed?.(
            new LlmscopeError('LLMSCOPE_ERR_CONFIG_INVALID', `a gateway worker could not start: ${msg.message}`),
          );
          break;
        case 'drained':
          member.drained = true;
          fleetMetrics.final(worker.id, (msg.metrics as Snapshot | null) ?? null);
          recount();
          break;
      }
    });
    // What its calls still in flight reserved (budgets, tokens per minute) is released once no call of it can come
    // back: the worker exited and its channel closed.
    let exit: WorkerExit | undefined;
    const release = (): void => {
      try {
        const n = member.admissions.release(exit);
        if (n > 0)
          log.warn(
            { event: 'worker_admissions_released', pid: worker.process.pid, calls: n },
            `released what ${n} calls of gateway worker ${worker.process.pid} had reserved (budgets, rate limits): they never finished`,
          );
      } catch (err) {
        log.warn({ event: 'settle_failed', err: (err as Error).message }, 'a gateway hook failed to settle a call');
      }
    };
    // Once its channel is closed it takes nothing more: a connection it was sent but had not taken is closed (its
    // client sees a reset and can retry, instead of waiting for ever), one still queued here goes to another worker.
    const orphan = (): void => {
      member.draining = true;
      const held = [...member.held.values()];
      member.held.clear();
      for (const h of held) {
        if (h.sent) h.socket.destroy();
        else distribute(h.socket);
      }
    };
    worker.on('disconnect', orphan);
    worker.on('exit', (code, signal) => {
      members.delete(worker.id);
      // It died (not a drain that ended well): the calls it had in flight, as far as its admissions here say, are
      // recorded as cut (admissions.ts cutCall), once its channel is closed and none of them can still come back.
      if (signal || code !== 0)
        exit = { pid: worker.process.pid, how: signal ?? `code ${code}`, record: (call) => recorder.record(call) };
      orphan();
      if (member.startTimer) clearTimeout(member.startTimer);
      member.startTimer = null;
      rpc.close();
      if (worker.isConnected()) worker.once('disconnect', release);
      else release();
      fleetMetrics.retire(worker.id);
      recount();
      if (stopping) return;
      // A worker that dies before the fleet is up fails the start, rather than being restarted for ever.
      if (firstFailed) {
        firstFailed(
          new LlmscopeError(
            'LLMSCOPE_ERR_CONFIG_INVALID',
            `a gateway worker exited while starting (${signal ?? `code ${code}`}); its error is above`,
          ),
        );
        return;
      }
      if (member.inflight > 0) lost.inc(member.inflight);
      const reason = restartReason(member, code, signal);
      if (Date.now() - member.startedAt > HEALTHY_MS) backoff = RESTART_MIN_MS;
      // A worker stopped on purpose (a rolling restart: a SIGTERM to each in turn) is replaced at once and does not
      // lengthen the wait, which is for workers that keep failing.
      const wait = reason === 'stopped' ? RESTART_MIN_MS : backoff;
      if (reason !== 'stopped') backoff = Math.min(backoff * 2, RESTART_MAX_MS);
      const how = signal ?? `code ${code}`;
      if (member.listening)
        log.warn(
          {
            event: 'worker_exited',
            pid: worker.process.pid,
            code,
            signal,
            reason,
            lost_calls: member.inflight,
            restart_in_ms: wait,
          },
          `gateway worker ${worker.process.pid} exited (${how}${reason === 'unresponsive' ? ', killed as unresponsive' : ''}); starting another in ${wait} ms`,
        );
      else {
        // It never served: the next one will most likely fail the same way (a restart storm). Each is said with
        // why, how many in a row, and when the next try is; the wait doubles up to RESTART_MAX_MS, never a busy loop.
        failedStarts++;
        const why = member.failure ?? `it exited (${how}) before it listened; its own error, if any, is on stderr`;
        log.error(
          {
            event: 'worker_start_failed',
            pid: worker.process.pid,
            code,
            signal,
            reason,
            err: why,
            failed_starts: failedStarts,
            serving: serving(),
            restart_in_ms: wait,
          },
          `gateway worker ${worker.process.pid} failed to start (${why}); ${failedStarts} in a row, trying again in ${wait} ms`,
        );
      }
      restartTimer = setTimeout(() => {
        restartTimer = null;
        if (stopping) return;
        restarts.inc({ reason });
        fork();
      }, wait);
    });
  };

  try {
    await new Promise<void>((ok, fail) => {
      gate.once('error', fail);
      gate.listen(config.server.port, config.server.host, () => {
        gate.off('error', fail);
        ok();
      });
    });
    const port = (gate.address() as AddressInfo).port;
    await new Promise<void>((ok, fail) => {
      let ready = 0;
      firstReady = () => {
        if (++ready === n) ok();
      };
      firstFailed = fail;
      for (let i = 0; i < n; i++) fork();
    });
    firstReady = null;
    firstFailed = null;
    const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host;
    base = `${config.server.tls ? 'https' : 'http'}://${host}:${port}`;
  } catch (err) {
    stopping = true;
    clearInterval(refresher);
    clearInterval(heartbeat);
    for (const m of members.values()) m.worker.process.kill('SIGKILL');
    gate.close();
    await app.close().catch(() => {});
    throw err;
  }
  log.info({ event: 'workers_started', workers: n, url: base }, `${n} gateway workers serving on ${base}`);

  let closed: Promise<void> | null = null;
  let rolling: Promise<number> | null = null;
  return {
    app,
    base,
    pids: () => [...members.values()].map((m) => m.worker.process.pid as number),
    roll() {
      rolling ??= (async () => {
        const old = [...members.values()];
        const t0 = Date.now();
        log.info(
          { event: 'workers_rolling_restart', workers: old.length },
          `replacing ${old.length} gateway workers one at a time`,
        );
        let replaced = 0;
        // Per worker: its drain (server.shutdownGrace), the restart wait, and the new one's start (server.workerTimeout).
        const stepMs = durationMs(config.server.shutdownGrace) + workerTimeoutMs + RESTART_MAX_MS;
        for (const m of old) {
          if (stopping) break;
          if (m.worker.isDead()) continue;
          const pid = m.worker.process.pid;
          const gone = new Promise<void>((ok) => m.worker.once('exit', () => ok()));
          m.worker.process.kill('SIGTERM');
          const deadline = Date.now() + stepMs;
          await gone;
          while (!stopping && serving() < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
          if (serving() < n) {
            log.warn(
              { event: 'workers_rolling_restart_stopped', replaced, pid, serving: serving(), workers: n },
              `rolling restart stopped after ${replaced} workers: the one replacing worker ${pid} is not serving (see worker_start_failed)`,
            );
            return replaced;
          }
          replaced++;
        }
        log.info(
          { event: 'workers_rolled', workers: replaced, duration_ms: Date.now() - t0 },
          `replaced ${replaced} gateway workers in ${Date.now() - t0} ms`,
        );
        return replaced;
      })().finally(() => {
        rolling = null;
      });
      return rolling;
    },
    close() {
      closed ??= (async () => {
        stopping = true;
        clearInterval(refresher);
        clearInterval(heartbeat);
        if (restartTimer) clearTimeout(restartTimer);
        // New connections are refused from here; those waiting for a worker are closed.
        gate.close();
        for (const [s, t] of waiting) {
          clearTimeout(t);
          s.destroy();
        }
        waiting.clear();
        // Each worker stops taking calls, finishes those in flight, and sends what it recorded; its channel closes
        // after its last message, so once every worker has disconnected every finished call is in the recorder. The
        // recorder also waits for each worker's exit (it follows the disconnect), so none outlives it.
        const limit = durationMs(config.server.shutdownGrace) + 10_000;
        await Promise.all(
          [...members.values()].map(
            (m) =>
              new Promise<void>((ok) => {
                const t = setTimeout(() => {
                  log.warn({ event: 'worker_kill', pid: m.worker.process.pid }, 'worker did not drain in time');
                  m.worker.process.kill('SIGKILL');
                  // Its exit (and its channel's close) follow at once, and record the calls it cut, as a crash's
                  // are: the recorder closes after them. A process the kill cannot end is waited for no longer.
                  setTimeout(ok, KILLED_EXIT_WAIT_MS).unref();
                }, limit);
                let waiting = 2;
                const done = () => {
                  if (--waiting > 0) return;
                  clearTimeout(t);
                  ok();
                };
                if (m.worker.isDead()) done();
                else m.worker.once('exit', done);
                if (!m.worker.isConnected()) return done();
                m.worker.once('disconnect', done);
                m.worker.send({ t: 'drain' });
              }),
          ),
        );
        running.set(0);
        await app.close();
      })();
      return closed;
    },
  };
}
