#!/usr/bin/env bash
# Create (or reuse) Label Studio's own virtualenv at $1: its Django pins stay out of the main stack.
set -euo pipefail
VENV=${1:-.venv-ls}
VERSION=1.23.2
STAMP="$VENV/.installed-label-studio-$VERSION"
[ -f "$STAMP" ] && { echo "label-studio venv $VENV is up to date"; exit 0; }
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
echo "building label-studio venv $VENV (~90 s, ~1 GB)"
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip --disable-pip-version-check install -q "label-studio==$VERSION"
touch "$STAMP"
echo "label-studio venv $VENV ready"
