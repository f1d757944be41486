#!/usr/bin/env bash
# Start PostgreSQL and Redis when nothing answers on their ports, and stop only what this script started.
#   infra/dev/services.sh start | stop | status
# When no PostgreSQL server answers, a project-local cluster is created in var/pg (trust auth, fsync off).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PG_DATA="$VAR/pg"
PG_MARK="$RUN_DIR/pg.started"
REDIS_MARK="$RUN_DIR/redis.started"
REDIS_PID="$RUN_DIR/redis.pid"

pg_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do [ -x "$d/pg_ctl" ] && { echo "$d"; return; }; done
  return 1
}

pg_up() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT" 2>/dev/null; }
redis_up() { redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; }

start_pg() {
  command -v pg_isready >/dev/null || apt_install postgresql-client
  if pg_up; then say "PostgreSQL answers on $PG_HOST:$PG_PORT (not started by us)"; return; fi
  pg_bin >/dev/null || apt_install postgresql
  local bin; bin="$(pg_bin)"
  # A Debian cluster that is installed but stopped: start it (trust auth is set by the machine image).
  if [ ! -d "$PG_DATA" ]; then
    say "Creating a project-local PostgreSQL cluster in var/pg"
    mkdir -p "$PG_DATA"
    if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$PG_DATA"; fi
    run_pg "$bin/initdb" -D "$PG_DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  say "Starting PostgreSQL on $PG_HOST:$PG_PORT (project-local)"
  run_pg "$bin/pg_ctl" -D "$PG_DATA" -l "$PG_DATA/server.log" -w start \
    -o "-c listen_addresses=$PG_HOST -p $PG_PORT -k /tmp -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >/dev/null
  touch "$PG_MARK"
}

run_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

start_redis() {
  if redis_up; then say "Redis answers on $REDIS_HOST:$REDIS_PORT (not started by us)"; return; fi
  command -v redis-server >/dev/null || apt_install redis-server
  say "Starting Redis on $REDIS_HOST:$REDIS_PORT (project-local)"
  redis-server --bind "$REDIS_HOST" --port "$REDIS_PORT" --daemonize yes --pidfile "$REDIS_PID" \
    --dir "$RUN_DIR" --save '' --appendonly no --logfile "$RUN_DIR/redis.log"
  for _ in $(seq 50); do redis_up && break; sleep 0.1; done
  touch "$REDIS_MARK"
}

stop_all() {
  if [ -f "$PG_MARK" ]; then
    say "Stopping the project-local PostgreSQL"
    run_pg "$(pg_bin)/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null || true
    rm -f "$PG_MARK"
  fi
  if [ -f "$REDIS_MARK" ]; then
    say "Stopping the project-local Redis"
    [ -f "$REDIS_PID" ] && kill "$(cat "$REDIS_PID")" 2>/dev/null || true
    rm -f "$REDIS_MARK" "$REDIS_PID"
  fi
}

case "${1:-start}" in
  start) start_pg; start_redis ;;
  stop) stop_all ;;
  status) pg_up && echo "postgres: up" || echo "postgres: down"; redis_up && echo "redis: up" || echo "redis: down" ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
