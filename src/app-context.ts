// What a capability module gets when the server is assembled (src/server.ts): the shared parts, passed in, never global.
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Audit } from './audit/index.js';
import type { Enricher, LlmCall, Recorder } from './calls/index.js';
import type { Config } from './config/index.js';
import type { GatewayHook } from './gateway/proxy.js';
import type { Router } from './http/index.js';
import type { UserDataEraser } from './privacy/index.js';
import type { SignalRegistry } from './signals/index.js';
import type { Store } from './store/store.js';
import type { Metrics } from './telemetry/metrics.js';

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export interface AppContext {
  config: Config;
  store: Store;
  /**
   * Where finished calls go: a module adds its enrichers (per-call work that needs more than the config goes in
   * `perCall`) and sinks here. A sink that reads a call's spans reads them with `spansFor(call)` (telemetry/spans.ts),
   * not `call.spans`: a gateway call's spans are left to be built where they are read, so its `spans` is empty here.
   */
  recorder: Recorder;
  registry: Registry;
  metrics: Metrics;
  logger: Logger;
  /**
   * This module's sub-app of the /api router. Every route needs a row in ROUTE_ACCESS (src/http/access.ts: its role,
   * and what it does for a team-scoped principal; an unlisted route is admin-only); a route serving team data reads
   * through `scopedStore(store, http.principal?.scope)`.
   */
  api: Router;
  clock: Clock;
  /** The /v1 gateway: modules add hooks (virtual keys, budgets) that run on every call, in the order added. */
  gateway: { addHook(hook: GatewayHook): void };
  /** Signals the call store does not hold: capabilities publish them here (cost, quality, gpu), alerts reads them. */
  signals: SignalRegistry;
  /**
   * Contributions to `GET /api/requests/:id` (evaluations, feedback, ...): each returns fields merged into the
   * detail; a failing one is left out, never failing the page.
   */
  detailExtras: Array<(requestId: string, call: LlmCall) => Promise<Record<string, unknown>>>;
  /**
   * The append-only audit log: a module records each admin or operator action it serves (`ctx.audit.record(http,
   * { action, target, result, detail })`, with the route's HttpContext as the source, or `'cli'`).
   */
  audit: Audit;
  /**
   * What `DELETE /api/users/{id}/data` runs besides deleting the user's calls: each capability that keeps rows about
   * a user or their calls (feedback, evaluations, review items, per-user spend) adds its eraser here.
   */
  erasers: UserDataEraser[];
  /**
   * A module's per-call work that needs only the config and the call (pricing, refusal detection, capturing text for
   * evaluation): added here rather than to `recorder`, its enrichers run in order with the others wherever calls are
   * finished. With `serve --workers` that is each gateway worker (built there from the config by the part's name),
   * and the recorder process runs them only on calls that did not come from a worker (ingest, OTLP, a module's own).
   */
  perCall: { add(part: CallPart): void };
}

/** What a per-call part is built with in every process that finishes calls: no store, routes, hooks or timers. */
export interface CallContext {
  config: Config;
  /** This process's registry and metrics: `/metrics` adds the processes up, so count each call where it runs. */
  registry: Registry;
  metrics: Metrics;
  logger: Logger;
  clock: Clock;
}

/**
 * The per-call part of a module: enrichers that read and write only the call, built from the config. `name` finds
 * the same part in a gateway worker (src/cli/modules.ts lists the built-in ones), where `build` runs without the
 * module; in one process the module may pass a `build` using what it knows beyond the config (evaluators it loaded).
 */
export interface CallPart {
  readonly name: string;
  build(ctx: CallContext): Enricher[];
}

/**
 * A capability (cost, quality, alerts, gpu, ...) plugs in here: it adds enrichers/sinks to the recorder,
 * routes to `api`, metrics to `registry`, and background work started/stopped with the server.
 */
export interface Module {
  readonly name: string;
  start?(): void | Promise<void>;
  stop?(): void | Promise<void>;
}

export type ModuleFactory = (ctx: AppContext) => Module | Promise<Module>;
