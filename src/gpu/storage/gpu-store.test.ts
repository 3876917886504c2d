// The GpuStore contract (gpu.contract.ts) on every backend: memory, SQLite (alone and on the app store) and
// PostgreSQL; databases an older llmscope made open and migrate in place; and what one backend alone has to show.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type TestPostgres } from '../../../test/pg.js';
import { PostgresStore, SqliteStore } from '../../store/index.js';
import { HOUR_MS, MINUTE_MS } from '../../time.js';
import { gpuStoreContract, s, T0 } from './gpu.contract.js';
import { gpuStoreFor } from './index.js';
import { MemoryGpuStore } from './memory.js';
import { GPU_MIGRATIONS } from './postgres.js';
import { GPU_SCHEMA, SQLITE_GPU_MIGRATIONS, SqliteGpuStore } from './sqlite.js';
import type { GpuStore } from './types.js';

let pg: TestPostgres | undefined;
const open: PostgresStore[] = [];
beforeAll(async () => {
  pg = await startPostgres();
});
afterAll(async () => {
  for (const x of open.splice(0)) await x.close().catch(() => {});
  await pg?.stop();
});

/** A PostgresStore on a fresh schema, migrated (one replica). */
async function pgApp(url?: string): Promise<PostgresStore> {
  const app = new PostgresStore(url ?? (await (pg as TestPostgres).freshSchemaUrl()));
  open.push(app);
  await app.migrate();
  return app;
}

describe.each([
  ['memory', async () => new MemoryGpuStore()],
  ['sqlite', async () => new SqliteGpuStore(new Database(':memory:'))],
  [
    'sqlite (app store)',
    async () => {
      const app = new SqliteStore(':memory:');
      await app.migrate();
      return gpuStoreFor(app.backend);
    },
  ],
  ['postgres', async () => gpuStoreFor((await pgApp()).backend)],
] as [string, () => Promise<GpuStore>][])('%s', (name, make) => gpuStoreContract(name, make));

describe('SqliteGpuStore', () => {
  it('creates its tables idempotently beside other tables', () => {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE calls (id TEXT)');
    new SqliteGpuStore(db);
    new SqliteGpuStore(db);
    const tables = (
      db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]
    ).map((t) => t.name);
    expect(tables).toEqual(['calls', 'gpu_samples', 'gpu_samples_minute', 'schema_migrations']);
  });
});

describe('MemoryGpuStore', () => {
  it('stays bounded, dropping the oldest minutes first', async () => {
    const store = new MemoryGpuStore(10, 5);
    for (let m = 0; m < 8; m++) await store.insertSamples([s('0', T0 + m * MINUTE_MS, 0.5)], 60_000);
    expect(store.rawCount()).toBe(8);
    const [series] = await store.querySeries({ from: 0, to: T0 + HOUR_MS, step: 'minute' });
    expect(series?.points.map((p) => (p.t - T0) / MINUTE_MS)).toEqual([3, 4, 5, 6, 7]);
  });
});

describe('PostgresGpuStore', () => {
  it('is shared: samples one replica writes, another reads; writes at once add up', async () => {
    const url = await (pg as TestPostgres).freshSchemaUrl();
    const a = await gpuStoreFor((await pgApp(url)).backend);
    const b = await gpuStoreFor((await pgApp(url)).backend);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).insertSamples([s('0', T0 + i * 1000, 0.5)], 1000)),
    );
    const [usage] = await b.usage({ from: T0, to: T0 + HOUR_MS });
    expect(usage).toMatchObject({ host: 'box', gpu: '0', samples: 20, gpuSeconds: 20, utilizationAvg: 0.5 });
    expect(await a.usage({ from: T0, to: T0 + HOUR_MS })).toEqual([usage]);
  });

  it('keeps NULs in names from failing a batch, and fractional bounds exact', async () => {
    const store = await gpuStoreFor((await pgApp()).backend);
    await store.insertSamples([{ ...s('0', T0 + 0.5, 0.5), host: 'b\u0000x', name: 'n\u0000' }], 15_000);
    const [series] = await store.querySeries({ from: T0 - 0.5, to: T0 + MINUTE_MS, step: 'minute' });
    expect(series).toMatchObject({ host: 'b\uFFFDx', name: 'n\uFFFD', points: [{ t: T0, samples: 1 }] });
    expect(await store.querySeries({ from: T0 + 0.5, to: T0 + MINUTE_MS, step: 'minute' })).toEqual([]);
  });
});

