// The cost capability's storage: spend (SpendStore: memory, SQLite, PostgreSQL) and, on PostgreSQL, the budget
// ledger every replica shares. Each backend keeps its own tables in the app's database through the store's backend
// handle (`ctx.store.backend`), under its own migration namespace.
import type { StoreBackend } from '../../store/index.js';
import { PostgresBudgetLedger } from './ledger-postgres.js';
import { PostgresSpendStore, SPEND_NAMESPACE } from './postgres.js';
import { SqliteSpendStore } from './sqlite.js';
import type { SpendStore } from './types.js';

export { LEDGER_NAMESPACE, type PgReservation, PostgresBudgetLedger } from './ledger-postgres.js';
export { MemorySpendStore } from './memory.js';
export { PostgresSpendStore, SPEND_NAMESPACE } from './postgres.js';
export { SqliteSpendStore } from './sqlite.js';
export * from './types.js';

/** The spend store on the app's database, its tables migrated (on PostgreSQL, shared by every replica). */
export async function spendStoreFor(backend: StoreBackend): Promise<SpendStore> {
  if (backend.kind === 'sqlite')
    return new SqliteSpendStore(backend.db, (m) => backend.migrations.register(SPEND_NAMESPACE, m));
  const spend = new PostgresSpendStore(backend);
  await spend.migrate();
  return spend;
}

/**
 * On PostgreSQL, the budget ledger every replica shares (its tables migrated); null on SQLite, whose single process
 * keeps the ledger in memory.
 */
export async function sharedLedgerFor(backend: StoreBackend, now: () => number): Promise<PostgresBudgetLedger | null> {
  if (backend.kind !== 'postgres') return null;
  const ledger = new PostgresBudgetLedger(backend, { now });
  await ledger.migrate();
  return ledger;
}
