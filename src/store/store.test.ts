// Runs the Store contract suite against every implementation in this build: SQLite (memory and file) and PostgreSQL
// (a real server this file starts in a temp dir and stops afterwards; each test gets an empty schema of its own).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe } from 'vitest';
import { startPostgres, type TestPostgres } from '../../test/pg.js';
import { createStore } from './index.js';
import { storeContract } from './store.contract.js';
import type { Store } from './store.js';

const dir = mkdtempSync(join(tmpdir(), 'llmscope-store-'));
let n = 0;
let pg: TestPostgres | undefined;
beforeAll(async () => {
  pg = await startPostgres();
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await pg?.stop();
});

const stores: [string, () => Promise<Store>][] = [
  ['sqlite in memory', async () => createStore('sqlite::memory:')],
  ['sqlite temp file', async () => createStore(`sqlite:${join(dir, `db-${++n}`, 'llmscope.db')}`)],
  ['postgres', async () => createStore(await (pg as TestPostgres).freshSchemaUrl())],
];

describe.each(stores)('%s', (name, make) => storeContract(name, make));
