// Managing the virtual keys kept in the store, shared by `llmscope keys` and /api/keys: create (the key is returned
// once, only its hash and prefix are kept), find by id or name, revoke, rotate (a new secret for the same key: same
// id, attribution and limits; the old secret stops), and the wire view of a key (never its secret or hash).
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { LlmscopeError, missingIsRequired } from '../errors.js';
import { DURATION_PATTERN, durationMs, isDateTime, isoOrNull, MAX_TIME_MS } from '../time.js';
import { type KeyConfig, keyModelsSchema } from './config.js';
import { hashKey, newKey, prefixOf } from './keys.js';
import { ATTRIBUTION_HEADERS, KeyConflictError, type KeyStore, type StoredKey } from './storage/keys-types.js';

const label = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[^\p{Cc}]*$/u, 'no control characters');

/** What creating a key takes (the body of POST /api/keys; the CLI's flags map onto it). */
export const createKeySchema = z
  .object({
    name: z
      .string()
      .min(1)
      .max(128)
      .regex(/^[^\p{Cc}]*$/u, 'no control characters'),
    user: label.optional(),
    team: label.optional(),
    feature: label.optional(),
    /** Attribution headers calls with this key may still set (default: feature and session). */
    trust_headers: z.array(z.enum(ATTRIBUTION_HEADERS)).max(4).default(['feature', 'session']),
    rpm: z.number().int().positive().max(1_000_000_000).optional(),
    tpm: z.number().int().positive().max(1_000_000_000_000).optional(),
    /** Models calls with this key may name (names or `*`/`?` patterns); absent or empty: every model. */
    models: keyModelsSchema.optional(),
    /** When it stops: ISO 8601, or epoch ms. */
    expires_at: z
      .union(
        [z.iso.datetime({ offset: true }).transform((s) => Date.parse(s)), z.number().int()],
        'an ISO 8601 time with a zone (2026-12-31T23:59:59Z) or epoch milliseconds',
      )
      .optional(),
    /** Or how long from now it lasts: `30d`, `12h`, `90m`. */
    expires_in: z.string().regex(DURATION_PATTERN, 'a duration such as 30d, 12h or 90m').optional(),
  })
  .strict()
  .refine((b) => b.expires_at === undefined || b.expires_in === undefined, {
    message: 'give "expires_at" or "expires_in", not both',
    path: ['expires_in'],
  });

export type CreateKeyInput = z.input<typeof createKeySchema>;

/** A new key's id: `key_` and 20 hex digits. */
const newId = (): string => `key_${randomBytes(10).toString('hex')}`;

export interface KeyAdminOptions {
  now: number;
  /** Who asked (a principal's name, or `cli`). */
  by: string | null;
  /** The config's key ids: a stored key never takes one. */
  configIds?: ReadonlySet<string>;
}

