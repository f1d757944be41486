"""Deploy-time migrations with an O(1) gate, and the full check that keeps the gate honest (ADR 0150).

* **The gate.** Every clone or migration of a team schema records, in the same transaction, the digest of the
  migration set the schema now holds (``tenants_schemamigrationstate`` in public, the *ledger*). With nothing
  pending, ``migrate_teams`` is one query: the teams (and the template) whose ledger digest differs from the code's.
* **Applying.** Candidates are checked for real (their own ``django_migrations``); schemas already current only get
  their ledger row. Pending migrations that reduce to SQL are compiled once (``collect_sql``, introspecting one
  still-pending schema) and replayed per schema in one transaction with its migration records and ledger row;
  anything else (``RunPython``, non-atomic) goes through Django's migrate per schema. The template goes first.
  Schemas run in a bounded process pool; a failure is recorded per schema and never stops the others; an interrupted
  run resumes where it stopped, because a finished schema's ledger row committed with it.
* **The full check** (``check_team_schemas``, and the ``team_schemas_check_task`` beat task) opens every schema:
  migration records against the code, and a structure fingerprint (tables, columns, indexes, sequences) against
  the template's. A schema whose ledger claims more than it holds loses its ledger row, so the next gate sees it.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field

from django.conf import settings
from django.core.management import call_command
from django.db import connections, transaction
from django.db.migrations.executor import MigrationExecutor

from shared_apps.core.db import connection
from tenants import provisioning
from tenants.enums import TeamStatus
from tenants.models import Team

logger = logging.getLogger(__name__)

Echo = Callable[[str], None]
MAX_PARALLEL = 8


@dataclass
class MigrationReport:
    public_migrated: bool = False
    checked: int = 0
    candidates: int = 0
    recorded: int = 0
    pending: list[str] = field(default_factory=list)
    migrated: list[str] = field(default_factory=list)
    replayed: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def write(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(asdict(self), handle, indent=2)


def existing_schemas() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace")
        return {row[0] for row in cursor.fetchall()}


def team_schemas() -> list[str]:
    """The template first, then every team whose schema exists (the full list: the full check walks it)."""
    present = existing_schemas()
    names = Team.objects.teams().exclude(status=TeamStatus.DELETED).values_list("schema_name", flat=True)
    schemas = [settings.TEAM_TEMPLATE_SCHEMA] if settings.TEAM_TEMPLATE_SCHEMA in present else []
    return schemas + sorted(name for name in names if name in present)


_GATE_SQL = """
SELECT s.name FROM (
    SELECT %s::text AS name, 0 AS rank
    UNION ALL
    SELECT schema_name, 1 FROM tenants_team WHERE status <> %s AND schema_name <> 'public'
) s
JOIN pg_namespace n ON n.nspname = s.name
LEFT JOIN tenants_schemamigrationstate m ON m.schema_name = s.name
WHERE m.digest IS DISTINCT FROM %s
ORDER BY s.rank, s.name
"""


def gate_candidates() -> list[str]:
    """One query: the template and the team schemas whose ledger does not vouch for the code's migrations."""
    with connection.cursor() as cursor:
        cursor.execute(_GATE_SQL, [settings.TEAM_TEMPLATE_SCHEMA, TeamStatus.DELETED, provisioning.expected_digest()])
        return [row[0] for row in cursor.fetchall()]


def missing_by_schema(schemas: Iterable[str]) -> dict[str, frozenset[tuple[str, str]]]:
    """Each schema missing at least one migration of the code, with what it misses (one query per schema)."""
    expected = provisioning.expected_migrations()
    missing = {}
    with connection.cursor() as cursor:
        for schema in schemas:
            cursor.execute(f"SELECT app, name FROM {provisioning.quote_schema(schema)}.django_migrations")  # noqa: S608
            lacking = expected - set(cursor.fetchall())
            if lacking:
                missing[schema] = frozenset(lacking)
    return missing


def schemas_with_pending(schemas: Iterable[str]) -> list[str]:
    return list(missing_by_schema(schemas))


# --- compiling pending migrations to SQL once ------------------------------------------------------------------


def replay_sql(sample_schema: str, missing: frozenset[tuple[str, str]]) -> list[str] | None:
    """The SQL of ``missing`` as Django would run it in ``sample_schema`` (which must still lack them), or None
    when a migration cannot be replayed as SQL (RunPython, a non-atomic migration)."""
    connection.set_schema(sample_schema)
    try:
        executor = MigrationExecutor(connection)
        graph = executor.loader.graph
        ordered: list[tuple[str, str]] = []
        for leaf in graph.leaf_nodes():
            for node in graph.forwards_plan(leaf):
                if node in missing and node not in ordered:
                    ordered.append(node)
        plan = [(graph.nodes[node], False) for node in ordered]
        for migration, _ in plan:
            if not migration.atomic or not all(op.reduces_to_sql for op in migration.operations):
                return None
        return [statement for statement in executor.loader.collect_sql(plan) if statement.strip()]  # type: ignore[attr-defined]
    finally:
        connection.set_schema_to_public()


