#!/usr/bin/env node
// The `llmscope` command: runs the compiled CLI (built by `npm install` into dist/).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write(
    'llmscope is not built yet: run `npm install` (or `npm run build`) in the llmscope folder first.\n',
  );
  process.exit(1);
}
await import(main.href);
