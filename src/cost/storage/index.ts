// The cost capability's storage: spend (SpendStore: memory, SQLite, PostgreSQL), virtual keys (KeyStore) and, on
// PostgreSQL, the budget ledger and per-key rate limiter every replica shares. Each backend keeps its own tables in
// the app's database through the store's backend handle (`ctx.store.backend`), under its own migration namespace.
import type { StoreBackend } from '../../store/index.js';
import { PostgresKeyStore } from './keys-postgres.js';
import { KEYS_NAMESPACE, SqliteKeyStore } from './keys-sqlite.js';
import type { KeyStore } from './keys-types.js';
import { PostgresBudgetLedger } from './ledger-postgres.js';
import { PostgresRateLimiter } from './limiter-postgres.js';
import { PostgresSpendStore, SPEND_NAMESPACE } from './postgres.js';
import { SqliteSpendStore } from './sqlite.js';
import type { SpendStore } from './types.js';

export { MemoryKeyStore } from './keys-memory.js';
export { PostgresKeyStore } from './keys-postgres.js';
export { SqliteKeyStore } from './keys-sqlite.js';
export * from './keys-types.js';
export { LEDGER_NAMESPACE, type PgReservation, PostgresBudgetLedger } from './ledger-postgres.js';
export { LIMITER_NAMESPACE, PostgresRateLimiter } from './limiter-postgres.js';
export { MemorySpendStore } from './memory.js';
export { PostgresSpendStore, SPEND_NAMESPACE } from './postgres.js';
export { SqliteSpendStore } from './sqlite.js';
export * from './types.js';

/** The spend store on the app's database, its tables migrated (on PostgreSQL, shared by every replica). */
export async function spendStoreFor(backend: StoreBackend): Promise<SpendStore> {
  if (backend.kind === 'sqlite')
    return new SqliteSpendStore(
      backend.db,
      (m) => backend.migrations.register(SPEND_NAMESPACE, m),
      (job, payload) => backend.write(job, payload),
    );
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

/** The virtual keys kept in the app's database, its table migrated (on PostgreSQL, shared by every replica). */
export async function keyStoreFor(backend: StoreBackend): Promise<KeyStore> {
  if (backend.kind === 'sqlite')
    return new SqliteKeyStore(backend.db, (m) => backend.migrations.register(KEYS_NAMESPACE, m));
  const keys = new PostgresKeyStore(backend);
  await keys.migrate();
  return keys;
}

/**
 * On PostgreSQL, the per-key rate limiter every replica shares (its table migrated); null on SQLite, whose single
 * process keeps the buckets in memory.
 */
export async function sharedRateLimiterFor(backend: StoreBackend): Promise<PostgresRateLimiter | null> {
  if (backend.kind !== 'postgres') return null;
  const limiter = new PostgresRateLimiter(backend);
  await limiter.migrate();
  return limiter;
}
