#!/usr/bin/env bash
# tools/gpu_check.sh OUTDIR: prove the GPU path on the machine it runs on, in one go (<= 5 min).
#
# Builds dhsdk._C for the local GPU's architecture, runs `dhsdk doctor --gpu`, every GPU-marked
# and GPU-adjacent test (the fakes must stay true where a real GPU is present), the kernel
# benchmarks on the GPU (CUDA events) and the CPU, and `dhsdk bench --device cuda --quick`.
# Every step is logged (OUTDIR/gpu_check.log), a failing step does not stop the next, a step past
# its time limit is stopped, steps that would start past the overall budget are skipped, and
# OUTDIR/summary.json lists each step's status, exit code and seconds; a table ends the log.
#
# Made for a lent GPU machine (see FACTS.md): nothing can be downloaded there. What this machine
# lacks travels in the git-ignored folder .gpu/ made by tools/gpu_prepare.sh: wheels (.gpu/whl,
# installed into /tmp/site) and the default avatar (.gpu/cache, used as DHSDK_CACHE).
# At most 8 files land in OUTDIR (the device tool brings back no more).
#
# Env: GPU_CHECK_BUDGET_S (default 290): no step starts after this many seconds.
set -u
OUT=${1:?usage: tools/gpu_check.sh OUTDIR}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
cd "$(dirname "$0")/.."
LOG="$OUT/gpu_check.log"
BUDGET=${GPU_CHECK_BUDGET_S:-290}
START=$(date +%s)
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1 DHSDK_NO_PROGRESS=1
: >"$LOG"
STEPS=()

log() { echo "[gpu_check $(($(date +%s) - START))s] $*" | tee -a "$LOG"; }

# step NAME LIMIT_S COMMAND...: run, log, record; never exits the script.
step() {
  local name=$1 limit=$2
  shift 2
  local now=$(($(date +%s) - START))
  if ((now >= BUDGET)); then
    log "SKIP $name: past the ${BUDGET}s budget"
    STEPS+=("{\"step\": \"$name\", \"status\": \"skipped\", \"rc\": null, \"seconds\": 0}")
    return
  fi
  log "---- $name (limit ${limit}s): $*"
  local t0=$(date +%s)
  timeout --kill-after=10 "$limit" "$@" >>"$LOG" 2>&1
  local rc=$?
  local dt=$(($(date +%s) - t0)) status=ok
  if ((rc == 124 || rc == 137)); then status=timeout; elif ((rc != 0)); then status=failed; fi
  log "---- $name: $status (exit $rc, ${dt}s)"
  STEPS+=("{\"step\": \"$name\", \"status\": \"$status\", \"rc\": $rc, \"seconds\": $dt}")
}

# ---- what travelled with the tree ----------------------------------------------------
if compgen -G ".gpu/whl/*.whl" >/dev/null; then
  step wheels 120 "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .gpu/whl/*.whl
  export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
fi
[ -d .gpu/cache ] && export DHSDK_CACHE="$PWD/.gpu/cache"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

step machine 30 bash -c "nvidia-smi; $PY -V; nvcc --version | tail -2; c++ --version | head -1; \
  $PY -c 'import torch, cupy; print(\"torch\", torch.__version__, torch.version.cuda, \"cupy\", cupy.__version__)'"

# ---- build for the local arch --------------------------------------------------------
ARCH=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d ' .')
ARCH=${ARCH:-90}
step build 240 env DHSDK_BUILD_DIR=/tmp/dhsdk-build \
  CMAKE_ARGS="-DDHSDK_WITH_CUDA=ON -DDHSDK_CUDA_ARCHS=$ARCH ${GPU_CHECK_CMAKE_ARGS:-}" \
  "$PY" setup.py -q build_ext --inplace
step linkage 20 "$PY" -c "from dhsdk import _C; from dhsdk.doctor import needed_libraries, libstdcxx_linkage; \
print(_C.build_info()); print('needs', needed_libraries(_C.__file__)); print('libstdc++', libstdcxx_linkage(_C.__file__))"

# ---- doctor, tests ---------------------------------------------------------------------
step doctor_json 60 bash -c "$PY -m dhsdk.cli doctor --json > '$OUT/doctor.json'"
step doctor_gpu 120 "$PY" -m dhsdk.cli doctor --gpu
GPU_TESTS=(tests/cuda tests/kernels tests/runtime tests/engines tests/test_gpu_selftest.py
  tests/sinks/test_nvenc.py tests/pipeline/test_device_path.py tests/pipeline/test_scheduler_gpu.py
  tests/render/test_warp_device.py tests/render/test_warp_kernel.py tests/avatar/test_dali_reader.py)
step gpu_tests 240 "$PY" -m pytest -q -rs -p no:cacheprovider --maxfail=20 -m "not slow" \
  --continue-on-collection-errors --junitxml="$OUT/pytest-gpu.xml" "${GPU_TESTS[@]}"
# Every binding's error path on this toolchain's build and on a -static-libstdc++ one (~20 s here).
step native_errors 180 "$PY" -m pytest -q -rs -p no:cacheprovider tests/kernels/test_native_errors.py

# ---- benchmarks -------------------------------------------------------------------------
step bench_kernels_cuda 120 bash -c "$PY benchmarks/bench_kernels.py --device cuda > '$OUT/bench_kernels_cuda.jsonl'"
step bench_kernels_cpu 120 bash -c "$PY benchmarks/bench_kernels.py > '$OUT/bench_kernels_cpu.jsonl'"
E2E=()
[ -d .gpu/cache/avatars ] || E2E=(--no-e2e)  # the default avatar is built with mediapipe, absent there
step dhsdk_bench 180 bash -c "$PY -m dhsdk.cli bench --device cuda --quick --streams 1,4 --mouth warp,lite \
  ${E2E[*]:-} --out /tmp/dhsdk-bench && cp /tmp/dhsdk-bench/bench-cuda-*.json '$OUT/bench-cuda.json' && \
  cp /tmp/dhsdk-bench/bench-cuda-*.md '$OUT/bench-cuda.md'"

# ---- summary ------------------------------------------------------------------------------
{
  echo "{\"total_seconds\": $(($(date +%s) - START)), \"budget_seconds\": $BUDGET, \"steps\": ["
  for i in "${!STEPS[@]}"; do echo "  ${STEPS[$i]}$([ "$i" -lt $((${#STEPS[@]} - 1)) ] && echo ,)"; done
  echo "]}"
} >"$OUT/summary.json"
log "==== summary"
"$PY" - "$OUT/summary.json" <<'EOF' | tee -a "$LOG"
import json, sys
doc = json.load(open(sys.argv[1]))
for s in doc["steps"]:
    print(f"  {s['status']:8s} {s['step']:20s} {s['seconds']:4d} s  exit {s['rc']}")
bad = [s["step"] for s in doc["steps"] if s["status"] != "ok"]
print(f"  {len(doc['steps']) - len(bad)} of {len(doc['steps'])} steps ok in {doc['total_seconds']} s"
      + (f"; not ok: {', '.join(bad)}" if bad else ""))
EOF
grep -E "^(PASS|FAIL|SKIP)  |GPU self-test:|passed|failed" "$LOG" | tail -40
