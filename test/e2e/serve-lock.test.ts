// One `serve` per SQLite store (decision 85): a second `llmscope serve` (or `demo`) on a store another one is serving
// from refuses to start, in one line naming the store and what to do, instead of running a second alert evaluator and
// budget ledger beside the first. The lock goes with the process however it ends (SIGKILL here), and the CLI's other
// commands still open the store meanwhile. Runs the built CLI (npm run build first).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, killServe, type ServeProcess, startServeProcess } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'llmscope-serve-lock-'));
const runs: ServeProcess[] = [];
afterAll(() => {
  for (const r of runs) killServe(r.proc);
  rmSync(dir, { recursive: true, force: true });
});

const serve = async (env: NodeJS.ProcessEnv = {}, args: string[] = []) => {
  const run = await startServeProcess(
    { LLMSCOPE_PORT: '0', ...env },
    ['--upstream', 'http://127.0.0.1:9/v1', ...args],
    { cwd: dir },
  );
  runs.push(run);
  return run;
};

describe('one serve per SQLite store', () => {
  it('refuses a second serve on the same store, in one line, and starts once the first is gone', async () => {
    const first = await serve();
    // one side file, no rollback journal left beside it
    expect(readdirSync(join(dir, 'llmscope-data')).filter((f) => f.includes('serve-lock'))).toEqual([
      'llmscope.db.serve-lock',
    ]);
    // the same default store (./llmscope-data/llmscope.db in the same folder), as a second terminal would start it
    const second = await serve().then(
      () => null,
      (err: Error) => err.message,
    );
    expect(second).not.toBeNull();
    const line = (second as string).split('\n').find((l) => l.includes('llmscope: another llmscope'));
    expect(line).toContain(`is running on the store ${join(dir, 'llmscope-data', 'llmscope.db')}`);
    expect(line).toContain('PostgreSQL');
    expect(second).not.toMatch(/\n\s+at /); // no stack trace
    expect((await fetch(`${first.base}/healthz`)).status).toBe(200);

    // the CLI's other commands still read and write the store while it serves
    const keys = spawnSync(process.execPath, [BIN, 'keys', 'list'], { cwd: dir, encoding: 'utf8' });
    expect(keys.status).toBe(0);

    // another store in the same folder is another deployment: it starts
    const other = await serve({ LLMSCOPE_STORAGE_URL: `sqlite:${join(dir, 'other.db')}` });
    expect((await fetch(`${other.base}/healthz`)).status).toBe(200);

    // a serve killed outright leaves no stale lock behind
    killServe(first.proc);
    await new Promise((r) => first.proc.once('exit', r));
    const third = await serve();
    expect((await fetch(`${third.base}/healthz`)).status).toBe(200);
  }, 120_000);

  it('holds it under --workers too', async () => {
    const db = `sqlite:${join(dir, 'fleet.db')}`;
    await serve({ LLMSCOPE_STORAGE_URL: db }, ['--workers', '2']);
    const again = await serve({ LLMSCOPE_STORAGE_URL: db }).then(
      () => null,
      (err: Error) => err.message,
    );
    expect(again).toContain('another llmscope (serve or demo) is running on the store');
  }, 120_000);
});
