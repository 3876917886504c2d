// Virtual keys in SQLite: one table in the store's database, under the `cost.keys` migration namespace.
import type { Database, Statement } from 'better-sqlite3';
import type { SqliteMigration } from '../../store/index.js';
import {
  KEY_COLUMNS,
  KeyConflictError,
  type KeyRow,
  type KeyStore,
  keyOfRow,
  rowValuesOf,
  type StoredKey,
} from './keys-types.js';

export const KEYS_NAMESPACE = 'cost.keys';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, prefix TEXT NOT NULL, hash TEXT NOT NULL UNIQUE,
    user_id TEXT, team TEXT, feature TEXT, trust_headers TEXT NOT NULL, rpm INTEGER, tpm INTEGER,
    created_at INTEGER NOT NULL, created_by TEXT, expires_at INTEGER, revoked_at INTEGER, rotated_at INTEGER);
  CREATE UNIQUE INDEX IF NOT EXISTS api_keys_live_name ON api_keys (name) WHERE revoked_at IS NULL;
`;

/** Adds version 2's `models` (a key's model allow-list) where the table lacks it; nothing where it is there. */
function addModelsColumn(db: Database): void {
  const have = (db.pragma('table_info(api_keys)') as { name: string }[]).some((c) => c.name === 'models');
  if (!have) db.exec('ALTER TABLE api_keys ADD COLUMN models TEXT');
}

/** The `cost.keys` namespace's SQLite migrations; never edit a shipped one, add a new version. */
export const SQLITE_KEYS_MIGRATIONS: readonly SqliteMigration[] = [
  { version: 1, name: 'virtual keys (hashed), limits, expiry and revocation', up: SCHEMA },
  { version: 2, name: "a key's model allow-list", up: addModelsColumn },
];

export class SqliteKeyStore implements KeyStore {
  private readonly s: Record<'insert' | 'byHash' | 'byId' | 'all' | 'live' | 'revoke' | 'rotate' | 'count', Statement>;

  constructor(db: Database, register?: (migrations: readonly SqliteMigration[]) => void) {
    register?.(SQLITE_KEYS_MIGRATIONS);
    db.exec(SCHEMA);
    addModelsColumn(db);
    const cols = KEY_COLUMNS.split(', ').length;
    this.s = {
      insert: db.prepare(`INSERT INTO api_keys (${KEY_COLUMNS}) VALUES (${Array(cols).fill('?').join(', ')})`),
      byHash: db.prepare(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE hash = ?`),
      byId: db.prepare(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE id = ?`),
      all: db.prepare(`SELECT ${KEY_COLUMNS} FROM api_keys ORDER BY created_at DESC, id DESC`),
      live: db.prepare(
        `SELECT ${KEY_COLUMNS} FROM api_keys WHERE revoked_at IS NULL ORDER BY created_at DESC, id DESC`,
      ),
      revoke: db.prepare(
        `UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?) WHERE id = ? RETURNING ${KEY_COLUMNS}`,
      ),
      rotate: db.prepare(
        `UPDATE api_keys SET hash = ?, prefix = ?, rotated_at = ? WHERE id = ? AND revoked_at IS NULL`,
      ),
      count: db.prepare('SELECT count(*) AS n FROM api_keys'),
    };
  }

  async insert(key: StoredKey): Promise<void> {
    try {
      this.s.insert.run(...rowValuesOf(key));
    } catch (err) {
      if (/UNIQUE constraint failed: api_keys\.name/.test((err as Error).message)) throw new KeyConflictError(key.name);
      throw err;
    }
  }

  async byHash(hash: string): Promise<StoredKey | null> {
    const r = this.s.byHash.get(hash) as KeyRow | undefined;
    return r ? keyOfRow(r) : null;
  }

  async byId(id: string): Promise<StoredKey | null> {
    const r = this.s.byId.get(id) as KeyRow | undefined;
    return r ? keyOfRow(r) : null;
  }

  async list(opts: { includeRevoked?: boolean } = {}): Promise<StoredKey[]> {
    return ((opts.includeRevoked ? this.s.all : this.s.live).all() as KeyRow[]).map(keyOfRow);
  }

  async revoke(id: string, at: number): Promise<StoredKey | null> {
    const r = this.s.revoke.get(at, id) as KeyRow | undefined;
    return r ? keyOfRow(r) : null;
  }

  async rotate(id: string, secret: { hash: string; prefix: string }, at: number): Promise<StoredKey | null> {
    this.s.rotate.run(secret.hash, secret.prefix, at, id);
    return this.byId(id);
  }

  async count(): Promise<number> {
    return (this.s.count.get() as { n: number }).n;
  }
}
