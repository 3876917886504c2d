// Public face of audit/: the append-only log of admin and operator actions (`ctx.audit`), its storage on the app's
// database, and GET /api/audit.
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { StoreBackend } from '../store/index.js';
import { AuditLog } from './log.js';
import { auditStoreFor } from './storage/index.js';

export * from './log.js';
export * from './routes.js';
export {
  AUDIT_RESULTS,
  type AuditEntry,
  type AuditPage,
  type AuditQuery,
  type AuditResult,
  type AuditStore,
  auditStoreFor,
  MemoryAuditStore,
} from './storage/index.js';

/** The audit log on the store's database, migrated, with its write failures counted in `registry`. */
export async function createAuditLog(opts: {
  backend: StoreBackend;
  registry: Registry;
  logger: Logger;
  now: () => number;
  trustProxy: boolean | readonly string[];
}): Promise<AuditLog> {
  const store = auditStoreFor(opts.backend);
  await store.migrate();
  const failures = new Counter({
    name: 'llmscope_audit_write_failures_total',
    help: 'Audit entries that could not be written to the store (each is still logged at error level)',
    registers: [opts.registry],
  });
  return new AuditLog(store, {
    logger: opts.logger,
    now: opts.now,
    trustProxy: opts.trustProxy,
    onFailure: () => failures.inc(),
  });
}
