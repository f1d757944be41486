"""Tenancy benchmarks at many teams (issue 20): team creation by clone as the team count grows, the deploy gate with
nothing pending, the full drift check, one pending migration in every schema, the footprint of an empty team and
of the catalog, backend memory by teams touched (with and without recycling), and host -> team resolution.

    .venv/bin/python bench/tenancy.py [--db bench_tenancy] [--marks 0,100,1000] [--reuse] [--keep]

Without ``--reuse`` it creates the database (dropping one of that name) and drops it at the end unless ``--keep``.
With ``--reuse`` it works on an existing database (e.g. filled to 10,000 teams by bench/tenancy_fill.py) and keeps
it. Filler teams are created in batches (bench/tenancy_fill.py); the creation figures are always single teams
through the real path (``team_create`` + ``team_provision``). Prints Markdown for bench/RESULTS.md, with
PostgreSQL's durability settings.
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
from bench.pgsettings import describe as describe_pg  # noqa: E402
from bench.tenancy_fill import SERVER, fill, setup_env  # noqa: E402

TEMP_MIGRATION = ROOT / "tenant_apps" / "audit" / "migrations" / "9999_bench_pending.py"
TURN_TABLE_PREFIXES = ("conversations_", "chatbots_", "pipelines_", "providers_")


def psql(sql: str, db: str = "postgres") -> None:
    subprocess.run(["psql", f"{SERVER}/{db}", "-qc", sql], check=True, capture_output=True)


def manage(*args: str) -> float:
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}")
    return time.perf_counter() - start


def create_teams(count: int, prefix: str) -> list[float]:
    from tenants.lifecycle import team_provision
    from tenants.services.teams import team_create

    timings = []
    for i in range(count):
        start = time.perf_counter()
        team = team_create(name=f"{prefix} {i}", slug=f"{prefix}-{i}", provision_async=False)
        team_provision(team_id=team.pk, method="clone")
        timings.append(time.perf_counter() - start)
    return timings


def team_count() -> int:
    from tenants.models import Team

    return Team.objects.teams().count()


def ms(values: list[float]) -> str:
    ordered = sorted(values)
    p90 = ordered[max(0, round(0.9 * len(ordered)) - 1)]
    return f"{statistics.median(values) * 1000:.0f} / {p90 * 1000:.0f} ms"


# --- backend memory ---------------------------------------------------------------------------------------------


def backend_memory(pid: int) -> tuple[float, float]:
    """(VmRSS, RssAnon) of a PostgreSQL backend in MB (VmRSS includes the shared buffers it touched)."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon"):
            fields[key] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["RssAnon"]