def _replay_one(schema: str, statements: list[str], missing: frozenset[tuple[str, str]]) -> None:
    quoted = provisioning.quote_schema(schema)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('search_path')")
        previous = cursor.fetchone()[0]
        cursor.execute(f"SET LOCAL search_path = {quoted}, public")
        for statement in statements:
            cursor.execute(statement)
        # Back to the connection's own path (SET LOCAL would outlive a savepoint inside an outer transaction).
        cursor.execute("SELECT set_config('search_path', %s, true)", [previous])
        cursor.executemany(
            f"INSERT INTO {quoted}.django_migrations (app, name, applied) VALUES (%s, %s, now())",  # noqa: S608
            sorted(missing),
        )
        provisioning.ledger_record(schema)


# --- applying ----------------------------------------------------------------------------------------------------


Job = tuple[str, "list[str] | None", frozenset[tuple[str, str]]]


def _apply(job: Job) -> tuple[str, str | None, bool]:
    """Migrate one schema (replayed SQL or Django's migrate); returns (schema, error, replayed)."""
    schema, statements, missing = job
    try:
        if statements is not None:
            _replay_one(schema, statements, missing)
        else:
            provisioning.migrate_schema(schema)
    except Exception as exc:  # one failing team must not stop the others; reported at the end
        logger.exception("schema.migrate_failed", extra={"schema": schema})
        connection.set_schema_to_public()
        return schema, f"{type(exc).__name__}: {exc}"[:1000], False
    return schema, None, statements is not None


def _close_inherited_connections() -> None:
    # A forked child must not share the parent's socket to PostgreSQL.
    for conn in connections.all():
        conn.inc_thread_sharing()
        conn.connection = None
        conn.dec_thread_sharing()


class _Progress:
    def __init__(self, total: int, echo: Echo) -> None:
        self.total, self.echo, self.done = total, echo, 0
        self.start = self.last = time.perf_counter()

    def tick(self, report: MigrationReport) -> None:
        self.done += 1
        now = time.perf_counter()
        if self.done == self.total or now - self.last >= 5:
            self.last = now
            rate = self.done / max(now - self.start, 1e-6)
            eta = (self.total - self.done) / rate if rate else 0
            self.echo(
                f"  {self.done}/{self.total} schemas ({len(report.failed)} failed), {rate:.1f}/s, ETA {eta:.0f} s"
            )


def migrate_all(
    *, parallel: int | None = None, echo: Echo = lambda _: None, full: bool = False, replay: bool = True
) -> MigrationReport:
    """Migrate public if needed, then the template and the team schemas the gate (or, with ``full``, a walk of
    every schema) finds behind the code."""
    start = time.perf_counter()
    report = MigrationReport()
    if provisioning.pending_migrations("public"):
        echo("Migrating public schema…")
        call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
        report.public_migrated = True
    connection.set_schema_to_public()

    candidates = team_schemas() if full else gate_candidates()
    report.candidates = len(candidates)
    report.checked = len(candidates)
    missing = missing_by_schema(candidates)
    report.pending = list(missing)
    with transaction.atomic():  # current schemas the ledger did not know yet (new code, backfill) get their row
        for schema in candidates:
            if schema not in missing:
                provisioning.ledger_record(schema)
                report.recorded += 1
    echo(f"{len(missing)} of {len(candidates)} schemas outside the ledger have pending migrations.")
    if not missing:
        report.seconds = time.perf_counter() - start
        return report

    # The SQL of each distinct missing set, compiled against a schema that still lacks it (before the template
    # is migrated, so the template can be the sample).
    compiled: dict[frozenset[tuple[str, str]], list[str] | None] = {}
    if replay:
        for schema, lacking in missing.items():
            if lacking not in compiled:
                try:
                    compiled[lacking] = replay_sql(schema, lacking)
                except Exception:  # not compilable: Django's migrate per schema instead
                    logger.warning("schema.replay_compile_failed", exc_info=True, extra={"schema": schema})
                    compiled[lacking] = None
    jobs: list[Job] = [(schema, compiled.get(lacking), lacking) for schema, lacking in missing.items()]
    progress = _Progress(len(jobs), echo)
    template = settings.TEAM_TEMPLATE_SCHEMA
    if jobs and jobs[0][0] == template:  # the template first (and for real), so teams cloned meanwhile are current
        _record(report, _apply((template, None, jobs[0][2])), echo)
        progress.tick(report)
        jobs = jobs[1:]
    workers = max(1, min(parallel or os.cpu_count() or 1, len(jobs), MAX_PARALLEL))
    if workers == 1:
        for job in jobs:
            _record(report, _apply(job), echo)
            progress.tick(report)
    elif jobs:
        connections.close_all()
        context = multiprocessing.get_context("fork")
        with context.Pool(processes=workers, initializer=_close_inherited_connections) as pool:
            for result in pool.imap_unordered(_apply, jobs, chunksize=4):
                _record(report, result, echo)
                progress.tick(report)
    report.seconds = time.perf_counter() - start
    return report


