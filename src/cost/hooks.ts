// The cost capability's gateway hooks: virtual keys (authenticate), their rate limits and budgets (admit, settle). The cost module
// registers them with `ctx.gateway.addHook`. Budget settlement, in one place: a gateway call's reservation settles
// when the call ends if its usage is known then (budgetHook), or else once the recorder's tokenizer has counted it
// (settleRecorded, from the cost enricher); an ingested call was never reserved and is added as it is.
import type { LlmCall } from '../calls/index.js';
import type { GatewayHook } from '../gateway/proxy.js';
import { keyHook } from './keys.js';
import { rateLimitHook, settleRecordedTokens } from './limits/hook.js';
import type { CostRuntime } from './runtime.js';

/** Settles at the end of the call when its output count is known; calls counted by the tokenizer settle in the cost enricher. */
function budgetHook(rt: CostRuntime): GatewayHook {
  return {
    name: 'budgets',
    admit: (a) => rt.budgets.admit(a),
    settle(a, call) {
      if (!rt.budgets.pending(a.state)) return;
      const reached = call.internal?.upstreamStartAt !== null && call.internal?.upstreamStartAt !== undefined;
      // No output count yet (no usage at all, or an Anthropic stream left before message_delta, which has its input
      // from message_start): the recorder counts what was streamed, and settleRecorded adds the call's full price.
      if (reached && call.outputTokens === null) return;
      rt.budgets.settle(a.state, rt.prices.priceCall(call).costUsd, call);
    },
  };
}

/** The cost enricher's part, once the call is priced: the reservation the hook left pending, or an ingested call. */
export function settleRecorded(rt: CostRuntime, call: LlmCall): void {
  const hooks = call.internal?.hooks;
  if (rt.budgets.pending(hooks)) rt.budgets.settle(hooks, call.costUsd, call);
  // (and a call the provider ran though its admission was refused: a Realtime response, internal.spentUnadmitted)
  else if (call.source === 'ingest' || call.internal?.spentUnadmitted) rt.budgets.addUnreserved(call);
  settleRecordedTokens(rt.rateLimits, call);
}

/**
 * Keys when the config has any or the app has a key store (once a key exists, every call needs one), then the keys'
 * rate limits (before budgets, so a refused call reserves nothing), then budgets when any exist.
 */
export function costHooks(rt: CostRuntime): GatewayHook[] {
  const hooks: GatewayHook[] = [];
  if (rt.config.keys.length > 0 || rt.keyStore) {
    hooks.push(keyHook(rt.directory, () => rt.clock.now()));
    hooks.push(rateLimitHook(rt.rateLimits));
  }
  if (rt.budgetList.length > 0) hooks.push(budgetHook(rt));
  return hooks;
}