def bench_backend_memory(marks: list[int], recycle: int, unrecycled_max: int | None = None) -> list[str]:
    """Serve "turns" for many distinct teams over one Django connection: per team, switch schema and read every
    table a turn reads or writes (the planner opens each table and all its indexes, as the turn's queries do), then
    end the "request" as Django does. Measured with recycling off and at ``recycle`` schemas."""
    from django.conf import settings
    from django.db import connection

    from tenants.models import Team

    schemas = list(Team.objects.teams().order_by("pk").values_list("schema_name", flat=True)[: max(marks)])
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", [settings.TEAM_TEMPLATE_SCHEMA])
        tables = sorted(row[0] for row in cursor.fetchall() if row[0].startswith(TURN_TABLE_PREFIXES))
    statements = [f'SELECT * FROM "{table}" LIMIT 1' for table in tables]

    lines = [
        "",
        f"Backend memory by distinct teams served ({len(tables)} turn tables + their indexes read per team, one Django"
        " connection, `close_if_unusable_or_obsolete` after each team as at a request end):",
        "",
        "| policy | teams served | backend VmRSS | backend RssAnon | max VmRSS seen "
        "| per-team p50 (first 10 → last 10%) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for policy in (0, recycle):
        settings.DB_RECYCLE_AFTER_SCHEMAS = policy
        connection.close()
        connection.set_schema_to_public()
        peak = 0.0
        timings: list[float] = []
        served = 0
        for mark in marks:
            if not policy and unrecycled_max is not None and mark > unrecycled_max:
                break
            for schema in schemas[served:mark]:
                start = time.perf_counter()
                connection.set_schema(schema)
                with connection.cursor() as cursor:
                    for statement in statements:
                        cursor.execute(statement)
                        cursor.fetchall()
                connection.set_schema_to_public()
                connection.close_if_unusable_or_obsolete()
                timings.append(time.perf_counter() - start)
                if len(timings) % 50 == 0 and connection.connection is not None:
                    peak = max(peak, backend_memory(connection.connection.info.backend_pid)[0])
            served = min(mark, len(schemas))
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                pid = cursor.fetchone()[0]
            rss, anon = backend_memory(pid)
            peak = max(peak, rss)
            first = statistics.median(timings[:10]) * 1000
            tail = timings[-max(1, len(timings) // 10) :]
            lines.append(
                f"| {'recycle after ' + str(policy) + ' schemas' if policy else 'no recycling'} | {served} | "
                f"{rss:.0f} MB | {anon:.0f} MB | {peak:.0f} MB | "
                f"{first:.2f} → {statistics.median(tail) * 1000:.2f} ms |"
            )
    connection.close()
    settings.DB_RECYCLE_AFTER_SCHEMAS = 0
    return lines


# --- footprint ------------------------------------------------------------------------------------------------


def bench_footprint(sample_schema: str) -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relkind, count(*), coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s GROUP BY 1 ORDER BY 1",
            [sample_schema],
        )
        kinds = cursor.fetchall()
        cursor.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.reltoastrelid <> 0",
            [sample_schema],
        )
        toasted = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind = 'i' AND c.relname LIKE '%%\\_like'",
            [sample_schema],
        )
        like_indexes = cursor.fetchone()[0]
        cursor.execute(
            "SELECT c.relname, pg_total_relation_size(c.oid), c.reltuples FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'pg_catalog' AND c.relkind = 'r' "
            "ORDER BY 2 DESC LIMIT 6"
        )
        catalogs = cursor.fetchall()
        cursor.execute("SELECT count(*) FROM pg_class")
        pg_class_rows = cursor.fetchone()[0]
        cursor.execute("SELECT pg_database_size(current_database())")
        db_bytes = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 't\\_%%'")
        schemas = cursor.fetchone()[0]
        connection.set_schema(sample_schema)
        plans = []
        with connection.cursor() as cursor:
            for _ in range(50):
                cursor.execute(
                    "EXPLAIN (ANALYZE, FORMAT JSON) SELECT m.* FROM conversations_chatmessage m "
                    "JOIN conversations_chatsession s ON s.id = m.session_id WHERE s.id = 1 ORDER BY m.id DESC LIMIT 20"
                )
                plans.append(cursor.fetchone()[0][0]["Planning Time"])
        connection.set_schema_to_public()
    from tenants import provisioning

    start = time.perf_counter()
    provisioning._dump_template_ddl()
    dump_seconds = time.perf_counter() - start
    names = {"r": "tables", "i": "indexes", "S": "sequences", "v": "views", "m": "matviews"}
    relations = sum(count for _, count, _ in kinds)
    files = sum(size for _, _, size in kinds)
    per_team_db = db_bytes / max(schemas, 1)
    lines = [
        "",
        f"Footprint of an empty team (`{sample_schema}`) and of the catalog with {schemas} team schemas:",
        "",
        "| what | figure |",
        "|---|---:|",
        f"| relations in the schema | {relations} ("
        + ", ".join(f"{count} {names.get(kind, kind)}" for kind, count, _ in kinds)
        + f"; + {toasted} TOAST tables with their indexes in pg_toast) |",
        f"| relation files of the schema | {files / 1024:.0f} kB (mostly 8 kB metapages of empty indexes) |",
        f"| indexes only LIKE queries use (`*_like`) | {like_indexes} |",
        f"| database size / team schemas (catalog rows + files) | {per_team_db / 1024 / 1024:.2f} MB per team |",
        f"| database size | {db_bytes / 1024**3:.2f} GB |",
        f"| pg_class rows | {pg_class_rows:,} |",
    ]
    lines += [f"| catalog `{name}` | {size / 1024**2:.0f} MB, {rows:,.0f} rows |" for name, size, rows in catalogs]
    lines.append(
        f"| `pg_dump --schema-only --schema=team_template` (once per process and migration set) | "
        f"{dump_seconds:.2f} s |"
    )
    lines.append(f"| planning time of a 2-table turn read (median of 50, warm) | {statistics.median(plans):.3f} ms |")
    return lines


