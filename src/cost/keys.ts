// Virtual keys (`lsk_...`): a client presents one instead of a provider key; llmscope knows it only by its SHA-256,
// takes user and team from it (so headers cannot claim someone else's identity), and sends the provider llmscope's
// own upstream key. The key itself is never stored, logged or forwarded.
//
// Keys come from two places: the config (`keys:`, read once at start) and the store (`llmscope keys create`,
// POST /api/keys), looked up by hash and cached for at most KEY_CACHE_MS, so a key revoked on any replica stops on
// every replica within a second. Once any key exists, every gateway call needs one.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { LlmscopeError } from '../errors.js';
import type { Admission, GatewayHook } from '../gateway/proxy.js';
import { globToRegExp } from '../gateway/routing.js';
import type { KeyConfig } from './config.js';
import type { AttributionHeader, KeyStore, StoredKey } from './storage/keys-types.js';

export const KEY_PREFIX = 'lsk_';
/** Characters of a key shown to recognise it: `lsk_` and 8 more. */
export const SHOWN_PREFIX_CHARS = 12;
/** How long a key looked up in the store is trusted before it is read again: revocation reaches here within it. */
export const KEY_CACHE_MS = 500;
/** Most lookups cached (known and unknown keys); beyond it the cache is cleared. */
const MAX_CACHED = 10_000;

/** `sha256:<hex>` of a key, the form config and the store hold. */
export function hashKey(key: string): string {
  return `sha256:${createHash('sha256').update(key, 'utf8').digest('hex')}`;
}

/** A new random key (`lsk_` + 40 base64url characters: 240 bits). */
export function newKey(): string {
  return KEY_PREFIX + randomBytes(30).toString('base64url');
}

/** The part of a key shown in lists. */
export function prefixOf(key: string): string {
  return key.slice(0, SHOWN_PREFIX_CHARS);
}

/** Equal hashes, compared in constant time. */
export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

export interface VirtualKey {
  id: string;
  name: string;
  user: string | null;
  team: string | null;
  feature: string | null;
  trustHeaders: ReadonlySet<string>;
  disabled: boolean;
  rpm: number | null;
  tpm: number | null;
  expiresAt: number | null;
  revokedAt: number | null;
  source: 'config' | 'store';
  /** The models calls with this key may name, as written (names or patterns); empty: every model. */
  models: readonly string[];
}

/** Compiled model patterns (plain data stays on VirtualKey, which travels between processes). */
const patternCache = new Map<string, RegExp>();

/** Whether a key may call `model`: its `models` empty, or one of them matching (`*`/`?` as `routes`, any case). */
export function keyAllowsModel(key: Pick<VirtualKey, 'models'>, model: string): boolean {
  if (key.models.length === 0) return true;
  return key.models.some((p) => {
    let re = patternCache.get(p);
    if (!re) {
      if (patternCache.size >= MAX_CACHED) patternCache.clear();
      re = globToRegExp(p);
      patternCache.set(p, re);
    }
    return re.test(model);
  });
}

/** The configured keys by hash. Keys given by `keyEnv` are read and hashed once, here. */
export class KeyRing {
  private readonly byHash = new Map<string, VirtualKey>();
  readonly ids = new Set<string>();
  readonly problems: string[] = [];

  constructor(keys: readonly KeyConfig[], env: NodeJS.ProcessEnv = process.env) {
    for (const k of keys) {
      this.ids.add(k.id);
      let hash = k.hash?.toLowerCase();
      if (k.keyEnv !== undefined) {
        const plain = env[k.keyEnv];
        if (!plain) {
          this.problems.push(`keys: "${k.id}" reads its key from $${k.keyEnv}, which is not set; the key is disabled`);
          continue;
        }
        if (!plain.startsWith(KEY_PREFIX))
          this.problems.push(`keys: $${k.keyEnv} for "${k.id}" does not start with lsk_`);
        hash = hashKey(plain);
      }
      if (!hash) continue;
      this.byHash.set(hash, {
        id: k.id,
        name: k.id,
        user: k.user ?? null,
        team: k.team ?? null,
        feature: k.feature ?? null,
        trustHeaders: new Set(k.trustHeaders),
        disabled: k.disabled,
        rpm: k.rpm ?? null,
        tpm: k.tpm ?? null,
        expiresAt: null,
        revokedAt: null,
        source: 'config',
        models: [...(k.models ?? [])],
      });
    }
  }

  get size(): number {
    return this.byHash.size;
  }

  lookup(key: string): VirtualKey | null {
    return this.byHash.get(hashKey(key)) ?? null;
  }
}

