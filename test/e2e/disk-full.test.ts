// SQLite on a full disk: calls keep being served, the store lane holds the calls it cannot write (retrying, bounded
// by the recorder's capacity), and writes them once space is freed — none lost, none counted twice. The full disk is
// a small tmpfs mounted for the test, so this needs root (CI runs as root); elsewhere it is skipped and says so.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmdirSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricValue, parseMetrics, type Stack, startStack } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'llmscope-full-'));
let mounted = false;
try {
  if (process.getuid?.() === 0) {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', dir]);
    mounted = true;
  }
} catch {
  mounted = false;
}

/** Writes zeros to `file` until the disk is full. */
function fill(file: string): void {
  const fd = openSync(file, 'w');
  const block = Buffer.alloc(64 * 1024);
  try {
    for (;;) writeSync(fd, block);
  } catch {
    // ENOSPC: full
  } finally {
    closeSync(fd);
  }
}

describe.skipIf(!mounted)('SQLite on a full disk (needs root to mount a small tmpfs)', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({
      sim: { ttftMs: 0, tpotMs: 0 },
      config: { storage: { url: `sqlite:${join(dir, 'calls.db')}` } },
    });
  });
  afterAll(async () => {
    await s?.close();
    if (mounted) execFileSync('umount', [dir]);
    rmdirSync(dir);
  });

  it('serves every call while the disk is full and stores them all once space is back', async () => {
    const filler = join(dir, 'filler');
    fill(filler);
    const statuses = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const r = await request(`${s.base}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-request-id': `full-${i}` },
          body: JSON.stringify({
            model: 'gpt-4o-mini',
            messages: [{ role: 'user', content: `call ${i} `.repeat(200) }],
          }),
        });
        await r.body.text();
        return r.statusCode;
      }),
    );
    expect(statuses.every((st) => st === 200)).toBe(true);
    await s.waitForCalls(50);
    // The store cannot write them yet.
    expect(await s.app.ctx.recorder.flush(1_000)).toBe(false);
    expect(await s.app.ctx.store.getCall('full-0')).toBeNull();
    rmSync(filler);
    expect(await s.app.ctx.recorder.flush(15_000)).toBe(true);
    for (let i = 0; i < 50; i++) expect(await s.app.ctx.store.getCall(`full-${i}`)).not.toBeNull();
    const m = parseMetrics(await (await request(`${s.base}/metrics`)).body.text());
    expect(metricValue(m, 'llmscope_recorder_dropped_total', { sink: 'store' })).toBe(0);
  }, 60_000);
});
