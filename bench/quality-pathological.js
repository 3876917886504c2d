// The quality evaluators on hostile text, at 1K, 10K and 100K characters: ms per call and its growth (see
// src/quality/pathological/bench.ts; bundled from source with esbuild, no build needed).
// `node bench/quality-pathological.js [--sizes=1000,10000,100000] [--only=SUBSTRING]`.
import { runTs } from '../scripts/train-quality.js';

await runTs('../src/quality/pathological/bench.ts', process.argv.slice(2));
