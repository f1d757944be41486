#!/usr/bin/env bash
# Set up and run the product: services, migrations, demo team, then web + worker + beat in the foreground.
# Ctrl-C stops everything this started (including PostgreSQL/Redis if they were started for this run).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"
"$ROOT/infra/dev/setup.sh"
"$ROOT/infra/dev/services.sh" start
LOCAL_LLM_SH="$ROOT/infra/dev/local_llm.sh"
trap '[ -x "$LOCAL_LLM_SH" ] && "$LOCAL_LLM_SH" stop; "$ROOT/infra/dev/services.sh" stop' EXIT
"$ROOT/infra/dev/db.sh"
if [ -x "$LOCAL_LLM_SH" ]; then "$LOCAL_LLM_SH" start || warn "Local model unavailable; continuing without it."; fi
export PORT="${PORT:-8000}" SITE_PORT="${PORT:-8000}"
say "Apex: http://localhost:$PORT   Demo team: http://demo.localhost:$PORT   (login demo@example.com / demo-password-123)"
"$VENV/bin/honcho" -f "$ROOT/infra/dev/Procfile" start
