// `npm run train:quality [-- DATASETS_DIR] [--seed=N] [--dry-run]`: trains the learned grounding scorer on the
// labelled dev sets and writes src/quality/model/grounding-model.json. The TypeScript source is bundled with esbuild
// (no full build needed, no network) into a temporary file and run.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

export async function runTs(entry, argv) {
  // Inside the repository (node_modules/.cache), so the bundle's external packages resolve from node_modules.
  const cache = new URL('../node_modules/.cache/', import.meta.url).pathname;
  mkdirSync(cache, { recursive: true });
  const dir = mkdtempSync(join(cache, 'llmscope-quality-'));
  const out = join(dir, 'main.mjs');
  try {
    await build({
      entryPoints: [new URL(entry, import.meta.url).pathname],
      bundle: true,
      platform: 'node',
      format: 'esm',
      // As tsc builds dist: syntax kept as written. ('node20' made esbuild rewrite regexes with \p{...} into
      // new RegExp(...) calls, rebuilt on every call inside functions, so bench:quality timed slower code than ships.)
      target: 'esnext',
      packages: 'external',
      outfile: out,
      logLevel: 'warning',
    });
    const { main } = await import(out);
    await main(argv, new URL('..', import.meta.url).pathname.replace(/\/$/, ''));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`)
  await runTs('../src/quality/model/train.ts', process.argv.slice(2));
