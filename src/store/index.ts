// Public face of store/: the Store contract, `createStore(url)` choosing the implementation, and the helpers
// (histograms, rollup arithmetic) that readers of rollups need.
import { LlmscopeError } from '../errors.js';
import { PostgresStore, type PostgresStoreOptions } from './postgres/postgres-store.js';
import { SqliteStore, type SqliteStoreOptions } from './sqlite/sqlite-store.js';
import type { Store } from './store.js';

export type { PostgresBackend, SqliteBackend, StoreBackend } from './backend.js';
export { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './cursor.js';
export * from './histogram.js';
export {
  type MetadataSumQuery,
  type MetadataSumRow,
  sumCallsByMetadata,
} from './metadata-query.js';
export { LeaderElector, type LeaderElectorOptions, lockKeyOf } from './postgres/leader.js';
export type { PgMigration } from './postgres/migrations.js';
export { PostgresStore, type PostgresStoreOptions, redactPgUrl } from './postgres/postgres-store.js';
export { ERROR_STATUSES, HOUR_MS, MINUTE_MS, ROLLUP_DIMENSIONS, stepMs } from './rollup.js';
export { type CallScope, callInScope, scopedStore } from './scoped.js';
export type { SqliteMigration } from './sqlite/migrations.js';
export { CORE_NAMESPACE, SqliteStore, type SqliteStoreOptions } from './sqlite/sqlite-store.js';
export type * from './store.js';

/**
 * Whether the store holds a call under `requestId` (the gateway's check of a client's x-request-id): false when the
 * look-up fails, so a store out of reach never refuses or delays the call beyond the look-up itself.
 */
export function holdsCall(store: Pick<Store, 'knownIds'>, requestId: string): Promise<boolean> {
  return store.knownIds([requestId]).then(
    (known) => known.size > 0,
    () => false,
  );
}

/** The file path of a `sqlite:` URL: `sqlite:PATH`, `sqlite://PATH` or `sqlite::memory:`. */
export function sqlitePathOf(url: string): string {
  let rest = url.slice('sqlite:'.length);
  if (rest.startsWith('//')) rest = rest.slice(2);
  return rest;
}

/**
 * Opens the store a `storage.url` names (not yet migrated: call `migrate()`). `sqlite:PATH` (the directory is
 * created), `sqlite::memory:` for tests, or `postgres://user:pass@host:5432/db` (`postgresql://` too) for several
 * replicas on one database — built without connecting: `migrate()` connects.
 */
export function createStore(url: string, opts: SqliteStoreOptions = {}, pgOpts: PostgresStoreOptions = {}): Store {
  const u = url.trim();
  if (u.startsWith('sqlite:')) {
    const path = sqlitePathOf(u);
    if (!path)
      throw new LlmscopeError(
        'LLMSCOPE_ERR_CONFIG_INVALID',
        `storage.url "${url}" names no file; use sqlite:PATH (e.g. sqlite:./llmscope-data/llmscope.db) or sqlite::memory:`,
      );
    return new SqliteStore(path, opts);
  }
  if (/^postgres(ql)?:\/\//i.test(u)) return new PostgresStore(u, pgOpts);
  throw new LlmscopeError(
    'LLMSCOPE_ERR_CONFIG_INVALID',
    `storage.url "${url}" is not supported; use sqlite:PATH (e.g. sqlite:./llmscope-data/llmscope.db), sqlite::memory: or postgres://USER:PASSWORD@HOST:5432/DB`,
  );
}
