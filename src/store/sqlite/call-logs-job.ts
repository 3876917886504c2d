// Writes a batch of calls' log lines (store.insertCallLogs) to the call_logs table, on the store's writer thread
// (src/store/sqlite/writer-thread.ts) or, without one, on the store's own connection.
import type { Database, Statement } from 'better-sqlite3';
import type { CallLogRow } from '../store.js';

const inserts = new WeakMap<Database, Statement>();

function insertOf(db: Database): Statement {
  let st = inserts.get(db);
  if (!st) {
    st = db.prepare('INSERT INTO call_logs (request_id, at, seq, line, dropped) VALUES (?, ?, ?, ?, ?)');
    inserts.set(db, st);
  }
  return st;
}

/** Inserts the rows inside the transaction open on `db` (the writer thread's group). */
export function write(db: Database, rows: readonly CallLogRow[]): void {
  const st = insertOf(db);
  for (const r of rows) st.run(r.requestId, r.at, r.seq, r.line, r.dropped);
}

/** Inserts the rows in one transaction of their own. */
export function run(db: Database, rows: readonly CallLogRow[]): void {
  if (rows.length === 0) return;
  db.transaction(() => write(db, rows)).immediate();
}
