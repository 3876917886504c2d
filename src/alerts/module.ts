// The alerts capability module: the built-in engine inside `serve`, its API routes, the signal registry other
// modules feed, and the recorder sink behind the single-call cost rule.
import type { AppContext, Module, ModuleFactory } from '../app-context.js';
import { registerAlertRoutes } from './api.js';
import { CallCostTracker } from './call-cost-tracker.js';
import { alertsConfigOf } from './config.js';
import { AlertsService } from './service.js';
import { signalsOf } from './signals.js';
import { alertStateStoreFor } from './state/index.js';

export const createAlertsModule: ModuleFactory = (ctx: AppContext): Module => {
  const config = alertsConfigOf(ctx.config.alerts);
  const callCosts = new CallCostTracker();
  ctx.recorder.addSink(callCosts.sink());
  const state = alertStateStoreFor(ctx.store);
  if (state.kind === 'memory')
    ctx.logger.warn(
      { event: 'alerts_state_in_memory', store: ctx.store.kind },
      'alert state is kept in memory with this store: a restart forgets pending and firing alerts',
    );
  const service = new AlertsService({
    config,
    store: ctx.store,
    state,
    clock: ctx.clock,
    logger: ctx.logger,
    registry: ctx.registry,
    signals: signalsOf(ctx),
    callCosts,
  });
  registerAlertRoutes(ctx.api, service, ctx.config.server.bodyLimit);
  return {
    name: 'alerts',
    async start() {
      await service.init();
      if (config.enabled) service.start();
    },
    async stop() {
      await service.stop();
    },
  };
};
