// The gpu capability's storage: raw samples and per-minute rollups (GpuStore), in memory, on SQLite or on
// PostgreSQL (shared by every replica). The database backends keep their tables in the app's database through the
// store's backend handle (`ctx.store.backend`), under the `gpu` migration namespace.
import type { StoreBackend } from '../../store/index.js';
import { PostgresGpuStore } from './postgres.js';
import { SqliteGpuStore } from './sqlite.js';
import { GPU_NAMESPACE, type GpuStore } from './types.js';

export { MemoryGpuStore } from './memory.js';
export { GPU_MIGRATIONS, PostgresGpuStore } from './postgres.js';
export { GPU_SCHEMA, SQLITE_GPU_MIGRATIONS, SqliteGpuStore } from './sqlite.js';
export * from './types.js';

/** The GPU store on the app's database, its tables migrated (on PostgreSQL, shared by every replica). */
export async function gpuStoreFor(backend: StoreBackend): Promise<GpuStore> {
  if (backend.kind === 'sqlite')
    return new SqliteGpuStore(backend.db, (m) => backend.migrations.register(GPU_NAMESPACE, m));
  const store = new PostgresGpuStore(backend);
  await store.migrate();
  return store;
}
