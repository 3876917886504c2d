// Assembles llmscope from its parts, in one place: config → logger, metrics, store, recorder (enrichers + sinks),
// gateway, API, dashboard, capability modules; then serves them on one node:http server with graceful shutdown.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { DestinationStream } from 'pino';
import { collectDefaultMetrics, type MetricObjectWithValues, type MetricValue, Registry } from 'prom-client';
import { registerRequestRoutes } from './api/requests.js';
import { registerSessionRoutes } from './api/sessions.js';
import { registerStatsRoutes } from './api/stats.js';
import { registerUserRoutes } from './api/users.js';
import type { AppContext, CallContext, Clock, Module, ModuleFactory } from './app-context.js';
import { systemClock } from './app-context.js';
import { createAuditLog, registerAuditRoutes } from './audit/index.js';
import { CountingRecorder, CUT_CALLS_WAIT_MS, callWork, isLoopback, redactorOf } from './call-work.js';
import { type Enricher, type LlmCall, type Sink, sinkWithWrite } from './calls/index.js';
import { type Config, durationMs } from './config/index.js';
import { type CostModule, userCostSource } from './cost/index.js';
import { LlmscopeError } from './errors.js';
import {
  refuseBaseUrlMistake,
  refuseCrossSite,
  refuseEmptySegment,
  refuseNonLoopbackHost,
  requestTarget,
  serveGateway,
} from './gateway/dispatch.js';
import { answerRequestId, type GatewayHook, GatewayProxy } from './gateway/proxy.js';
import { ModelRouter } from './gateway/routing.js';
import { createUpstream, type Upstream } from './gateway/upstream.js';
import {
  AdminAuth,
  clientClosed,
  createListener,
  findUiRoot,
  hashToken,
  internalErrorId,
  loadStaticSite,
  OidcClient,
  type ReadinessProbe,
  Router,
  registerMeRoute,
  SharedSessionRevocations,
  schemeOf,
  sendError,
  sendMetrics,
  TokenTable,
  webHandler,
} from './http/index.js';
import { OtlpLogsReceiver, OtlpReceiver, traceSpanStoreFor } from './otlp/index.js';
import { isOtlpPath, sendOtlpError } from './otlp/status.js';
import { maskBody, maskUpstreamHook, redactSpan, registerEraseRoute, scrubSpanErrors } from './privacy/index.js';
import { attachRealtime } from './providers/openai-realtime/index.js';
import { SignalRegistry } from './signals/index.js';
import { createStore, holdsCall } from './store/index.js';
import { BackgroundPolls } from './store/postgres/background-polls.js';
import { countedClaims, RequestIdClaims } from './store/postgres/id-claims.js';
import type { Store } from './store/store.js';
import { isTransientStoreError } from './store/transient.js';
import { CallLogs } from './telemetry/call-logs.js';
import { dropLogger } from './telemetry/drop-log.js';
import { createLogger } from './telemetry/logging.js';
import { Metrics, sendFleetMetrics } from './telemetry/metrics.js';
import { wellKnownProviders } from './telemetry/provider-name.js';
import { requestLineOf } from './telemetry/request-log.js';
import { spanEnricher, withSpans } from './telemetry/spans.js';
import { otlpExporter, traceSink } from './telemetry/tracing.js';

export interface AppOptions {
  /** Capability modules (cost, quality, alerts, gpu, ...). */
  modules?: ModuleFactory[];
  /** Log destination (default stdout). */
  logDestination?: DestinationStream;
  /** Use this store instead of opening `storage.url`. */
  store?: Store;
  /** Span exporter (default: OTLP when `telemetry.otlpEndpoint` is set, else none). */
  spanExporter?: SpanExporter;
  clock?: Clock;
  /** Extra sinks (tests use this to observe finished calls). */
  sinks?: Sink[];
  /**
   * Listen here instead of config host/port (plain HTTP when `plain`): `serve --workers` puts the recorder process
   * on loopback, for its workers, while `server.host` still decides whether /api needs the admin token.
   */
  listenOn?: { host: string; port: number; plain?: boolean };
  /** When set, every request must carry it in `x-llmscope-internal` (the recorder process's listener, for its workers). */
  internalToken?: string;
  /** The gateway workers' metrics, added to this process's in `GET /metrics` (`serve --workers`). */
  workerMetrics?: () => Promise<MetricObjectWithValues<MetricValue<string>>[][]>;
  /** How many gateway workers serve, for `GET /readyz` (`serve --workers`). */
  workersReadiness?: ReadinessProbe['workers'];
  /**
   * This is the recorder process of `serve --workers`: calls handed to `recordFromWorker` had their per-call work
   * done in a gateway worker (callWork, and the modules' `ctx.perCall` parts), so here they only reach the
   * recorder-side enrichers and the sinks that are one per deployment.
   */
  recordsForWorkers?: boolean;
}

