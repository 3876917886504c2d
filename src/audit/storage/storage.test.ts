// The audit store contract on every backend, and the append-only guarantee on the databases themselves: an UPDATE,
// DELETE (or TRUNCATE) that bypasses llmscope's API is refused by the schema.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type TestPostgres } from '../../../test/pg.js';
import { PostgresStore, SqliteStore } from '../../store/index.js';
import { auditContract } from './audit.contract.js';
import { auditStoreFor } from './index.js';
import { MemoryAuditStore } from './memory.js';
import type { AuditStore } from './types.js';

let pg: TestPostgres | undefined;
const open: (PostgresStore | SqliteStore)[] = [];
beforeAll(async () => {
  pg = await startPostgres();
});
afterAll(async () => {
  for (const s of open.splice(0)) await s.close().catch(() => {});
  await pg?.stop();
});

async function onSqlite(): Promise<{ store: SqliteStore; audit: AuditStore }> {
  const store = new SqliteStore(':memory:');
  open.push(store);
  const audit = auditStoreFor(store.backend);
  await audit.migrate();
  await store.migrate();
  return { store, audit };
}

async function onPostgres(): Promise<{ store: PostgresStore; audit: AuditStore }> {
  const store = new PostgresStore(await (pg as TestPostgres).freshSchemaUrl());
  open.push(store);
  await store.migrate();
  const audit = auditStoreFor(store.backend);
  await audit.migrate();
  return { store, audit };
}

const backends: [string, () => Promise<AuditStore>][] = [
  ['memory', async () => new MemoryAuditStore()],
  ['sqlite', async () => (await onSqlite()).audit],
  ['postgres', async () => (await onPostgres()).audit],
];

describe.each(backends)('%s', (name, make) => auditContract(name, make));

const row = {
  at: 1,
  actor: 'ann',
  role: 'admin',
  action: 'login',
  target: null,
  ip: null,
  userAgent: null,
  result: 'ok' as const,
  detail: null,
};

describe('the audit log is append-only in the database itself', () => {
  it('SQLite refuses UPDATE and DELETE, and versions the table in schema_migrations', async () => {
    const { store, audit } = await onSqlite();
    await audit.append(row);
    const db = store.backend.kind === 'sqlite' ? store.backend.db : null;
    expect(() => db?.prepare("UPDATE audit_log SET actor = 'eve'").run()).toThrow(/append-only/);
    expect(() => db?.prepare('DELETE FROM audit_log').run()).toThrow(/append-only/);
    expect((await audit.list({})).entries[0]?.actor).toBe('ann');
    expect(db?.prepare("SELECT version FROM schema_migrations WHERE namespace = 'audit'").all()).toEqual([
      { version: 1 },
    ]);
  });

  it('PostgreSQL refuses UPDATE, DELETE and TRUNCATE', async () => {
    const { store, audit } = await onPostgres();
    await audit.append(row);
    const pool = store.backend.kind === 'postgres' ? store.backend.pool : null;
    await expect(pool?.query("UPDATE audit_log SET actor = 'eve'")).rejects.toThrow(/append-only/);
    await expect(pool?.query('DELETE FROM audit_log')).rejects.toThrow(/append-only/);
    await expect(pool?.query('TRUNCATE audit_log')).rejects.toThrow(/append-only/);
    expect((await audit.list({})).entries[0]?.actor).toBe('ann');
  });
});
