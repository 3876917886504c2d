// Opening the store for commands that only read stored history (`alerts backtest`): the store must already exist.
// `createStore` + `migrate()` would make an empty one, and a command reading it would then report "0 of everything"
// as if that were the history; here a missing store is an error that says where it looked and what to do.
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import pg from 'pg';
import { LlmscopeError } from '../errors.js';
import { createStore, redactPgUrl, type Store, sqlitePathOf } from '../store/index.js';

const pointAt = '--config with the storage.url it writes to';

/**
 * For a missing SQLite store with the demo's store beside it (`llmscope demo` keeps `demo.db`, `serve`
 * `llmscope.db`): where the demo's calls are, since running the demo does not fill this store. Else ''.
 */
export function demoStoreNote(path: string): string {
  const demo = join(dirname(resolve(path)), 'demo.db');
  if (basename(path) === 'demo.db' || !existsSync(demo)) return '';
  return `; \`llmscope demo\` keeps its calls apart, in a store of its own: sqlite:${demo}`;
}

/**
 * Throws when `url` names no store with llmscope data yet; never creates a file, directory or table. `point` is how
 * this command is pointed at another store (migrate has --from, not --config).
 */
export async function assertStoreExists(url: string, command: string, point = pointAt): Promise<void> {
  const hint = `run \`llmscope serve\` (or \`llmscope demo\`) first, or pass ${point}`;
  const u = url.trim();
  if (u.startsWith('sqlite:')) {
    const path = sqlitePathOf(u);
    if (!path || path === ':memory:')
      throw new LlmscopeError(
        'LLMSCOPE_ERR_CONFIG_INVALID',
        `${command} reads stored history, and storage.url "${url}" keeps none on disk; ${hint}`,
      );
    if (!existsSync(path))
      throw new LlmscopeError(
        'LLMSCOPE_ERR_CONFIG_INVALID',
        `no llmscope data at ${resolve(path)}; run \`llmscope serve\` first, or pass ${point}${demoStoreNote(path)}`,
      );
    return;
  }
  if (/^postgres(ql)?:\/\//i.test(u)) {
    const client = new pg.Client({ connectionString: u, connectionTimeoutMillis: 10_000 });
    let found: boolean;
    try {
      await client.connect();
      const r = await client.query<{ t: string | null }>("SELECT to_regclass('calls')::text AS t");
      found = r.rows[0]?.t != null;
    } catch (err) {
      throw new LlmscopeError(
        'LLMSCOPE_ERR_CONFIG_INVALID',
        `cannot reach the PostgreSQL store ${redactPgUrl(u)}: ${(err as Error).message}`,
      );
    } finally {
      await client.end().catch(() => {});
    }
    if (!found)
      throw new LlmscopeError('LLMSCOPE_ERR_CONFIG_INVALID', `no llmscope data in ${redactPgUrl(u)}; ${hint}`);
    return;
  }
  createStore(u); // throws the unsupported-URL error
}

/** The store at `url`, migrated, when it already exists (see assertStoreExists). */
export async function openExistingStore(url: string, command: string, point = pointAt): Promise<Store> {
  await assertStoreExists(url, command, point);
  const store = createStore(url);
  try {
    await store.migrate();
  } catch (err) {
    await store.close().catch(() => {});
    throw err;
  }
  return store;
}