export interface App {
  readonly ctx: AppContext;
  readonly server: Server;
  readonly upstreams: Map<string, Upstream>;
  /** The capability modules, as their factories built them (in `opts.modules` order). */
  readonly modules: readonly Module[];
  /** The gateway hooks the modules added, in order (`serve --workers` runs them here for every worker). */
  readonly hooks: readonly GatewayHook[];
  /** The names of the modules' per-call parts (`ctx.perCall`), in order: each gateway worker builds the same. */
  readonly callParts: readonly string[];
  /** Records a call a gateway worker finished and ran the per-call work on (`opts.recordsForWorkers`). */
  recordFromWorker(call: LlmCall): void;
  /** Each call's log lines on their way to the store (a gateway worker's arrive through `accept`). */
  readonly callLogs: CallLogs;
  /** Listens on config host/port (port 0 = any free port); resolves with the base URL. */
  listen(): Promise<string>;
  /** Graceful shutdown: stop accepting, let in-flight calls finish (bounded), flush the recorder, close. */
  close(): Promise<void>;
}

export { CountingRecorder, CUT_CALLS_WAIT_MS, callWork, isLoopback, redactorOf } from './call-work.js';

/** How long a batch of calls is retried while the store is unreachable, before it is dropped and counted. */
const STORE_RETRY_MS = 5 * 60_000;

