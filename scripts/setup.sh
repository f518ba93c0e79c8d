#!/usr/bin/env bash
# Create .venv (Python 3.11), install kbassist (editable) with the eval and dev extras through scripts/install.sh,
# and the Debian packages some tests drive: Chromium for the browser test, nginx for `nginx -t`. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
PYTHON=.venv/bin/python PIP_QUIET=1 bash scripts/install.sh -e ".[eval,dev]"

# The sidebar's browser test (tests/sidebar) drives Debian's Chromium, never a downloaded one
# (`playwright install` is not used); the CJK font renders the page's Chinese text in its screenshot.
# tests/test_deploy.py checks deploy/nginx.conf with nginx-light's `nginx -t` (hadolint comes from the dev extra).
DEBIAN_PACKAGES="chromium chromium-driver fonts-wqy-microhei nginx-light"
if command -v dpkg-query >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    missing=""
    for pkg in $DEBIAN_PACKAGES; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing="$missing $pkg"
    done
    if [ -n "$missing" ]; then
        SUDO=""
        [ "$(id -u)" -eq 0 ] || SUDO="sudo"
        if [ -z "$SUDO" ] || command -v sudo >/dev/null 2>&1; then
            $SUDO apt-get update -qq
            $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
        else
            echo "setup: cannot install$missing (not root, no sudo); the tests that need them will skip" >&2
        fi
    fi
fi
