// DELETE /api/users/{id}/data (admin): erases what llmscope keeps about one end user — their calls (with content and
// spans), and whatever the capabilities keep about those calls or that user (feedback, evaluations, review items,
// per-user spend rows), each through the eraser it added to `ctx.erasers` — answers with what it removed, and records
// the erase in the audit log. The audit entry names the user by a hash of their id, not the id: the log keeps that
// the erase happened without keeping the identifier it was asked to forget (anyone holding the id can check it).
import { createHash } from 'node:crypto';
import type { Audit } from '../audit/index.js';
import { LlmscopeError } from '../errors.js';
import { type HttpContext, type Router, sendJson } from '../http/index.js';
import type { Store } from '../store/index.js';

/** What a capability erases about one user: its rows about them and about their calls. */
export interface UserDataEraser {
  name: string;
  /** Deletes what it keeps about `user`, whose calls have these request ids; returns counts by kind (snake_case). */
  erase(user: string, requestIds: readonly string[]): Promise<Record<string, number>>;
  /**
   * Runs before the user's calls are looked up: records what the capability still holds of theirs unrecorded (the
   * gateway's held background responses), so that the erase finds and removes it too.
   */
  before?(user: string): Promise<void>;
}

/** How an erased user is named in the audit log: `user:sha256:` and the first 16 hex digits of the id's SHA-256. */
export function erasedUserTarget(user: string): string {
  return `user:sha256:${createHash('sha256').update(user).digest('hex').slice(0, 16)}`;
}

export interface EraseResult {
  calls: number;
  [kind: string]: number;
}

/**
 * Erases one user's data: the capabilities' rows first (they are found through the user's call ids), the calls
 * last, so an erase that fails half-way can be run again and still finds everything.
 */
export async function eraseUser(
  store: Store,
  erasers: readonly UserDataEraser[],
  user: string,
  opts: { vacuum?: boolean } = {},
): Promise<EraseResult> {
  const b = store.backend;
  // SQLite keeps a deleted row's bytes in free pages (and so in every later backup) until they are reused: with
  // secure_delete on, the deletes below overwrite them with zeros; the checkpoint then moves them out of the WAL.
  const sqlite = b.kind === 'sqlite' ? b.db : null;
  const was = sqlite ? Number(sqlite.pragma('secure_delete', { simple: true })) : 0;
  sqlite?.pragma('secure_delete = ON');
  try {
    for (const e of erasers) await e.before?.(user);
    const ids = await store.userCallIds(user);
    const out: EraseResult = { calls: 0 };
    for (const e of erasers) {
      const counts = await e.erase(user, ids);
      for (const [k, n] of Object.entries(counts)) out[k] = (out[k] ?? 0) + n;
    }
    out.calls = await store.deleteCalls(ids);
    // Copies a row left behind earlier, when SQLite moved it between pages, sit in unused space that secure_delete
    // does not reach; VACUUM rewrites the whole file without them (it holds the store for its duration).
    if (sqlite && opts.vacuum) sqlite.exec('VACUUM');
    return out;
  } finally {
    if (sqlite) {
      sqlite.pragma(`secure_delete = ${was ? 'ON' : 'OFF'}`);
      try {
        sqlite.pragma('wal_checkpoint(TRUNCATE)');
      } catch {
        /* an in-memory database has no WAL; a busy one checkpoints later by itself */
      }
    }
  }
}

export function registerEraseRoute(
  api: Router,
  opts: { store: Store; erasers: readonly UserDataEraser[]; audit: Audit },
): void {
  api.delete('/api/users/:id/data', async (http: HttpContext) => {
    const user = http.params['id'] ?? '';
    if (user.length > 256)
      throw new LlmscopeError('LLMSCOPE_ERR_INVALID_QUERY', 'a user id is at most 256 characters', { param: 'id' });
    const vacuum = http.url.searchParams.get('vacuum');
    if (vacuum !== null && vacuum !== 'true' && vacuum !== 'false')
      throw new LlmscopeError(
        'LLMSCOPE_ERR_INVALID_QUERY',
        'invalid query parameter "vacuum": expected true or false',
        {
          param: 'vacuum',
        },
      );
    const target = erasedUserTarget(user);
    let erased: EraseResult;
    try {
      erased = await eraseUser(opts.store, opts.erasers, user, { vacuum: vacuum === 'true' });
    } catch (err) {
      await opts.audit.record(http, {
        action: 'user.erase',
        target,
        result: 'failed',
        detail: { error: (err as Error).message?.slice(0, 300) ?? String(err) },
      });
      throw err;
    }
    await opts.audit.record(http, { action: 'user.erase', target, detail: { ...erased } });
    sendJson(http.res, 200, { user, erased, audit_target: target });
  });
}
