// The cost capability's shared state for one config: price book, virtual keys, budgets and their ledger. The
// gateway hooks (built from the config before the app exists) and the module (built with the app) find the same
// runtime through the config object, so a reservation made at admission is settled by the same ledger.
import type { Clock } from '../app-context.js';
import {
  type Budget,
  type BudgetEvents,
  type BudgetLedger,
  BudgetService,
  budgetsFrom,
  InProcessBudgetLedger,
} from './budgets.js';
import type { CostConfig } from './config.js';
import { KeyRing } from './keys.js';
import { PriceBook } from './pricing.js';

export interface CostRuntime {
  readonly config: CostConfig;
  readonly prices: PriceBook;
  readonly keys: KeyRing;
  readonly budgetList: readonly Budget[];
  readonly ledger: BudgetLedger;
  readonly budgets: BudgetService;
  /** The app's clock once the module is built (system time before). */
  clock: Clock;
  /** Budget events, wired by the module to logs and metrics. */
  events: BudgetEvents;
}

export interface RuntimeOptions {
  ledger?: BudgetLedger;
  clock?: Clock;
  env?: NodeJS.ProcessEnv;
}

const runtimes = new WeakMap<object, CostRuntime>();

/** The runtime for a config: created on first use, then shared by hooks and module. */
export function costRuntime(config: CostConfig, opts: RuntimeOptions = {}): CostRuntime {
  const found = runtimes.get(config);
  if (found) return found;
  const prices = new PriceBook(config.pricing);
  const budgetList = budgetsFrom(config.budgets, config.keys);
  const ledger = opts.ledger ?? new InProcessBudgetLedger();
  const rt: CostRuntime = {
    config,
    prices,
    keys: new KeyRing(config.keys, opts.env),
    budgetList,
    ledger,
    clock: opts.clock ?? { now: () => Date.now() },
    events: {},
    budgets: undefined as unknown as BudgetService,
  };
  (rt as { budgets: BudgetService }).budgets = new BudgetService(budgetList, ledger, prices, () => rt.clock.now(), {
    onThreshold: (...a) => rt.events.onThreshold?.(...a),
    onBlocked: (...a) => rt.events.onBlocked?.(...a),
    onRatio: (...a) => rt.events.onRatio?.(...a),
  });
  runtimes.set(config, rt);
  return rt;
}
