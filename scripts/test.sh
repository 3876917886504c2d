#!/usr/bin/env bash
# `npm test`: system packages for the end-to-end tests, build, type-check, lint, then the whole vitest suite
# (timing-sensitive files last, one at a time), closing with one "N passed, N failed" line.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/system-deps.sh
echo "== build"; npm run build --silent
echo "== typecheck"; npx tsc -p tsconfig.json
echo "== lint"; npx biome check .
out="$(mktemp -d)"
status=0
echo "== tests"
LLMSCOPE_TEST_SET=rest npx vitest run --passWithNoTests --reporter=default --reporter=json --outputFile.json="$out/rest.json" "$@" || status=$?
echo "== timing tests (one file at a time)"
LLMSCOPE_TEST_SET=timing npx vitest run --passWithNoTests --reporter=default --reporter=json --outputFile.json="$out/timing.json" "$@" || status=$?
node -e '
  const fs = require("node:fs");
  let passed = 0, failed = 0, skipped = 0;
  for (const f of process.argv.slice(1)) {
    if (!fs.existsSync(f)) { failed++; continue; }
    const r = JSON.parse(fs.readFileSync(f, "utf8"));
    passed += r.numPassedTests; failed += r.numFailedTests; skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  }
  console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
' "$out/rest.json" "$out/timing.json"
exit $status
