// Quality benchmark: the learned grounding scorer vs the plain baseline on ../shared/datasets (BEGIN dev, HaluEval
// QA), out-of-fold (grouped cross-validation and leave-one-set-out). The code lives in src/quality/bench.ts, bundled
// from source with esbuild (no build needed). `node bench/quality.js [DATASETS_DIR] [--no-write] [--machine=TEXT]`.
import { runTs } from '../scripts/train-quality.js';

await runTs('../src/quality/bench.ts', process.argv.slice(2));
