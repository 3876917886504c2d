// Public face of the alert state stores.
import type { StoreBackend } from '../../store/backend.js';
import { ALERTS_NAMESPACE, PostgresAlertStateStore } from './postgres.js';
import { SqliteAlertStateStore } from './sqlite.js';
import type { AlertStateStore } from './types.js';

export * from './memory.js';
export * from './postgres.js';
export * from './sqlite.js';
export * from './types.js';

/** State on the store's own database: SQLite, or PostgreSQL shared by the replicas (`await migrate()` it first). */
export function alertStateStoreFor(backend: StoreBackend): AlertStateStore {
  if (backend.kind === 'postgres') return new PostgresAlertStateStore(backend);
  return new SqliteAlertStateStore(backend.db, (m) => backend.migrations.register(ALERTS_NAMESPACE, m));
}
