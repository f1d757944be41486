"""Events scheduler benchmarks (ADR 0140): the cost of one scheduler tick over N teams with nothing due, and the
delivery lag of 10,000 due scheduled messages spread over 100 teams.

Runs against a throwaway database it creates and drops (``bench_events``). Usage:

    .venv/bin/python bench/events_tick.py [--teams 1000] [--lag-teams 100] [--per-team 100] [--keep]

Tick: beat's fan-out in public (list the active teams, one enqueue each) and, per team, what the team task does
(switch to the schema, one "anything due?" statement). Database time is measured three ways: client-observed time
of the statements Django sends (execute wrapper), wall time per team including the ``SET search_path`` and Python,
and PostgreSQL's own execution time of the due statement (EXPLAIN ANALYZE). Lag: every message is due at the same
instant T0; two worker processes tick the teams (as two Celery worker processes would); a message's lag is when
its bot message was stored minus T0. Figures are printed as Markdown to paste into bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SERVER = os.environ.get("BENCH_PG_SERVER", "postgres://postgres@127.0.0.1:5432")
DB = "bench_events"
os.environ.update(
    DJANGO_SETTINGS_MODULE="config.settings.local",
    DATABASE_URL=f"{SERVER}/{DB}",
    REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"),
    CACHE_KEY_PREFIX="bench-events",
    LOG_LEVEL="ERROR",
    DEBUG="false",
)


def psql(sql: str, db: str = "postgres") -> str:
    done = subprocess.run(["psql", f"{SERVER}/{db}", "-tAc", sql], check=True, capture_output=True, text=True)
    return done.stdout.strip()


def create_teams(count: int, prefix: str, start: int = 0) -> None:
    from tenants.lifecycle import team_provision
    from tenants.services.teams import team_create

    for i in range(start, start + count):
        team = team_create(name=f"{prefix} {i}", slug=f"{prefix}-{i}", provision_async=False)
        team_provision(team_id=team.pk, method="clone")


class DbTimer:
    def __init__(self) -> None:
        self.seconds = 0.0
        self.statements = 0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - start
            self.statements += 1


def bench_tick(rounds: int) -> dict[str, Any]:
    from django.db import connection

    from tenant_apps.events import tasks, ticks
    from tenants.context import tenant_context
    from tenants.models import Team
    from tenants.tasks import enqueue_for_each_active_team

    teams = list(Team.objects.active())
    results: dict[str, list[float]] = {
        k: [] for k in ("dispatch_db", "dispatch_wall", "enqueue_wall", "team_db", "team_wall", "task_wall")
    }
    statements = 0

    class Stub:
        @staticmethod
        def delay() -> None:
            return None

    for _ in range(rounds):
        timer = DbTimer()
        start = time.perf_counter()
        with connection.execute_wrapper(timer):
            enqueue_for_each_active_team(Stub)
        results["dispatch_wall"].append(time.perf_counter() - start)
        results["dispatch_db"].append(timer.seconds)

        start = time.perf_counter()
        tasks.events_tick_dispatch_task()  # the real thing: one message per team on the broker
        results["enqueue_wall"].append(time.perf_counter() - start)

        timer = DbTimer()
        start = time.perf_counter()
        with connection.execute_wrapper(timer):
            for team in teams:
                with tenant_context(team):
                    ticks.tick()
        results["team_wall"].append(time.perf_counter() - start)
        results["team_db"].append(timer.seconds)
        statements = timer.statements

        start = time.perf_counter()
        for team in teams:
            with tenant_context(team):
                tasks.events_tick_task.apply()  # the task as a worker runs it (Celery's own overhead included)
        results["task_wall"].append(time.perf_counter() - start)

    from config.celery import app

    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge("maintenance")

    with tenant_context(teams[0]), connection.cursor() as cursor:
        from django.utils import timezone

        from tenant_apps.events.ticks import _DUE_SQL

        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + _DUE_SQL, ["active", timezone.now(), timezone.now()])
        plan = cursor.fetchone()[0]
        server_ms = float(plan[0]["Execution Time"])
    return {
        "teams": len(teams),
        "statements": statements,
        "server_ms": server_ms,
        **{k: statistics.median(v) for k, v in results.items()},
    }


def seed_lag(teams: int, per_team: int, prefix: str) -> Any:
    """Give the first ``teams`` of the tick teams a chatbot, ``per_team`` web participants with an open session
    each and one message due for each of them (no new schemas: the tick teams are reused)."""
    from django.utils import timezone

    from tenant_apps.chatbots.models import Chatbot
    from tenant_apps.conversations.enums import Platform
    from tenant_apps.conversations.models import ChatSession, Participant
    from tenant_apps.events.enums import Origin
    from tenant_apps.events.models import ScheduledMessage
    from tenant_apps.pipelines.models import Pipeline
    from tenants.context import tenant_context
    from tenants.models import Team

    due = timezone.now() + timedelta(seconds=30)
    for team in Team.objects.filter(slug__startswith=f"{prefix}-").order_by("pk")[:teams]:
        with tenant_context(team):
            bot = Chatbot.objects.create(name="Lag bot", pipeline=Pipeline.objects.create(name="Lag"))
            people = Participant.objects.bulk_create(
                [Participant(platform=Platform.WEB, identifier=f"p{i}@example.com") for i in range(per_team)]
            )
            ChatSession.objects.bulk_create(
                [ChatSession(chatbot=bot, participant=p, platform=Platform.WEB) for p in people]
            )
            ScheduledMessage.objects.bulk_create(
                [
                    ScheduledMessage(
                        chatbot=bot,
                        participant=p,
                        text="Time for your check-in",
                        origin=Origin.API,
                        first_run_at=due,
                        next_run_at=due,
                        max_runs=1,
                    )
                    for p in people
                ]
            )
    return due


def _drain(schemas: list[str]) -> None:
    import django

    django.setup()
    from django.db import connection

    from tenant_apps.events import ticks
    from tenants.context import tenant_context
    from tenants.models import Team

    connection.close()
    for team in Team.objects.filter(schema_name__in=schemas):
        with tenant_context(team):
            ticks.tick()


def bench_lag(prefix: str, due: Any, count: int) -> dict[str, Any]:
    from tenant_apps.conversations.models import ChatMessage
    from tenants.context import tenant_context
    from tenants.models import Team

    teams = list(Team.objects.filter(slug__startswith=f"{prefix}-").order_by("pk")[:count])
    schemas = [t.schema_name for t in teams]
    while time.time() < due.timestamp():
        time.sleep(0.05)
    start = time.perf_counter()
    ctx = multiprocessing.get_context("fork")
    from django.db import connections

    connections.close_all()
    workers = [ctx.Process(target=_drain, args=(schemas[i::2],)) for i in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    wall = time.perf_counter() - start
    lags: list[float] = []
    for team in teams:
        with tenant_context(team):
            lags += [(c - due).total_seconds() for c in ChatMessage.objects.values_list("created_at", flat=True)]
    lags.sort()
    return {
        "messages": len(lags),
        "wall": wall,
        "p50": lags[len(lags) // 2],
        "p95": lags[int(len(lags) * 0.95)],
        "max": lags[-1],
        "rate": len(lags) / wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--teams", type=int, default=1000)
    parser.add_argument("--lag-teams", type=int, default=100)
    parser.add_argument("--per-team", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="reuse a kept database and its teams")
    args = parser.parse_args()

    if not args.reuse:
        psql(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        psql(f'CREATE DATABASE "{DB}"')
    try:
        subprocess.run([sys.executable, "manage.py", "migrate_teams", "-v", "0"], cwd=ROOT, check=True)
        import django

        django.setup()
        from tenants.models import Team
        from tenants.services.teams import public_tenant_ensure

        public_tenant_ensure()
        started = time.perf_counter()
        existing = Team.objects.filter(slug__startswith="tick-").count()
        create_teams(max(0, args.teams - existing), "tick", start=existing)
        created = time.perf_counter() - started
        tick = bench_tick(args.rounds)
        due = seed_lag(args.lag_teams, args.per_team, "tick")
        lag = bench_lag("tick", due, args.lag_teams)
        fsync = psql("SHOW fsync")
        sync = psql("SHOW synchronous_commit")
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            psql(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')

    load = os.getloadavg()[0]
    header = (
        f"## Events scheduler — {date.today()} — {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, PostgreSQL fsync={fsync}, synchronous_commit={sync}, load average {load:.1f}"
    )
    ms = {k: f"{v * 1000:.0f} ms" for k, v in tick.items() if isinstance(v, float)}
    rows = [
        (
            "beat fan-out in public: list active teams (no enqueue)",
            f"{tick['dispatch_db'] * 1000:.1f} ms",
            ms["dispatch_wall"],
        ),
        ("beat fan-out with the real enqueue (one broker message per team)", "—", ms["enqueue_wall"]),
        (
            f"every team's tick body: SET search_path + one due statement ({tick['statements']} seen by Django)",
            f"{ms['team_db']} client-observed",
            ms["team_wall"],
        ),
        ("every team's tick as a Celery task (`apply()`, no broker)", "—", ms["task_wall"]),
        ("PostgreSQL execution time of one due statement (EXPLAIN ANALYZE)", f"{tick['server_ms']:.3f} ms", "—"),
    ]
    lines = [
        header,
        "",
        f"One tick with nothing due over {tick['teams']} active teams (median of {args.rounds}; teams created by "
        f"clone, {created:.0f} s in this run):",
        "",
        "| part | database time | wall time |",
        "|---|---:|---:|",
        *(f"| {a} | {b} | {c} |" for a, b, c in rows),
        "",
        f"Delivery lag: {lag['messages']} scheduled messages due at the same instant over {args.lag_teams} teams "
        f"({args.per_team} web participants each), drained by 2 worker processes:",
        "",
        "| messages | drain time | messages/s | lag p50 | lag p95 | lag max |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {lag['messages']} | {lag['wall']:.1f} s | {lag['rate']:.0f} | {lag['p50']:.1f} s | {lag['p95']:.1f} s "
        f"| {lag['max']:.1f} s |",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
