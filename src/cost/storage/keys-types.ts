// Virtual keys kept in the store (created with `llmscope keys create` or POST /api/keys): the shapes and the
// KeyStore interface, with one implementation per backend (keys-memory, keys-sqlite, keys-postgres). The key itself
// is never stored: only its SHA-256 (`sha256:<hex>`) and its first characters, to recognise it in a list.

export const ATTRIBUTION_HEADERS = ['user', 'team', 'feature', 'session'] as const;
export type AttributionHeader = (typeof ATTRIBUTION_HEADERS)[number];

export interface StoredKey {
  /** `key_...`: shown as `api_key_id` on calls and in budgets. */
  id: string;
  /** A label for people (unique among keys not revoked). */
  name: string;
  /** The key's first characters (`lsk_` and 8 more), to recognise it; never enough to use it. */
  prefix: string;
  /** `sha256:<64 hex>` of the whole key. */
  hash: string;
  user: string | null;
  team: string | null;
  feature: string | null;
  /** Attribution headers still honoured for calls with this key. */
  trustHeaders: AttributionHeader[];
  /** Requests per minute (null: no limit). */
  rpm: number | null;
  /** Tokens per minute (null: no limit). */
  tpm: number | null;
  createdAt: number;
  /** Who created it (the admin principal, or `cli`). */
  createdBy: string | null;
  expiresAt: number | null;
  revokedAt: number | null;
  /** When its secret was last replaced (`rotate`); the previous secret stopped then. */
  rotatedAt: number | null;
  /** Models (names or `*`/`?` patterns) calls with this key may name; empty: every model. */
  models: string[];
}

export interface KeyStore {
  /** Adds a key; throws KeyConflictError when a key not revoked has the same name. */
  insert(key: StoredKey): Promise<void>;
  byHash(hash: string): Promise<StoredKey | null>;
  byId(id: string): Promise<StoredKey | null>;
  /** Keys newest first; revoked ones only when asked. */
  list(opts?: { includeRevoked?: boolean }): Promise<StoredKey[]>;
  /** Marks a key revoked at `at` (once: a revoked key keeps its first revocation time); null if there is none. */
  revoke(id: string, at: number): Promise<StoredKey | null>;
  /** Replaces a key's secret (hash and prefix) unless it is revoked; null if there is none. */
  rotate(id: string, secret: { hash: string; prefix: string }, at: number): Promise<StoredKey | null>;
  /** Keys ever created, revoked ones included. */
  count(): Promise<number>;
}

export class KeyConflictError extends Error {
  constructor(name: string) {
    super(`a key named "${name}" already exists; revoke it first or choose another name`);
    this.name = 'KeyConflictError';
  }
}

/** The row as both SQL backends hold it. */
export interface KeyRow {
  id: string;
  name: string;
  prefix: string;
  hash: string;
  user_id: string | null;
  team: string | null;
  feature: string | null;
  trust_headers: string;
  rpm: number | null;
  tpm: number | null;
  created_at: number | string;
  created_by: string | null;
  expires_at: number | string | null;
  revoked_at: number | string | null;
  rotated_at: number | string | null;
  /** JSON array of model patterns; null (a row from before the column, or none given): every model. */
  models: string | null;
}

const num = (v: number | string | null): number | null => (v === null ? null : Number(v));

export function keyOfRow(r: KeyRow): StoredKey {
  return {
    id: r.id,
    name: r.name,
    prefix: r.prefix,
    hash: r.hash,
    user: r.user_id,
    team: r.team,
    feature: r.feature,
    trustHeaders: JSON.parse(r.trust_headers) as AttributionHeader[],
    rpm: num(r.rpm),
    tpm: num(r.tpm),
    createdAt: Number(r.created_at),
    createdBy: r.created_by,
    expiresAt: num(r.expires_at),
    revokedAt: num(r.revoked_at),
    rotatedAt: num(r.rotated_at),
    models: r.models ? (JSON.parse(r.models) as string[]) : [],
  };
}

/** The row's values in KEY_COLUMNS order. */
export function rowValuesOf(k: StoredKey): unknown[] {
  return [
    k.id,
    k.name,
    k.prefix,
    k.hash,
    k.user,
    k.team,
    k.feature,
    JSON.stringify(k.trustHeaders),
    k.rpm,
    k.tpm,
    k.createdAt,
    k.createdBy,
    k.expiresAt,
    k.revokedAt,
    k.rotatedAt,
    k.models.length ? JSON.stringify(k.models) : null,
  ];
}

export const KEY_COLUMNS =
  'id, name, prefix, hash, user_id, team, feature, trust_headers, rpm, tpm, created_at, created_by, expires_at, revoked_at, rotated_at, models';