# --- moving one team --------------------------------------------------------------------------------------------

_SEED_SQL = """
INSERT INTO pipelines_pipeline (name, graph, edit_revision, is_frozen, created_at, updated_at)
VALUES ('bench', '{}', 1, false, now(), now());
INSERT INTO chatbots_chatbot (public_id, name, description, seed_message, participant_allowlist,
    file_uploads_enabled, is_public, created_at, updated_at, pipeline_id)
SELECT gen_random_uuid(), 'Bench bot', '', '', '[]', false, false, now(), now(), max(id) FROM pipelines_pipeline;
INSERT INTO conversations_participant (public_id, platform, identifier, name, created_at)
SELECT gen_random_uuid(), 'web', 'p' || g, '', now() FROM generate_series(1, 100) g;
INSERT INTO conversations_chatsession (external_id, platform, status, state, created_at, last_activity_at,
    chatbot_id, participant_id)
SELECT gen_random_uuid(), 'web', 'active', '{}', now(), now(), (SELECT max(id) FROM chatbots_chatbot), p.id
FROM conversations_participant p;
INSERT INTO conversations_chatmessage (role, content, metadata, attachments, turn_status, hidden, created_at,
    session_id)
SELECT CASE WHEN g % 2 = 0 THEN 'user' ELSE 'assistant' END,
       'Message ' || g || ': ' || repeat('lorem ipsum dolor sit amet ', 8), '{}', '[]', 'done', false, now(), s.id
FROM conversations_chatsession s, generate_series(1, 100) g;
"""


def bench_move(tmp: Path) -> list[str]:
    """export_team -> erase_team -> import_team of one team holding 10,000 messages."""
    from django.core.management import call_command
    from django.db import connection

    from tenants.models import Team

    slug = f"move-{int(time.time())}"
    create_teams(1, slug)
    team = Team.objects.get(slug=f"{slug}-0")
    connection.set_schema(team.schema_name)
    with connection.cursor() as cursor:
        cursor.execute(_SEED_SQL)
        cursor.execute("SELECT count(*) FROM conversations_chatmessage")
        messages = cursor.fetchone()[0]
    connection.set_schema_to_public()
    archive = tmp / "team.tar"
    quiet = open(os.devnull, "w")  # noqa: SIM115
    start = time.perf_counter()
    call_command("export_team", slug=team.slug, out=str(archive), stdout=quiet)
    exported = time.perf_counter() - start
    start = time.perf_counter()
    call_command("erase_team", slug=team.slug, yes=True, stdout=quiet)
    erased = time.perf_counter() - start
    start = time.perf_counter()
    call_command("import_team", str(archive), stdout=quiet)
    imported = time.perf_counter() - start
    team = Team.objects.get(slug=team.slug)
    connection.set_schema(team.schema_name)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM conversations_chatmessage")
        restored = cursor.fetchone()[0]
    connection.set_schema_to_public()
    return [
        "",
        f"Moving one team with {messages:,} messages (100 sessions) among the existing teams:",
        "",
        "| step | time | size |",
        "|---|---:|---:|",
        f"| `export_team` (pg_dump of the schema + public rows + files) | {exported:.2f} s | "
        f"{archive.stat().st_size / 1e6:.2f} MB archive |",
        f"| `erase_team` (drop, rows, files, Redis, proving scan) | {erased:.2f} s | |",
        f"| `import_team` (restore into the same database) | {imported:.2f} s | {restored:,} messages back |",
    ]


