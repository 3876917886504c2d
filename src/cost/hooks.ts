// The cost capability's gateway hooks: virtual keys (authenticate) and budgets (admit, settle). The cost module
// registers them with `ctx.gateway.addHook`.
import type { GatewayHook } from '../gateway/proxy.js';
import { keyHook } from './keys.js';
import type { CostRuntime } from './runtime.js';

/** Settles at the end of the call when its usage is known; calls counted by the tokenizer settle in the cost enricher. */
function budgetHook(rt: CostRuntime): GatewayHook {
  return {
    name: 'budgets',
    admit: (a) => rt.budgets.admit(a),
    settle(a, call) {
      if (!rt.budgets.pending(a.state)) return;
      const reached = call.internal?.upstreamStartAt !== null && call.internal?.upstreamStartAt !== undefined;
      if (reached && call.inputTokens === null && call.outputTokens === null) return;
      rt.budgets.settle(a.state, rt.prices.priceCall(call).costUsd);
    },
  };
}

/** Keys when `keys` are configured (then every call needs one), then budgets when any exist. */
export function costHooks(rt: CostRuntime): GatewayHook[] {
  const hooks: GatewayHook[] = [];
  if (rt.config.keys.length > 0) hooks.push(keyHook(rt.keys, true));
  if (rt.budgetList.length > 0) hooks.push(budgetHook(rt));
  return hooks;
}
