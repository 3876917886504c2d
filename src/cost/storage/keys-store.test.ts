// The KeyStore contract: memory, SQLite (on the app store's backend, migrated) and PostgreSQL keep, find, list,
// revoke and rotate keys alike; a live name is unique, a revoked key's name is free again.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Database } from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type TestPostgres } from '../../../test/pg.js';
import { type PostgresBackend, PostgresStore, SqliteStore } from '../../store/index.js';
import { keyStoreFor } from './index.js';
import { MemoryKeyStore } from './keys-memory.js';
import { PG_KEYS_MIGRATIONS, PG_KEYS_NAMESPACE } from './keys-postgres.js';
import { KEYS_NAMESPACE, SQLITE_KEYS_MIGRATIONS } from './keys-sqlite.js';
import { KeyConflictError, type KeyStore, type StoredKey } from './keys-types.js';

let pg: TestPostgres | undefined;
const open: { close(): Promise<void> }[] = [];
beforeAll(async () => {
  pg = await startPostgres();
});
afterAll(async () => {
  for (const s of open.splice(0)) await s.close().catch(() => {});
  await pg?.stop();
});

const stores: [string, () => Promise<KeyStore>][] = [
  ['memory', async () => new MemoryKeyStore()],
  [
    'sqlite',
    async () => {
      const store = new SqliteStore(':memory:');
      open.push(store);
      await store.migrate();
      return keyStoreFor(store.backend);
    },
  ],
  [
    'postgres',
    async () => {
      const store = new PostgresStore(await (pg as TestPostgres).freshSchemaUrl());
      open.push(store);
      await store.migrate();
      return keyStoreFor(store.backend);
    },
  ],
];

const T = Date.parse('2026-03-01T00:00:00Z');
const key = (i: number, over: Partial<StoredKey> = {}): StoredKey => ({
  id: `key_${i}`,
  name: `k${i}`,
  prefix: `lsk_abcdef${i}`,
  hash: `sha256:${String(i).padStart(64, '0')}`,
  user: i % 2 ? `u${i}` : null,
  team: 'search',
  feature: null,
  trustHeaders: ['feature', 'session'],
  rpm: i % 2 ? 60 : null,
  tpm: i % 2 ? null : 100_000,
  createdAt: T + i,
  createdBy: 'admin',
  expiresAt: i === 3 ? T + 86_400_000 : null,
  revokedAt: null,
  rotatedAt: null,
  models: i === 2 ? ['gpt-4o-mini', 'claude-*'] : [],
  ...over,
});

describe.each(stores)('KeyStore on %s', (_name, make) => {
  it('keeps keys and finds them by hash and id, newest first', async () => {
    const s = await make();
    expect(await s.count()).toBe(0);
    for (let i = 1; i <= 3; i++) await s.insert(key(i));
    expect(await s.byHash(key(2).hash)).toEqual(key(2));
    expect((await s.byHash(key(2).hash))?.models).toEqual(['gpt-4o-mini', 'claude-*']);
    expect((await s.byId('key_1'))?.models).toEqual([]);
    expect(await s.byId('key_3')).toEqual(key(3));
    expect(await s.byHash(`sha256:${'f'.repeat(64)}`)).toBeNull();
    expect((await s.list()).map((k) => k.id)).toEqual(['key_3', 'key_2', 'key_1']);
    expect(await s.count()).toBe(3);
  });

  it('revokes once (the first time stays), lists revoked keys only when asked, and frees the name', async () => {
    const s = await make();
    await s.insert(key(1));
    await s.insert(key(2));
    expect((await s.revoke('key_1', T + 100))?.revokedAt).toBe(T + 100);
    expect((await s.revoke('key_1', T + 200))?.revokedAt).toBe(T + 100);
    expect(await s.revoke('key_nope', T)).toBeNull();
    expect((await s.list()).map((k) => k.id)).toEqual(['key_2']);
    expect((await s.list({ includeRevoked: true })).map((k) => k.id)).toEqual(['key_2', 'key_1']);
    await expect(s.insert(key(9, { name: 'k2' }))).rejects.toBeInstanceOf(KeyConflictError);
    await s.insert(key(8, { name: 'k1' }));
    expect(await s.count()).toBe(3);
  });

  it('rotates the secret of a live key, not of a revoked one', async () => {
    const s = await make();
    await s.insert(key(1));
    await s.insert(key(2));
    const fresh = { hash: `sha256:${'a'.repeat(64)}`, prefix: 'lsk_newprefi' };
    const r = await s.rotate('key_1', fresh, T + 5);
    expect(r).toMatchObject({ id: 'key_1', name: 'k1', rpm: 60, ...fresh, rotatedAt: T + 5 });
    expect(await s.byHash(key(1).hash)).toBeNull();
    expect((await s.byHash(fresh.hash))?.id).toBe('key_1');
    // a new secret keeps the key's model allow-list
    const m = await s.rotate('key_2', { hash: `sha256:${'c'.repeat(64)}`, prefix: 'lsk_rotated2' }, T + 6);
    expect(m?.models).toEqual(['gpt-4o-mini', 'claude-*']);
    await s.revoke('key_2', T);
    const r2 = await s.rotate('key_2', { hash: `sha256:${'b'.repeat(64)}`, prefix: 'x' }, T);
    expect(r2?.hash).toBe(`sha256:${'c'.repeat(64)}`);
    expect(await s.rotate('key_nope', fresh, T)).toBeNull();
  });
});

