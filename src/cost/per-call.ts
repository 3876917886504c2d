// The cost module's per-call part: pricing, which needs only the config and the call, so with `serve --workers` it
// runs in every gateway worker (ctx.perCall). What must be one per deployment stays in the module's recorder-side
// enricher and sink: settling budgets and rate limits on the one ledger, counting unpriced models, spend aggregates.
import type { CallPart } from '../app-context.js';
import type { Enricher, LlmCall } from '../calls/index.js';
import type { CostConfig } from './config.js';
import { billersOf, PriceBook } from './pricing.js';
import { UNIT_ENDPOINTS, unitsOfCall } from './units.js';

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

/**
 * Whether the price enricher found no price for a call whose usage is known: what `PriceBook.priceCall` says as
 * `unpriced`, read back from the call, so the process that counts it need not be the one that priced it. Usage is
 * its tokens, or the units of a call billed per unit (an image, a second, a character) to a model no price names.
 */
export function isUnpriced(call: LlmCall): boolean {
  if (call.costUsd !== null || call.price !== null) return false;
  if (call.inputTokens !== null || call.outputTokens !== null) return true;
  return (UNIT_ENDPOINTS.has(call.endpoint) || call.endpoint === 'realtime') && unitsOfCall(call.events) !== null;
}

/** The price book a config gives (the module's runtime builds the same one). */
export function priceBookOf(config: CostConfig): PriceBook {
  return new PriceBook(config.pricing, undefined, billersOf(config.providers ?? []));
}

/** Built from the config alone, as a gateway worker does; the module passes its runtime's price book instead. */
export const costCallPart: CallPart = {
  name: 'cost',
  build: (ctx) => [priceEnricher(priceBookOf(ctx.config))],
};
