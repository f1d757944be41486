"""Scale of the staff console: the teams list (every sort, a search, a deep page) and the health page with
1,000 and then 10,000 teams, in server time (the request handled in-process by Django's test client: middleware,
view, queries, template; no network), median and p95 of repeated requests.

Teams are rows in public with their memberships, 30 days of billing usage and console roll-ups; their schemas are
not built (the console never opens one — tests/architecture/test_schema_isolation.py). Runs against a throwaway
database it creates and drops (``bench_console``). Usage:

    .venv/bin/python bench/soak.py [--teams 1000,10000] [--repeat 15]

Prints a Markdown table for bench/RESULTS.md. The 10,000 widget-turn soak of issue 17 is not in this script yet.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SERVER = os.environ.get("BENCH_PG_SERVER", "postgres://postgres@127.0.0.1:5432")
DB = "bench_console"
os.environ.update(
    DJANGO_SETTINGS_MODULE="config.settings.local",
    DATABASE_URL=f"{SERVER}/{DB}",
    REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"),
    CACHE_KEY_PREFIX="benchconsole",
    LOG_LEVEL="ERROR",
    DEBUG="false",
)


def psql(sql: str, db: str = "postgres") -> str:
    done = subprocess.run(["psql", f"{SERVER}/{db}", "-Atqc", sql], check=True, capture_output=True, text=True)
    return done.stdout.strip()


def manage(*args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, check=True, capture_output=True)


def grow_to(total: int) -> None:
    """Add teams (rows only) until there are ``total``, each with 1-4 members, 30 days of usage and a roll-up."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM tenants_team WHERE schema_name LIKE 't_bench_%%'")
        have = cursor.fetchone()[0]
        if have >= total:
            return
        start, end = have + 1, total
        cursor.execute(
            """
            INSERT INTO tenants_team (schema_name, name, slug, status, plan_code, provisioning_error, storage_bytes,
                                      created_at, updated_at, provisioned_at)
            SELECT 't_bench_' || i, 'Bench team ' || i, 'bench-' || i,
                   CASE WHEN i %% 50 = 0 THEN 'suspended' ELSE 'active' END,
                   (ARRAY['free', 'pro', 'business'])[1 + i %% 3], '', 0,
                   now() - (i %% 120) * interval '1 day', now(), now() - (i %% 120) * interval '1 day'
            FROM generate_series(%s::int, %s::int) AS i
            """,
            [start, end],
        )
        cursor.execute(
            """
            INSERT INTO accounts_user (password, is_superuser, email, name, first_name, last_name, is_staff, is_active,
                                       date_joined)
            SELECT '!', false, 'bench' || i || '@example.com', 'Bench ' || i, '', '', false, true, now()
            FROM generate_series(%s::int, %s::int) AS i
            """,
            [start, end],
        )
        cursor.execute(
            """
            INSERT INTO tenants_membership (user_id, team_id, role, created_at, updated_at)
            SELECT u.id, t.id, 'owner', now(), now()
            FROM tenants_team t JOIN accounts_user u ON u.email = 'bench' || substr(t.slug, 7) || '@example.com'
            WHERE t.slug LIKE 'bench-%%' AND substr(t.slug, 7)::int BETWEEN %s::int AND %s::int
            """,
            [start, end],
        )
        cursor.execute(
            """
            INSERT INTO billing_usageday (team_id, day, ai_messages, model_cost, input_tokens, output_tokens,
                                          reported_messages, reported_cost)
            SELECT t.id, current_date - d, (t.id * 7 + d * 13) %% 400, 0, 0, 0, 0, 0
            FROM tenants_team t, generate_series(0, 29) AS d
            WHERE t.slug LIKE 'bench-%%' AND substr(t.slug, 7)::int BETWEEN %s::int AND %s::int
            """,
            [start, end],
        )
        cursor.execute(
            """
            INSERT INTO console_teamrollup (team_id, chatbots, sessions, last_activity_at, refreshed_at)
            SELECT t.id, t.id %% 9, t.id %% 500, now() - (t.id %% 1000) * interval '1 minute', now()
            FROM tenants_team t
            WHERE t.slug LIKE 'bench-%%' AND substr(t.slug, 7)::int BETWEEN %s::int AND %s::int
            """,
            [start, end],
        )
        cursor.execute("ANALYZE")


def staff_client():
    from allauth.account.authentication import AUTHENTICATION_METHODS_SESSION_KEY
    from allauth.mfa.models import Authenticator
    from django.test import Client

    from shared_apps.accounts.models import User

    user = User.objects.filter(email="staff@bench.example").first() or User.objects.create_user(
        email="staff@bench.example", password="bench-pass-123", is_staff=True
    )
    Authenticator.objects.get_or_create(user=user, type=Authenticator.Type.TOTP, defaults={"data": {"secret": "x"}})
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    session = client.session
    session[AUTHENTICATION_METHODS_SESSION_KEY] = [{"method": "mfa", "at": time.time(), "type": "totp"}]
    session[AUTHENTICATION_METHODS_SESSION_KEY + "_user"] = str(user.pk)
    session.save()
    return client


def timed(client, path: str, repeat: int) -> tuple[float, float, int]:
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    client.get(path)  # warm: templates compiled, statements prepared
    samples = []
    queries = 0
    for _ in range(repeat):
        reset_queries()
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(path)
            samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
        queries = len(captured)
    samples.sort()
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    return statistics.median(samples), p95, queries


PATHS = [
    ("teams list, by name", "/console/teams/"),
    ("teams list, by AI messages this month", "/console/teams/?sort=-messages"),
    ("teams list, by members", "/console/teams/?sort=-members"),
    ("teams list, by chatbots", "/console/teams/?sort=-chatbots"),
    ("teams list, by last activity", "/console/teams/?sort=-activity"),
    ("teams list, by plan", "/console/teams/?sort=plan"),
    ("teams list, search", "/console/teams/?q=team+77"),
    ("teams list, page 150", "/console/teams/?page=150"),
    ("health page", "/console/health/"),
    ("overview with charts", "/console/"),
    ("public status page (json)", "/status/?format=json"),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--teams", default="1000,10000")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    sizes = [int(n) for n in args.teams.split(",")]
    psql(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
    psql(f'CREATE DATABASE "{DB}"')
    try:
        manage("migrate_teams", "-v", "0")
        import django

        django.setup()
        from shared_apps.console import status
        from tenants.services.teams import public_tenant_ensure

        public_tenant_ensure()
        client = staff_client()
        results: dict[str, dict[int, tuple[float, float, int]]] = {}
        for size in sizes:
            grow_to(size)
            for label, path in PATHS:
                status._cache.clear()
                results.setdefault(label, {})[size] = timed(client, path, args.repeat)
        fsync = psql("SHOW fsync", DB)
        sync = psql("SHOW synchronous_commit", DB)
        load = os.getloadavg()
        print(
            f"\nMachine: {platform.node()} {os.cpu_count()} cores, {platform.python_version()}, load {load[0]:.1f}; "
            f"PostgreSQL {psql('SHOW server_version', DB)} fsync={fsync} synchronous_commit={sync}; "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {args.repeat} requests each after a warm-up\n"
        )
        header = " | ".join(f"{n:,} teams: median / p95 ms (queries)" for n in sizes)
        print(f"| page | {header} |")
        print("|---|" + "---|" * len(sizes))
        for label, per_size in results.items():
            cells = " | ".join(f"{m:.1f} / {p:.1f} ({q})" for m, p, q in (per_size[n] for n in sizes))
            print(f"| {label} | {cells} |")
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            psql(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')


if __name__ == "__main__":
    main()