describe('KeyStore upgraded in place', () => {
  it('adds models to a keys table made before it: old keys allow every model, new ones keep their list', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmscope-keys-'));
    const file = join(dir, 'old.db');
    try {
      // a store as llmscope left it before models: cost.keys at version 1, one key in it
      const before = new SqliteStore(file);
      await before.migrate();
      await before.backend.migrations.register(KEYS_NAMESPACE, SQLITE_KEYS_MIGRATIONS.slice(0, 1));
      const cols = (db: Database) => (db.pragma('table_info(api_keys)') as { name: string }[]).map((c) => c.name);
      expect(cols(before.backend.db)).not.toContain('models');
      before.backend.db
        .prepare(
          `INSERT INTO api_keys (id, name, prefix, hash, trust_headers, created_at) VALUES ('key_old', 'old', 'lsk_oldoldol', 'sha256:${'1'.repeat(64)}', '["feature","session"]', ${T})`,
        )
        .run();
      await before.close();

      const after = new SqliteStore(file);
      open.push(after);
      await after.migrate();
      const s = await keyStoreFor(after.backend);
      expect(cols(after.backend.db)).toContain('models');
      const versions = after.backend.db
        .prepare("SELECT version FROM schema_migrations WHERE namespace = 'cost.keys' ORDER BY version")
        .all() as { version: number }[];
      expect(versions.map((v) => v.version)).toEqual([1, 2]);
      expect(await s.byId('key_old')).toMatchObject({ name: 'old', models: [] });
      await s.insert(key(2));
      expect((await s.byId('key_2'))?.models).toEqual(['gpt-4o-mini', 'claude-*']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('on PostgreSQL too: a keys table at version 1 gets models in place', async () => {
    // as llmscope left it before models (cost.keys at version 1, one key), then a new process on the same schema
    const url = await (pg as TestPostgres).freshSchemaUrl();
    const before = new PostgresStore(url);
    await before.migrate();
    const backend = before.backend as PostgresBackend;
    await backend.migrations.register(PG_KEYS_NAMESPACE, PG_KEYS_MIGRATIONS.slice(0, 1));
    await backend.pool.query(
      `INSERT INTO api_keys (id, name, prefix, hash, trust_headers, created_at) VALUES ('key_old', 'old', 'lsk_oldoldol', 'sha256:${'1'.repeat(64)}', '["feature","session"]', ${T})`,
    );
    await before.close();
    const store = new PostgresStore(url);
    open.push(store);
    await store.migrate();
    const s = await keyStoreFor(store.backend);
    expect(await s.byId('key_old')).toMatchObject({ name: 'old', models: [] });
    await s.insert(key(2));
    expect((await s.byId('key_2'))?.models).toEqual(['gpt-4o-mini', 'claude-*']);
  });
});
