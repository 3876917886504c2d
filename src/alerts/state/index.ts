// Public face of the alert state stores.
import type { Database } from 'better-sqlite3';
import type { Store } from '../../store/store.js';
import { MemoryAlertStateStore } from './memory.js';
import { SqliteAlertStateStore } from './sqlite.js';
import type { AlertStateStore } from './types.js';

export * from './memory.js';
export * from './sqlite.js';
export * from './types.js';

/** SQLite state on the store's own database when it has one; otherwise in memory (lost on restart). */
export function alertStateStoreFor(store: Store): AlertStateStore {
  const db = (store as { db?: Database }).db;
  return db ? new SqliteAlertStateStore(db) : new MemoryAlertStateStore();
}
