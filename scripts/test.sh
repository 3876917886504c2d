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
  const failures = [];
  for (const f of process.argv.slice(1)) {
    if (!fs.existsSync(f)) { failed++; failures.push(`${f}: no report (the run did not finish)`); continue; }
    const r = JSON.parse(fs.readFileSync(f, "utf8"));
    passed += r.numPassedTests; failed += r.numFailedTests; skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
    // each failed test (or a file that failed outside any test) by name, with the first line of why, so the closing
    // lines of a CI log say what failed even when only its tail is kept
    for (const file of r.testResults ?? []) {
      const name = file.name.replace(process.cwd() + "/", "");
      const failedTests = (file.assertionResults ?? []).filter((t) => t.status === "failed");
      for (const t of failedTests)
        failures.push(`${name} > ${t.fullName}: ${String(t.failureMessages?.[0] ?? "").split("\n")[0].slice(0, 300)}`);
      if (file.status === "failed" && failedTests.length === 0)
        failures.push(`${name}: ${String(file.message ?? "failed").split("\n")[0].slice(0, 300)}`);
    }
  }
  for (const f of failures) console.log(`FAILED ${f}`);
  console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
' "$out/rest.json" "$out/timing.json"
exit $status
