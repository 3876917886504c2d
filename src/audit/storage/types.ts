// The audit log's record and its storage contract: append-only (nothing here updates or deletes an entry), read
// newest first in keyset pages.

export const AUDIT_RESULTS = ['ok', 'denied', 'failed'] as const;
export type AuditResult = (typeof AUDIT_RESULTS)[number];

/** One admin or operator action: who, when, what, on what, from where, and how it ended. */
export interface AuditEntry {
  /** Assigned by the store, increasing: the newest entry has the largest id. */
  id: number;
  /** Epoch ms. */
  at: number;
  /** The principal's name (`admin-token`, `loopback`, `session:…`, a named token), `cli`, or `anonymous`. */
  actor: string;
  /** The principal's role (`viewer`, `operator`, `admin`), or null where none applies (`cli`, `anonymous`). */
  role: string | null;
  /** What was done, `<thing>.<verb>`: `login`, `logout`, `silence.create`, `review.label`, `user.erase`, ... */
  action: string;
  /** What it was done to (`silence:<id>`, `request:<id>`, `budget:<name>`, ...), or null. */
  target: string | null;
  /** The client's address (the peer, or what a trusted proxy saw), or null outside HTTP. */
  ip: string | null;
  userAgent: string | null;
  result: AuditResult;
  /** A few facts about the action (counts removed, fields changed); never prompt or answer text. */
  detail: Record<string, unknown> | null;
}

export type NewAuditEntry = Omit<AuditEntry, 'id'>;

/** The columns an entry is appended with, in order: at, actor, role, action, target, ip, user_agent, result, detail. */
export const AUDIT_COLUMNS = 'at, actor, role, action, target, ip, user_agent, result, detail';

/** An entry's values for AUDIT_COLUMNS (detail as JSON text). */
export function auditValues(e: NewAuditEntry): (string | number | null)[] {
  return [
    e.at,
    e.actor,
    e.role,
    e.action,
    e.target,
    e.ip,
    e.userAgent,
    e.result,
    e.detail ? JSON.stringify(e.detail) : null,
  ];
}

export interface AuditQuery {
  /** Epoch ms, inclusive. */
  from?: number;
  /** Epoch ms, exclusive. */
  to?: number;
  actor?: string;
  action?: string;
  result?: AuditResult;
  /** Page size (default 50, at most 500). */
  limit?: number;
  /** Entries with an id below this one (the previous page's `nextCursor`). */
  before?: number;
}

export interface AuditPage {
  entries: AuditEntry[];
  /** Pass as `before` for the next (older) page; null on the last one. */
  nextCursor: number | null;
}

export interface AuditStore {
  readonly kind: 'memory' | 'sqlite' | 'postgres';
  /** Creates the tables (safe to call again). */
  migrate(): Promise<void>;
  /** Appends an entry; returns its id. */
  append(entry: NewAuditEntry): Promise<number>;
  /** Newest first. */
  list(q: AuditQuery): Promise<AuditPage>;
}

export const AUDIT_NAMESPACE = 'audit';
export const DEFAULT_AUDIT_PAGE = 50;
export const MAX_AUDIT_PAGE = 500;

/** The page size a query asks for, within [1, MAX_AUDIT_PAGE]. */
export function pageSizeOf(q: AuditQuery): number {
  return Math.min(MAX_AUDIT_PAGE, Math.max(1, Math.floor(q.limit ?? DEFAULT_AUDIT_PAGE)));
}

/** Shared by the backends: a page from `limit + 1` rows fetched newest first. */
export function pageOf(rows: AuditEntry[], limit: number): AuditPage {
  const more = rows.length > limit;
  const entries = more ? rows.slice(0, limit) : rows;
  return { entries, nextCursor: more ? (entries[entries.length - 1]?.id ?? null) : null };
}
