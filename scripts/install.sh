#!/usr/bin/env bash
# Install kbassist into a Python environment: the pinned CPU build of torch first, then the package.
#
#   bash scripts/install.sh [PIP-INSTALL-ARGS...]      default: "." (a regular, non-editable install)
#   PYTHON=.venv/bin/python bash scripts/install.sh -e ".[eval,dev]"
#   TORCH_INDEX_URL=<PyTorch's CPU wheel index> bash scripts/install.sh     (the Dockerfile does this)
#
# torch comes first because only its CPU build is wanted: resolved together with the package, pip would
# take the default torch wheel and its GBs of CUDA libraries. The version is read from pyproject.toml, so
# the pin lives in one place. The setup script and the Dockerfile both install through this script.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY=${PYTHON:-python3}
TORCH=$(grep -o '"torch==[^"]*"' "$ROOT/pyproject.toml" | tr -d '"')
[ -n "$TORCH" ] || { echo "install: no torch==VERSION pin in $ROOT/pyproject.toml" >&2; exit 1; }
if [ -n "${TORCH_INDEX_URL:-}" ]; then
    "$PY" -m pip install --index-url "$TORCH_INDEX_URL" "$TORCH"
else
    "$PY" -m pip install "$TORCH"
fi
if [ "$#" -eq 0 ]; then
    set -- .
fi
"$PY" -m pip install "$@"
