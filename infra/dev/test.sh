#!/usr/bin/env bash
# Set up and run every check: lint (ruff), format, types (mypy), import contract, the front end's Vitest suite,
# unit + integration tests, then the browser tests (Playwright + system Chromium). Exits non-zero on the first
# failing stage.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"
"$ROOT/infra/dev/setup.sh" --browser
"$ROOT/infra/dev/services.sh" start
# This run's own Redis server (brokers, caches and locks of two checkouts testing at once never mix); the test
# database is named after the checkout (config/settings/test.py) and e2e databases after the process.
command -v redis-server >/dev/null || apt_install redis-server
TEST_REDIS_PORT="$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
TEST_REDIS_DIR="$(mktemp -d "${TMPDIR:-/tmp}/chatstudio-test-redis.XXXXXX")"
redis-server --bind 127.0.0.1 --port "$TEST_REDIS_PORT" --daemonize yes --pidfile "$TEST_REDIS_DIR/redis.pid" \
  --dir "$TEST_REDIS_DIR" --save '' --appendonly no --logfile "$TEST_REDIS_DIR/redis.log"
for _ in $(seq 100); do redis-cli -p "$TEST_REDIS_PORT" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
stop_all() {
  [ -f "$TEST_REDIS_DIR/redis.pid" ] && kill "$(cat "$TEST_REDIS_DIR/redis.pid")" 2>/dev/null || true
  rm -rf "$TEST_REDIS_DIR"
  "$ROOT/infra/dev/services.sh" stop
}
trap stop_all EXIT
export DATABASE_URL TEST_REDIS_SERVER="redis://127.0.0.1:$TEST_REDIS_PORT"
say "ruff (lint + format)"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
say "mypy"
"$VENV/bin/mypy" config tenants shared_apps tenant_apps
say "import contract"
"$VENV/bin/lint-imports" --no-cache
say "front-end tests (Vitest)"
npm test --silent
say "tests"
CREATE_DB=""; [ -n "${CI:-}" ] && CREATE_DB="--create-db"
"$VENV/bin/pytest" -q $CREATE_DB -m "not e2e" -n 2 "$@"
say "browser tests"
"$VENV/bin/pytest" -q -m e2e -p no:randomly "$@"
say "All checks passed."
