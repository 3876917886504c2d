// Given request ids claimed across replicas on one PostgreSQL. `/api/ingest` (and an OTLP export) skips a record whose
// id the store already holds or that this replica recorded lately, but a batch sent to two replicas at once (a retry
// after a timeout, through a balancer) was recorded by both before either had written it: the calls table kept one
// row, while spend, budgets and /metrics counted it twice. A replica now claims the ids it is about to record, in one
// statement: an id another replica claimed first is a duplicate. Claims are kept a day (by then the call is in the
// store, which the duplicate check reads too) and are swept by the replicas as they claim.
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { PostgresBackend } from '../backend.js';
import type { PgMigration } from './migrations.js';

export const ID_CLAIMS_NAMESPACE = 'request_id_claims';

const MIGRATIONS: readonly PgMigration[] = [
  {
    version: 1,
    name: 'request ids given by a client (ingest, OTLP) claimed by the replica recording them',
    up: `CREATE TABLE request_id_claims (request_id text COLLATE "C" PRIMARY KEY, at double precision NOT NULL);
CREATE INDEX request_id_claims_at ON request_id_claims (at);`,
  },
];

const KEEP_MS = 24 * 60 * 60_000;
const SWEEP_EVERY_MS = 10 * 60_000;

export class RequestIdClaims {
  private ready: Promise<void> | null = null;
  private sweptAt = 0;

  constructor(
    private readonly backend: PostgresBackend,
    private readonly now: () => number = Date.now,
  ) {}

  private migrated(): Promise<void> {
    this.ready ??= this.backend.migrations.register(ID_CLAIMS_NAMESPACE, MIGRATIONS).catch((err: unknown) => {
      this.ready = null;
      throw err;
    });
    return this.ready;
  }

  /** Claims `ids` for this replica: those it won (no replica claimed them before). Rejects when it cannot ask. */
  async claim(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    await this.migrated();
    const now = this.now();
    if (now - this.sweptAt > SWEEP_EVERY_MS) {
      this.sweptAt = now;
      await this.backend.pool.query('DELETE FROM request_id_claims WHERE at < $1', [now - KEEP_MS]);
    }
    const stored = ids.map((id) => id.replace(/\u0000/g, '\uFFFD'));
    const { rows } = await this.backend.pool.query<{ request_id: string }>(
      `INSERT INTO request_id_claims (request_id, at) SELECT DISTINCT x, $2::float8 FROM unnest($1::text[]) AS x
       ON CONFLICT (request_id) DO NOTHING RETURNING request_id`,
      [stored, now],
    );
    const won = new Set(rows.map((r) => r.request_id));
    return new Set(ids.filter((_, i) => won.has(stored[i] as string)));
  }
}

/** A warning about failed claims at most this often (a database out of reach fails every export). */
const WARN_EVERY_MS = 10_000;

/**
 * `claims.claim`, with each failure counted in `llmscope_id_claim_failures_total` and a `id_claim_failed` warning at
 * most every 10 s. The caller asks a failed claim once more, then records the ids unclaimed (observability fails
 * open): a batch sent to two replicas at once may then be counted twice, and this is where that shows.
 */
export function countedClaims(
  claims: Pick<RequestIdClaims, 'claim'>,
  registry: Registry,
  logger: Pick<Logger, 'warn'>,
  now: () => number = Date.now,
): (ids: readonly string[]) => Promise<Set<string>> {
  const failures = new Counter({
    name: 'llmscope_id_claim_failures_total',
    help: 'Claims of given request ids (/api/ingest, OTLP) across replicas on one PostgreSQL that failed (the database out of reach or slow). A failed claim is asked once more; when that fails too its ids are recorded unclaimed, and a batch another replica got at the same time may be counted twice.',
    registers: [registry],
  });
  let warnedAt = Number.NEGATIVE_INFINITY;
  return async (ids) => {
    try {
      return await claims.claim(ids);
    } catch (err) {
      failures.inc();
      const at = now();
      if (at - warnedAt >= WARN_EVERY_MS) {
        warnedAt = at;
        logger.warn(
          { event: 'id_claim_failed', ids: ids.length, err: (err as Error)?.message ?? String(err) },
          'request ids could not be claimed across replicas: asked once more, then recorded unclaimed (a batch sent to two replicas at once may count twice)',
        );
      }
      throw err;
    }
  };
}
