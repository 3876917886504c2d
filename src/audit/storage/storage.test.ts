// The audit store contract on every backend, and the append-only guarantee on the databases themselves: an UPDATE,
// DELETE (or TRUNCATE) that bypasses llmscope's API is refused by the schema.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
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

/** On a file database, whose writes run on the store's writer thread. */
async function onSqliteFile(
  path = join(mkdtempSync(join(tmpdir(), 'llmscope-audit-')), 'app.db'),
  busyTimeoutMs = 5000,
) {
  const store = new SqliteStore(path, { busyTimeoutMs });
  open.push(store);
  const audit = auditStoreFor(store.backend);
  await audit.migrate();
  await store.migrate();
  return { store, audit };
}

const backends: [string, () => Promise<AuditStore>][] = [
  ['memory', async () => new MemoryAuditStore()],
  ['sqlite', async () => (await onSqlite()).audit],
  ['sqlite file (writer thread)', async () => (await onSqliteFile()).audit],
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

describe('SQLite file: an entry is appended on the writer thread', () => {
  it('the event loop does not wait for the write lock another connection holds', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'llmscope-audit-')), 'app.db');
    const { store, audit } = await onSqliteFile(path, 2000);
    const other = new Database(path);
    other.exec('BEGIN IMMEDIATE');
    let released = false;
    // Runs only while the append waits off the event loop; before, the append waited on it (SQLite's busy handler
    // sleeps in the calling thread) and failed with SQLITE_BUSY after the busy timeout.
    setTimeout(() => {
      other.exec('ROLLBACK');
      released = true;
    }, 100);
    const id = await audit.append({ ...row, action: 'feedback.put' });
    expect(released).toBe(true);
    expect(id).toBeGreaterThan(0);
    expect((await audit.list({})).entries.map((e) => [e.id, e.action])).toEqual([[id, 'feedback.put']]);
    expect(await store.callWriterThread()).not.toBeNull();
    other.close();
  });
});

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