export function virtualKeyOf(k: StoredKey): VirtualKey {
  return {
    id: k.id,
    name: k.name,
    user: k.user,
    team: k.team,
    feature: k.feature,
    trustHeaders: new Set(k.trustHeaders),
    disabled: false,
    rpm: k.rpm,
    tpm: k.tpm,
    expiresAt: k.expiresAt,
    revokedAt: k.revokedAt,
    source: 'store',
    models: [...k.models],
  };
}

/**
 * Keys a program gives its own app at run time (the demo's traffic key), by the config object they go with: accepted
 * like config keys, but they do not make keys required (calls without a key pass until the config or the store has
 * one), and no list shows them (GET /api/keys, `keys list` read the config's and the store's). Never read from a file.
 */
const runtimeKeys = new WeakMap<object, readonly KeyConfig[]>();

/** Gives `config`'s app these keys besides its own (see runtimeKeys); returns `config`. */
export function withRuntimeKeys<T extends object>(config: T, keys: readonly KeyConfig[]): T {
  runtimeKeys.set(config, keys);
  return config;
}

/** The keys `withRuntimeKeys` gave `config` (none when it gave none). */
export function runtimeKeysOf(config: object): readonly KeyConfig[] {
  return runtimeKeys.get(config) ?? [];
}

/**
 * Every key the gateway accepts: the config's, then the store's (by hash, cached for at most `KEY_CACHE_MS`). A
 * store that cannot be read serves what it last said about a key; a key it never answered for is refused with 503.
 */
export class KeyDirectory {
  private readonly cache = new Map<string, { key: VirtualKey | null; at: number }>();
  private stored: { count: number; at: number } | null = null;

  constructor(
    readonly ring: KeyRing,
    private readonly store: KeyStore | null,
    private readonly now: () => number = Date.now,
    private readonly ttlMs = KEY_CACHE_MS,
    /** Keys accepted besides these that do not count toward `required()` (runtimeKeys). */
    private readonly unlisted: KeyRing | null = null,
  ) {}

  /** True when calls need a key: the config has keys, or the store has ever held one (revoked ones count). */
  async required(): Promise<boolean> {
    const known = this.requiredNow();
    if (known !== null || !this.store) return known === true;
    const t = this.now();
    let stored = this.stored;
    try {
      stored = { count: await this.store.count(), at: t };
      this.stored = stored;
    } catch (err) {
      if (!stored) throw unavailable(err);
    }
    return stored.count > 0;
  }

  /** What `required()` answers without asking the store (from the config or a fresh count), else null. */
  requiredNow(): boolean | null {
    if (this.ring.size > 0) return true;
    if (!this.store) return false;
    const s = this.stored;
    if (s && (s.count > 0 || this.now() - s.at < this.ttlMs)) return s.count > 0;
    return null;
  }

  /** The key for a presented `lsk_...` token, or null when no key has that hash. */
  async lookup(token: string): Promise<VirtualKey | null> {
    const fromConfig = this.ring.lookup(token) ?? this.unlisted?.lookup(token) ?? null;
    if (fromConfig || !this.store) return fromConfig;
    const hash = hashKey(token);
    const t = this.now();
    const hit = this.cache.get(hash);
    if (hit && t - hit.at < this.ttlMs) return hit.key;
    let row: StoredKey | null;
    try {
      row = await this.store.byHash(hash);
    } catch (err) {
      if (hit) return hit.key;
      throw unavailable(err);
    }
    const key = row && sameHash(row.hash, hash) ? virtualKeyOf(row) : null;
    if (this.cache.size >= MAX_CACHED) this.cache.clear();
    this.cache.set(hash, { key, at: t });
    if (key) this.stored = { count: Math.max(1, this.stored?.count ?? 1), at: t };
    return key;
  }

  /** Forgets cached lookups (after this process revoked, rotated or created a key). */
  invalidate(): void {
    this.cache.clear();
    this.stored = null;
  }
}

function unavailable(err: unknown): LlmscopeError {
  return new LlmscopeError(
    'LLMSCOPE_ERR_KEY_STORE_UNAVAILABLE',
    `llmscope cannot read its virtual keys from the store (${(err as Error)?.message ?? String(err)}); retry shortly`,
    { headers: { 'retry-after': '1' } },
  );
}

/**
 * The client's key: `Authorization: Bearer <key>`, Anthropic's `x-api-key: <key>` (Anthropic SDKs, Claude Code) or
 * Gemini's `x-goog-api-key: <key>` (@google/genai; a `?key=lsk_...` is moved there by the Gemini adapter).
 */
function bearer(a: Admission): string | null {
  const h = a.headers.authorization;
  const v = Array.isArray(h) ? h[0] : h;
  if (!v) {
    const x = a.headers['x-api-key'] ?? a.headers['x-goog-api-key'];
    const k = (Array.isArray(x) ? x[0] : x)?.trim();
    return k ? k : null;
  }
  const m = /^Bearer\s+(\S+)\s*$/i.exec(v);
  return m ? (m[1] as string) : null;
}

