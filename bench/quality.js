// Quality benchmark: the grounding check vs the plain baseline on ../shared/datasets (BEGIN dev, HaluEval QA).
// The code lives in src/quality/bench.ts; run `npm run build` first. `node bench/quality.js [DATASETS_DIR] [--no-write]`.
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/quality/bench.js', import.meta.url);
if (!existsSync(compiled)) {
  process.stderr.write('bench/quality.js: dist/quality/bench.js is missing; run `npm run build` first\n');
  process.exit(1);
}
const { main } = await import(compiled.href);
await main();
