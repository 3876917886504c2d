// The quality capability's storage: feedback, evaluations, the review queue and per-minute counts (QualityStore),
// in memory, on SQLite or on PostgreSQL (shared by every replica). The database backends keep their tables in the
// app's database through the store's backend handle (`ctx.store.backend`), under the `quality` migration namespace.
import type { StoreBackend } from '../../store/index.js';
import { PostgresQualityStore } from './postgres.js';
import { SqliteQualityStore } from './sqlite.js';
import { QUALITY_NAMESPACE, type QualityStore } from './types.js';

export { MemoryQualityStore } from './memory.js';
export { PostgresQualityStore, QUALITY_MIGRATIONS } from './postgres.js';
export { QUALITY_SCHEMA, SQLITE_QUALITY_MIGRATIONS, SqliteQualityStore } from './sqlite.js';
export * from './types.js';

/** The quality store on the app's database, its tables migrated (on PostgreSQL, shared by every replica). */
export async function qualityStoreFor(backend: StoreBackend, now: () => number = Date.now): Promise<QualityStore> {
  const store =
    backend.kind === 'postgres'
      ? new PostgresQualityStore(backend, now)
      : new SqliteQualityStore(
          backend.db,
          now,
          (m) => backend.migrations.register(QUALITY_NAMESPACE, m),
          (job, payload) => backend.write(job, payload),
        );
  await store.migrate();
  return store;
}
