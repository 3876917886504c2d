import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
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
});
