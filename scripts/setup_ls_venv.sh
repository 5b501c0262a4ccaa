#!/usr/bin/env bash
# Create (or reuse) Label Studio's own virtualenv at $1: its Django pins stay out of the main stack. Every
# package is pinned in requirements-label-studio.txt; a stamp holding that file's hash says the venv is
# complete, and a changed file rebuilds it.
set -euo pipefail
VENV=${1:-.venv-ls}
cd "$(dirname "$0")/.."
HASH=$(sha256sum requirements-label-studio.txt | cut -c1-16)
STAMP="$VENV/.installed-label-studio-$HASH"
[ -f "$STAMP" ] && { echo "label-studio venv $VENV is up to date ($HASH)"; exit 0; }
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
echo "building label-studio venv $VENV (~90 s, ~1 GB)"
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip --disable-pip-version-check install -q -r requirements-label-studio.txt
rm -f "$VENV"/.installed-label-studio-*
touch "$STAMP"
echo "label-studio venv $VENV ready"
