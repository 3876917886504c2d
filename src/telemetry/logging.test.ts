import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from './logging.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('createLogger on a stdout whose reader lags', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  it('buffers up to its limit, then drops and counts lines; every line is either delivered or counted', async () => {
    // A pipe nobody reads yet: a FIFO opened read-write and non-blocking, so writes fail with EAGAIN once its
    // 64 KiB are full, as stdout does when a log shipper stalls.
    const dir = mkdtempSync(join(tmpdir(), 'llmscope-log-'));
    const fifo = join(dir, 'stdout');
    execFileSync('mkfifo', [fifo]);
    const fd = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK);
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));

    let dropped = 0;
    const logger = createLogger({ fd, bufferLimitBytes: 128 * 1024, onDrop: (n) => (dropped += n) });
    const total = 5000;
    const pad = 'x'.repeat(150);
    for (let i = 0; i < total; i++) logger.info({ i, pad }, 'line');
    // ~1 MB of lines against 64 KiB of pipe + 128 KiB of buffer: most are dropped, at once, without blocking.
    expect(dropped).toBeGreaterThan(total / 2);
    expect(dropped).toBeLessThan(total);

    // The reader catches up: what was buffered arrives (sonic-boom retries 100 ms after EAGAIN), nothing else.
    const buf = Buffer.alloc(1 << 20);
    let received = '';
    for (let idle = 0; idle < 10; ) {
      let n = 0;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      }
      if (n > 0) {
        received += buf.toString('utf8', 0, n);
        idle = 0;
      } else {
        idle++;
        await sleep(50);
      }
    }
    const lines = received.split('\n').filter(Boolean);
    expect(lines.every((l) => JSON.parse(l).msg === 'line')).toBe(true);
    expect(lines.length + dropped).toBe(total);

    // And logging goes on normally once the reader keeps up.
    logger.info('after');
    await sleep(50);
    const n = readSync(fd, buf, 0, buf.length, null);
    expect(JSON.parse(buf.toString('utf8', 0, n)).msg).toBe('after');
    closeSync(fd);
  });
});
