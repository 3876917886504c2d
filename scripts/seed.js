#!/usr/bin/env node
// npm run seed -- --calls 10000000 --days 30 [--store URL]: fills a store with realistic history (src/seed).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = new URL('../dist/seed/cli.js', import.meta.url);
if (!existsSync(fileURLToPath(cli))) {
  process.stderr.write('llmscope is not built yet: run `npm run build` first.\n');
  process.exit(1);
}
const { main } = await import(cli.href);
try {
  await main(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`seed failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
