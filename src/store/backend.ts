// What a capability gets to keep its own tables in the app's database: the store's backend, told apart by `kind`
// (never by `instanceof` on a store class). SQLite gives the better-sqlite3 handle, PostgreSQL the `pg` pool and a
// leader elector; both take a capability's migrations under its own namespace, versioned in `schema_migrations`.
import type { Database } from 'better-sqlite3';
import type { Pool } from 'pg';
import type { LeaderElector, LeaderElectorOptions } from './postgres/leader.js';
import type { PgMigration } from './postgres/migrations.js';
import type { SqliteMigration } from './sqlite/migrations.js';

export interface SqliteBackend {
  readonly kind: 'sqlite';
  readonly db: Database;
  readonly migrations: {
    /** Adds migrations under `namespace` (not `core`): applied by the store's `migrate()`, or at once after it. */
    register(namespace: string, migrations: readonly SqliteMigration[]): void;
  };
  /**
   * Runs a write job off the event loop: `job` is a module (`new URL('./x-job.js', import.meta.url)`) exporting
   * `run(db, payload)`, which writes `payload` in a transaction of its own and returns a value; it runs on the store's
   * writer thread (its own connection, in order with the store's call batches), or on `db` when the thread is off (an
   * in-memory database). `payload` and the result are structured-cloned. Rejects with SQLite's error (and `code`).
   * For a capability's per-call writes (spend, evaluations): the event loop serving calls waits for none of them.
   */
  write<T>(job: URL, payload: unknown): Promise<T>;
}

export interface PostgresBackend {
  readonly kind: 'postgres';
  readonly pool: Pool;
  readonly migrations: {
    /** Adds migrations under `namespace` (not `core`): applied by `migrate()`, or at once (await it) after it. */
    register(namespace: string, migrations: readonly PgMigration[]): Promise<void>;
  };
  /**
   * A `LeaderElector` on this database (a dedicated connection, not one of the pool's): replicas electing for the
   * same `name` compete for one lock. Call `start()` on it, and `stop()` before closing the store.
   */
  leader(opts: Omit<LeaderElectorOptions, 'connection'>): LeaderElector;
}

export type StoreBackend = SqliteBackend | PostgresBackend;
