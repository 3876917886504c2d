// The capability modules `serve` and `demo` run with. Each capability adds itself here; a module registers its own
// gateway hooks, signals and routes through the context it is built with.
import { createAlertsModule } from '../alerts/index.js';
import type { CallPart, ModuleFactory } from '../app-context.js';
import { createCostModule } from '../cost/index.js';
import { costCallPart } from '../cost/per-call.js';
import { createGpuModule } from '../gpu/index.js';
import { createQualityModule } from '../quality/index.js';
import { qualityCallPart } from '../quality/per-call.js';

export function builtinModules(): ModuleFactory[] {
  return [createCostModule, createGpuModule, createQualityModule, createAlertsModule];
}

/**
 * The built-in modules' per-call parts (`ctx.perCall`), by name: a gateway worker of `serve --workers` builds those
 * its recorder process's modules added, from the config alone.
 */
export function builtinCallParts(): CallPart[] {
  return [costCallPart, qualityCallPart];
}
