"""Tenancy benchmarks: team creation (clone vs migrations) at 0/100/1,000 teams, deploy migrations over many
schemas (nothing pending, one pending), and the per-request cost of host -> team resolution.

Runs against a throwaway database it creates and drops (``bench_tenancy``). Usage:

    .venv/bin/python bench/tenancy.py [--teams 1000] [--baseline] [--keep]

``--baseline`` also times django-tenants' own ``migrate_schemas`` with nothing pending (slow: minutes at 1,000).
Figures are printed as a Markdown table to paste into bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SERVER = os.environ.get("BENCH_PG_SERVER", "postgres://postgres@127.0.0.1:5432")
DB = "bench_tenancy"
os.environ.update(
    DJANGO_SETTINGS_MODULE="config.settings.local",
    DATABASE_URL=f"{SERVER}/{DB}",
    REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
    CACHE_KEY_PREFIX="bench",
    LOG_LEVEL="ERROR",
    DEBUG="false",
)

TEMP_MIGRATION = ROOT / "tenant_apps" / "audit" / "migrations" / "9999_bench_pending.py"


def psql(sql: str, db: str = "postgres") -> None:
    subprocess.run(["psql", f"{SERVER}/{db}", "-qc", sql], check=True, capture_output=True)


def manage(*args: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - start


def create_teams(count: int, prefix: str, method: str) -> list[float]:
    from tenants.lifecycle import team_provision
    from tenants.services.teams import team_create

    timings = []
    for i in range(count):
        start = time.perf_counter()
        team = team_create(name=f"{prefix} {i}", slug=f"{prefix}-{i}", provision_async=False)
        team_provision(team_id=team.pk, method=method)
        timings.append(time.perf_counter() - start)
    return timings


def median_ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.0f} ms"


def bench_request_overhead(rounds: int = 3000) -> dict[str, float]:
    """µs per request through the full WSGI stack: team host vs the same stack without tenant resolution."""
    from django.core.handlers.wsgi import WSGIHandler
    from django.test import override_settings
    from django.test.client import RequestFactory

    from tenants.models import Team

    factory = RequestFactory()
    team = Team.objects.teams().first()
    assert team is not None
    results = {}

    def run(handler: WSGIHandler, host: str) -> float:
        environ = factory.get("/healthz", HTTP_HOST=host).environ
        for _ in range(300):  # warm caches, connections
            handler(dict(environ), lambda *a: None)
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            for _ in range(rounds):
                handler(dict(environ), lambda *a: None)
            best = min(best, (time.perf_counter() - start) / rounds)
        return best * 1e6

    from django.conf import settings

    results["team host (cached resolution)"] = run(WSGIHandler(), f"{team.slug}.localhost")
    results["apex (cached resolution)"] = run(WSGIHandler(), "localhost")
    plain = [m for m in settings.MIDDLEWARE if not m.startswith("tenants.middleware")]
    with override_settings(MIDDLEWARE=plain, ROOT_URLCONF="config.urls_public"):
        results["plain Django (no tenant middleware)"] = run(WSGIHandler(), "localhost")
    stock = ["django_tenants.middleware.main.TenantMainMiddleware", *plain[:]]
    with override_settings(MIDDLEWARE=stock):
        results["django-tenants TenantMainMiddleware (uncached)"] = run(WSGIHandler(), f"{team.slug}.localhost")
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--teams", type=int, default=1000)
    parser.add_argument("--baseline", action="store_true", help="also time django-tenants' migrate_schemas")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    psql(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
    psql(f'CREATE DATABASE "{DB}"')
    lines = [
        f"## Tenancy — {date.today()} — {platform.node()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "",
    ]
    try:
        manage("migrate_teams", "-v", "0")
        import django

        django.setup()
        from tenants.services.teams import public_tenant_ensure

        public_tenant_ensure()

        rows = []
        # Team creation at 0, 100 and N existing teams, clone and migrate side by side (5 creations each).
        existing = 0
        for target in (0, 100, args.teams):
            if target > existing:
                create_teams(target - existing, f"filler{existing}", "clone")
                existing = target
            clone = create_teams(5, f"c{target}", "clone")
            migrate = create_teams(5, f"m{target}", "migrate")
            existing += 10
            rows.append((target, median_ms(clone), median_ms(migrate)))
        lines += [
            "Team creation (row + domain + schema; median of 5):",
            "",
            "| existing teams | clone template DDL | run migrations |",
            "|---:|---:|---:|",
        ]
        lines += [f"| {n} | {c} | {m} |" for n, c, m in rows]

        # Deploy migrations over every schema.
        noop = min(manage("migrate_teams", "-v", "0") for _ in range(3))
        from django.db.migrations.loader import MigrationLoader

        leaf = MigrationLoader(None, ignore_no_migrations=True).graph.leaf_nodes("audit")[0][1]
        sql = "COMMENT ON TABLE audit_auditevent IS NULL"
        TEMP_MIGRATION.write_text(
            "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n"
            f"    dependencies = [('audit', '{leaf}')]\n"
            f"    operations = [migrations.RunSQL('{sql}', migrations.RunSQL.noop)]\n"
        )
        try:
            pending = manage("migrate_teams", "-v", "0")
        finally:
            TEMP_MIGRATION.unlink()
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 't\\_%' OR nspname = 'team_template'")
            for (schema,) in cursor.fetchall():
                cursor.execute(f"DELETE FROM \"{schema}\".django_migrations WHERE name = '9999_bench_pending'")
        schemas = existing + 1
        lines += [
            "",
            f"Deploy migrations over {schemas} schemas (`manage.py migrate_teams`, whole command):",
            "",
            "| case | time |",
            "|---|---:|",
            f"| nothing pending | {noop:.2f} s |",
            f"| one pending migration in every schema | {pending:.1f} s |",
        ]
        if args.baseline:
            baseline = manage("migrate_schemas", "-v", "0")
            lines.append(f"| django-tenants `migrate_schemas`, nothing pending | {baseline:.1f} s |")

        overhead = bench_request_overhead()
        plain = overhead["plain Django (no tenant middleware)"]
        lines += [
            "",
            "Per-request cost of host -> team resolution (in-process WSGI, `GET /healthz` = one SELECT):",
            "",
            "| stack | µs / request | added vs plain |",
            "|---|---:|---:|",
        ]
        for name, micros in overhead.items():
            lines.append(f"| {name} | {micros:.0f} | {micros - plain:+.0f} µs |")
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            psql(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
    print("\n".join(lines))


if __name__ == "__main__":
    main()