# --- request resolution ---------------------------------------------------------------------------------------


def bench_request_overhead(rounds: int = 2000) -> dict[str, float]:
    """µs per request through the full WSGI stack: team host vs the same stack without tenant resolution."""
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.test import override_settings
    from django.test.client import RequestFactory

    from tenants.models import Team

    factory = RequestFactory()
    team = Team.objects.teams().order_by("-pk").first()
    assert team is not None
    results = {}

    def run(handler: WSGIHandler, host: str) -> float:
        environ = factory.get("/healthz", HTTP_HOST=host).environ
        for _ in range(300):
            handler(dict(environ), lambda *a: None)
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            for _ in range(rounds):
                handler(dict(environ), lambda *a: None)
            best = min(best, (time.perf_counter() - start) / rounds)
        return best * 1e6

    results["team host (cached resolution)"] = run(WSGIHandler(), f"{team.slug}.localhost")
    results["apex (cached resolution)"] = run(WSGIHandler(), "localhost")
    plain = [m for m in settings.MIDDLEWARE if not m.startswith("tenants.middleware")]
    with override_settings(MIDDLEWARE=plain, ROOT_URLCONF="config.urls_public"):
        results["plain Django (no tenant middleware)"] = run(WSGIHandler(), "localhost")
    return results


# --- deploy -----------------------------------------------------------------------------------------------------