def _record(report: MigrationReport, result: tuple[str, str | None, bool], echo: Echo) -> None:
    schema, error, replayed = result
    if error is None:
        report.migrated.append(schema)
        report.replayed += int(replayed)
    else:
        report.failed[schema] = error
        echo(f"  FAILED {schema}: {error}")


# --- the full check ------------------------------------------------------------------------------------------------


@dataclass
class CheckReport:
    checked: int = 0
    pending: list[str] = field(default_factory=list)  # behind the code (the gate knew or now knows)
    ledger_drift: list[str] = field(default_factory=list)  # the ledger vouched for a schema that lacks migrations
    structure_drift: list[str] = field(default_factory=list)  # records complete, tables/columns differ from template
    recorded: int = 0
    seconds: float = 0.0

    @property
    def drifted(self) -> bool:
        return bool(self.ledger_drift or self.structure_drift)


_FINGERPRINT_SQL = """
SELECT n.nspname, md5(string_agg(
    c.relname || ':' || c.relkind::text || coalesce(':' || a.attname || ':' || format_type(a.atttypid, a.atttypmod)
        || ':' || a.attnotnull::text, ''),
    ',' ORDER BY c.relname, a.attname))
FROM pg_namespace n
JOIN pg_class c ON c.relnamespace = n.oid AND c.relkind IN ('r', 'p', 'i', 'S', 'v', 'm')
LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
WHERE n.nspname = ANY(%s)
GROUP BY n.nspname
"""


def structure_fingerprints(schemas: list[str], *, chunk: int = 200) -> dict[str, str]:
    """Tables, columns (name, type, not null), indexes and sequences of each schema, hashed."""
    prints: dict[str, str] = {}
    with connection.cursor() as cursor:
        for i in range(0, len(schemas), chunk):
            cursor.execute(_FINGERPRINT_SQL, [schemas[i : i + chunk]])
            prints.update(dict(cursor.fetchall()))
    return prints


def schemas_check(*, echo: Echo = lambda _: None, fix_ledger: bool = True, chunk: int = 200) -> CheckReport:
    """Open every team schema: migrations against the code, structure against the template; repair the ledger."""
    start = time.perf_counter()
    report = CheckReport()
    connection.set_schema_to_public()
    schemas = team_schemas()
    template = settings.TEAM_TEMPLATE_SCHEMA
    digest = provisioning.expected_digest()
    with connection.cursor() as cursor:
        cursor.execute("SELECT schema_name, digest FROM tenants_schemamigrationstate")
        ledger = dict(cursor.fetchall())
    template_print = None
    if template in schemas and not missing_by_schema([template]):  # a template behind the code is no yardstick
        template_print = structure_fingerprints([template]).get(template)
    for i in range(0, len(schemas), chunk):
        batch = schemas[i : i + chunk]
        missing = missing_by_schema(batch)
        prints = structure_fingerprints(batch, chunk=chunk)
        forget, vouch = [], []
        for schema in batch:
            vouched = ledger.get(schema) == digest
            if schema in missing:
                report.pending.append(schema)
                if vouched:
                    report.ledger_drift.append(schema)
                    forget.append(schema)
            elif template_print is not None and schema != template and prints.get(schema) != template_print:
                report.structure_drift.append(schema)  # migrations cannot repair this: reported, not forgotten
            elif not vouched:
                vouch.append(schema)
        if fix_ledger:
            with transaction.atomic(), connection.cursor() as cursor:
                for schema in forget:
                    provisioning.ledger_forget(schema)
                for schema in vouch:
                    provisioning.ledger_record(schema)
                cursor.execute(
                    "UPDATE tenants_schemamigrationstate SET checked_at = now() WHERE schema_name = ANY(%s)", [batch]
                )
            report.recorded += len(vouch)
        report.checked += len(batch)
        echo(f"  checked {report.checked}/{len(schemas)} schemas")
    report.seconds = time.perf_counter() - start
    for schema in report.ledger_drift:
        logger.error("schema.ledger_drift", extra={"schema": schema})
    for schema in report.structure_drift:
        logger.error("schema.structure_drift", extra={"schema": schema})
    return report
