// SQLite AuditStore on the store's own database, in a table of its own under the `audit` migration namespace.
// Triggers refuse UPDATE and DELETE on it, so not even a bug elsewhere in llmscope can rewrite history.
import type { Database } from 'better-sqlite3';
import type { SqliteBackend, SqliteMigration } from '../../store/index.js';
import { run as appendOn } from './sqlite-append-job.js';
import type { AuditEntry, AuditPage, AuditQuery, AuditStore, NewAuditEntry } from './types.js';
import { pageOf, pageSizeOf } from './types.js';

const APPEND_JOB = new URL('./sqlite-append-job.js', import.meta.url);

/** The `audit` namespace's SQLite migrations; never edit a shipped one, add a new version. */
export const SQLITE_AUDIT_MIGRATIONS: readonly SqliteMigration[] = [
  {
    version: 1,
    name: 'append-only audit log',
    up: `
CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  role TEXT,
  action TEXT NOT NULL,
  target TEXT,
  ip TEXT,
  user_agent TEXT,
  result TEXT NOT NULL,
  detail TEXT
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_actor ON audit_log (actor, id);
CREATE INDEX audit_log_action ON audit_log (action, id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
`,
  },
];

interface Row {
  id: number;
  at: number;
  actor: string;
  role: string | null;
  action: string;
  target: string | null;
  ip: string | null;
  user_agent: string | null;
  result: string;
  detail: string | null;
}

export function entryOfRow(r: Row): AuditEntry {
  return {
    id: Number(r.id),
    at: Number(r.at),
    actor: r.actor,
    role: r.role,
    action: r.action,
    target: r.target,
    ip: r.ip,
    userAgent: r.user_agent,
    result: r.result as AuditEntry['result'],
    detail: r.detail ? (JSON.parse(r.detail) as Record<string, unknown>) : null,
  };
}

/** WHERE clause and values for a query; `param(i)` writes the i-th placeholder (`?` or `$i`). */
export function whereOf(q: AuditQuery, param: (i: number) => string): { sql: string; values: unknown[] } {
  const parts: string[] = [];
  const values: unknown[] = [];
  const add = (cond: string, v: unknown) => {
    values.push(v);
    parts.push(cond.replace('?', param(values.length)));
  };
  if (q.before !== undefined) add('id < ?', q.before);
  if (q.from !== undefined) add('at >= ?', q.from);
  if (q.to !== undefined) add('at < ?', q.to);
  if (q.actor !== undefined) add('actor = ?', q.actor);
  if (q.action !== undefined) add('action = ?', q.action);
  if (q.result !== undefined) add('result = ?', q.result);
  return { sql: parts.length ? `WHERE ${parts.join(' AND ')}` : '', values };
}

export class SqliteAuditStore implements AuditStore {
  readonly kind = 'sqlite' as const;

  private registered = false;

  /**
   * `register` is the app store's migration registry bound to the `audit` namespace: the migrations apply with
   * the store's own, or at once when it is already migrated, versioned in schema_migrations.
   */
  constructor(
    private readonly db: Database,
    private readonly register: (migrations: readonly SqliteMigration[]) => void,
    /** The store backend's `write` (its writer thread): entries are appended there; without it, on `db`. */
    private readonly write?: SqliteBackend['write'],
  ) {}

  async migrate(): Promise<void> {
    if (this.registered) return;
    this.registered = true;
    this.register(SQLITE_AUDIT_MIGRATIONS);
  }

  async append(e: NewAuditEntry): Promise<number> {
    return this.write ? this.write<number>(APPEND_JOB, e) : appendOn(this.db, e);
  }

  async list(q: AuditQuery): Promise<AuditPage> {
    const limit = pageSizeOf(q);
    const w = whereOf(q, () => '?');
    const rows = this.db
      .prepare(`SELECT * FROM audit_log ${w.sql} ORDER BY id DESC LIMIT ?`)
      .all(...w.values, limit + 1) as Row[];
    return pageOf(rows.map(entryOfRow), limit);
  }
}
