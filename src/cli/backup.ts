// `llmscope backup --to FILE`: a consistent copy of the SQLite store while `serve` keeps running, through SQLite's
// online backup API (better-sqlite3's `db.backup()`): one snapshot of the database, taken without stopping the
// server's writes (WAL), written to FILE.partial, checked (`PRAGMA integrity_check`), made a single file (no WAL)
// and only then renamed to FILE. PostgreSQL has its own tools (pg_dump / pg_restore; docs/deploy.md).
import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { loadConfig } from '../config/index.js';
import { LlmscopeError } from '../errors.js';
import { sqlitePathOf } from '../store/index.js';
import { assertStoreExists } from './existing-store.js';

export interface BackupOptions {
  /** `sqlite:PATH` of the store to copy. */
  from: string;
  /** The file to write; must not exist unless `force`. */
  to: string;
  force?: boolean;
}

export interface BackupResult {
  from: string;
  to: string;
  bytes: number;
  calls: number;
  seconds: number;
}

function fail(msg: string): never {
  throw new LlmscopeError('LLMSCOPE_ERR_CONFIG_INVALID', msg);
}

/** Copies the live SQLite store at `from` into the file `to`, then checks the copy. */
export async function backupStore(opts: BackupOptions): Promise<BackupResult> {
  const from = opts.from.trim();
  if (!from.startsWith('sqlite:'))
    fail(
      `backup copies a SQLite store; ${from.split('@').pop()} is not one (for PostgreSQL use pg_dump, see docs/deploy.md "Backup and restore")`,
    );
  await assertStoreExists(from, 'backup');
  const src = resolve(sqlitePathOf(from));
  const to = resolve(opts.to);
  if (to === src) fail('--to names the store itself; give another file');
  // a folder, even with --force: the copy was made in full, then its rename failed (EISDIR), leaving FILE.partial
  if (existsSync(to) && statSync(to).isDirectory())
    fail(`--to ${to} is a folder; give the backup file's name, e.g. ${join(to, 'llmscope-backup.db')}`);
  if (existsSync(to) && !opts.force) fail(`${to} already exists; remove it or pass --force to replace it`);
  if (!existsSync(dirname(to))) fail(`the folder ${dirname(to)} does not exist`);
  const t0 = performance.now();
  // written beside the target and renamed at the end: a failed or interrupted run never leaves a half copy under
  // the name a restore would use
  const partial = `${to}.partial`;
  rmSync(partial, { force: true });
  const db = new Database(src, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    // After the first small step, everything left in one step. A write by another connection (the server's) between
    // two steps restarts the backup from scratch, so many small steps never finish under steady traffic; one step is
    // one read transaction, which in WAL mode does not hold up the server's writers and copies a single snapshot.
    await db.backup(partial, { progress: ({ totalPages }) => Math.max(totalPages, 100) });
  } catch (err) {
    rmSync(partial, { force: true });
    throw new LlmscopeError('LLMSCOPE_ERR_INTERNAL', `backup of ${src} failed: ${(err as Error).message}`);
  } finally {
    db.close();
  }
  const copy = new Database(partial, { fileMustExist: true });
  let calls = 0;
  try {
    const check = copy.pragma('integrity_check', { simple: true });
    if (check !== 'ok') fail(`the copy at ${partial} failed SQLite's integrity check (${String(check)}); it was kept`);
    // one file, no WAL beside it: what a restore copies back is complete
    copy.pragma('journal_mode = DELETE');
    const hasCalls = copy.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'calls'").get();
    if (hasCalls) calls = (copy.prepare('SELECT count(*) AS n FROM calls').get() as { n: number }).n;
  } finally {
    copy.close();
  }
  renameSync(partial, to);
  return { from: src, to, bytes: statSync(to).size, calls, seconds: (performance.now() - t0) / 1000 };
}

/** `llmscope backup`'s action (declared in ./commands.ts). */
export async function backupCommand(flags: {
  to: string;
  config?: string;
  from?: string;
  force?: boolean;
}): Promise<void> {
  const from = flags.from ?? loadConfig({ file: flags.config }).storage.url;
  const r = await backupStore({ from, to: flags.to, force: flags.force });
  const mib = (r.bytes / 1024 / 1024).toFixed(1);
  process.stdout.write(
    `backed up ${r.from} → ${r.to}: ${mib} MiB, ${r.calls} calls, integrity ok, in ${r.seconds.toFixed(1)} s\n`,
  );
}