export async function createApp(config: Config, opts: AppOptions = {}): Promise<App> {
  const loopback = isLoopback(config.server.host);
  if (!loopback && !config.server.adminToken)
    throw new LlmscopeError(
      'LLMSCOPE_ERR_CONFIG_INVALID',
      `server.host is ${config.server.host} (not loopback), so the dashboard and /api need server.adminToken (or LLMSCOPE_ADMIN_TOKEN)`,
    );
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // These prom-client gauges end in _total, which Prometheus reserves for counters (promtool rejects them).
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'])
    registry.removeSingleMetric(name);
  const metrics = new Metrics(registry, {
    labelBudget: config.telemetry.labelBudget,
    labelHardCap: config.telemetry.labelHardCap,
  });
  // Each call's log lines, teed from what the logger writes, go to the store in batches (call_logs); what the store
  // could not take counts as the call_logs sink's drops.
  const callLogs = new CallLogs({
    maxLines: config.telemetry.callLogLines,
    onDrop: (lines) => metrics.dropped.inc({ sink: 'call_logs' }, lines),
  });
  // Lines stdout could not take in time (its reader lagging past the buffer limit) count as the logs sink's drops.
  const logger = createLogger({
    tee: callLogs.maxLines > 0 ? (s) => callLogs.note(s) : undefined,
    level: config.telemetry.logLevel,
    format: config.telemetry.logFormat,
    destination: opts.logDestination,
    onDrop: (lines) => metrics.dropped.inc({ sink: 'logs' }, lines),
    sharedStdout: opts.recordsForWorkers,
  });
  // Off loopback /metrics without server.metricsToken answers whoever reaches the port (a scrape job needs no token),
  // and it names end users and their spend: said once at start, since closing it means changing the scrape config.
  if (!loopback && !config.server.metricsToken)
    logger.warn(
      { event: 'metrics_open' },
      `GET /metrics answers anyone who can reach ${config.server.host} without a token, and it names end users and their spend (llm_user_cost_usd_total{user}); set server.metricsToken (LLMSCOPE_METRICS_TOKEN) and give it to Prometheus as its bearer token`,
    );
  const store = opts.store ?? createStore(config.storage.url, { writerThread: config.storage.writerThread });
  await store.migrate();
  callLogs.attach((rows) => store.insertCallLogs(rows));

  let lastSinkWarn = 0;
  const noteDrop = dropLogger(logger);
  const recorder = new CountingRecorder({
    capacity: config.recorder.capacity,
    onDrop: (sink, n, reason) => {
      metrics.dropped.inc({ sink }, n);
      noteDrop(sink, n, reason);
    },
    onSinkError: (sink, err) => {
      const t = Date.now();
      if (t - lastSinkWarn < 10_000) return;
      lastSinkWarn = t;
      logger.warn({ event: 'sink_error', sink, err: (err as Error)?.message ?? String(err) }, `sink ${sink} failed`);
    },
    onEnricherError: (enricher, err) =>
      logger.warn({ event: 'enricher_error', enricher, err: (err as Error)?.message }, `enricher ${enricher} failed`),
  });
  const redactor = redactorOf(config, metrics);
  const work = callWork(config, { metrics, logger, redactor });
  // In the recorder process of `serve --workers`, the per-call work skips calls a worker already did it on.
  const fromWorkers = opts.recordsForWorkers ? new WeakSet<LlmCall>() : null;
  const local = (e: Enricher): Enricher =>
    fromWorkers
      ? {
          name: e.name,
          enrich: (call) => {
            if (!fromWorkers.has(call)) e.enrich(call);
          },
        }
      : e;
  const localSink = (s: Sink): Sink =>
    fromWorkers
      ? sinkWithWrite(s, (calls) => {
          const own = calls.filter((c) => !fromWorkers.has(c));
          return own.length > 0 ? s.write(own) : undefined;
        })
      : s;
  for (const e of work.head) recorder.addEnricher(local(e));
  const callParts: string[] = [];
  const callCtx: CallContext = { config, registry, metrics, logger, clock: opts.clock ?? systemClock };

  const api = new Router();
  const clock = opts.clock ?? systemClock;
  const audit = await createAuditLog({
    backend: store.backend,
    registry,
    logger,
    now: () => clock.now(),
    trustProxy: config.server.trustProxy,
  });
  // Gateway hooks come from the modules (ctx.gateway.addHook), in the order they add them.
  const hooks: GatewayHook[] = [];
  const ctx: AppContext = {
    config,
    store,
    recorder,
    registry,
    metrics,
    logger,
    api,
    clock,
    gateway: { addHook: (hook) => void hooks.push(hook) },
    signals: new SignalRegistry(),
    detailExtras: [],
    audit,
    erasers: [],
    perCall: {
      add(part) {
        callParts.push(part.name);
        for (const e of part.build(callCtx)) recorder.addEnricher(local(e));
      },
    },
  };

  const modules: Module[] = [];
  // Each module registers its /api routes on its own sub-app (ctx.api), so every route knows which module serves it.
  for (const f of opts.modules ?? []) {
    const sub = api.module('module');
    const m = await f({ ...ctx, api: sub });
    sub.named(m.name);
    modules.push(m);
  }
  // After the modules' hooks: a call refused by a key or a budget is not worth masking.
  if (config.privacy.maskUpstream) hooks.push(maskUpstreamHook(redactor));
  // Spans and content last among enrichers (modules may add cost, refusal, ...), so they see final figures. Spans
  // are built here for calls from the gateway workers too (callWork).
  recorder.addEnricher(spanEnricher);
  for (const e of work.tail) recorder.addEnricher(local(e));
  for (const s of work.sinks) recorder.addSink(localSink(s));
  // A store write costs mostly per transaction (≈100 µs CPU for one call alone, ≈20 µs per call in batches of
  // 64+), so the store lane waits up to storage.flushInterval for a fuller batch (calls show up in /api/requests at
  // most that much later, and a crash loses at most that much); flush() and shutdown never wait.
  recorder.addSink({
    name: 'store',
    // ingest and OTLP senders wait for room in this lane rather than have it drop their calls
    lossless: true,
    // Batches fill past 512 only while the store is what paces the calls (bench:ingest); on SQLite a 1,024-call
    // transaction writes 0.81 WAL frames a call against 0.96 at 512 (its indexes' pages are shared by more rows),
    // about 1.4 µs a call less of the writer thread (bench/RESULTS.md, Ingest, "Session 19 (I5)").
    maxBatch: store.kind === 'sqlite' ? 1024 : 512,
    // On SQLite the next batch waits on the writer thread while one is written, not for its answer to come back
    inFlight: store.kind === 'sqlite' ? 2 : 1,
    lingerMs: config.storage.durability === 'every-call' ? 0 : durationMs(config.storage.flushInterval),
    write: (calls) => store.insertCalls(calls),
    // A database restarting or out of reach, or a full disk, passes: its batches wait (bounded by the recorder's
    // capacity) and are written when it is back, instead of being dropped at the first failure.
    retry: { retryForMs: STORE_RETRY_MS, retryable: isTransientStoreError },
  });
  const exporter =
    opts.spanExporter ?? (config.telemetry.otlpEndpoint ? otlpExporter(config.telemetry.otlpEndpoint) : undefined);
  if (exporter)
    recorder.addSink(
      traceSink({
        exporter,
        serviceName: config.telemetry.serviceName,
        providers: wellKnownProviders(config.providers),
      }),
    );
  // Sinks given here may read call.spans, which a gateway call's recorder leaves to be built where read (spansFor).
  for (const s of opts.sinks ?? []) recorder.addSink(withSpans(s));

  const upstreams = new Map<string, Upstream>();
  for (const p of config.providers) upstreams.set(p.name, createUpstream(p));
  const router = new ModelRouter(config.providers, config.routes);
  const inflight = new Set<ServerResponse>();
  let draining = false;
  // Replicas on one PostgreSQL: a finished poll of a background response another replica holds is left in the
  // database for it (src/store/postgres/background-polls.ts). Not in the recorder process of serve --workers, whose
  // gateway serves no client.
  const backgroundPolls =
    store.backend.kind === 'postgres' && opts.internalToken === undefined ? new BackgroundPolls(store.backend) : null;
  const proxy = new GatewayProxy({
    config,
    recorder,
    logger,
    router,
    upstreams,
    hooks,
    maskPassThrough: config.privacy.maskUpstream ? (body) => maskBody(redactor, body) : undefined,
    draining: () => draining,
    inflight,
    onShed: (reason) => metrics.shed.inc({ reason }),
    // A client's x-request-id this process has not seen: does the store hold a call under it (before a restart,
    // ingested, another replica's)? A failed look-up keeps the client's id.
    idTaken: (id) => holdsCall(store, id),
    onOtherPoll: backgroundPolls
      ? (id, body) =>
          void backgroundPolls.post(id, body).catch((err: unknown) => {
            logger.warn(
              { event: 'background_poll_share_failed', response_id: id, err: (err as Error).message },
              'could not pass a finished background response to the replica that holds its call',
            );
          })
      : undefined,
  });
  /** Finishes the held background calls whose finished answer another replica left in the database. */
  const takeBackgroundPolls = async (): Promise<void> => {
    if (!backgroundPolls || proxy.backgroundHeld === 0) return;
    try {
      for (const { id, body } of await backgroundPolls.take(proxy.backgroundIds())) proxy.finishBackground(id, body);
    } catch (err) {
      logger.warn({ event: 'background_poll_take_failed', err: (err as Error).message }, 'background polls not read');
    }
  };
  let backgroundTaking: Promise<void> = Promise.resolve();
  const backgroundTimer = backgroundPolls
    ? setInterval(() => {
        backgroundTaking = backgroundTaking.then(takeBackgroundPolls);
      }, 1000)
    : undefined;
  backgroundTimer?.unref();

  registerRequestRoutes(api, store, {
    detailExtras: ctx.detailExtras,
    logLines: config.telemetry.callLogLines,
    requestLine: (c) => requestLineOf(logger, config.telemetry.logFormat, c),
  });
  registerStatsRoutes(api, store);
  registerAuditRoutes(api, audit);
  registerMeRoute(api);
  // A user's background responses still held for their poll are recorded before an erase of the user, and so erased.
  ctx.erasers.push({
    name: 'background-responses',
    before: async (user) => {
      if (proxy.releaseBackgroundOf(user) > 0) await recorder.flush();
    },
    erase: async () => ({}),
  });
  registerEraseRoute(api, { store, erasers: ctx.erasers, audit });
  registerSessionRoutes(api, store, { detailExtras: ctx.detailExtras });
  // The user page's spend and budgets come from the cost capability, when it is loaded.
  const cost = modules.find((m): m is CostModule => m.name === 'cost' && 'spend' in m);
  registerUserRoutes(api, store, {
    now: () => clock.now(),
    detailExtras: ctx.detailExtras,
    cost: cost ? userCostSource(cost.spend, cost.runtime) : undefined,
  });
  const { registerOverviewRoutes, registerUiConfigRoute } = await import('./api/overview/index.js');
  const overview = registerOverviewRoutes(api, store, () => clock.now());
  registerUiConfigRoute(api, {
    traceUrlTemplate: config.telemetry.traceUrlTemplate,
    rawRetentionMs: durationMs(config.storage.retention.raw),
  });
  // Replicas on one PostgreSQL claim the request ids given to /api/ingest before recording them, so a batch sent to
  // two at once counts once (src/store/postgres/id-claims.ts).
  const idClaims = store.backend.kind === 'postgres' ? new RequestIdClaims(store.backend) : null;
  const claimIds = idClaims ? countedClaims(idClaims, registry, logger) : undefined;
  // A record's units are checked against, and a per-unit model's record without them counted unpriced by, the cost
  // capability's prices, when it is loaded (decision 152).
  const ingestUnitOf = cost
    ? (model: string, provider: string, at: number) => cost.runtime.prices.billingUnitOf(model, provider, at)
    : undefined;
  api.post('/api/ingest', async ({ req, res }) => {
    // Its body counts against server.maxBufferedBytes with the gateway's: 20 batches of 45 MB at once held 1.8 GB.
    if (!proxy.holdBody(res, Number(req.headers['content-length'])))
      throw new LlmscopeError(
        'LLMSCOPE_ERR_OVERLOADED',
        `llmscope is at capacity: requests in flight hold ${config.server.maxBufferedBytes} bytes of bodies (server.maxBufferedBytes); retry shortly`,
        { headers: { 'retry-after': '1', connection: 'close' } },
      );
    const { ingestCalls } = await import('./api/ingest.js');
    await ingestCalls(req, res, config.server.bodyLimit, recorder, store, undefined, claimIds, ingestUnitOf);
  });
  // OTLP/HTTP traces: LLM spans become calls through the recorder, as ingested ones do. Served at /v1/traces (where
  // exporters send by default) and at /api/otlp/v1/traces, behind the same guard as /api/ingest.
  const otlp = new OtlpReceiver({
    recorder,
    store,
    claim: claimIds,
    registry,
    bodyLimit: config.server.bodyLimit,
    traceSpans: await traceSpanStoreFor(store.backend),
    redactSpan: (span) => {
      if (config.privacy.redact) redactSpan(redactor, span);
      // Capture off: an exception's text loses its quotes, as an error message of a call without known text does.
      if (!config.telemetry.captureContent) scrubSpanErrors(span, []);
    },
    retainMs: durationMs(config.storage.retention.raw),
    // An agent framework's name where a call's provider belongs is replaced by the model's (decision 165).
    ...(cost ? { providerOfModel: (model: string) => cost.runtime.prices.providerOfModel(model) } : {}),
    onError: (err) =>
      logger.warn({ event: 'otlp_trace_spans_failed', err: (err as Error)?.message }, 'OTLP trace spans not kept'),
  });
  ctx.detailExtras.push(otlp.detailExtra);
  ctx.erasers.push(otlp.eraser);
  api.post('/api/otlp/v1/traces', ({ req, res }) => otlp.handle(req, res));
  // OTLP/HTTP logs: the model-call events of coding agents that export no traces (Claude Code, Codex), at /v1/logs and
  // /api/otlp/v1/logs, behind the same guard.
  const otlpLogs = new OtlpLogsReceiver({
    recorder,
    store,
    claim: claimIds,
    registry,
    bodyLimit: config.server.bodyLimit,
  });
  api.post('/api/otlp/v1/logs', ({ req, res }) => otlpLogs.handle(req, res));
  // Codex responses waiting a moment for their request's event are recorded before an erase of their user, and so erased.
  ctx.erasers.push({
    name: 'otlp-logs-waiting',
    before: async (user) => {
      if (otlpLogs.releaseWaitingOf(user) > 0) await recorder.flush();
    },
    erase: async () => ({}),
  });

  // Signed-out sessions: on PostgreSQL in the store, so every replica refuses them (within its refresh interval).
  const revocations =
    store.backend.kind === 'postgres'
      ? await SharedSessionRevocations.open(store.backend, {
          now: () => clock.now(),
          onError: (err) =>
            logger.warn(
              { event: 'session_revocations_refresh_failed', err: (err as Error)?.message },
              'could not read signed-out sessions from the store; using the last copy',
            ),
        })
      : undefined;
  const web = webHandler({
    api,
    site: loadStaticSite(findUiRoot()),
    auth: new AdminAuth({
      revocations,
      // The primary of `serve --workers` hears from its workers, which pass the client's Host as X-Forwarded-Host.
      clientHost:
        opts.internalToken === undefined
          ? undefined
          : (req) => {
              const h = req.headers['x-forwarded-host'];
              return (Array.isArray(h) ? h[0] : h)?.split(',')[0]?.trim();
            },
      adminToken: config.server.adminToken,
      tokens: tokenTable(config),
      oidc: oidcClient(config),
      open: loopback,
      sessionTtlMs: durationMs(config.server.sessionTtl),
      trustProxy: config.server.trustProxy,
      corsOrigins: config.server.corsOrigins,
      metricsToken: config.server.metricsToken,
      onAuthEvent: (req, e) =>
        void audit.record(
          { req, principal: e.principal },
          { action: e.action, result: e.result, detail: e.reason ? { reason: e.reason } : null },
        ),
    }),
    readiness: {
      ping: () => store.ping(),
      upstreams: () => upstreams.size,
      draining: () => draining,
      workers: opts.workersReadiness,
    },
    metrics: (res) =>
      opts.workerMetrics
        ? sendFleetMetrics(res, { registry, recorder, metrics }, opts.workerMetrics)
        : sendMetrics(res, { registry, recorder, metrics }),
  });

  const internal = opts.internalToken;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (internal !== undefined && req.headers['x-llmscope-internal'] !== internal)
      throw new LlmscopeError('LLMSCOPE_ERR_UNAUTHORIZED', 'this listener serves llmscope workers only');
    if (refuseEmptySegment(proxy, req, res)) return;
    const target = requestTarget(req.url ?? '/');
    const path = target.pathname;
    // On the loopback bind a gateway call without a virtual key rides on loopback trust: it needs a loopback Host
    // (DNS rebinding, docs/security.md).
    if (loopback && refuseNonLoopbackHost(proxy, req, res, path)) return;
    // A browser page of another site sending a keyless call (CSRF on llmscope's provider key, docs/security.md).
    if (refuseCrossSite(proxy, req, res, path, config.server.corsOrigins)) return;
    const gateway = serveGateway(proxy, req, res, target, upstreams, config.routes);
    if (gateway !== false) return gateway === true ? undefined : gateway;
    // What is not the gateway's is read as a URL (a gateway call's plain path skipped the parse).
    const url = target instanceof URL ? target : new URL(req.url ?? '/', 'http://llmscope');
    if (path === '/v1/traces' || path === '/v1/logs') {
      // Said here, with the path the exporter used (the router's 405 named /api/otlp/...).
      if (req.method !== 'POST')
        throw new LlmscopeError(
          'LLMSCOPE_ERR_METHOD_NOT_ALLOWED',
          `${path} (OTLP/HTTP) takes POST, not ${req.method}`,
          {
            headers: { allow: 'POST' },
          },
        );
      return web(req, res, new URL(`/api/otlp${path}${url.search}`, url));
    }
    // The gateway's surface answers with x-request-id, a call or not.
    const googleApi = isGoogleApiPath(path);
    if (path.startsWith('/v1/') || path.startsWith('/v1beta/') || googleApi) answerRequestId(req, res);
    // A base URL one /v1 short or one too many: the path meant and the base URL to set.
    if (refuseBaseUrlMistake(proxy, req, res, path, internal !== undefined)) return;
    // Gemini's API (and Gemini on Vertex AI): an unknown method or path answered in Google's error shape, as its SDKs
    // read it.
    if (googleApi) {
      proxy.refuse(
        res,
        'generate_content',
        new LlmscopeError(
          'LLMSCOPE_ERR_NOT_FOUND',
          `unknown route ${req.method} ${path}; llmscope serves Gemini's POST /v1beta/models/{model}:generateContent, :streamGenerateContent, :embedContent and :batchEmbedContents`,
        ),
      );
      return;
    }
    // An Anthropic client (its SDKs always send anthropic-version; Claude on Vertex AI's paths name its publisher) reads
    // errors in Anthropic's shape.
    if (
      (path.startsWith('/v1/') && req.headers['anthropic-version'] !== undefined) ||
      (path.startsWith('/v1') && path.includes('/publishers/anthropic/'))
    ) {
      proxy.refuse(
        res,
        'messages',
        new LlmscopeError(
          'LLMSCOPE_ERR_NOT_FOUND',
          `unknown route ${req.method} ${path}; llmscope serves Anthropic's POST /v1/messages, and passes /v1/messages/..., /v1/files, /v1/skills and its other platform APIs through`,
        ),
      );
      return;
    }
    if (path.startsWith('/v1/'))
      throw new LlmscopeError(
        'LLMSCOPE_ERR_NOT_FOUND',
        `unknown route ${req.method} ${path}; llmscope serves /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/responses, /v1/messages, /v1beta/models/{model}:generateContent, /v1/models, /v1/traces and /v1/logs (OTLP)`,
      );
    return web(req, res, url);
  };

  let lastStoreDownWarn = 0;
  const server = createListener(
    opts.listenOn?.plain ? undefined : config.server.tls,
    (req, res) => {
      handle(req, res).catch((thrown) => {
        let err = thrown;
        // The store out of reach (PostgreSQL restarting or failing over, a full or busy disk): a 503 to try again,
        // said once per 10 s, not a 500 "internal error" with a stack per dashboard request.
        if (!(err instanceof LlmscopeError) && !clientClosed(req, err) && isTransientStoreError(err)) {
          const t = Date.now();
          if (t - lastStoreDownWarn >= 10_000) {
            lastStoreDownWarn = t;
            logger.warn(
              { event: 'store_unavailable', path: req.url?.split('?')[0], err: (err as Error)?.message },
              'a request needed the store, which cannot be reached; answered 503 store_unavailable',
            );
          }
          err = new LlmscopeError(
            'LLMSCOPE_ERR_STORE_UNAVAILABLE',
            'llmscope cannot reach its store (the database restarting or out of reach, or the disk full); gateway calls are still served and recorded once it is back: retry shortly',
            { headers: { 'retry-after': '5' } },
          );
        }
        // A client that hung up mid-upload is nobody's error (and nobody is left to answer).
        if (!(err instanceof LlmscopeError) && !clientClosed(req, err))
          logger.error({ event: 'http_error', request_id: internalErrorId(res), err }, 'request failed');
        // A body refused before any of it was read (a 404 or 405 thrown here) has its rest dropped after the answer,
        // bounded, as every unread body's (createListener).
        if (isOtlpPath(req.url)) sendOtlpError(req, res, err);
        else sendError(res, err);
      });
    },
    undefined,
    { ms: durationMs(config.server.bodyIdleTimeout), onTimeout: () => metrics.bodyTimeouts.inc() },
  );
  // OpenAI's Realtime API: WebSocket upgrades at /v1/realtime (not on the recorder's listener for its workers).
  const realtime =
    internal === undefined
      ? attachRealtime(server, {
          config,
          recorder,
          logger,
          upstreams,
          hooks,
          draining: () => draining,
          loopback,
          // Each Responses WebSocket response counts against server.maxConcurrentCalls with the HTTP calls.
          admitCall: () => proxy.admitCarried(),
          redactor,
        })
      : null;
  if (realtime) metrics.watchWebsocketSessions(() => realtime.sessionsByKind());

  const retention = config.storage.retention;
  const runRetention = async (): Promise<void> => {
    const t = clock.now();
    try {
      const r = await store.applyRetention({
        rawBefore: t - durationMs(retention.raw),
        minuteBefore: t - durationMs(retention.minute),
        hourBefore: t - durationMs(retention.hour),
      });
      if (r.deletedCalls || r.deletedRollups) logger.info({ event: 'retention', ...r }, 'retention applied');
    } catch (err) {
      logger.warn({ event: 'retention_failed', err: (err as Error).message }, 'retention failed');
    }
  };
  let retentionTimer: NodeJS.Timeout | undefined;
  let closed = false;
  // Last among erasers: the lines of calls the erasers before it recorded reach the store before the user's calls
  // are looked up, and are erased with them (deleteCalls).
  ctx.erasers.push({ name: 'call-logs', before: () => callLogs.flush(), erase: async () => ({}) });

  return {
    ctx,
    callLogs,
    server,
    upstreams,
    modules,
    hooks,
    callParts,
    recordFromWorker(call) {
      fromWorkers?.add(call);
      recorder.record(call);
    },
    async listen() {
      await new Promise<void>((ok, fail) => {
        server.once('error', fail);
        server.listen(opts.listenOn?.port ?? config.server.port, opts.listenOn?.host ?? config.server.host, () => {
          server.off('error', fail);
          ok();
        });
      });
      for (const m of modules) await m.start?.();
      overview.start();
      retentionTimer = setInterval(runRetention, 3_600_000);
      retentionTimer.unref();
      void runRetention();
      const a = server.address() as AddressInfo;
      const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
      const base = `${schemeOf(server)}://${host}:${a.port}`;
      // serve --workers: this is the recorder's loopback listener for its workers, not the port clients use (the
      // cluster logs that one, workers_started).
      if (internal !== undefined)
        logger.info(
          { event: 'recorder_listening', url: base, providers: [...upstreams.keys()], store: store.kind },
          `recorder listening for its gateway workers on ${base} (loopback, workers only)`,
        );
      else
        logger.info(
          { event: 'listening', url: base, providers: [...upstreams.keys()], store: store.kind },
          `llmscope listening on ${base}`,
        );
      return base;
    },
    async close() {
      if (closed) return;
      closed = true;
      draining = true;
      clearInterval(retentionTimer);
      overview.stop();
      revocations?.close();
      const grace = durationMs(config.server.shutdownGrace);
      const stopped = new Promise<void>((ok) => server.close(() => ok()));
      server.closeIdleConnections();
      const deadline = Date.now() + grace;
      while ((inflight.size > 0 || proxy.passThroughsInFlight > 0) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      // Background responses no poll finished yet (here, or on another replica: one last look): recorded as they
      // were answered (queued).
      clearInterval(backgroundTimer);
      if (backgroundPolls)
        await Promise.race([
          backgroundTaking.then(takeBackgroundPolls),
          new Promise((r) => setTimeout(r, 2000).unref()),
        ]);
      proxy.releaseBackground();
      // Codex responses still waiting for their request's event (a concurrent export): recorded as they are.
      otlpLogs.releaseWaiting();
      const abandoned = inflight.size;
      const recordedBefore = recorder.recorded;
      // Realtime sessions are closed (1001, going away) rather than waited for: one may last half an hour.
      await realtime?.closeAll();
      server.closeAllConnections();
      await stopped;
      // The calls cut at the grace's end finish a moment later (cancelled, with the tokens they had passed): they
      // reach the recorder before the modules stop and it closes, so their spend is in the store and /api/cost.
      await recorder.waitFor(recordedBefore + abandoned, CUT_CALLS_WAIT_MS);
      for (const m of modules.reverse()) {
        try {
          await m.stop?.();
        } catch (err) {
          logger.warn(
            { event: 'module_stop_failed', module: m.name, err: (err as Error).message },
            'module stop failed',
          );
        }
      }
      await recorder.close(Math.max(1000, deadline - Date.now()));
      // drops of the last interval still summed for its end (their timer would not outlive the process)
      noteDrop.flush();
      await callLogs.flush();
      await Promise.all([...upstreams.values()].map((u) => u.pool.close().catch(() => undefined)));
      await store.close();
      logger.info({ event: 'stopped', abandoned_calls: abandoned }, 'llmscope stopped');
      logger.flush();
    },
  };
}

