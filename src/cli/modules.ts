// The capability modules `serve` and `demo` run with. Each capability adds itself here; a module registers its own
// gateway hooks, signals and routes through the context it is built with.
import { createAlertsModule } from '../alerts/index.js';
import type { ModuleFactory } from '../app-context.js';
import { createCostModule } from '../cost/index.js';
import { createGpuModule } from '../gpu/index.js';
import { createQualityModule } from '../quality/index.js';

// A gateway worker imports call-parts.js alone: these modules' whole code (their stores, APIs, engines) it never runs.
export { builtinCallParts } from './call-parts.js';

export function builtinModules(): ModuleFactory[] {
  return [createCostModule, createGpuModule, createQualityModule, createAlertsModule];
}
