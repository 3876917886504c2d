// The shapes of llmscope's /api answers, as zod schemas and the TypeScript types inferred from them: the one
// declaration the handlers' answers are checked against (test/e2e/wire.test.ts parses real answers with them) and
// the dashboard's types (src/ui imports these types only, so no zod reaches the browser bundle). This folder
// imports nothing of llmscope's, so the core, the capabilities and the dashboard can all depend on it.
export * from './alerts.js';
export * from './calls.js';
export * from './common.js';
export * from './cost.js';
export * from './gpu.js';
export * from './keys.js';
export * from './overview.js';
export * from './quality.js';
export * from './sessions.js';
