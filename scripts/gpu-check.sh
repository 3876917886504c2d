#!/usr/bin/env bash
# On a machine with a real NVIDIA GPU: runs llmscope's nvidia-smi collector against it for ~20 s while a PyTorch
# matmul load runs (when PyTorch with CUDA is there), and prints what it read. Exit non-zero if no GPU was read.
# GPU_CHECK_SECONDS=N changes the duration; NVIDIA_SMI=PATH the binary.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${GPU_CHECK_SECONDS:-20}"

# Build the check if needed: the project build's output when fresh, else a bundle of src/gpu/check.ts alone.
if [ -f dist/gpu/check.js ] && [ -z "$(find src/gpu -name '*.ts' -newer dist/gpu/check.js)" ]; then
  entry=dist/gpu/check.js
else
  mkdir -p dist/gpu-check
  node_modules/.bin/esbuild src/gpu/check.ts --bundle --platform=node --format=esm --target=node20 \
    --packages=external --outfile=dist/gpu-check/check.mjs --log-level=warning
  entry=dist/gpu-check/check.mjs
fi

echo "== nvidia-smi: $(command -v "${NVIDIA_SMI:-nvidia-smi}" || echo 'not on PATH')"
"${NVIDIA_SMI:-nvidia-smi}" --query-gpu=index,name,driver_version --format=csv,noheader 2>&1 | head -n 8 || true

expect=()
load_pid=""
if python3 -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' >/dev/null 2>&1; then
  echo "== load: PyTorch fp16 matmuls on every visible GPU for $((secs + 3)) s"
  python3 - "$((secs + 3))" <<'PY' &
import sys, time, torch
end = time.time() + float(sys.argv[1])
pairs = []
for d in range(torch.cuda.device_count()):
    a = torch.randn(8192, 8192, device=f"cuda:{d}", dtype=torch.float16)
    pairs.append((a, a.clone()))
while time.time() < end:
    for a, b in pairs:
        for _ in range(10):
            a @ b
    torch.cuda.synchronize()
PY
  load_pid=$!
  trap '[ -n "$load_pid" ] && kill "$load_pid" 2>/dev/null || true' EXIT
  expect=(--expect-load)
  sleep 2 # let CUDA initialise before the first reading
else
  echo "== load: none (PyTorch with CUDA is not available); reading the idle GPU"
fi

echo "== readings (llmscope nvidia-smi collector, every 1 s for ${secs} s)"
node "$entry" --seconds "$secs" "${expect[@]}"
