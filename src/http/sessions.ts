// Revoked dashboard sessions. A session is a stateless HMAC (src/http/auth.ts) that every replica accepts, so ending
// one early (POST /logout) needs a list of revoked session ids until they would have expired anyway. In one process
// that list is a map; on PostgreSQL it is a table every replica appends to, and each replica reads what is new in it
// every `refreshMs` (default 2 s) into its own copy, so a session signed out on one replica is refused by every other
// within that time, without a query on each request.
import type { PgMigration, PostgresBackend } from '../store/index.js';

export interface SessionRevocations {
  /** Whether this session id is revoked (here at once; from another replica, as of the last refresh). */
  has(id: string): boolean;
  /** Revokes a session until `expires` (epoch ms), for every replica sharing the store. */
  revoke(id: string, expires: number): Promise<void>;
  close(): void;
}

/** Revocations of one process. */
export class LocalSessionRevocations implements SessionRevocations {
  protected readonly revoked = new Map<string, number>();

  constructor(protected readonly now: () => number = Date.now) {}

  has(id: string): boolean {
    return this.revoked.has(id);
  }

  async revoke(id: string, expires: number): Promise<void> {
    this.remember(id, expires);
  }

  protected remember(id: string, expires: number): void {
    this.revoked.set(id, expires);
    const t = this.now();
    for (const [k, exp] of this.revoked) if (exp < t) this.revoked.delete(k);
  }

  close(): void {}
}

export const SESSIONS_NAMESPACE = 'auth.sessions';

export const PG_SESSION_MIGRATIONS: readonly PgMigration[] = [
  {
    version: 1,
    name: 'revoked dashboard sessions, shared by replicas',
    up: `
CREATE TABLE auth_revoked_sessions (
  seq bigserial PRIMARY KEY,
  id text COLLATE "C" NOT NULL UNIQUE,
  expires_at bigint NOT NULL
);
CREATE INDEX auth_revoked_sessions_expiry ON auth_revoked_sessions (expires_at);
`,
  },
];

/** Revocations read again behind the last one seen, in case an earlier-numbered one committed late. */
const LOOKBACK = 1000;

export interface SharedSessionRevocationsOptions {
  /** How often the replica reads revocations made elsewhere (default 2000 ms). */
  refreshMs?: number;
  now?: () => number;
  /** Told when refreshes start failing (once until one succeeds again; the last copy stays in use). */
  onError?: (err: unknown) => void;
}

/** Revocations on the store's PostgreSQL, shared by every replica. */
export class SharedSessionRevocations extends LocalSessionRevocations {
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | null = null;
  private refreshes = 0;
  private closed = false;

  private constructor(
    private readonly backend: PostgresBackend,
    opts: SharedSessionRevocationsOptions,
  ) {
    super(opts.now);
  }

  /** Migrates the table, reads the live revocations and starts refreshing. */
  static async open(
    backend: PostgresBackend,
    opts: SharedSessionRevocationsOptions = {},
  ): Promise<SharedSessionRevocations> {
    await backend.migrations.register(SESSIONS_NAMESPACE, PG_SESSION_MIGRATIONS);
    const r = new SharedSessionRevocations(backend, opts);
    await r.refresh();
    // A store that is down fails every refresh: told once per outage, not every 2 s.
    let failing = false;
    r.timer = setInterval(() => {
      r.refresh().then(
        () => {
          failing = false;
        },
        (err) => {
          if (!failing) opts.onError?.(err);
          failing = true;
        },
      );
    }, opts.refreshMs ?? 2000);
    r.timer.unref();
    return r;
  }

  override async revoke(id: string, expires: number): Promise<void> {
    this.remember(id, expires);
    await this.backend.pool.query(
      'INSERT INTO auth_revoked_sessions (id, expires_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING',
      [id, Math.ceil(expires)],
    );
  }

  /** Reads the revocations added since the last read (one at a time: a slow one is not stacked on). */
  refresh(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.refreshing ??= this.read().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private async read(): Promise<void> {
    const t = this.now();
    const { rows } = await this.backend.pool.query<{ seq: string; id: string; expires_at: string }>(
      // Rows numbered below the last one read may commit after it (concurrent inserts): a window behind it is read
      // again, so none is missed.
      'SELECT seq, id, expires_at FROM auth_revoked_sessions WHERE seq > $1 AND expires_at >= $2 ORDER BY seq',
      [Math.max(0, this.seq - LOOKBACK), Math.floor(t)],
    );
    for (const r of rows) {
      this.seq = Math.max(this.seq, Number(r.seq));
      this.revoked.set(r.id, Number(r.expires_at));
    }
    for (const [k, exp] of this.revoked) if (exp < t) this.revoked.delete(k);
    // Now and then, rows past their session's expiry go (any replica may; they are of no use to any).
    if (this.refreshes++ % 100 === 0)
      await this.backend.pool.query('DELETE FROM auth_revoked_sessions WHERE expires_at < $1', [Math.floor(t)]);
  }

  override close(): void {
    this.closed = true;
    clearInterval(this.timer);
  }
}
