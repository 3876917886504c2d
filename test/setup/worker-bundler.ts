// Test runs load llmscope from its TypeScript source, and Node 20 cannot run TypeScript in a worker thread. This
// setup file (vitest's setupFiles) gives the source a bundler for the modules it runs on a thread — the SQLite
// writer thread's entry and its write jobs (src/store/sqlite/writer.ts `loadable`): each is bundled once per content,
// with esbuild (a development dependency), into a file of its own. A build (dist/) never needs it.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { SOURCE_BUNDLER, type SourceBundler } from '../../src/store/sqlite/writer.js';

const bundle: SourceBundler = async (entry) => {
  const built = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    write: false,
    logLevel: 'silent',
  });
  const code = built.outputFiles[0]?.text ?? '';
  const dir = join(tmpdir(), 'llmscope-writer-thread');
  const out = join(dir, `${createHash('sha256').update(code).digest('hex').slice(0, 16)}.mjs`);
  if (!existsSync(out)) {
    mkdirSync(dir, { recursive: true });
    // Written whole, then renamed: test files bundle the same module at once, in parallel processes.
    const part = `${out}.${process.pid}.${Math.random().toString(36).slice(2)}`;
    writeFileSync(part, code);
    renameSync(part, out);
  }
  return out;
};

(globalThis as Record<symbol, unknown>)[SOURCE_BUNDLER] = bundle;
