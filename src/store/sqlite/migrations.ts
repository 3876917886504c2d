// Numbered schema migrations for the SQLite store, recorded per namespace in `schema_migrations`. The store's own
// tables are the `core` namespace; other capabilities (GPU samples, cost aggregates, ...) register their own
// namespace on the same database with `SqliteStore.registerMigrations`, so every table is versioned the same way.
import type { Database } from 'better-sqlite3';
import { LlmscopeError } from '../../errors.js';

export interface SqliteMigration {
  /** 1, 2, 3, ... within its namespace; never renumber or edit one that has shipped — add a new one. */
  version: number;
  /** Short description, recorded with the version. */
  name: string;
  /** SQL (may hold several statements) or a function run inside the migration's transaction. */
  up: string | ((db: Database) => void);
}

const NAMESPACE_RE = /^[a-z][a-z0-9_.-]{0,63}$/;

export function ensureMigrationsTable(db: Database): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    namespace TEXT NOT NULL,
    version INTEGER NOT NULL,
    name TEXT NOT NULL,
    applied_at INTEGER NOT NULL,
    PRIMARY KEY (namespace, version)
  )`);
}

/** Checks a namespace's migrations before anything runs: a valid name, versions positive and unique. */
export function validateMigrations(namespace: string, migrations: readonly SqliteMigration[]): void {
  const bad = (why: string) =>
    new LlmscopeError('LLMSCOPE_ERR_INTERNAL', `migrations for namespace "${namespace}" are invalid: ${why}`);
  if (!NAMESPACE_RE.test(namespace)) throw bad('the namespace must match /^[a-z][a-z0-9_.-]*$/');
  const seen = new Set<number>();
  for (const m of migrations) {
    if (!Number.isInteger(m.version) || m.version < 1) throw bad(`version ${m.version} is not a positive integer`);
    if (seen.has(m.version)) throw bad(`version ${m.version} appears twice`);
    seen.add(m.version);
  }
}

/**
 * Applies the namespace's pending migrations in version order, all in one transaction (so a failure leaves the
 * schema as it was). Returns the versions applied. Refuses a database that a newer llmscope already upgraded.
 */
export function applyMigrations(db: Database, namespace: string, migrations: readonly SqliteMigration[]): number[] {
  validateMigrations(namespace, migrations);
  ensureMigrationsTable(db);
  const run = db.transaction((): number[] => {
    const rows = db.prepare('SELECT version FROM schema_migrations WHERE namespace = ?').all(namespace) as {
      version: number;
    }[];
    const applied = new Set(rows.map((r) => r.version));
    const known = Math.max(0, ...migrations.map((m) => m.version));
    const newest = Math.max(0, ...applied);
    if (newest > known)
      throw new LlmscopeError(
        'LLMSCOPE_ERR_CONFIG_INVALID',
        `the database's "${namespace}" schema is at version ${newest} but this llmscope knows only up to ${known}; ` +
          'it was written by a newer llmscope — upgrade llmscope or point storage.url at another database',
      );
    const record = db.prepare(
      'INSERT INTO schema_migrations (namespace, version, name, applied_at) VALUES (?, ?, ?, ?)',
    );
    const done: number[] = [];
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (applied.has(m.version)) continue;
      if (typeof m.up === 'string') db.exec(m.up);
      else m.up(db);
      record.run(namespace, m.version, m.name, Date.now());
      done.push(m.version);
    }
    return done;
  });
  return run.immediate();
}