/** `auth.tokens` as a table of hashes; a `tokenEnv` token is read (and hashed) here, at start. */
function tokenTable(config: Config): TokenTable {
  return new TokenTable(
    config.auth.tokens.map((t) => {
      let tokenHash = t.tokenHash;
      if (t.tokenEnv !== undefined) {
        const v = process.env[t.tokenEnv];
        if (!v || v.length < 16)
          throw new LlmscopeError(
            'LLMSCOPE_ERR_CONFIG_INVALID',
            `auth.tokens "${t.name}": the environment variable ${t.tokenEnv} is ${v ? 'shorter than 16 characters' : 'not set'}`,
          );
        tokenHash = hashToken(v);
      }
      return { name: t.name, role: t.role, teams: t.teams, features: t.features, tokenHash: tokenHash as string };
    }),
  );
}

/** `auth.oidc` as a client (the issuer is read at the first sign-in); its sessions are signed with the admin token. */
function oidcClient(config: Config): OidcClient | undefined {
  const o = config.auth.oidc;
  if (!o) return undefined;
  if (!config.server.adminToken)
    throw new LlmscopeError(
      'LLMSCOPE_ERR_CONFIG_INVALID',
      'auth.oidc needs server.adminToken (or LLMSCOPE_ADMIN_TOKEN): sign-in sessions are signed with a key derived from it',
    );
  const secret = o.clientSecretEnv === undefined ? undefined : process.env[o.clientSecretEnv];
  if (o.clientSecretEnv !== undefined && !secret)
    throw new LlmscopeError(
      'LLMSCOPE_ERR_CONFIG_INVALID',
      `auth.oidc.clientSecretEnv: the environment variable ${o.clientSecretEnv} is not set`,
    );
  return new OidcClient({ ...o, clientSecret: secret });
}

/**
 * A path only Google's APIs have: the Gemini API's versions (`/v1beta`, `/v1alpha`: @google/genai's `apiVersion`), and
 * Vertex AI's `/v1beta1`, `/v1/projects/...` and Google publisher paths (`/v1/publishers/google/...`), but not Claude on
 * Vertex AI (`.../publishers/anthropic/...`).
 */
function isGoogleApiPath(path: string): boolean {
  if (path.startsWith('/v1beta/') || path.startsWith('/v1alpha/')) return true;
  if (!path.startsWith('/v1/') && !path.startsWith('/v1beta1/')) return false;
  if (path.includes('/publishers/anthropic/')) return false;
  return path.startsWith('/v1beta1/') || path.startsWith('/v1/projects/') || path.includes('/publishers/google/');
}
