// The built-in modules' per-call parts, apart from src/cli/modules.ts: a gateway worker (src/cluster/worker.ts) runs
// these and imports only them, not the modules themselves (alerts, cost, GPU, quality: their stores, routes,
// engines), which it never runs.
import type { CallPart } from '../app-context.js';
import { costCallPart } from '../cost/per-call.js';
import { qualityCallPart } from '../quality/per-call.js';

/**
 * The built-in modules' per-call parts (`ctx.perCall`), by name: a gateway worker of `serve --workers` builds those
 * its recorder process's modules added, from the config alone.
 */
export function builtinCallParts(): CallPart[] {
  return [costCallPart, qualityCallPart];
}
