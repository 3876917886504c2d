// Numbered schema migrations for the PostgreSQL store, recorded per namespace in `schema_migrations` — the same
// scheme as the SQLite store (store/sqlite/migrations.ts). Several replicas may start at once, so a namespace's
// migrations run in one transaction under a transaction-level advisory lock: the first replica applies them, the
// others wait, then find nothing to do.
import type { PoolClient } from 'pg';
import { LlmscopeError } from '../../errors.js';
import { validateMigrations } from '../sqlite/migrations.js';

export interface PgMigration {
  /** 1, 2, 3, ... within its namespace; never renumber or edit one that has shipped — add a new one. */
  version: number;
  /** Short description, recorded with the version. */
  name: string;
  /** SQL (may hold several statements) or a function run inside the migration's transaction. */
  up: string | ((client: PoolClient) => Promise<void>);
}

/** Checks a namespace's migrations before anything runs: a valid name, versions positive and unique. */
export function validatePgMigrations(namespace: string, migrations: readonly PgMigration[]): void {
  validateMigrations(
    namespace,
    migrations.map((m) => ({ version: m.version, name: m.name, up: '' })),
  );
}

/** SQL for the advisory-lock key of a name within the connection's schema (isolated schemas do not wait on each other). */
export const lockKeySql = (name: string): string =>
  `hashtextextended(current_schema() || '.' || '${name.replace(/'/g, "''")}', 0)`;

/** Takes a transaction-level advisory lock on a name (released at COMMIT or ROLLBACK). */
export const schemaLockSql = (name: string): string => `SELECT pg_advisory_xact_lock(${lockKeySql(name)})`;

/**
 * Applies the namespace's pending migrations in version order, all in one transaction (a failure leaves the schema
 * as it was). Returns the versions applied. Refuses a database that a newer llmscope already upgraded.
 */
export async function applyPgMigrations(
  client: PoolClient,
  namespace: string,
  migrations: readonly PgMigration[],
): Promise<number[]> {
  validatePgMigrations(namespace, migrations);
  await client.query('BEGIN');
  try {
    await client.query(schemaLockSql('llmscope.migrations'));
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      namespace text NOT NULL,
      version integer NOT NULL,
      name text NOT NULL,
      applied_at bigint NOT NULL,
      PRIMARY KEY (namespace, version)
    )`);
    const { rows } = await client.query<{ version: number }>(
      'SELECT version FROM schema_migrations WHERE namespace = $1',
      [namespace],
    );
    const applied = new Set(rows.map((r) => r.version));
    const known = Math.max(0, ...migrations.map((m) => m.version));
    const newest = Math.max(0, ...applied);
    if (newest > known)
      throw new LlmscopeError(
        'LLMSCOPE_ERR_CONFIG_INVALID',
        `the database's "${namespace}" schema is at version ${newest} but this llmscope knows only up to ${known}; ` +
          'it was written by a newer llmscope — upgrade llmscope or point storage.url at another database',
      );
    const done: number[] = [];
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (applied.has(m.version)) continue;
      if (typeof m.up === 'string') await client.query(m.up);
      else await m.up(client);
      await client.query(
        'INSERT INTO schema_migrations (namespace, version, name, applied_at) VALUES ($1, $2, $3, $4)',
        [namespace, m.version, m.name, Date.now()],
      );
      done.push(m.version);
    }
    await client.query('COMMIT');
    return done;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}
