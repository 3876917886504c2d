#!/bin/sh
true /*; exec node --max-semi-space-size=64 "$0" "$@"; */;

// The `llmscope` command: runs the compiled CLI (built by `npm install` into dist/).
// The two lines above are read by sh when the file is run as a command (`npx llmscope`, a linked `llmscope`): it
// starts node with a larger young generation (docs/deploy.md, "CPU per call: a larger young generation"), which
// `#!/usr/bin/env -S node ...` would do only where env has -S (not BusyBox's, Alpine's). To node the second line is
// `true;` and a comment; `node bin/llmscope.js` skips them and runs with node's defaults.
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
