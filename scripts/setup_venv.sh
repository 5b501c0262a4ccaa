#!/usr/bin/env bash
# Create (or reuse) the project virtualenv at $1 and install the pinned stack. Idempotent: a stamp file
# holding the hash of the requirement files says the venv is complete; a changed file rebuilds it.
set -euo pipefail
VENV=${1:-.venv}
PY=${PYTHON:-python3.11}
cd "$(dirname "$0")/.."
HASH=$(cat requirements.txt requirements-dev.txt requirements-triton.txt requirements-img2table.txt constraints.txt \
  | sha256sum | cut -c1-16)
STAMP="$VENV/.installed-$HASH"
if [ -f "$STAMP" ]; then
  echo "venv $VENV is up to date ($HASH)"; exit 0
fi
command -v "$PY" >/dev/null || PY=python3
"$PY" -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required"'
echo "building venv $VENV (torch first, then the pinned stack; ~5 min on a fresh machine)"
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
PIP="$VENV/bin/python -m pip --disable-pip-version-check"
$PIP install -q --upgrade pip==26.0.1 || true
$PIP install -q torch==2.14.1 torchvision==0.29.1
$PIP install -q -r requirements.txt -r requirements-dev.txt -c constraints.txt
# The tritonserver binary for tests/demo on CPU ships in this wheel; its own deps are not needed.
$PIP install -q --no-deps -r requirements-triton.txt
# img2table (tables in images) and OpenCV's contrib build of the pinned OpenCV: --no-deps, after the stack,
# so its `cv2` (a superset) replaces opencv-python-headless's files (forced: a reinstalled headless wheel
# would have put its own back); see requirements-img2table.txt.
$PIP install -q --no-deps --force-reinstall -r requirements-img2table.txt
"$VENV/bin/python" -c 'import cv2.ximgproc, img2table' || { echo "img2table or cv2.ximgproc missing"; exit 1; }
rm -f "$VENV"/.installed-*
touch "$STAMP"
echo "venv $VENV ready"
