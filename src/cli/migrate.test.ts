import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createStore } from '../store/index.js';
import { migrateStores } from './migrate.js';

describe('llmscope migrate', () => {
  it('a missing SQLite store is named, with a hint that uses flags migrate has (--from, not --config)', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'llmscope-mig-')), 'none.db');
    const err = await migrateStores({ from: `sqlite:${path}`, to: 'postgres://u:pw@127.0.0.1:1/db' }).catch((e) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toContain(`no llmscope data at ${path}`);
    expect(err.message).toContain('--from sqlite:PATH');
    expect(err.message).not.toContain('--config');
  });

  it('a store it cannot open is blamed on the flag that named it (--to, --from), not on storage.url', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmscope-mig-'));
    const from = `sqlite:${join(dir, 'src.db')}`;
    const src = createStore(from);
    await src.migrate();
    await src.close();
    const unreachable = 'postgres://u:pw@127.0.0.1:1/db';
    const to = await migrateStores({ from, to: unreachable }).catch((e) => e);
    expect(to).toBeInstanceOf(Error);
    expect(to.message).toMatch(/cannot connect to PostgreSQL at .*127\.0\.0\.1:1.*; check --to and that the server/);
    expect(to.message).not.toContain('storage.url');
    expect(to.message).not.toContain(':pw@');
    const env = await migrateStores({ from, to: unreachable, toSource: 'LLMSCOPE_STORAGE_URL' }).catch((e) => e);
    expect(env.message).toMatch(/check LLMSCOPE_STORAGE_URL and that the server/);
    // a --from that exists but is no database file (a folder)
    const folder = join(dir, 'a-folder');
    mkdirSync(folder);
    const bad = await migrateStores({ from: `sqlite:${folder}`, to: unreachable }).catch((e) => e);
    expect(bad.message).toMatch(/cannot open the SQLite database at .*a-folder.*; check --from \(sqlite:PATH\)/);
    expect(bad.message).not.toContain('storage.url');
  });
});
