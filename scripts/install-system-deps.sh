#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages dhsdk needs beyond Python wheels. Idempotent: does
# nothing (not even apt-get update) when everything is already installed.
#   bash scripts/install-system-deps.sh
set -euo pipefail

PACKAGES=(
  build-essential   # C++ compiler for the native extension
  libgl1            # OpenCV / mediapipe runtime
  libglib2.0-0
  nginx             # RTMP ingest for the RtmpSink tests (run as a user process on loopback)
  libnginx-mod-rtmp
  chromium          # headless browser for the BrowserSink tests
  libobs-dev        # builds the OBS source plugin (obs-plugin/)
  xvfb              # X server for libobs in the OBS plugin end-to-end test
  fonts-wqy-microhei  # CJK glyphs in the review and contact sheets (4 MB; fonts-noto-cjk works too)
  pocketsphinx-testdata  # real read speech with transcripts: the a2k teacher's training data (2 MB)
  postgresql        # dhsdk serve on PostgreSQL: the tests start a server as a user process on loopback
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "system deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
