#!/usr/bin/env bash
# Create the database if missing, run deploy migrations (public + pending teams) and seed the demo.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"
DB_NAME="$("$PY" -c "import os,urllib.parse as u;print(u.urlparse(os.environ['DATABASE_URL']).path.lstrip('/'))")"
if ! psql "${DATABASE_URL%/*}/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname='$DB_NAME'" | grep -q 1; then
  say "Creating database $DB_NAME"
  psql "${DATABASE_URL%/*}/postgres" -qc "CREATE DATABASE \"$DB_NAME\""
fi
say "Migrating (public, template and teams with pending migrations)"
"$PY" manage.py migrate_teams
say "Seeding the demo team"
"$PY" manage.py setup_demo
