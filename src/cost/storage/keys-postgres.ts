// Virtual keys on PostgreSQL, shared by every replica: a key created, revoked or rotated through one replica is
// seen by the others at their next lookup (the gateway caches lookups for at most a second).
import pg from 'pg';
import type { PgMigration, PostgresBackend } from '../../store/index.js';
import {
  KEY_COLUMNS,
  KeyConflictError,
  type KeyRow,
  type KeyStore,
  keyOfRow,
  rowValuesOf,
  type StoredKey,
} from './keys-types.js';

export const PG_KEYS_NAMESPACE = 'cost.keys';

export const PG_KEYS_MIGRATIONS: readonly PgMigration[] = [
  {
    version: 1,
    name: 'virtual keys (hashed), limits, expiry and revocation',
    up: `
CREATE TABLE api_keys (
  id text COLLATE "C" PRIMARY KEY,
  name text NOT NULL,
  prefix text NOT NULL,
  hash text COLLATE "C" NOT NULL UNIQUE,
  user_id text,
  team text,
  feature text,
  trust_headers text NOT NULL,
  rpm integer,
  tpm integer,
  created_at bigint NOT NULL,
  created_by text,
  expires_at bigint,
  revoked_at bigint,
  rotated_at bigint
);
CREATE UNIQUE INDEX api_keys_live_name ON api_keys (name) WHERE revoked_at IS NULL;
`,
  },
  {
    version: 2,
    name: "a key's model allow-list",
    up: 'ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS models text;',
  },
];

const PARAMS = KEY_COLUMNS.split(', ')
  .map((_, i) => `$${i + 1}`)
  .join(', ');

export class PostgresKeyStore implements KeyStore {
  constructor(private readonly backend: PostgresBackend) {}

  /** Creates the keys table (safe on every start, and from every replica at once). */
  async migrate(): Promise<void> {
    await this.backend.migrations.register(PG_KEYS_NAMESPACE, PG_KEYS_MIGRATIONS);
  }

  private async rows(text: string, values: unknown[]): Promise<StoredKey[]> {
    const r = await this.backend.pool.query<KeyRow>(text, values);
    return r.rows.map(keyOfRow);
  }

  async insert(key: StoredKey): Promise<void> {
    try {
      await this.backend.pool.query(`INSERT INTO api_keys (${KEY_COLUMNS}) VALUES (${PARAMS})`, rowValuesOf(key));
    } catch (err) {
      if (err instanceof pg.DatabaseError && err.code === '23505' && err.constraint === 'api_keys_live_name')
        throw new KeyConflictError(key.name);
      throw err;
    }
  }

  async byHash(hash: string): Promise<StoredKey | null> {
    return (await this.rows(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE hash = $1`, [hash]))[0] ?? null;
  }

  async byId(id: string): Promise<StoredKey | null> {
    return (await this.rows(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE id = $1`, [id]))[0] ?? null;
  }

  async list(opts: { includeRevoked?: boolean } = {}): Promise<StoredKey[]> {
    return this.rows(
      `SELECT ${KEY_COLUMNS} FROM api_keys ${opts.includeRevoked ? '' : 'WHERE revoked_at IS NULL'}
       ORDER BY created_at DESC, id DESC`,
      [],
    );
  }

  async revoke(id: string, at: number): Promise<StoredKey | null> {
    const sql = `UPDATE api_keys SET revoked_at = coalesce(revoked_at, $1) WHERE id = $2 RETURNING ${KEY_COLUMNS}`;
    return (await this.rows(sql, [at, id]))[0] ?? null;
  }

  async rotate(id: string, secret: { hash: string; prefix: string }, at: number): Promise<StoredKey | null> {
    await this.backend.pool.query(
      'UPDATE api_keys SET hash = $1, prefix = $2, rotated_at = $3 WHERE id = $4 AND revoked_at IS NULL',
      [secret.hash, secret.prefix, at, id],
    );
    return this.byId(id);
  }

  async count(): Promise<number> {
    const r = await this.backend.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM api_keys');
    return r.rows[0]?.n ?? 0;
  }
}
