#!/usr/bin/env bash
# tools/gpu_prepare.sh: fill the git-ignored folder .gpu/ that tools/gpu_check.sh uses on a lent GPU
# machine, where nothing can be downloaded (run it here, in the checkout the device tool sends).
#
#   .gpu/cache/  the default avatar (built here with mediapipe, which the GPU machine lacks), as
#                DHSDK_CACHE there, so `dhsdk bench --device cuda` runs end to end on it;
#   .gpu/whl/    cp312 manylinux wheels named in GPU_WHEELS (default none), e.g.
#                GPU_WHEELS="av==16.0.1" (PyAV, ~39 MiB) or "pynvvideocodec==2.0.2" (~26 MiB).
#
# Everything that travels must fit in 64 MiB with the tree: the avatar is ~35 MiB, so at most one
# of the wheels above goes along with it. Then, in the device tool: carry [".gpu"] and run
# `bash tools/gpu_check.sh $OUT`.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
exclude=$(git rev-parse --git-path info/exclude)
mkdir -p "$(dirname "$exclude")"
grep -qx '/.gpu/' "$exclude" 2>/dev/null || echo '/.gpu/' >>"$exclude"
rm -rf .gpu && mkdir -p .gpu/cache .gpu/whl

cache=$("$PY" -c "from dhsdk.paths import cache_root; print(cache_root())" 2>/dev/null || echo "$HOME/.cache/dhsdk")
"$PY" -c "from dhsdk.avatar import Avatar; Avatar.default(device='cpu')"  # builds it once (mediapipe)
cp -r "$cache/avatars" .gpu/cache/
[ -d "$cache/a2k-teacher" ] && cp -r "$cache/a2k-teacher" .gpu/cache/

for w in ${GPU_WHEELS:-}; do
  "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d .gpu/whl "$w"
done

size=$(du -sm .gpu | cut -f1)
tree=$(git ls-files -co --exclude-standard -z | du -cm --files0-from=- 2>/dev/null | tail -1 | cut -f1)
echo "prepared .gpu/: ${size} MiB (+ ${tree} MiB of tree; the device tool carries 64 MiB in all)"
if ((size + tree > 64)); then
  echo "too big to travel: drop a wheel from GPU_WHEELS" >&2
  exit 1
fi
