// Which store errors may pass by themselves, so a write is worth trying again: the database restarting or out of
// reach, too many connections, a full or busy disk. Anything else (a constraint, a bad statement, a read-only
// database) would fail the same way again.

/** PostgreSQL SQLSTATE classes and codes that name a passing condition. */
const PG_TRANSIENT_CLASSES = ['08', '53', '57P']; // connection exception; insufficient resources; operator intervention
const PG_TRANSIENT_CODES = new Set(['40001', '40P01', '55P03']); // serialization failure, deadlock, lock not available
/** Node socket errors (pg) and SQLite result codes (better-sqlite3). */
const CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'SQLITE_FULL',
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_IOERR',
  'SQLITE_CANTOPEN',
]);
/** pg's own errors for a lost or unobtainable connection carry no code. */
const MESSAGES =
  /Connection terminated|connection timeout|timeout exceeded when trying to connect|Connection is closed|not queryable/i;

export function isTransientStoreError(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  const code = typeof e.code === 'string' ? e.code : '';
  if (CODES.has(code) || CODES.has(code.split('_').slice(0, 2).join('_'))) return true;
  if (/^[0-9A-Z]{5}$/.test(code))
    return PG_TRANSIENT_CODES.has(code) || PG_TRANSIENT_CLASSES.some((c) => code.startsWith(c));
  return typeof e.message === 'string' && MESSAGES.test(e.message);
}

/**
 * Marks `err` as thrown by a COMMIT whose outcome is unknown (the connection was lost while it ran: the database may
 * have applied it). A write that is not idempotent must not be tried again after such an error, or it counts twice.
 */
export function markCommitInDoubt(err: unknown): unknown {
  if (err && typeof err === 'object') (err as { commitInDoubt?: boolean }).commitInDoubt = true;
  return err;
}

/**
 * Whether a write that adds (not idempotent) may be tried again after `err`: the failure may pass, and the write was
 * certainly not applied (it failed before its COMMIT, or its COMMIT was answered with an error).
 */
export function isRetryableAdd(err: unknown): boolean {
  return isTransientStoreError(err) && !(err as { commitInDoubt?: boolean } | null)?.commitInDoubt;
}

/** A connection that could not be had (refused, unreachable, timed out connecting): nothing was sent on it. */
export function isConnectFailure(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  if (typeof e.code === 'string' && CONNECT_CODES.has(e.code)) return true;
  return typeof e.message === 'string' && /timeout exceeded when trying to connect/i.test(e.message);
}
const CONNECT_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);
