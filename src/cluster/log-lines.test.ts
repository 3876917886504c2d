// Under `serve --workers` the recorder and every worker write their own log lines to one stdout. On a pipe only a
// write of at most PIPE_BUF bytes is never interleaved with another process's, so with sharedStdout each write
// must be whole lines within that size (a line longer than that alone), and nothing lost or reordered.
import fs, { mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger, PIPE_BUF, writeLines } from '../telemetry/logging.js';

afterEach(() => vi.restoreAllMocks());

describe('log lines on a stdout shared by processes', () => {
  it('splits a batch into whole lines of at most PIPE_BUF bytes, in order, a long line alone', () => {
    const lines = Array.from({ length: 300 }, (_, i) => `{"n":${i},"s":"${'é'.repeat(i % 50)}${'x'.repeat(i)}"}\n`);
    const long = `{"long":"${'y'.repeat(3 * PIPE_BUF)}"}\n`;
    const s = lines.slice(0, 150).join('') + long + lines.slice(150).join('');
    const pieces: string[] = [];
    writeLines((p) => pieces.push(p) > 0, s);
    expect(pieces.join('')).toBe(s);
    for (const p of pieces) {
      expect(p.endsWith('\n')).toBe(true);
      if (p !== long) expect(Buffer.byteLength(p)).toBeLessThanOrEqual(PIPE_BUF);
    }
    expect(pieces).toContain(long);
  });

  it('the destination writes each batch of request lines in whole-line writes of at most PIPE_BUF bytes', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'llmscope-log-lines-')), 'out.log');
    const fd = openSync(file, 'w');
    const sizes: string[] = [];
    const write = fs.write;
    vi.spyOn(fs, 'write').mockImplementation(((...args: Parameters<typeof fs.write>) => {
      if (args[0] === fd) sizes.push(String(args[1]));
      return (write as (...a: unknown[]) => void)(...args);
    }) as typeof fs.write);
    const logger = createLogger({ fd, sharedStdout: true });
    const batch = Array.from({ length: 2000 }, (_, i) => `{"event":"request_completed","request_id":"r-${i}"}\n`).join(
      '',
    );
    const stream = (logger as unknown as Record<symbol, { write(s: string): boolean; flushSync(): void }>)[
      Object.getOwnPropertySymbols(logger).find((s) => s.toString() === 'Symbol(pino.stream)') as symbol
    ];
    stream?.write(batch);
    logger.info('after');
    const deadline = Date.now() + 5000;
    while (!readFileSync(file, 'utf8').includes('"msg":"after"') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    expect(sizes.length).toBeGreaterThan(10);
    for (const w of sizes) {
      expect(Buffer.byteLength(w)).toBeLessThanOrEqual(PIPE_BUF);
      expect(w.endsWith('\n')).toBe(true);
    }
    const out = readFileSync(file, 'utf8');
    expect(out.startsWith(batch)).toBe(true);
    expect(out.slice(batch.length)).toContain('"msg":"after"');
  });
});
