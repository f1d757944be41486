#!/usr/bin/env bash
# Install everything the project needs on a fresh machine: system packages, the Python venv (from the lock file),
# npm packages (from package-lock.json) and the built front end. Re-running is cheap: each step is skipped when
# its inputs have not changed.   infra/dev/setup.sh [--browser]
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"

UV_VERSION="0.13.9"

stamp_ok() { [ -f "$2" ] && [ "$(cat "$2")" = "$(sha256sum $1 | sha256sum | cut -c1-64)" ]; }
stamp_set() { sha256sum $1 | sha256sum | cut -c1-64 > "$2"; }

command -v pg_dump >/dev/null || apt_install postgresql-client
if [ "${1:-}" = "--browser" ]; then apt_install chromium fonts-liberation; fi

if [ ! -x "$PY" ]; then
  say "Creating the Python virtualenv (.venv)"
  python3 -m venv "$VENV"
fi
if ! stamp_ok "requirements/lock.txt" "$VENV/.lock-stamp"; then
  say "Installing Python packages from requirements/lock.txt"
  "$VENV/bin/pip" install -q --disable-pip-version-check "uv==$UV_VERSION"
  "$VENV/bin/uv" pip sync -q --python "$PY" requirements/lock.txt
  "$VENV/bin/uv" pip install -q --python "$PY" "uv==$UV_VERSION"
  stamp_set "requirements/lock.txt" "$VENV/.lock-stamp"
fi

if ! stamp_ok "package-lock.json" "node_modules/.lock-stamp"; then
  say "Installing npm packages from package-lock.json"
  npm ci --no-audit --no-fund --loglevel=error
  stamp_set "package-lock.json" "node_modules/.lock-stamp"
fi
say "Building the front end (static/build)"
npm run --silent build
mkdir -p "$VAR/staticfiles" "$VAR/mail"
