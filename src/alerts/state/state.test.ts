// The alert state contract on every backend: memory, SQLite, and PostgreSQL (shared by replicas).
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type TestPostgres } from '../../../test/pg.js';
import { PostgresStore, SqliteStore } from '../../store/index.js';
import { alertStateStoreFor } from './index.js';
import { MemoryAlertStateStore } from './memory.js';
import { PostgresAlertStateStore } from './postgres.js';
import { SqliteAlertStateStore } from './sqlite.js';
import { alertStateContract } from './state.contract.js';
import type { AlertStateStore } from './types.js';

let pg: TestPostgres | undefined;
const open: PostgresStore[] = [];
beforeAll(async () => {
  pg = await startPostgres();
});
afterAll(async () => {
  for (const s of open.splice(0)) await s.close().catch(() => {});
  await pg?.stop();
});

const backends: [string, () => Promise<AlertStateStore>][] = [
  ['memory', async () => new MemoryAlertStateStore()],
  ['sqlite', async () => new SqliteAlertStateStore(new Database(':memory:'))],
  [
    'postgres',
    async () => {
      const store = new PostgresStore(await (pg as TestPostgres).freshSchemaUrl());
      open.push(store);
      await store.migrate();
      const state = new PostgresAlertStateStore(store.backend);
      await state.migrate();
      return state;
    },
  ],
];

describe.each(backends)('%s', (name, make) => alertStateContract(name, make));

describe('alert state on the app store', () => {
  it('is versioned in schema_migrations (alerts) on SQLite, as on PostgreSQL', async () => {
    const store = new SqliteStore(':memory:');
    await store.migrate();
    const state = alertStateStoreFor(store.backend);
    await state.saveActive([]);
    const versions = store.db.prepare("SELECT version FROM schema_migrations WHERE namespace = 'alerts'").all();
    expect(versions).toEqual([{ version: 1 }]);
    await store.close();
  });
});
