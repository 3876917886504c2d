// Public face of the audit log's storage: the contract, and `auditStoreFor(backend)` choosing the implementation
// on the app's own database.
import type { StoreBackend } from '../../store/index.js';
import { PostgresAuditStore } from './postgres.js';
import { SqliteAuditStore } from './sqlite.js';
import { AUDIT_NAMESPACE, type AuditStore } from './types.js';

export * from './memory.js';
export * from './postgres.js';
export * from './sqlite.js';
export * from './types.js';

/** The audit store on the store's own database (call `migrate()` before use). */
export function auditStoreFor(backend: StoreBackend): AuditStore {
  if (backend.kind === 'postgres') return new PostgresAuditStore(backend);
  return new SqliteAuditStore(
    backend.db,
    (m) => backend.migrations.register(AUDIT_NAMESPACE, m),
    (job, payload) => backend.write(job, payload),
  );
}