/** Creates a key; returns it with its secret, which is shown this once and never again. */
export async function createKey(
  store: KeyStore,
  raw: unknown,
  opts: KeyAdminOptions,
): Promise<{ key: StoredKey; secret: string }> {
  const r = createKeySchema.safeParse(raw, { error: missingIsRequired });
  if (!r.success) {
    const issue = r.error.issues[0];
    // a body that is no object (an array, a string) is told what to send, not zod's 'expected object' at path ""
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
      throw new LlmscopeError(
        'LLMSCOPE_ERR_INVALID_BODY',
        'invalid key: the body must be a JSON object such as {"name": "search-prod", "team": "search"}',
        { param: null },
      );
    // A field the body should not have is named by itself, with the fields a key takes (its path is the body's: "").
    if (issue?.code === 'unrecognized_keys')
      throw new LlmscopeError(
        'LLMSCOPE_ERR_INVALID_BODY',
        `invalid key: unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')}; a key takes ${Object.keys(createKeySchema.shape).join(', ')}`,
        { param: issue.keys[0] ?? null },
      );
    const path = issue?.path.map(String).join('.') ?? '';
    // a pattern refused is named by itself ("models.0" alone did not say which of several was wrong)
    const models = (raw as { models?: unknown } | null)?.models;
    const bad = issue?.code === 'invalid_format' && issue.path[0] === 'models' && Array.isArray(models);
    const message = bad
      ? `invalid key "${path}": ${JSON.stringify(models[Number(issue.path[1])])} is not a model name or pattern (no spaces or control characters; separate several with commas)`
      : `invalid key "${path}": ${issue?.message}`;
    throw new LlmscopeError('LLMSCOPE_ERR_INVALID_BODY', message, {
      param: path || null,
    });
  }
  const b = r.data;
  const expiresAt = b.expires_in !== undefined ? opts.now + durationMs(b.expires_in) : (b.expires_at ?? null);
  if (expiresAt !== null && !(expiresAt <= MAX_TIME_MS))
    throw new LlmscopeError(
      'LLMSCOPE_ERR_INVALID_BODY',
      'the expiry is past the latest time a date can hold (+275760-09-13); give an earlier one',
      { param: b.expires_in !== undefined ? 'expires_in' : 'expires_at' },
    );
  if (expiresAt !== null && expiresAt <= opts.now)
    throw new LlmscopeError(
      'LLMSCOPE_ERR_INVALID_BODY',
      'the key would expire before it is created; give a later expiry',
      {
        param: b.expires_in !== undefined ? 'expires_in' : 'expires_at',
      },
    );
  let id = newId();
  while (opts.configIds?.has(id)) id = newId();
  const secret = newKey();
  const key: StoredKey = {
    id,
    name: b.name,
    prefix: prefixOf(secret),
    hash: hashKey(secret),
    user: b.user ?? null,
    team: b.team ?? null,
    feature: b.feature ?? null,
    trustHeaders: [...new Set(b.trust_headers)],
    rpm: b.rpm ?? null,
    tpm: b.tpm ?? null,
    createdAt: opts.now,
    createdBy: opts.by,
    expiresAt,
    revokedAt: null,
    rotatedAt: null,
    models: [...new Set(b.models ?? [])],
  };
  try {
    await store.insert(key);
  } catch (err) {
    if (err instanceof KeyConflictError)
      throw new LlmscopeError('LLMSCOPE_ERR_KEY_NAME_TAKEN', err.message, { param: 'name' });
    throw err;
  }
  return { key, secret };
}

/**
 * The stored key with this id, else the one not revoked with this name, else the last revoked one with this name; a
 * coded 404 when there is none.
 */
export async function findKey(store: KeyStore, idOrName: string, configIds?: ReadonlySet<string>): Promise<StoredKey> {
  const byId = await store.byId(idOrName);
  if (byId) return byId;
  const byName = (await store.list()).find((k) => k.name === idOrName);
  if (byName) return byName;
  // only revoked keys have this name: the newest of them, so `revoke` says it already was and `rotate` why it cannot
  const revoked = (await store.list({ includeRevoked: true })).filter((k) => k.name === idOrName);
  if (revoked.length > 0) return revoked.reduce((a, b) => ((b.revokedAt ?? 0) > (a.revokedAt ?? 0) ? b : a));
  throw new LlmscopeError(
    'LLMSCOPE_ERR_NOT_FOUND',
    configIds?.has(idOrName)
      ? `key "${idOrName}" is defined in the config file (keys:), not the store; set "disabled: true" on it there`
      : `no stored key has id or name "${idOrName}"; \`llmscope keys list\` (or GET /api/keys) shows them`,
  );
}

/** Revokes a key (at once in this process; within a second on every replica). Revoking twice keeps the first time. */
export async function revokeKey(store: KeyStore, k: StoredKey, now: number): Promise<StoredKey> {
  return (await store.revoke(k.id, now)) ?? k;
}

