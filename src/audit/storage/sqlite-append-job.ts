// Appending an audit entry on SQLite as a write job (store/backend.ts `write`): it runs on the store's writer thread,
// in order with its call batches, so the event loop never waits for SQLite's write lock behind the thread's
// transaction (as it did, up to the busy timeout, with every feedback, key change or silence). SqliteAuditStore runs
// the same `run` on its own connection where there is no thread.
import type { Database, Statement } from 'better-sqlite3';
import { AUDIT_COLUMNS, auditValues, type NewAuditEntry } from './types.js';

const prepared = new WeakMap<Database, Statement>();

/** Appends one entry; returns its id. */
export function run(db: Database, e: NewAuditEntry): number {
  let insert = prepared.get(db);
  if (!insert) {
    insert = db.prepare(`INSERT INTO audit_log (${AUDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    prepared.set(db, insert);
  }
  return Number(insert.run(...auditValues(e)).lastInsertRowid);
}
