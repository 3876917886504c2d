// The alerts capability module: the built-in engine inside `serve`, its API routes, the signal registry other
// modules feed, and the recorder sink behind the single-call cost rule. On PostgreSQL (several replicas on one
// database) the state is shared and exactly one replica evaluates: the one holding the `alerts` advisory lock.
import type { AppContext, Module, ModuleFactory } from '../app-context.js';
import type { LeaderElector } from '../store/postgres/leader.js';
import { registerAlertRoutes } from './api.js';
import { CallCostTracker } from './call-cost-tracker.js';
import { alertsConfigOf, ms } from './config.js';
import { AlertsService } from './service.js';
import { alertStateStoreFor, PostgresAlertStateStore } from './state/index.js';

export const createAlertsModule: ModuleFactory = async (ctx: AppContext): Promise<Module> => {
  const config = alertsConfigOf(ctx.config.alerts);
  const callCosts = new CallCostTracker();
  ctx.recorder.addSink(callCosts.sink());
  const backend = ctx.store.backend;
  const state = alertStateStoreFor(backend);
  if (state instanceof PostgresAlertStateStore) await state.migrate();
  const log = ctx.logger.child({ module: 'alerts' });
  let service: AlertsService | undefined;
  let elector: LeaderElector | null = null;
  if (backend.kind === 'postgres' && config.enabled)
    elector = backend.leader({
      name: 'alerts',
      // a follower tries for the lock once per evaluation: it takes over within one interval of the leader's death
      intervalMs: Math.max(100, ms(config.evaluationInterval)),
      onChange: (leader) => {
        log.info(
          { event: 'alerts_leadership', leader },
          leader ? 'elected alert evaluator' : 'no longer the alert evaluator',
        );
        if (leader) service?.evaluateSoon();
      },
      onError: (err) =>
        log.warn(
          { event: 'alerts_leader_connection_failed', err: err.message },
          'alert leader election: connection failed',
        ),
    });
  service = new AlertsService({
    config,
    store: ctx.store,
    state,
    clock: ctx.clock,
    logger: ctx.logger,
    registry: ctx.registry,
    signals: ctx.signals,
    callCosts,
    ...(elector ? { leadership: elector } : {}),
  });
  const svc = service;
  registerAlertRoutes(ctx.api, svc, ctx.config.server.bodyLimit, ctx.audit);
  return {
    name: 'alerts',
    async start() {
      await svc.init();
      if (!config.enabled) return;
      await elector?.start(); // resolves after the first try: the leader knows it before its first evaluation
      svc.start();
    },
    async stop() {
      await svc.stop();
      // after the last evaluation: the lock goes with the connection, and another replica takes over
      await elector?.stop();
    },
  };
};
