#!/usr/bin/env bash
# Set up, index the bundled kb_content/ and serve it on http://127.0.0.1:8000 (sidebar at /).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/kbassist index
exec .venv/bin/kbassist serve "$@"
