// The capability modules and gateway hooks `serve` and `demo` run with. Each capability adds itself here.
import { createAlertsModule } from '../alerts/index.js';
import type { ModuleFactory } from '../app-context.js';
import type { Config } from '../config/index.js';
import { createCostHooks, createCostModule } from '../cost/index.js';
import type { GatewayHook } from '../gateway/proxy.js';
import { createGpuModule } from '../gpu/index.js';
import { createQualityModule } from '../quality/index.js';

export function builtinModules(): ModuleFactory[] {
  return [createCostModule, createGpuModule, createQualityModule, createAlertsModule];
}

export function builtinHooks(config: Config): GatewayHook[] {
  return [...createCostHooks(config)];
}
