// Erasures shared by the replicas on one PostgreSQL, for what each replica keeps of a user in memory: the top-spenders
// sketch behind llm_user_cost_usd_total{user} on its own /metrics, fed by the calls that replica recorded. The replica
// that answers DELETE /api/users/{id}/data forgets the user at once and announces the erase here; every other replica
// reads what is new every 2 s and forgets the user too. The table keeps the SHA-256 of the id, never the id: a
// replica compares it with the hashes of the (at most pricing.topUsers) users its sketch tracks. Rows are kept a day
// (a replica started later has an empty sketch) and swept as replicas read. On SQLite there is one process (serve
// --workers records in one), so nothing is shared.
import { createHash } from 'node:crypto';
import type { PgMigration, PostgresBackend } from '../store/index.js';

export const ERASED_USERS_NAMESPACE = 'cost.erased_users';

const MIGRATIONS: readonly PgMigration[] = [
  {
    version: 1,
    name: 'erased users (a hash of the id), so every replica forgets them in memory',
    up: `CREATE TABLE cost_erased_users (seq bigserial PRIMARY KEY, user_hash text NOT NULL, at double precision NOT NULL);
CREATE INDEX cost_erased_users_at ON cost_erased_users (at);`,
  },
];

const KEEP_MS = 24 * 60 * 60_000;
const SWEEP_EVERY_MS = 10 * 60_000;
export const ERASED_USERS_REFRESH_MS = 2_000;

/** The SHA-256 of a user id, in hex: how an erase is announced to the other replicas. */
export const userHash = (user: string): string => createHash('sha256').update(user).digest('hex');

export class ErasedUsers {
  private ready: Promise<void> | null = null;
  /** The last row read (-1: none yet; the first read starts after the rows already there). */
  private seq = -1;
  private sweptAt = 0;

  constructor(
    private readonly backend: PostgresBackend,
    private readonly now: () => number = Date.now,
  ) {}

  private migrated(): Promise<void> {
    this.ready ??= this.backend.migrations.register(ERASED_USERS_NAMESPACE, MIGRATIONS).catch((err: unknown) => {
      this.ready = null;
      throw err;
    });
    return this.ready;
  }

  /** Tells the other replicas that `user` was erased. Rejects when it cannot be written. */
  async announce(user: string): Promise<void> {
    await this.migrated();
    await this.backend.pool.query('INSERT INTO cost_erased_users (user_hash, at) VALUES ($1, $2)', [
      userHash(user),
      this.now(),
    ]);
  }

  /**
   * The hashes of the users erased since the last call (the first call only notes where the table ends: a replica
   * just started tracks nobody yet). Rejects when the store cannot be read; the next call reads from the same place.
   */
  async since(): Promise<string[]> {
    await this.migrated();
    if (this.seq === -1) {
      const { rows } = await this.backend.pool.query<{ seq: string | null }>(
        'SELECT max(seq)::text AS seq FROM cost_erased_users',
      );
      this.seq = Number(rows[0]?.seq ?? 0);
      return [];
    }
    const { rows } = await this.backend.pool.query<{ seq: string; user_hash: string }>(
      'SELECT seq::text AS seq, user_hash FROM cost_erased_users WHERE seq > $1 ORDER BY seq',
      [this.seq],
    );
    for (const r of rows) this.seq = Math.max(this.seq, Number(r.seq));
    const t = this.now();
    if (t - this.sweptAt > SWEEP_EVERY_MS) {
      this.sweptAt = t;
      await this.backend.pool.query('DELETE FROM cost_erased_users WHERE at < $1', [t - KEEP_MS]);
    }
    return rows.map((r) => r.user_hash);
  }
}
