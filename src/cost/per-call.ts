// The cost module's per-call part: pricing, which needs only the config and the call, so with `serve --workers` it
// runs in every gateway worker (ctx.perCall). What must be one per deployment stays in the module's recorder-side
// enricher and sink: settling budgets and rate limits on the one ledger, counting unpriced models, spend aggregates.
import type { CallPart } from '../app-context.js';
import type { Enricher, LlmCall } from '../calls/index.js';
import { unpricedCall } from '../calls/units.js';
import type { CostConfig } from './config.js';
import { billersOf, PriceBook } from './pricing.js';

/** Sets `costUsd` and `price` on a call that has no cost yet (an ingested call may bring its own). */
export function priceEnricher(prices: PriceBook): Enricher {
  return {
    name: 'cost',
    enrich(call) {
      if (call.costUsd !== null) return;
      const p = prices.priceCall(call);
      call.costUsd = p.costUsd;
      call.price = p.price;
    },
  };
}

/** Whether pricing found no price for a call whose usage is known (src/calls/units.ts `unpricedCall`). */
export const isUnpriced: (call: LlmCall) => boolean = unpricedCall;

/** The price book a config gives (the module's runtime builds the same one). */
export function priceBookOf(config: CostConfig): PriceBook {
  return new PriceBook(config.pricing, undefined, billersOf(config.providers ?? []));
}

/** Built from the config alone, as a gateway worker does; the module passes its runtime's price book instead. */
export const costCallPart: CallPart = {
  name: 'cost',
  build: (ctx) => [priceEnricher(priceBookOf(ctx.config))],
};
