// Background Responses across replicas on one PostgreSQL. A call answered `queued` is held, unrecorded, by the
// replica that relayed it until a poll brings the finished response (src/providers/openai-responses/background.ts).
// Behind a balancer the poll may reach another replica, which does not hold the call: it leaves the finished answer
// here, and the replica holding the call takes it (a check every second while it holds any) and records the call
// finished, with its usage. Before, the call stayed held until its hour ran out (or the replica stopped) and was
// recorded as answered: `queued`, no output tokens, only its input's cost. Under `serve --workers` the workers of one
// process pass polls through the recorder process instead (src/cluster); this is the path between processes.
import type { PostgresBackend } from '../backend.js';
import type { PgMigration } from './migrations.js';

export const BACKGROUND_POLLS_NAMESPACE = 'background_polls';

const MIGRATIONS: readonly PgMigration[] = [
  {
    version: 1,
    name: 'finished answers of background responses polled through a replica that does not hold their call',
    up: `CREATE TABLE background_polls (
  id text COLLATE "C" PRIMARY KEY, body text NOT NULL, at double precision NOT NULL);
CREATE INDEX background_polls_at ON background_polls (at);`,
  },
];

/** A finished answer nobody took within this long is deleted (a call is held an hour at most). */
const KEEP_MS = 2 * 60 * 60_000;

export class BackgroundPolls {
  private ready: Promise<void> | null = null;
  private sweptAt = 0;

  constructor(
    private readonly backend: PostgresBackend,
    private readonly now: () => number = Date.now,
  ) {}

  private migrated(): Promise<void> {
    this.ready ??= this.backend.migrations.register(BACKGROUND_POLLS_NAMESPACE, MIGRATIONS).catch((err: unknown) => {
      this.ready = null; // tried again next time
      throw err;
    });
    return this.ready;
  }

  /** Leaves the finished answer of background response `id` for the replica that holds its call. */
  async post(id: string, body: string): Promise<void> {
    await this.migrated();
    await this.backend.pool.query(
      `INSERT INTO background_polls (id, body, at) VALUES ($1, $2, $3)
       ON CONFLICT (id) DO UPDATE SET body = excluded.body, at = excluded.at`,
      [id.replace(/\u0000/g, '\uFFFD'), body.replace(/\u0000/g, '\uFFFD'), this.now()],
    );
  }

  /** Takes (deletes and returns) the answers left for any of `ids`; also drops answers nobody took in time. */
  async take(ids: readonly string[]): Promise<{ id: string; body: string }[]> {
    await this.migrated();
    if (this.now() - this.sweptAt > 10 * 60_000) {
      this.sweptAt = this.now();
      await this.backend.pool.query('DELETE FROM background_polls WHERE at < $1', [this.now() - KEEP_MS]);
    }
    if (ids.length === 0) return [];
    const { rows } = await this.backend.pool.query<{ id: string; body: string }>(
      'DELETE FROM background_polls WHERE id = ANY($1::text[]) RETURNING id, body',
      [ids.map((id) => id.replace(/\u0000/g, '\uFFFD'))],
    );
    return rows;
  }
}
