// The cost capability's shared state for one config: price book, virtual keys, budgets and their ledger. The
// gateway hooks (built from the config before the app exists) and the module (built with the app) find the same
// runtime through the config object, so a reservation made at admission is settled by the same ledger. The ledger
// is in-process until the module, seeing the app's store, puts the shared one (PostgreSQL) in its place: the hooks
// exist before the store does, and only admit calls once the app (and with it the module) is built.
import type { Clock } from '../app-context.js';
import {
  type BucketState,
  type Budget,
  type BudgetEvents,
  type BudgetKey,
  type BudgetLedger,
  BudgetService,
  budgetsFrom,
  InProcessBudgetLedger,
  type Reservation,
  type ReserveLine,
  type ReserveOutcome,
} from './budgets.js';
import type { CostConfig } from './config.js';
import { KeyRing } from './keys.js';
import { billersOf, PriceBook } from './pricing.js';

export interface CostRuntime {
  readonly config: CostConfig;
  readonly prices: PriceBook;
  readonly keys: KeyRing;
  readonly budgetList: readonly Budget[];
  /** The ledger in use: forwards to the one `useLedger` chose (in-process by default). */
  readonly ledger: BudgetLedger;
  readonly budgets: BudgetService;
  /** Whether the ledger was given at creation (then `useLedger` leaves it alone). */
  readonly ledgerFixed: boolean;
  /** Puts a ledger in place of the in-process one (null: back to the in-process one), unless one was given. */
  useLedger(ledger: BudgetLedger | null): void;
  /** The ledger calls go to now. */
  currentLedger(): BudgetLedger;
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

/** Forwards every operation to the ledger in place at the time of the call. */
class LedgerSlot implements BudgetLedger {
  constructor(public inner: BudgetLedger) {}
  load(key: BudgetKey, spent: number): void | Promise<void> {
    return this.inner.load(key, spent);
  }
  reserve(lines: readonly ReserveLine[]): ReserveOutcome | Promise<ReserveOutcome> {
    return this.inner.reserve(lines);
  }
  settle(reservation: Reservation, actualUsd: number): void | Promise<void> {
    return this.inner.settle(reservation, actualUsd);
  }
  add(keys: readonly BudgetKey[], amountUsd: number): void | Promise<void> {
    return this.inner.add(keys, amountUsd);
  }
  state(key: BudgetKey): BucketState | Promise<BucketState> {
    return this.inner.state(key);
  }
  buckets(): BucketState[] | Promise<BucketState[]> {
    return this.inner.buckets();
  }
  prune(before: (k: BudgetKey) => boolean): void | Promise<void> {
    return this.inner.prune(before);
  }
}

/** The runtime for a config: created on first use, then shared by hooks and module. */
export function costRuntime(config: CostConfig, opts: RuntimeOptions = {}): CostRuntime {
  const found = runtimes.get(config);
  if (found) return found;
  const prices = new PriceBook(config.pricing, undefined, billersOf(config.providers ?? []));
  const budgetList = budgetsFrom(config.budgets, config.keys);
  const inProcess = opts.ledger ?? new InProcessBudgetLedger();
  const ledger = new LedgerSlot(inProcess);
  const rt: CostRuntime = {
    config,
    prices,
    keys: new KeyRing(config.keys, opts.env),
    budgetList,
    ledger,
    ledgerFixed: opts.ledger !== undefined,
    useLedger(l) {
      if (!rt.ledgerFixed) ledger.inner = l ?? inProcess;
    },
    currentLedger: () => ledger.inner,
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
