import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type TestPostgres } from '../../test/pg.js';
import { createStore } from '../store/index.js';
import { assertStoreExists, openExistingStore } from './existing-store.js';

describe('opening the store of a command that reads history', () => {
  it('SQLite: refuses a missing file without creating it or its folder, opens an existing one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmscope-es-'));
    const path = join(dir, 'sub', 'x.db');
    await expect(assertStoreExists(`sqlite:${path}`, 'test')).rejects.toThrow(`no llmscope data at ${path}`);
    expect(existsSync(join(dir, 'sub'))).toBe(false);
    const s = createStore(`sqlite:${path}`);
    await s.migrate();
    await s.close();
    const again = await openExistingStore(`sqlite:${path}`, 'test');
    expect((await again.listCalls({ limit: 1 })).items).toEqual([]);
    await again.close();
  });

  it("SQLite: a missing store beside the demo's names the demo's, which running the demo fills instead", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmscope-es-'));
    const path = join(dir, 'llmscope.db');
    const plain = assertStoreExists(`sqlite:${path}`, 'alerts backtest');
    await expect(plain).rejects.toThrow(
      /run `llmscope serve` first, or pass --config with the storage.url it writes to$/,
    );
    writeFileSync(join(dir, 'demo.db'), '');
    await expect(assertStoreExists(`sqlite:${path}`, 'alerts backtest')).rejects.toThrow(
      `no llmscope data at ${path}; run \`llmscope serve\` first, or pass --config with the storage.url it writes to; \`llmscope demo\` keeps its calls apart, in a store of its own: sqlite:${join(dir, 'demo.db')}`,
    );
  });

  it('refuses sqlite::memory: and unsupported URLs', async () => {
    await expect(assertStoreExists('sqlite::memory:', 'alerts backtest')).rejects.toThrow(/keeps none on disk/);
    await expect(assertStoreExists('mysql://x/y', 'alerts backtest')).rejects.toThrow(/is not supported/);
  });

  describe('PostgreSQL', () => {
    let pg: TestPostgres;
    beforeAll(async () => {
      pg = await startPostgres();
    });
    afterAll(() => pg?.stop());

    it('refuses a database without llmscope tables and creates none; opens one that has them', async () => {
      const url = await pg.freshSchemaUrl();
      await expect(assertStoreExists(url, 'test')).rejects.toThrow(/no llmscope data in postgres:/);
      const schema = /search_path=(\w+)/.exec(decodeURIComponent(url))?.[1];
      expect(schema).toBeTruthy();
      const tables = await pg.query<{ n: string }>(
        'SELECT count(*)::text AS n FROM information_schema.tables WHERE table_schema = $1',
        [schema],
      );
      expect(tables.rows[0]?.n).toBe('0');
      const s = createStore(url);
      await s.migrate();
      await s.close();
      await expect(assertStoreExists(url, 'test')).resolves.toBeUndefined();
    });

    it('says when the server cannot be reached, without the password', async () => {
      await expect(assertStoreExists('postgres://u:secret@127.0.0.1:1/db', 'test')).rejects.toThrow(
        /cannot reach the PostgreSQL store postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/db/,
      );
    });
  });
});
