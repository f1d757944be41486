#!/usr/bin/env bash
# Set up and run every check: lint (ruff), format, types (mypy), import contract, unit + integration tests,
# then the browser tests (Playwright + system Chromium). Exits non-zero on the first failing stage.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"
"$ROOT/infra/dev/setup.sh" --browser
"$ROOT/infra/dev/services.sh" start
trap '"$ROOT/infra/dev/services.sh" stop' EXIT
export DATABASE_URL
say "ruff (lint + format)"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
say "mypy"
"$VENV/bin/mypy" config tenants shared_apps tenant_apps
say "import contract"
"$VENV/bin/lint-imports" --no-cache
say "tests"
CREATE_DB=""; [ -n "${CI:-}" ] && CREATE_DB="--create-db"
"$VENV/bin/pytest" -q $CREATE_DB -m "not e2e" -n 2 "$@"
say "browser tests"
"$VENV/bin/pytest" -q -m e2e -p no:randomly "$@"
say "All checks passed."
