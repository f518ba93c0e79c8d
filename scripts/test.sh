#!/usr/bin/env bash
# Set up, lint, type-check and run the whole test suite (the command CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check . || { echo "run: .venv/bin/ruff format ." >&2; exit 1; }
.venv/bin/mypy indexer service eval
.venv/bin/pytest "$@"
