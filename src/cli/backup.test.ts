// `llmscope backup`: an online copy of a SQLite store that keeps being written while the copy runs, as under `serve`.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedCalls } from '../seed/index.js';
import { createStore, type Store } from '../store/index.js';
import { backupStore } from './backup.js';

let dir: string;
let store: Store;
let url: string;
const END = Date.UTC(2026, 10, 20, 12);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'llmscope-backup-'));
  url = `sqlite:${join(dir, 'llmscope.db')}`;
  store = createStore(url);
  await store.migrate();
  for (const calls of seedCalls({ calls: 20_000, days: 2, end: END, seed: 5, users: 30 }, 2000, { spansFrom: null }))
    await store.insertCalls(calls);
}, 120_000);

afterAll(async () => {
  await store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const countOf = (file: string) => {
  const db = new Database(file, { readonly: true });
  try {
    const calls = (db.prepare('SELECT count(*) AS n FROM calls').get() as { n: number }).n;
    const rolled = (db.prepare('SELECT sum(requests) AS n FROM calls_rollup_hour').get() as { n: number }).n;
    return { calls, rolled, integrity: db.pragma('integrity_check', { simple: true }) };
  } finally {
    db.close();
  }
};

describe('llmscope backup', () => {
  it('copies the store while it is being written, into one consistent, checked file', async () => {
    const to = join(dir, 'backup.db');
    const before = countOf(join(dir, 'llmscope.db')).calls;
    // a writer like the server's recorder: a batch every few ms for as long as the backup runs
    const more = seedCalls({ calls: 20_000, days: 1, end: END + 86_400_000, seed: 6, users: 30 }, 200, {
      spansFrom: null,
    });
    let writes = 0;
    let writing = true;
    const writer = (async () => {
      for (const calls of more) {
        if (!writing) break;
        await store.insertCalls(calls);
        writes++;
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    const r = await backupStore({ from: url, to });
    writing = false;
    await writer;
    expect(writes).toBeGreaterThan(0);
    expect(existsSync(`${to}.partial`)).toBe(false);
    const copy = countOf(to);
    expect(copy.integrity).toBe('ok');
    expect(r.calls).toBe(copy.calls);
    expect(copy.calls).toBeGreaterThanOrEqual(before);
    // calls and their rollups are written in one transaction: a consistent copy agrees with itself
    expect(copy.rolled).toBe(copy.calls);
    // a single file: no WAL needed beside it to restore
    expect(existsSync(`${to}-wal`)).toBe(false);
    // and it opens as a store
    const restored = createStore(`sqlite:${to}`);
    await restored.migrate();
    expect((await restored.listCalls({ limit: 1 })).items).toHaveLength(1);
    await restored.close();
  }, 120_000);

  it('refuses to overwrite a file, a missing store and a PostgreSQL URL', async () => {
    const taken = join(dir, 'taken.db');
    writeFileSync(taken, 'x');
    await expect(backupStore({ from: url, to: taken })).rejects.toThrow(/already exists/);
    const missing = join(dir, 'nope', 'llmscope.db');
    await expect(backupStore({ from: `sqlite:${missing}`, to: join(dir, 'b2.db') })).rejects.toThrow(
      /no llmscope data/,
    );
    expect(existsSync(missing)).toBe(false);
    await expect(backupStore({ from: 'postgres://u:secret@db:5432/x', to: join(dir, 'b3.db') })).rejects.toThrow(
      /pg_dump/,
    );
    await expect(backupStore({ from: 'postgres://u:secret@db:5432/x', to: join(dir, 'b3.db') })).rejects.not.toThrow(
      /secret/,
    );
  });
});
