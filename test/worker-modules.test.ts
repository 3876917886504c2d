// What a gateway worker (src/cluster/worker.ts) loads: only the per-call parts of the capabilities, never a store's
// database code. A worker on SQLite that imported the PostgreSQL driver paid for loading it in every worker's start
// (the quality module's per-call path reached it through its storage index). Read from the import graph: the
// imports a module runs (type-only ones are erased from the built code and load nothing).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise, type ICruiseResult } from 'dependency-cruiser';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The modules `entry` loads when it runs, as paths from the repository root (packages as node_modules/NAME/...). */
async function loadedBy(entry: string): Promise<Set<string>> {
  const tsConfig = join(root, 'tsconfig.json');
  const r = await cruise(
    [entry],
    {
      baseDir: root,
      tsPreCompilationDeps: true,
      doNotFollow: { path: 'node_modules' },
      tsConfig: { fileName: tsConfig },
    },
    undefined,
    { tsConfig: extractTSConfig(tsConfig) },
  );
  const modules = new Map((r.output as ICruiseResult).modules.map((m) => [m.source, m]));
  const seen = new Set<string>([entry]);
  const todo = [entry];
  for (let m = todo.pop(); m !== undefined; m = todo.pop())
    for (const d of modules.get(m)?.dependencies ?? []) {
      if (d.dependencyTypes.includes('type-only')) continue; // erased from the built code: loads nothing
      if (!seen.has(d.resolved)) {
        seen.add(d.resolved);
        todo.push(d.resolved);
      }
    }
  return seen;
}

describe('a gateway worker’s modules', () => {
  it('load no database driver and no capability storage: the per-call parts read only the config and the call', async () => {
    const loaded = [...(await loadedBy('src/cluster/worker.ts'))];
    const database = (p: string) =>
      /^node_modules\/(pg|pg-[a-z-]+|better-sqlite3)\//.test(p) ||
      /^src\/store\/(postgres|sqlite)\//.test(p) ||
      /^src\/[a-z]+\/storage\/(?!types\.ts$)/.test(p); // a capability's storage, but for its types and pure helpers
    expect(loaded.filter(database)).toEqual([]);
    // the graph was read: the worker's own parts are in it
    expect(loaded).toContain('src/quality/per-call.ts');
    expect(loaded).toContain('src/cli/call-parts.ts');
  }, 120_000);
});
