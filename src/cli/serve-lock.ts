// One `serve` (or `demo`) per SQLite store. DESIGN §6 keeps one alert evaluator, one budget ledger, one GPU poller and
// one set of rollups per deployment; two processes on one SQLite file each ran their own, silently (two notifications
// for every alert, budgets each process enforced on half the traffic). PostgreSQL replicas share those through the
// database; two SQLite processes cannot. As Prometheus refuses a TSDB another Prometheus holds, the second refuses.
//
// The lock is SQLite's own: an exclusive lock on a side file (`<db>.serve-lock`), held by a connection in
// `locking_mode=EXCLUSIVE` for as long as the process lives. The operating system drops it when the process ends, for
// whatever reason (SIGKILL, a crash, the OOM killer), so there is no stale lock to clean up. The store's own file is
// not locked: the CLI's other commands (`keys`, `backup`, `alerts backtest`) keep opening it while serve runs.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { LlmscopeError } from '../errors.js';
import { sqlitePathOf } from '../store/index.js';

/** The side file a store's serve lock is taken on. */
export const serveLockPath = (dbPath: string): string => `${resolve(dbPath)}.serve-lock`;

/** How long a start waits for a previous process still shutting down (a restart's old process draining). */
const WAIT_MS = 3000;

/**
 * Takes the serve lock of the SQLite store `url` names, for this process's lifetime; returns its release (for tests
 * and in-process restarts), or null when there is nothing to lock (PostgreSQL, `sqlite::memory:`). Throws, saying
 * which store and what to do, when another process holds it.
 */
export function holdServeLock(url: string, waitMs = WAIT_MS): (() => void) | null {
  const u = url.trim();
  if (!u.startsWith('sqlite:')) return null;
  const path = sqlitePathOf(u);
  if (!path || path === ':memory:') return null;
  const file = serveLockPath(path);
  mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file, { timeout: waitMs });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = MEMORY'); // no -journal file beside the lock
    // An exclusive transaction takes the file's exclusive lock, and locking_mode keeps it once the transaction ends
    // (a second process's first statement on the file then gets SQLITE_BUSY).
    db.exec('BEGIN EXCLUSIVE');
    db.exec('COMMIT');
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code === 'SQLITE_BUSY')
      throw new LlmscopeError(
        'LLMSCOPE_ERR_CONFIG_INVALID',
        [
          `another llmscope (serve or demo) is running on the store ${resolve(path)}:`,
          `one process per SQLite store keeps alerts, budgets and rollups one per deployment (the lock is ${file}).`,
          'Stop that one first, give this one a store of its own (storage.url, LLMSCOPE_STORAGE_URL),',
          'or run several replicas on PostgreSQL (storage.url: postgres://…)',
        ].join(' '),
      );
    throw err;
  }
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    db.close();
  };
}
