"""Fill a bench database with many empty teams quickly (batches of clones, one commit per batch).

Used by bench/tenancy.py and bench/signup.py to reach 10,000 teams without paying one fsync per team; the
creation figures themselves are always timed one team at a time through the real path.

    .venv/bin/python bench/tenancy_fill.py --db bench_tenancy_x --teams 10000 [--create]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SERVER = os.environ.get("BENCH_PG_SERVER", "postgres://postgres@127.0.0.1:5432")


def setup_env(db: str) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        DATABASE_URL=f"{SERVER}/{db}",
        REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
        CACHE_KEY_PREFIX="bench",
        LOG_LEVEL="ERROR",
        DEBUG="false",
    )


def fill(total: int, *, prefix: str = "fill", batch: int = 10, echo=print) -> float:  # type: ignore[no-untyped-def]
    """Create teams until ``total`` filler teams exist (resumable: counts what is there)."""
    from django.db import transaction

    from shared_apps.core.db import connection
    from tenants import provisioning
    from tenants.enums import TeamStatus
    from tenants.models import Domain, Team, schema_name_for_slug
    from tenants.urls import team_host

    start = time.perf_counter()
    provisioning._ddl_cache.get(provisioning.template_ensure_current())  # committed before pg_dump reads it
    have = Team.objects.filter(slug__startswith=f"{prefix}-").count()
    i = have
    while i < total:
        with transaction.atomic():
            for n in range(i, min(i + batch, total)):
                slug = f"{prefix}-{n}"
                team = Team(
                    name=f"Fill {n}", slug=slug, schema_name=schema_name_for_slug(slug), status=TeamStatus.ACTIVE
                )
                team.save()
                Domain.objects.create(domain=team_host(team), tenant=team, is_primary=True)
                provisioning.schema_build(team=team, method="clone")
        connection.set_schema_to_public()
        i = min(i + batch, total)
        if i % 500 == 0 or i == total:
            echo(f"  {i}/{total} filler teams ({time.perf_counter() - start:.0f} s)")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--teams", type=int, default=10000)
    parser.add_argument("--create", action="store_true", help="drop and create the database first")
    parser.add_argument("--prefix", default="fill", help="slug prefix (two fillers with different prefixes can run)")
    args = parser.parse_args()
    setup_env(args.db)
    if args.create:
        for sql in (f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)', f'CREATE DATABASE "{args.db}"'):
            subprocess.run(["psql", f"{SERVER}/postgres", "-qc", sql], check=True)
        subprocess.run([sys.executable, "manage.py", "migrate_teams", "-v", "0"], cwd=ROOT, check=True)
    import django

    django.setup()
    from tenants.services.teams import public_tenant_ensure

    public_tenant_ensure()
    seconds = fill(args.teams, prefix=args.prefix, echo=lambda line: print(line, flush=True))
    print(f"filled {args.teams} teams in {seconds:.0f} s")


if __name__ == "__main__":
    main()
