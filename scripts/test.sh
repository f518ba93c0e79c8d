#!/usr/bin/env bash
# Set up, lint, type-check and run the whole test suite (the command CI runs), timing each stage. The database
# tests use PostgreSQL at 127.0.0.1:5432; under CI=true, where they must run, scripts/postgres.sh installs and starts
# one when none answers (elsewhere they skip, with the reason, rather than install a trust-auth server).
set -euo pipefail
cd "$(dirname "$0")/.."
stage() {  # stage NAME COMMAND...: run it, then print how long it took (also when it fails)
    local name=$1 start=$SECONDS rc=0
    shift
    echo "== $name" >&2
    "$@" || rc=$?
    echo "== $name: $((SECONDS - start)) s$([ "$rc" -eq 0 ] || echo ", failed (exit $rc)")" >&2
    return "$rc"
}
trap 'echo "== total: $SECONDS s" >&2' EXIT
format_check() { .venv/bin/ruff format --check . || { echo "run: .venv/bin/ruff format ." >&2; return 1; }; }
stage setup bash scripts/setup.sh
if [ "${CI:-}" = "true" ]; then
    stage postgres bash scripts/postgres.sh
fi
stage ruff .venv/bin/ruff check .
stage format format_check
stage mypy .venv/bin/mypy indexer service eval
stage pytest .venv/bin/pytest "$@"
