// Virtual keys (`lsk_...`): a client presents one instead of a provider key; llmscope knows it only by its SHA-256,
// takes user and team from it (so headers cannot claim someone else's identity), and sends the provider llmscope's
// own upstream key. The key itself is never stored, logged or forwarded.
import { createHash, randomBytes } from 'node:crypto';
import { LlmscopeError } from '../errors.js';
import type { Admission, GatewayHook } from '../gateway/proxy.js';
import type { KeyConfig } from './config.js';

export const KEY_PREFIX = 'lsk_';

/** `sha256:<hex>` of a key, the form config holds. */
export function hashKey(key: string): string {
  return `sha256:${createHash('sha256').update(key, 'utf8').digest('hex')}`;
}

/** A new random key (`lsk_` + 40 base62-ish characters). */
export function newKey(): string {
  return KEY_PREFIX + randomBytes(30).toString('base64url');
}

export interface VirtualKey {
  id: string;
  user: string | null;
  team: string | null;
  feature: string | null;
  trustHeaders: ReadonlySet<string>;
  disabled: boolean;
}

/** The configured keys by hash. Keys given by `keyEnv` are read and hashed once, here. */
export class KeyRing {
  private readonly byHash = new Map<string, VirtualKey>();
  readonly problems: string[] = [];

  constructor(keys: readonly KeyConfig[], env: NodeJS.ProcessEnv = process.env) {
    for (const k of keys) {
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
        user: k.user ?? null,
        team: k.team ?? null,
        feature: k.feature ?? null,
        trustHeaders: new Set(k.trustHeaders),
        disabled: k.disabled,
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

/**
 * The client's key: `Authorization: Bearer <key>`, Anthropic's `x-api-key: <key>` (Anthropic SDKs, Claude Code) or
 * Gemini's `x-goog-api-key: <key>` (@google/genai).
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

/**
 * The `authenticate` hook: with keys configured, every gateway call needs a known, enabled `lsk_` key; attribution
 * then comes from the key (headers only for what the key trusts them with), and the client's Authorization stays here.
 */
export function keyHook(ring: KeyRing, required: boolean): GatewayHook {
  return {
    name: 'virtual-keys',
    authenticate(a) {
      const token = bearer(a);
      if (token === null || !token.startsWith(KEY_PREFIX)) {
        if (!required) return;
        throw new LlmscopeError(
          'LLMSCOPE_ERR_INVALID_API_KEY',
          token === null
            ? 'this llmscope gateway needs a virtual key: send "Authorization: Bearer lsk_..." (ask your llmscope admin for one)'
            : 'this llmscope gateway takes llmscope virtual keys (lsk_...), not provider keys; the provider key is kept in llmscope’s config',
        );
      }
      const key = ring.lookup(token);
      if (!key || key.disabled)
        throw new LlmscopeError(
          'LLMSCOPE_ERR_INVALID_API_KEY',
          key ? 'this virtual key is disabled' : 'unknown virtual key; check the lsk_ key you were given',
        );
      const at = a.attribution;
      const trust = key.trustHeaders;
      at.apiKeyId = key.id;
      at.user = trust.has('user') ? (at.user ?? key.user) : key.user;
      at.team = trust.has('team') ? (at.team ?? key.team) : key.team;
      at.feature = trust.has('feature') ? (at.feature ?? key.feature) : key.feature;
      if (!trust.has('session')) at.session = null;
      a.forwardClientAuth = false;
    },
  };
}
