// Public face of the alert state stores.
import type { Database } from 'better-sqlite3';
import { PostgresStore } from '../../store/postgres/postgres-store.js';
import type { Store } from '../../store/store.js';
import { MemoryAlertStateStore } from './memory.js';
import { PostgresAlertStateStore } from './postgres.js';
import { SqliteAlertStateStore } from './sqlite.js';
import type { AlertStateStore } from './types.js';

export * from './memory.js';
export * from './postgres.js';
export * from './sqlite.js';
export * from './types.js';

/**
 * State on the store's own database: SQLite, or PostgreSQL shared by the replicas (`await migrate()` it first);
 * otherwise in memory (lost on restart).
 */
export function alertStateStoreFor(store: Store): AlertStateStore {
  if (store instanceof PostgresStore) return new PostgresAlertStateStore(store);
  const db = (store as { db?: Database }).db;
  return db ? new SqliteAlertStateStore(db) : new MemoryAlertStateStore();
}
