// The audit log as modules see it (`ctx.audit`): `record` appends who did what, to what, from where and how it
// ended; it never throws into the request that asked (a failed write is logged at error level and counted), so an
// audit outage cannot take the dashboard down, and every entry is also written to the log stream as `event: audit`.
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { AuditEntry, AuditPage, AuditQuery, AuditResult, AuditStore } from './storage/index.js';

/** Who acted: a principal's name and role (the router's `HttpContext.principal` fits). */
export interface AuditActor {
  name: string;
  role: string | null;
}

/**
 * Where an action came from: an API request (its principal, address and user agent), or the command line (`'cli'`).
 * An HTTP handler passes its `HttpContext` as it is.
 */
export type AuditSource = { req: IncomingMessage; principal?: AuditActor | null } | 'cli';

export interface AuditRecord {
  /** `<thing>.<verb>` (`silence.create`, `review.label`, `user.erase`, `key.revoke`), or `login` / `logout`. */
  action: string;
  /** `<kind>:<id>` of what it was done to, when there is one. */
  target?: string | null;
  /** Default `ok`; `denied` for a refused attempt (a failed login), `failed` when the action itself failed. */
  result?: AuditResult;
  /** A few facts (counts, changed fields); never prompt or answer text, never a secret. */
  detail?: Record<string, unknown> | null;
}

export interface Audit {
  record(source: AuditSource, what: AuditRecord): Promise<void>;
  list(q: AuditQuery): Promise<AuditPage>;
}

export interface AuditLogOptions {
  logger: Logger;
  now: () => number;
  /** `server.trustProxy`: whose X-Forwarded-For is believed for the client's address. */
  trustProxy: boolean | readonly string[];
  onFailure?: () => void;
}

const MAX_UA = 256;

export class AuditLog implements Audit {
  constructor(
    private readonly store: AuditStore,
    private readonly opts: AuditLogOptions,
  ) {}

  /**
   * Entries being written. A listing waits for them, so it shows every action made before it: an entry is appended on
   * the SQLite writer thread, and a route may answer (a sign-out's redirect) before its entry is written.
   */
  private readonly pending = new Set<Promise<void>>();

  record(source: AuditSource, what: AuditRecord): Promise<void> {
    const p = this.write(source, what);
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
    return p;
  }

  private async write(source: AuditSource, what: AuditRecord): Promise<void> {
    const http = source === 'cli' ? null : source;
    const who: AuditActor =
      source === 'cli' ? { name: 'cli', role: null } : (http?.principal ?? { name: 'anonymous', role: null });
    const ua = http?.req.headers['user-agent'];
    const entry: Omit<AuditEntry, 'id'> = {
      at: this.opts.now(),
      actor: who.name,
      role: who.role,
      action: what.action,
      target: what.target ?? null,
      ip: http ? clientAddress(http.req, this.opts.trustProxy) : null,
      userAgent: typeof ua === 'string' ? ua.slice(0, MAX_UA) : null,
      result: what.result ?? 'ok',
      detail: what.detail ?? null,
    };
    try {
      const id = await this.store.append(entry);
      this.opts.logger.info({ event: 'audit', id, ...entry }, `audit: ${entry.actor} ${entry.action} ${entry.result}`);
    } catch (err) {
      this.opts.onFailure?.();
      this.opts.logger.error(
        { event: 'audit_write_failed', ...entry, err: (err as Error).message },
        `audit entry not written: ${entry.actor} ${entry.action}`,
      );
    }
  }

  async list(q: AuditQuery): Promise<AuditPage> {
    // write never rejects: a failed append is logged and counted
    if (this.pending.size > 0) await Promise.all(this.pending);
    return this.store.list(q);
  }
}

/**
 * The client's address: the peer, or, when the peer is a trusted proxy, the address that proxy saw (the last
 * X-Forwarded-For entry; the ones before it are whatever the client claimed). Same rule as the sign-in limiter's.
 */
export function clientAddress(req: IncomingMessage, trustProxy: boolean | readonly string[]): string | null {
  const peer = (req.socket?.remoteAddress ?? '').replace(/^::ffff:/, '');
  const trusted = trustProxy === true || (Array.isArray(trustProxy) && trustProxy.includes(peer));
  if (!trusted) return peer || null;
  const xff = req.headers['x-forwarded-for'];
  const hops = (Array.isArray(xff) ? xff.join(',') : (xff ?? '')).split(',');
  return hops[hops.length - 1]?.trim() || peer || null;
}
