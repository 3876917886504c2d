// The import rules llmscope's layers keep (docs/architecture.md, "Layer rules"). test/architecture.test.ts runs
// them over src/ on every `npm test`; `npx depcruise src` prints the same report by hand.
//
// Capabilities are the folders that plug into the app as modules; they meet only through the context
// (ctx.signals, ctx.gateway, ctx.api, ctx.store.backend), never by importing one another. The core (store, calls,
// gateway, telemetry, signals, providers, api, audit, privacy) is what capabilities build on, so it imports none of them.
const CAPABILITIES = ['cost', 'quality', 'gpu', 'alerts'];
const CORE = ['store', 'calls', 'gateway', 'telemetry', 'signals', 'providers', 'api', 'audit', 'privacy', 'otlp'];
// Test code: test files, contract suites, and each folder's test helpers (testing.ts), which dist leaves out.
const TEST = '(\\.(test|contract)\\.ts|/testing\\.ts)$';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'An import cycle (type-only imports count too): one of the files should not need the other.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    ...CAPABILITIES.map((cap) => ({
      name: 'capability-to-capability',
      comment: `${cap}/ imports no other capability: publish through ctx.signals (src/signals/) or the context instead.`,
      severity: 'error',
      from: { path: `^src/${cap}/`, pathNot: TEST },
      to: { path: `^src/(${CAPABILITIES.filter((c) => c !== cap).join('|')})/` },
    })),
    {
      name: 'test-code-in-production',
      comment: 'Test helpers (testing.ts) and suites are not built into dist: production code cannot import them.',
      severity: 'error',
      from: { path: '^src/', pathNot: TEST },
      to: { path: TEST },
    },
    {
      name: 'wire-is-neutral',
      comment:
        'src/wire/ (the /api answer shapes the handlers and the dashboard share) imports nothing of llmscope, so anything may import it.',
      severity: 'error',
      from: { path: '^src/wire/' },
      to: { path: '^src/', pathNot: '^src/wire/' },
    },
    {
      name: 'ui-to-server',
      comment:
        'The dashboard (src/ui/, built for the browser) takes only the wire shapes from the server code (src/wire/).',
      severity: 'error',
      from: { path: '^src/ui/' },
      to: { path: '^src/', pathNot: '^src/(ui|wire)/' },
    },
    {
      name: 'core-to-capability',
      comment:
        'The core imports no capability: a capability keeps its own storage (<capability>/storage/) on ctx.store.backend.',
      severity: 'error',
      from: { path: `^src/(${CORE.join('|')})/` },
      to: { path: `^src/(${CAPABILITIES.join('|')})/` },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
