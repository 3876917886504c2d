// The trace-span store on the app's database (SQLite or PostgreSQL), its tables migrated.
import type { StoreBackend } from '../../store/index.js';
import { PG_MIGRATIONS, PostgresTraceSpanStore } from './postgres.js';
import { SQLITE_MIGRATIONS, SqliteTraceSpanStore } from './sqlite.js';
import { TRACE_SPANS_NAMESPACE, type TraceSpanStore } from './types.js';

export { PostgresTraceSpanStore } from './postgres.js';
export { SqliteTraceSpanStore } from './sqlite.js';
export * from './types.js';

export async function traceSpanStoreFor(backend: StoreBackend): Promise<TraceSpanStore> {
  if (backend.kind === 'sqlite') {
    backend.migrations.register(TRACE_SPANS_NAMESPACE, SQLITE_MIGRATIONS);
    return new SqliteTraceSpanStore(backend.db);
  }
  await backend.migrations.register(TRACE_SPANS_NAMESPACE, PG_MIGRATIONS);
  return new PostgresTraceSpanStore(backend);
}