describe('gpu migrations', () => {
  const sha = (sql: unknown) => createHash('sha256').update(String(sql)).digest('hex').slice(0, 16);

  it('never change once shipped (add a version instead)', () => {
    expect(SQLITE_GPU_MIGRATIONS.map((m) => [m.version, sha(m.up)])).toEqual([[1, '131bed43bfde61e9']]);
    expect(GPU_MIGRATIONS.map((m) => [m.version, sha(m.up)])).toEqual([[1, '931cf7cf36f92d98']]);
  });

  it('are versioned in schema_migrations (gpu) on both engines', async () => {
    const app = new SqliteStore(':memory:');
    await app.migrate();
    await gpuStoreFor(app.backend);
    expect(app.db.prepare("SELECT version FROM schema_migrations WHERE namespace = 'gpu'").all()).toEqual([
      { version: 1 },
    ]);
    await app.close();
    const pgStore = await pgApp();
    await gpuStoreFor(pgStore.backend);
    const { rows } = await pgStore.backend.pool.query("SELECT version FROM schema_migrations WHERE namespace = 'gpu'");
    expect(rows).toEqual([{ version: 1 }]);
  });

  it('an SQLite database whose GPU tables an older llmscope made without recording a version opens, data kept', async () => {
    // What earlier releases left when the store did not version the namespace: the tables, no schema_migrations row.
    const db = new Database(':memory:');
    db.exec(GPU_SCHEMA);
    db.prepare(
      `INSERT INTO gpu_samples_minute (host, gpu, t, name, samples, seconds, util_n, util_sum, util_max, mem_n, mem_used_sum, mem_total_max)
       VALUES ('box', '0', ?, 'old', 4, 60, 4, 2, 0.9, 4, 40, 100)`,
    ).run(T0);
    const store = new SqliteGpuStore(db);
    expect(db.prepare("SELECT version FROM schema_migrations WHERE namespace = 'gpu'").all()).toEqual([{ version: 1 }]);
    await store.insertSamples([s('0', T0 + 1000, 0.5)], 15_000);
    const [u] = await store.usage({ from: T0, to: T0 + HOUR_MS });
    expect(u).toMatchObject({ name: 'NVIDIA H100 80GB HBM3', samples: 5, gpuSeconds: 75, utilizationAvg: 0.5 });
  });

  it('an SQLite app database an older llmscope migrated (gpu at version 1) opens on the app store, data kept', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmscope-gpu-'));
    const path = join(dir, 'old.db');
    try {
      const before = new SqliteStore(path, { checkpointIntervalMs: 0 });
      before.registerMigrations('gpu', SQLITE_GPU_MIGRATIONS);
      await before.migrate();
      await new SqliteGpuStore(before.db).insertSamples([s('0', T0, 0.25)], 15_000);
      await before.close();

      const app = new SqliteStore(path, { checkpointIntervalMs: 0 });
      await app.migrate();
      const store = await gpuStoreFor(app.backend);
      await store.insertSamples([s('0', T0 + 1000, 0.75)], 15_000);
      expect((await store.usage({ from: T0, to: T0 + HOUR_MS }))[0]).toMatchObject({ samples: 2, utilizationAvg: 0.5 });
      expect(app.db.prepare("SELECT count(*) AS n FROM schema_migrations WHERE namespace = 'gpu'").get()).toEqual({
        n: 1,
      });
      await app.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