/** What the key hook leaves in `Admission.state` for the hooks after it (rate limits). */
export const KEY_STATE = 'virtualKey';

/** The key a call was admitted with, from its admission state. */
export function admittedKey(state: Record<string, unknown> | undefined): VirtualKey | null {
  return (state?.[KEY_STATE] as VirtualKey | undefined) ?? null;
}

const iso = (t: number) => new Date(t).toISOString();

/**
 * The `authenticate` hook: once keys exist (config or store), every gateway call needs a known, live `lsk_` key;
 * attribution then comes from the key (headers only for what the key trusts them with), and the client's
 * Authorization stays here. Without keys, calls pass with the client's own Authorization.
 */
export function keyHook(keys: KeyDirectory | KeyRing, now: () => number = Date.now): GatewayHook {
  const dir = keys instanceof KeyRing ? new KeyDirectory(keys, null, now) : keys;
  return {
    name: 'virtual-keys',
    authenticate(a) {
      const token = bearer(a);
      if (token?.startsWith(KEY_PREFIX)) return admitKey(a, token);
      // No llmscope key presented: the common call of a gateway without keys passes at once, without a promise.
      const known = dir.requiredNow();
      if (known === false) return;
      if (known === true) return Promise.reject(keyNeeded(token, a));
      return dir.required().then((required) => {
        if (required) throw keyNeeded(token, a);
      });
    },
    // A call refused without a live key (none, unknown, revoked, expired, or a body refused before the key was read)
    // is recorded without the attribution its client claimed, once keys exist.
    distrusts: () => dir.requiredNow() === true,
  };

  async function admitKey(a: Admission, token: string): Promise<void> {
    const key = await dir.lookup(token);
    const t = now();
    const why = !key
      ? 'unknown virtual key; check the lsk_ key you were given'
      : key.disabled
        ? 'this virtual key is disabled'
        : key.revokedAt !== null
          ? `this virtual key was revoked at ${iso(key.revokedAt)}; ask your llmscope admin for a new one`
          : key.expiresAt !== null && key.expiresAt <= t
            ? `this virtual key expired at ${iso(key.expiresAt)}; ask your llmscope admin for a new one`
            : null;
    if (why !== null || !key) throw new LlmscopeError('LLMSCOPE_ERR_INVALID_API_KEY', why ?? 'unknown virtual key');
    const at = a.attribution;
    const trust = key.trustHeaders;
    at.apiKeyId = key.id;
    at.user = trust.has('user') ? (at.user ?? key.user) : key.user;
    at.team = trust.has('team') ? (at.team ?? key.team) : key.team;
    at.feature = trust.has('feature') ? (at.feature ?? key.feature) : key.feature;
    if (!trust.has('session')) at.session = null;
    a.forwardClientAuth = false;
    a.state[KEY_STATE] = key;
    if (key.models.length > 0) a.allowedModels = key.models;
    // A call naming a model the key is not given is refused here, before routing and the upstream. Calls that
    // name none (GET /v1/responses/{id}, a realtime sideband) pass: they continue something already admitted.
    if (a.model && !keyAllowsModel(key, a.model))
      throw new LlmscopeError(
        'LLMSCOPE_ERR_MODEL_NOT_ALLOWED',
        `virtual key "${key.name}" (${key.id}) may not call model "${a.model}"; it may call: ${key.models.join(', ')}. Ask your llmscope admin to add the model to the key's models`,
        { param: 'model' },
      );
  }
}

/** How a client of each route sends its key: the header its SDKs use, so the 401 tells that client what to set. */
function keyHowTo(a: Admission): string {
  const format =
    a.format ?? (a.endpoint === 'messages' ? 'anthropic' : a.endpoint === 'generate_content' ? 'gemini' : null);
  if (format === 'anthropic')
    return 'send "x-api-key: lsk_..." (ANTHROPIC_API_KEY=lsk_... for Claude Code and the Anthropic SDKs)';
  if (format === 'gemini')
    return 'send "x-goog-api-key: lsk_..." (GEMINI_API_KEY=lsk_..., or apiKey in @google/genai) or ?key=lsk_...';
  return 'send "Authorization: Bearer lsk_..." (OPENAI_API_KEY=lsk_... for the OpenAI SDKs)';
}

function keyNeeded(token: string | null, a: Admission): LlmscopeError {
  return new LlmscopeError(
    'LLMSCOPE_ERR_INVALID_API_KEY',
    token === null
      ? `this llmscope gateway needs a virtual key: ${keyHowTo(a)}; ask your llmscope admin for one`
      : `this llmscope gateway takes llmscope virtual keys (lsk_...), not provider keys (the provider key is kept in llmscope’s config): ${keyHowTo(a)}`,
  );
}

export type { AttributionHeader };