/** A new secret for a key that is not revoked; the old one stops. */
export async function rotateKey(
  store: KeyStore,
  k: StoredKey,
  now: number,
): Promise<{ key: StoredKey; secret: string }> {
  if (k.revokedAt !== null)
    throw new LlmscopeError(
      'LLMSCOPE_ERR_INVALID_BODY',
      `key "${k.name}" (${k.id}) is revoked; create a new key instead of rotating it`,
    );
  // A new secret for an expired key would be refused on its first call: say so instead of showing it once as usable.
  if (k.expiresAt !== null && k.expiresAt <= now)
    throw new LlmscopeError(
      'LLMSCOPE_ERR_INVALID_BODY',
      `key "${k.name}" (${k.id}) expired at ${new Date(k.expiresAt).toISOString()}; a new secret would be refused too: create a new key instead of rotating it`,
    );
  const secret = newKey();
  const key = await store.rotate(k.id, { hash: hashKey(secret), prefix: prefixOf(secret) }, now);
  if (!key || key.hash !== hashKey(secret))
    throw new LlmscopeError('LLMSCOPE_ERR_NOT_FOUND', `key "${k.name}" (${k.id}) was revoked or removed meanwhile`);
  return { key, secret };
}

/** ISO 8601, or null for no time or one no Date can hold (a row stored before such expiries were refused). */
const iso = isoOrNull;

/** The dates of a stored key that no Date can hold (listed as null): empty for every key but a corrupt row. */
export function badDatesOf(k: StoredKey): string[] {
  const out: string[] = [];
  for (const [f, t] of [
    ['created_at', k.createdAt],
    ['expires_at', k.expiresAt],
    ['revoked_at', k.revokedAt],
    ['rotated_at', k.rotatedAt],
  ] as const)
    if (t !== null && !isDateTime(t)) out.push(f);
  return out;
}

export type KeyStatus = 'active' | 'expired' | 'revoked' | 'disabled';

/** A key as /api/keys and `keys list --json` show it: never its secret, nor its hash. */
export interface KeyView {
  id: string;
  name: string;
  source: 'store' | 'config';
  prefix: string | null;
  status: KeyStatus;
  user: string | null;
  team: string | null;
  feature: string | null;
  trust_headers: string[];
  rpm: number | null;
  tpm: number | null;
  created_at: string | null;
  created_by: string | null;
  expires_at: string | null;
  revoked_at: string | null;
  rotated_at: string | null;
  /** Models its calls may name (names or patterns); empty: every model. */
  models: string[];
}

export function keyView(k: StoredKey, now: number): KeyView {
  return {
    id: k.id,
    name: k.name,
    source: 'store',
    prefix: k.prefix,
    status: k.revokedAt !== null ? 'revoked' : k.expiresAt !== null && k.expiresAt <= now ? 'expired' : 'active',
    user: k.user,
    team: k.team,
    feature: k.feature,
    trust_headers: [...k.trustHeaders],
    rpm: k.rpm,
    tpm: k.tpm,
    created_at: iso(k.createdAt),
    created_by: k.createdBy,
    expires_at: iso(k.expiresAt),
    revoked_at: iso(k.revokedAt),
    rotated_at: iso(k.rotatedAt),
    models: [...k.models],
  };
}

/** A config key as listed beside the stored ones (read-only: it is changed in the config file). */
export function configKeyView(k: KeyConfig): KeyView {
  return {
    id: k.id,
    name: k.id,
    source: 'config',
    prefix: null,
    status: k.disabled ? 'disabled' : 'active',
    user: k.user ?? null,
    team: k.team ?? null,
    feature: k.feature ?? null,
    trust_headers: [...k.trustHeaders],
    rpm: k.rpm ?? null,
    tpm: k.tpm ?? null,
    created_at: null,
    created_by: null,
    expires_at: null,
    revoked_at: null,
    rotated_at: null,
    models: [...(k.models ?? [])],
  };
}
