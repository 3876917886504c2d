// The cost capability's state for one app: price book, virtual keys, budgets and the ledger they reserve on. The
// module builds it once the app's store and clock are known, so the ledger is the right one from the start (the
// shared PostgreSQL one, or in-process) and the gateway hooks it registers (keys, budgets) use this same runtime.
import type { Clock } from '../app-context.js';
import { type Budget, type BudgetEvents, type BudgetLedger, BudgetService, budgetsFrom } from './budgets.js';
import type { CostConfig } from './config.js';
import { KeyRing } from './keys.js';
import { billersOf, PriceBook } from './pricing.js';

export interface CostRuntime {
  readonly config: CostConfig;
  readonly prices: PriceBook;
  readonly keys: KeyRing;
  readonly budgetList: readonly Budget[];
  /** The ledger budgets reserve on and settle to. */
  readonly ledger: BudgetLedger;
  readonly budgets: BudgetService;
  readonly clock: Clock;
  /** Budget events, wired by the module to logs and metrics. */
  events: BudgetEvents;
}

export interface RuntimeOptions {
  ledger: BudgetLedger;
  clock: Clock;
  env?: NodeJS.ProcessEnv;
}

/** A runtime for `config`, reserving on `opts.ledger`. */
export function createCostRuntime(config: CostConfig, opts: RuntimeOptions): CostRuntime {
  const prices = new PriceBook(config.pricing, undefined, billersOf(config.providers ?? []));
  const budgetList = budgetsFrom(config.budgets, config.keys);
  const rt: CostRuntime = {
    config,
    prices,
    keys: new KeyRing(config.keys, opts.env),
    budgetList,
    ledger: opts.ledger,
    clock: opts.clock,
    events: {},
    budgets: new BudgetService(budgetList, opts.ledger, prices, () => opts.clock.now(), {
      onThreshold: (...a) => rt.events.onThreshold?.(...a),
      onBlocked: (...a) => rt.events.onBlocked?.(...a),
      onRatio: (...a) => rt.events.onRatio?.(...a),
    }),
  };
  return rt;
}
