// Runs the Store contract suite against every implementation in this build.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe } from 'vitest';
import { createStore } from './index.js';
import { storeContract } from './store.contract.js';
import type { Store } from './store.js';

const dir = mkdtempSync(join(tmpdir(), 'llmscope-store-'));
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const stores: [string, () => Promise<Store>][] = [
  ['sqlite in memory', async () => createStore('sqlite::memory:')],
  ['sqlite temp file', async () => createStore(`sqlite:${join(dir, `db-${++n}`, 'llmscope.db')}`)],
];

describe.each(stores)('%s', (name, make) => storeContract(name, make));
