import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeCall } from '../store.contract.js';
import { BACKSTOP_AUTOCHECKPOINT, DEFAULT_AUTOCHECKPOINT, startCheckpointer } from './checkpointer.js';
import { SqliteStore } from './sqlite-store.js';

const dir = mkdtempSync(join(tmpdir(), 'llmscope-ckpt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('WAL checkpoints off the event loop', () => {
  it('a worker checkpoints what the store commits, and closing leaves no WAL behind', async () => {
    const path = join(dir, 'a.db');
    const store = new SqliteStore(path, { checkpointIntervalMs: 20 });
    await store.migrate();
    expect(store.db.pragma('wal_autocheckpoint', { simple: true })).toBe(BACKSTOP_AUTOCHECKPOINT);
    for (let b = 0; b < 20; b++) await store.insertCalls(Array.from({ length: 50 }, (_, i) => makeCall(b * 50 + i)));
    // Frames in the WAL ([busy, frames, backfilled]) all backfilled by the worker, none by this connection.
    let state: { busy: number; log: number; checkpointed: number } | undefined;
    for (let i = 0; i < 100; i++) {
      await sleep(20);
      const [row] = store.db.pragma('wal_checkpoint(NOOP)') as { busy: number; log: number; checkpointed: number }[];
      state = row;
      if (state && state.log > 0 && state.checkpointed === state.log) break;
    }
    expect(state?.log).toBeGreaterThan(0);
    expect(state?.checkpointed).toBe(state?.log);
    expect((await store.getCall(makeCall(999).requestId))?.requestId).toBe(makeCall(999).requestId);
    await store.close();
    expect(existsSync(`${path}-wal`)).toBe(false);
    const again = new SqliteStore(path, { checkpointIntervalMs: 0 });
    expect((await again.listCalls({ limit: 5 })).items).toHaveLength(5);
    await again.close();
  });

  it('reports a worker that cannot run, so the store returns to automatic checkpoints', async () => {
    const failure = new Promise<unknown>((resolve) => startCheckpointer(join(dir, 'missing', 'x.db'), 20, resolve));
    expect(String(await failure)).toMatch(/unable to open|directory does not exist|SQLITE_CANTOPEN/i);
    expect(DEFAULT_AUTOCHECKPOINT).toBe(1000);
  });
});
