// Public face of cost/: the module and gateway hooks, prices, budgets, virtual keys and their rate limits, spend
// storage, bills and reconciliation.
export { BILL_FORMATS, BillError, type BillFormat, type BillLine, parseBill } from './bills.js';
export {
  type Budget,
  type BudgetKey,
  type BudgetLedger,
  BudgetService,
  InProcessBudgetLedger,
  periodEnd,
  periodStart,
} from './budgets.js';
export { CATALOG, CATALOG_FILES, type CatalogEntry } from './catalog/index.js';
export {
  budgetsSchema,
  type CostConfig,
  costConfigOf,
  costsSchema,
  keysSchema,
  pricingSchema,
} from './config.js';
export { SpaceSaving } from './heavy-hitters.js';
export { costHooks } from './hooks.js';
export {
  configKeyView,
  createKey,
  createKeySchema,
  findKey,
  type KeyView,
  keyView,
  revokeKey,
  rotateKey,
} from './key-admin.js';
export { hashKey, KEY_CACHE_MS, KeyDirectory, KeyRing, newKey } from './keys.js';
export { InProcessRateLimiter, type RateLimiter, type RateLimits, type TakeResult } from './limits/limiter.js';
export {
  buildCostModule,
  type CostModule,
  type CostModuleOptions,
  createCostModule,
  restoreBudgets,
} from './module.js';
export { accrueNonApi, parseCostItems } from './non-api.js';
export { billersOf, costOf, dayOf, PriceBook, type ResolvedPrice } from './pricing.js';
export { formatReport, type ReconciliationReport, reconcile } from './reconcile.js';
export { runReconciliation } from './reconcile-run.js';
export { type CostRuntime, createCostRuntime } from './runtime.js';
export { SpendQueries } from './spend-queries.js';
export {
  type KeyStore,
  keyStoreFor,
  MemoryKeyStore,
  MemorySpendStore,
  PostgresBudgetLedger,
  PostgresKeyStore,
  PostgresRateLimiter,
  PostgresSpendStore,
  type SpendStore,
  SqliteKeyStore,
  SqliteSpendStore,
  type StoredKey,
  sharedLedgerFor,
  sharedRateLimiterFor,
  spendStoreFor,
} from './storage/index.js';
export { type UserCostSource, userCostSource } from './user-facts.js';
