// Virtual keys in memory: for tests, and the reference the SQL backends are held to (keys-store.test.ts).
import { KeyConflictError, type KeyStore, type StoredKey } from './keys-types.js';

export class MemoryKeyStore implements KeyStore {
  private readonly keys: StoredKey[] = [];

  async insert(key: StoredKey): Promise<void> {
    if (this.keys.some((k) => k.name === key.name && k.revokedAt === null)) throw new KeyConflictError(key.name);
    if (this.keys.some((k) => k.id === key.id || k.hash === key.hash)) throw new Error(`duplicate key ${key.id}`);
    this.keys.push({ ...key, trustHeaders: [...key.trustHeaders], models: [...key.models] });
  }

  async byHash(hash: string): Promise<StoredKey | null> {
    const k = this.keys.find((x) => x.hash === hash);
    return k ? { ...k } : null;
  }

  async byId(id: string): Promise<StoredKey | null> {
    const k = this.keys.find((x) => x.id === id);
    return k ? { ...k } : null;
  }

  async list(opts: { includeRevoked?: boolean } = {}): Promise<StoredKey[]> {
    return this.keys
      .filter((k) => opts.includeRevoked || k.revokedAt === null)
      .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1))
      .map((k) => ({ ...k }));
  }

  async revoke(id: string, at: number): Promise<StoredKey | null> {
    const k = this.keys.find((x) => x.id === id);
    if (!k) return null;
    k.revokedAt ??= at;
    return { ...k };
  }

  async rotate(id: string, secret: { hash: string; prefix: string }, at: number): Promise<StoredKey | null> {
    const k = this.keys.find((x) => x.id === id);
    if (!k) return null;
    if (k.revokedAt === null) Object.assign(k, { hash: secret.hash, prefix: secret.prefix, rotatedAt: at });
    return { ...k };
  }

  async count(): Promise<number> {
    return this.keys.length;
  }
}
