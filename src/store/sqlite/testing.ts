// For tests that open a database as an earlier llmscope left it.
import { applyMigrations } from './migrations.js';
import { CORE_MIGRATIONS } from './schema.js';
import type { SqliteStore } from './sqlite-store.js';

/** The calls columns added after the earliest schema a test starts from, which this release's call writer writes. */
const LATER_COLUMNS = ['upstream_request_id'];

/**
 * A database as an earlier release left it: core migrations 1–`version`. This release's call writer also writes the
 * columns added since, so they are there while the test writes the old calls, and earlierRows takes them away after.
 */
export function earlierSchema(db: SqliteStore['db'], version: number): void {
  applyMigrations(db, 'core', CORE_MIGRATIONS.slice(0, version));
  for (const c of LATER_COLUMNS) db.exec(`ALTER TABLE calls ADD COLUMN ${c} TEXT`);
}

/** Ends an earlierSchema set-up once its calls are written: the table as the earlier release had it. */
export function earlierRows(db: SqliteStore['db']): void {
  for (const c of LATER_COLUMNS) db.exec(`ALTER TABLE calls DROP COLUMN ${c}`);
}