def bench_deploy(parallel: int) -> list[str]:
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    from tenants import migrating, provisioning

    digest = provisioning.expected_digest()  # before the temporary migration exists
    gate_query = []
    for _ in range(5):
        start = time.perf_counter()
        migrating.gate_candidates()
        gate_query.append(time.perf_counter() - start)
    noop = min(manage("migrate_teams", "-v", "0") for _ in range(3))
    check = manage("check_team_schemas", "-v", "0")
    schemas = len(migrating.team_schemas())

    leaf = MigrationLoader(None, ignore_no_migrations=True).graph.leaf_nodes("audit")[0][1]
    sql = "COMMENT ON TABLE audit_auditevent IS NULL"
    TEMP_MIGRATION.write_text(
        "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n"
        f"    dependencies = [('audit', '{leaf}')]\n"
        f"    operations = [migrations.RunSQL('{sql}', migrations.RunSQL.noop)]\n"
    )
    try:
        pending = manage("migrate_teams", "-v", "0", "--parallel", str(parallel))
        pending_noop = manage("migrate_teams", "-v", "0")
    finally:
        TEMP_MIGRATION.unlink()
    with connection.cursor() as cursor:  # undo: records out, ledger back to the code's digest
        for schema in migrating.team_schemas():
            cursor.execute(f"DELETE FROM \"{schema}\".django_migrations WHERE name = '9999_bench_pending'")
        cursor.execute("UPDATE tenants_schemamigrationstate SET digest = %s", [digest])
    return [
        "",
        f"Deploy migrations over {schemas} schemas (`manage.py migrate_teams`, whole command incl. ~1–2 s of Django "
        "start-up):",
        "",
        "| case | time |",
        "|---|---:|",
        f"| the gate query alone (in-process, median of 5) | {statistics.median(gate_query) * 1000:.1f} ms |",
        f"| nothing pending (best of 3) | {noop:.2f} s |",
        f"| full drift check, every schema (`check_team_schemas`) | {check:.1f} s |",
        f"| one pending migration (RunSQL) in every schema, `--parallel {parallel}` (compiled-SQL replay) | "
        f"{pending:.1f} s |",
        f"| the same deploy run again right after (nothing left) | {pending_noop:.2f} s |",
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="bench_tenancy")
    parser.add_argument("--marks", default="0,100,1000", help="existing-team counts to time creation at")
    parser.add_argument("--rss-marks", default="1,100,1000", help="distinct teams served, backend memory")
    parser.add_argument("--rss-unrecycled-max", type=int, default=None, help="stop the no-recycling run here")
    parser.add_argument("--recycle", type=int, default=50, help="DB_RECYCLE_AFTER_SCHEMAS for the memory bench")
    parser.add_argument("--parallel", type=int, default=2, help="migrate_teams processes for the pending case")
    parser.add_argument("--reuse", action="store_true", help="use the existing database (and keep it)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--skip", default="", help="sections to skip: create,deploy,footprint,memory,move,http")
    args = parser.parse_args()
    setup_env(args.db)
    skip = set(filter(None, args.skip.split(",")))

    if not args.reuse:
        psql(f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')
        psql(f'CREATE DATABASE "{args.db}"')
    first_deploy = manage("migrate_teams", "-v", "0")
    lines = [
        f"## Tenancy — {date.today()} — {platform.node()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "",
        f"{describe_pg(SERVER + '/postgres')}. Command: `python bench/tenancy.py {' '.join(sys.argv[1:])}`.",
        "",
    ]
    try:
        import django

        django.setup()
        from tenants.services.teams import public_tenant_ensure

        public_tenant_ensure()
        lines.append(f"First `migrate_teams` of this run (pending migrations, if any): {first_deploy:.1f} s.")

        if "create" not in skip:
            rows = []
            marks = sorted({int(m) for m in args.marks.split(",")})
            if args.reuse:  # at the database's own count, then at any larger mark
                marks = [team_count()] + [m for m in marks if m > team_count()]
            for mark in marks:
                have = team_count()
                if mark > have:
                    fill(mark - have + _fillers(), echo=lambda _: None)
                from django.conf import settings

                from tenants import provisioning

                settings.TEAM_SPARE_SCHEMAS = 0
                clone = create_teams(5, f"c{mark}x{int(time.time())}")
                settings.TEAM_SPARE_SCHEMAS = 5
                provisioning.spares_refill(count=5)  # what the refill task does between signups
                spare = create_teams(5, f"s{mark}x{int(time.time())}")
                settings.TEAM_SPARE_SCHEMAS = 0
                rows.append((team_count() - 10, ms(clone), ms(spare)))
            lines += [
                "",
                "Team creation through the real path (`team_create` + `team_provision`, clone; 5 each, median / p90):",
                "",
                "| existing teams | clone at provisioning | spare schema renamed (ADR 0153) |",
                "|---:|---:|---:|",
            ]
            lines += [f"| {n:,} | {c} | {sp} |" for n, c, sp in rows]

        if "deploy" not in skip:
            lines += bench_deploy(args.parallel)
        if "footprint" not in skip:
            from tenants.models import Team

            sample = Team.objects.teams().order_by("-pk").values_list("schema_name", flat=True).first()
            lines += bench_footprint(sample or "team_template")
        if "memory" not in skip:
            lines += bench_backend_memory(
                [int(m) for m in args.rss_marks.split(",")], args.recycle, args.rss_unrecycled_max
            )
        if "move" not in skip:
            import tempfile

            with tempfile.TemporaryDirectory(prefix="bench-move-") as tmp:
                lines += bench_move(Path(tmp))
        if "http" not in skip:
            overhead = bench_request_overhead()
            plain = overhead["plain Django (no tenant middleware)"]
            lines += [
                "",
                "Per-request cost of host -> team resolution (in-process WSGI, `GET /healthz` = one SELECT):",
                "",
                "| stack | µs / request | added vs plain |",
                "|---|---:|---:|",
            ]
            lines += [f"| {name} | {us:.0f} | {us - plain:+.0f} µs |" for name, us in overhead.items()]
    finally:
        print("\n".join(lines), flush=True)
        if not args.keep and not args.reuse:
            from django.db import connections

            connections.close_all()
            psql(f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')


def _fillers() -> int:
    from tenants.models import Team

    return Team.objects.filter(slug__startswith="fill-").count()


if __name__ == "__main__":
    main()
