// The cost capability's state for one app: price book, virtual keys (config and store), per-key rate limits,
// budgets and the ledger they reserve on. The
// module builds it once the app's store and clock are known, so the ledger is the right one from the start (the
// shared PostgreSQL one, or in-process) and the gateway hooks it registers (keys, budgets) use this same runtime.
import type { Clock } from '../app-context.js';
import { type Budget, type BudgetEvents, type BudgetLedger, BudgetService, budgetsFrom } from './budgets.js';
import type { CostConfig } from './config.js';
import { KEY_CACHE_MS, KeyDirectory, KeyRing, runtimeKeysOf } from './keys.js';
import { type RateLimitEvents, RateLimitService } from './limits/hook.js';
import { InProcessRateLimiter, type RateLimiter } from './limits/limiter.js';
import { billersOf, PriceBook } from './pricing.js';
import type { KeyStore } from './storage/keys-types.js';

export interface CostRuntime {
  readonly config: CostConfig;
  readonly prices: PriceBook;
  readonly keys: KeyRing;
  /** Every key calls may use: the config's and the store's (looked up, cached for at most a second). */
  readonly directory: KeyDirectory;
  /** The virtual keys kept in the store (null: config keys only). */
  readonly keyStore: KeyStore | null;
  /** Per-key rate limits (rpm, tpm) on the limiter the runtime was given. */
  readonly rateLimits: RateLimitService;
  readonly budgetList: readonly Budget[];
  /** The ledger budgets reserve on and settle to. */
  readonly ledger: BudgetLedger;
  readonly budgets: BudgetService;
  readonly clock: Clock;
  /** Budget and rate limit events, wired by the module to logs and metrics. */
  events: BudgetEvents & {
    onRateLimited?: RateLimitEvents['onLimited'];
    onRateLimitError?: RateLimitEvents['onError'];
  };
}

export interface RuntimeOptions {
  ledger: BudgetLedger;
  clock: Clock;
  env?: NodeJS.ProcessEnv;
  /** Keys kept in the store, besides the config's. */
  keyStore?: KeyStore | null;
  /** Where per-key rate limit buckets live (default: this process's memory). */
  limiter?: RateLimiter;
}

/** A runtime for `config`, reserving on `opts.ledger`. */
export function createCostRuntime(config: CostConfig, opts: RuntimeOptions): CostRuntime {
  const prices = new PriceBook(config.pricing, undefined, billersOf(config.providers ?? []));
  const budgetList = budgetsFrom(config.budgets, config.keys);
  const keys = new KeyRing(config.keys, opts.env);
  const now = () => opts.clock.now();
  const rt: CostRuntime = {
    config,
    prices,
    keys,
    directory: new KeyDirectory(
      keys,
      opts.keyStore ?? null,
      now,
      KEY_CACHE_MS,
      new KeyRing(runtimeKeysOf(config), opts.env),
    ),
    keyStore: opts.keyStore ?? null,
    rateLimits: new RateLimitService(opts.limiter ?? new InProcessRateLimiter(), now, {
      onLimited: (...a) => rt.events.onRateLimited?.(...a),
      onError: (...a) => rt.events.onRateLimitError?.(...a),
    }),
    budgetList,
    ledger: opts.ledger,
    clock: opts.clock,
    events: {},
    budgets: new BudgetService(budgetList, opts.ledger, prices, () => opts.clock.now(), {
      onThreshold: (...a) => rt.events.onThreshold?.(...a),
      onBlocked: (...a) => rt.events.onBlocked?.(...a),
      onRatio: (...a) => rt.events.onRatio?.(...a),
      onLedgerError: (...a) => rt.events.onLedgerError?.(...a),
    }),
  };
  return rt;
}
