// Per-key rate limits on PostgreSQL, shared by every replica: a key's two buckets (requests and tokens per minute)
// are one row, and a take is one UPDATE of that row — PostgreSQL serialises updates of a row, and each re-reads
// the row another just committed — so replicas admitting calls for one key at once never pass its limit. The
// arithmetic is the in-process limiter's (limits/limiter.ts), written in SQL.
import pg from 'pg';
import type { PgMigration, PostgresBackend } from '../../store/index.js';
import {
  type RateLimiter,
  resultOf,
  type SettleRequest,
  type TakeRequest,
  type TakeResult,
} from '../limits/limiter.js';

export const LIMITER_NAMESPACE = 'cost.limits';

export const LIMITER_MIGRATIONS: readonly PgMigration[] = [
  {
    version: 1,
    name: 'per-key rate limit buckets',
    up: `
CREATE TABLE rate_limit_buckets (
  key_id text COLLATE "C" PRIMARY KEY,
  requests double precision NOT NULL,
  tokens double precision NOT NULL,
  at bigint NOT NULL,
  granted boolean NOT NULL DEFAULT true
);
`,
  },
];

const TYPES = {
  getTypeParser(oid: number, format?: string) {
    if (oid === 20) return (v: string) => Number(v);
    return (pg.types.getTypeParser as (oid: number, format?: string) => unknown)(oid, format);
  },
} as unknown as pg.QueryConfig['types'];

// $1 key, $2 rpm (0: none), $3 tpm (0: none), $4 now, $5 requests, $6 tokens
const R = 'least($2::float8, b.requests + greatest(0, $4::bigint - b.at)::float8 * $2::float8 / 60000)';
const T = 'least($3::float8, b.tokens + greatest(0, $4::bigint - b.at)::float8 * $3::float8 / 60000)';
const OK = `(($2::float8 = 0 OR ${R} - $5::float8 >= -1e-9) AND ($3::float8 = 0 OR ${T} - $6::float8 >= -1e-9))`;
// SET expressions all read the row as it was before this update (the latest committed version, once locked).
const TAKE = `
UPDATE rate_limit_buckets b SET
  granted = ${OK},
  requests = CASE WHEN $2::float8 = 0 THEN 0 WHEN ${OK} THEN ${R} - $5::float8 ELSE ${R} END,
  tokens = CASE WHEN $3::float8 = 0 THEN 0 WHEN ${OK} THEN ${T} - $6::float8 ELSE ${T} END,
  at = greatest(b.at, $4::bigint)
WHERE b.key_id = $1
RETURNING granted, requests, tokens`;
const SETTLE = `
UPDATE rate_limit_buckets b SET
  requests = CASE WHEN $2::float8 = 0 THEN 0 ELSE ${R} END,
  tokens = ${T} - $5::float8,
  at = greatest(b.at, $4::bigint)
WHERE b.key_id = $1 AND $3::float8 > 0`;
// A key's first take: both buckets full.
const CREATE = `INSERT INTO rate_limit_buckets (key_id, requests, tokens, at) VALUES ($1, $2, $3, $4)
  ON CONFLICT (key_id) DO NOTHING`;

const RETRYABLE = new Set(['40001', '40P01']);

export class PostgresRateLimiter implements RateLimiter {
  constructor(private readonly backend: PostgresBackend) {}

  /** Creates the limiter's table (safe on every start, and from every replica at once). */
  async migrate(): Promise<void> {
    await this.backend.migrations.register(LIMITER_NAMESPACE, LIMITER_MIGRATIONS);
  }

  private async run(text: string, values: unknown[]): Promise<pg.QueryResult> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.backend.pool.query({ text, values, types: TYPES });
      } catch (err) {
        const code = err instanceof pg.DatabaseError ? err.code : undefined;
        if (attempt >= 4 || !code || !RETRYABLE.has(code)) throw err;
        await new Promise((r) => setTimeout(r, 2 + Math.random() * 10 * (attempt + 1)));
      }
    }
  }

  async take(t: TakeRequest): Promise<TakeResult> {
    const rpm = t.limits.rpm ?? 0;
    const tpm = t.limits.tpm ?? 0;
    const args = [t.keyId, rpm, tpm, Math.round(t.now), t.requests, t.tokens];
    let rows = (await this.run(TAKE, args)).rows;
    if (rows.length === 0) {
      await this.run(CREATE, [t.keyId, rpm, tpm, Math.round(t.now)]);
      rows = (await this.run(TAKE, args)).rows;
    }
    const row = rows[0] as { granted: boolean; requests: number; tokens: number };
    // A refusal left the levels as they are: what was short is the cost minus them.
    const reqShort = row.granted ? 0 : t.requests - row.requests;
    const tokShort = row.granted ? 0 : t.tokens - row.tokens;
    return resultOf(row.granted, row, t.limits, rpm ? reqShort : 0, tpm ? tokShort : 0);
  }

  async settle(s: SettleRequest): Promise<void> {
    if (!s.limits.tpm || s.tokens === 0) return;
    await this.run(SETTLE, [s.keyId, s.limits.rpm ?? 0, s.limits.tpm, Math.round(s.now), s.tokens]);
  }
}
