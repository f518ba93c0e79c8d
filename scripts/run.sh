#!/usr/bin/env bash
# Set up, index the bundled kb_content/ and serve it on http://127.0.0.1:8000 (OpenAPI docs at /docs).
# On the first run it creates an editor API key for trying the API and keeps it in .kbassist/quickstart-key.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/kbassist index
KEY_FILE=${KB_DATA_DIR:-.kbassist}/quickstart-key
AGENT_KEY_FILE=${KB_DATA_DIR:-.kbassist}/quickstart-agent-key
if [ ! -s "$KEY_FILE" ] || [ ! -s "$AGENT_KEY_FILE" ]; then
    .venv/bin/kbassist db upgrade >/dev/null
fi
if [ ! -s "$KEY_FILE" ]; then
    (umask 077 && .venv/bin/kbassist keys create --role editor --name quickstart | tail -1 > "$KEY_FILE")
fi
if [ ! -s "$AGENT_KEY_FILE" ]; then  # the sidebar records what an agent does: it needs an agent's key
    (umask 077 && .venv/bin/kbassist keys create --role agent --agent-id demo-agent --name quickstart-sidebar \
        | tail -1 > "$AGENT_KEY_FILE")
fi
PORT=${KB_PORT:-8000}
args=("$@")
for i in "${!args[@]}"; do  # the port the server will listen on, for the hint below
    case "${args[$i]}" in
        --port) PORT=${args[$((i + 1))]:-$PORT} ;;
        --port=*) PORT=${args[$i]#--port=} ;;
    esac
done
echo "editor API key (X-API-Key): $(cat "$KEY_FILE")"
echo "agent sidebar: http://127.0.0.1:$PORT/sidebar?ticket_id=T-1001  (agent key: $(cat "$AGENT_KEY_FILE"))"
echo "try: curl -s -H \"X-API-Key: \$(cat $KEY_FILE)\" -H 'Content-Type: application/json' \\"
echo "       -d '{\"query\": \"退款多久到账\"}' http://127.0.0.1:$PORT/v1/suggest"
exec .venv/bin/kbassist serve "$@"
