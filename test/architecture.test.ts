// The layer rules of .dependency-cruiser.cjs (docs/architecture.md): no import cycles in src/, no capability
// importing another, no core folder importing a capability, no production file importing test code. Checked over
// src/ itself, and over a small tree made to break every rule, so a checker that silently matched nothing (a renamed
// folder, a resolver that no longer follows `.js` specifiers to `.ts` files) fails here instead of passing.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise, type IConfiguration, type ICruiseResult } from 'dependency-cruiser';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const config = createRequire(import.meta.url)(join(root, '.dependency-cruiser.cjs')) as IConfiguration;

interface Violation {
  rule: string;
  from: string;
  to: string;
}

/** The rule breaks dependency-cruiser finds under `dir`/src, as `rule: from → to` (cycles with their path). */
async function violations(dir: string): Promise<Violation[]> {
  const tsConfig = join(dir, 'tsconfig.json');
  const r = await cruise(
    ['src'],
    { ...config.options, baseDir: dir, tsConfig: { fileName: tsConfig }, validate: true, ruleSet: config },
    undefined,
    { tsConfig: extractTSConfig(tsConfig) },
  );
  const out = r.output as ICruiseResult;
  return out.summary.violations.map((v) => ({
    rule: v.rule.name,
    from: v.from,
    to: v.cycle ? v.cycle.map((c) => c.name).join(' → ') : v.to,
  }));
}

describe('import boundaries', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'llmscope-arch-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('src/ keeps every layer rule', async () => {
    const found = await violations(root);
    expect(found.map((v) => `${v.rule}: ${v.from} → ${v.to}`)).toEqual([]);
  }, 120_000);

  it('reports a cycle, a capability importing another, the store importing a capability, production code importing a test helper, the wire shapes importing the server and the dashboard importing past them', async () => {
    const file = (path: string, text: string) => {
      mkdirSync(dirname(join(tmp, path)), { recursive: true });
      writeFileSync(join(tmp, path), text);
    };
    file(
      'tsconfig.json',
      JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true } }),
    );
    // a type-only cycle inside one folder
    file('src/signals/a.ts', "import type { B } from './b.js';\nexport type A = { b?: B };\n");
    file('src/signals/b.ts', "import type { A } from './a.js';\nexport type B = { a?: A };\n");
    // quality reaching into alerts' internals
    file('src/alerts/engine.ts', 'export const engine = 1;\n');
    file('src/quality/module.ts', "import { engine } from '../alerts/engine.js';\nexport const q = engine;\n");
    // the store importing the cost capability's code
    file('src/cost/budgets.ts', 'export const ledger = 1;\n');
    file('src/store/ledger.ts', "import { ledger } from '../cost/budgets.js';\nexport const l = ledger;\n");
    // production code using a test helper (not built into dist)
    file('src/gpu/testing.ts', 'export const fake = 1;\n');
    file('src/gpu/poller.ts', "import { fake } from './testing.js';\nexport const p = fake;\n");
    // the wire shapes reaching into the server, and the dashboard into the store
    file('src/wire/gpu.ts', "import type { A } from '../signals/a.js';\nexport type G = A;\n");
    file('src/store/rows.ts', 'export const rows = 1;\n');
    file('src/ui/pages/x.ts', "import { rows } from '../../store/rows.js';\nexport const x = rows;\n");
    // allowed: a capability's test may drive another capability, a capability uses the core; the dashboard, the core
    // and capabilities read the wire shapes
    file('src/ui/pages/y.ts', "import type { G } from '../../wire/gpu.js';\nexport type Y = G;\n");
    file('src/api/z.ts', "import type { G } from '../wire/gpu.js';\nexport type Z = G;\n");
    file('src/gpu/signals.test.ts', "import { engine } from '../alerts/engine.js';\nexport const t = engine;\n");
    file('src/cost/module.ts', "import type { A } from '../signals/a.js';\nexport type C = A;\n");

    const found = await violations(tmp);
    expect(found.map((v) => `${v.rule}: ${v.from} → ${v.to}`).sort()).toEqual([
      'capability-to-capability: src/quality/module.ts → src/alerts/engine.ts',
      'core-to-capability: src/store/ledger.ts → src/cost/budgets.ts',
      'no-circular: src/signals/a.ts → src/signals/b.ts → src/signals/a.ts',
      'test-code-in-production: src/gpu/poller.ts → src/gpu/testing.ts',
      'ui-to-server: src/ui/pages/x.ts → src/store/rows.ts',
      'wire-is-neutral: src/wire/gpu.ts → src/signals/a.ts',
    ]);
  });
});
