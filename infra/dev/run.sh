#!/usr/bin/env bash
# Set up and run the product: services, migrations, demo team, then web + worker + beat + the local demo model in
# the foreground under infra/dev/supervise.py (one log stream; a process that dies is reported and restarted; the
# URLs are printed once they answer). Ctrl-C stops everything this started (PostgreSQL/Redis too if it started them).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"
export PORT="${PORT:-8000}" SITE_PORT="${PORT:-8000}"
export CHAT_STREAM_PORT="${CHAT_STREAM_PORT:-$((PORT + 1))}"  # the stream server (ADR 0095)
export LOCAL_LLM_PORT="${LOCAL_LLM_PORT:-8011}"
export LOCAL_LLM_BASE_URL="${LOCAL_LLM_BASE_URL:-http://127.0.0.1:$LOCAL_LLM_PORT/v1}"
mkdir -p "$VAR/log"

# The demo model downloads while the rest is set up (it is independent of it); the "llm" process below waits for
# this preparation if it is still running, then serves. Progress: the demo chatbot's pages and var/log.
PREPARE_PID=""
if [ "${LOCAL_LLM:-1}" != "0" ] && [ -z "${OPENAI_API_KEY:-}" ] && [ -z "${ANTHROPIC_API_KEY:-}" ]; then
  say "Preparing the local demo model in the background (log: var/log/local-llm-prepare.log)"
  python3 infra/dev/local_llm.py prepare >"$VAR/log/local-llm-prepare.log" 2>&1 &
  PREPARE_PID=$!
fi
cleanup() {
  [ -n "$PREPARE_PID" ] && kill "$PREPARE_PID" 2>/dev/null
  "$ROOT/infra/dev/services.sh" stop
}
trap cleanup EXIT

"$ROOT/infra/dev/setup.sh"
"$ROOT/infra/dev/services.sh" start
"$ROOT/infra/dev/db.sh"

APEX="http://localhost:$PORT"
DEMO="http://demo.localhost:$PORT"
say "Starting web, the stream server, worker, beat and the local model; the addresses are printed when they answer."
"$PY" infra/dev/supervise.py "$ROOT/infra/dev/Procfile" --optional llm \
  --ready "$APEX/healthz" --ready "$DEMO/healthz" --ready "http://127.0.0.1:$CHAT_STREAM_PORT/healthz" \
  --ready-message "$(printf '%s\n' \
    "Apex:      $APEX" \
    "Demo team: $DEMO   (log in as demo@example.com / demo-password-123)" \
    "The demo chatbot's page shows the local model's progress until it is ready.")"
