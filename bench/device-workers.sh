#!/usr/bin/env bash
# bench:gateway --workers 8 and --workers 1 on the device machine (16 cores), packed so it needs nothing there.
#
#   bash bench/device-workers.sh pack   # here, after `npx tsc -p tsconfig.build.json`: writes .scratch/wbench/
#                                       #   node.xz (this Node binary), nm.tar.xz (production node_modules without
#                                       #   onnxruntime-node), dist.tar.xz; about 39 MiB (measured 05:51 UTC Dec 5: node 23.1 MiB,
#                                       #   node_modules 14.5 MiB, dist 0.7 MiB), under the 64 MiB carry limit
#   bash bench/device-workers.sh run    # there, as the device tool's command with carry [".scratch/wbench"] and
#                                       #   timeout_s ≤ 540: unpacks, runs both benches, puts logs and RESULTS.md in $OUT
#
# The run takes about 7 minutes (two full bench:gateway runs with their profile rounds); `QUICK=1` runs --quick.
set -euo pipefail
cd "$(dirname "$0")/.."
PACK=.scratch/wbench

case "${1:-}" in
pack)
  mkdir -p "$PACK"
  [ -f dist/cli/main.js ] || { echo "build first: npx tsc -p tsconfig.build.json" >&2; exit 2; }
  xz -T0 -c "$(command -v node)" >"$PACK/node.xz"
  npm ls --omit=dev --all --parseable 2>/dev/null | sed "s|^$PWD/||" | grep '^node_modules/' | grep -v onnxruntime |
    sort -u | tar -cf - -T - | xz -T0 >"$PACK/nm.tar.xz"
  tar -cf - dist | xz -T0 >"$PACK/dist.tar.xz"
  du -ch "$PACK"/* | tail -1
  ;;
run)
  OUT=${OUT:-/tmp/wbench-out}
  mkdir -p "$OUT" /tmp/wnode
  xz -dc "$PACK/node.xz" >/tmp/wnode/node && chmod +x /tmp/wnode/node
  export PATH=/tmp/wnode:$PATH
  xz -dc "$PACK/nm.tar.xz" | tar -xf -
  xz -dc "$PACK/dist.tar.xz" | tar -xf -
  node --version
  nproc
  flags=(--load-processes 4 --sim-processes 4 --concurrency 64)
  [ "${QUICK:-}" = 1 ] && flags+=(--quick)
  for n in 8 1; do
    node bench/gateway.js --workers "$n" "${flags[@]}" 2>&1 | tee "$OUT/gateway-workers-$n.log" | tail -40
  done
  cp bench/RESULTS.md "$OUT/RESULTS.md"
  ;;
*)
  echo "usage: bash bench/device-workers.sh pack|run" >&2
  exit 2
  ;;
esac
