"""Build and drop team schemas.

Two ways to build a schema, chosen by ``TEAM_PROVISIONING_METHOD`` (docs/adr/0002-provisioning-by-clone.md):

* ``clone``: replay the DDL of a migrated template schema (``TEAM_TEMPLATE_SCHEMA``) under the new name and copy
  its migration records. The DDL is taken once per process with ``pg_dump --schema-only`` and reused.
* ``migrate``: ``CREATE SCHEMA`` and run every tenant migration.

The template can never hand out a stale schema: before every clone the template's applied migrations are compared
with the migrations in the code, and a template that lacks any is migrated first (under an advisory lock, so two
provisioners never migrate it at once). The dumped DDL is keyed by the template's applied migrations, so a
template migrated by another process is dumped again.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import subprocess
import threading
import time
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.core.management import call_command
from django.db import transaction
from django.db.migrations.loader import MigrationLoader

from shared_apps.core.db import connection
from tenants.models import Team

logger = logging.getLogger(__name__)

_TEMPLATE_LOCK_ID = 74_210_001  # pg_advisory_lock key for migrating the template schema
_SAFE_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class ProvisioningError(Exception):
    pass


@dataclass(frozen=True)
class ProvisionResult:
    schema_name: str
    method: str
    seconds: float


def _quote(schema: str) -> str:
    if not _SAFE_SCHEMA.match(schema) or schema.startswith("pg_"):
        raise ProvisioningError(f"Refusing unsafe schema name {schema!r}.")
    return f'"{schema}"'


def quote_schema(schema: str) -> str:
    """The schema name as a quoted SQL identifier; raises ``ProvisioningError`` for anything unusual."""
    return _quote(schema)


@cache
def expected_migrations() -> frozenset[tuple[str, str]]:
    """Every migration in the code. django-tenants records all of them in every schema."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return frozenset(loader.graph.nodes)


@cache
def expected_digest() -> str:
    """A fingerprint of the code's migration set: what the deploy gate's ledger compares against (ADR 0150)."""
    return hashlib.sha256(repr(sorted(expected_migrations())).encode()).hexdigest()


_LEDGER = "public.tenants_schemamigrationstate"


def ledger_record(schema: str, digest: str | None = None) -> None:
    """Record in public that ``schema`` holds the code's migrations (same transaction as the change that made it so)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_LEDGER} (schema_name, digest, structure, recorded_at) "  # noqa: S608
            "VALUES (%s, %s, '', now()) ON CONFLICT (schema_name) DO UPDATE "
            "SET digest = EXCLUDED.digest, recorded_at = EXCLUDED.recorded_at",
            [schema, digest or expected_digest()],
        )


def ledger_forget(schema: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {_LEDGER} WHERE schema_name = %s", [schema])  # noqa: S608


def schema_exists(schema: str) -> bool:
    """An exact, indexed lookup (django-tenants' ``schema_exists`` compares ``lower(nspname)``: a catalog scan)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = %s)", [schema])
        return bool(cursor.fetchone()[0])


def applied_migrations(schema: str) -> set[tuple[str, str]]:
    with connection.cursor() as cursor:
        # to_regclass is one index probe; information_schema.tables scans the catalog at 10,000 schemas.
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [f"{_quote(schema)}.django_migrations"])
        if not cursor.fetchone()[0]:
            return set()
        cursor.execute(f"SELECT app, name FROM {_quote(schema)}.django_migrations")  # noqa: S608
        return {(app, name) for app, name in cursor.fetchall()}


def pending_migrations(schema: str) -> set[tuple[str, str]]:
    return set(expected_migrations()) - applied_migrations(schema)


def migrate_schema(schema: str) -> None:
    """Run pending migrations in one existing schema (prints nothing)."""
    call_command("migrate_schemas", tenant=True, schema_name=schema, interactive=False, verbosity=0)
    connection.set_schema_to_public()
    if not pending_migrations(schema):
        ledger_record(schema)


def template_ensure_current() -> frozenset[tuple[str, str]]:
    """Create or migrate the template schema until it holds every migration in the code; return its set."""
    template = settings.TEAM_TEMPLATE_SCHEMA
    if not pending_migrations(template) and schema_exists(template):
        return frozenset(applied_migrations(template))
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [_TEMPLATE_LOCK_ID])
    try:
        if not schema_exists(template):
            with connection.cursor() as cursor:
                cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {_quote(template)}")
        if pending_migrations(template):
            logger.info("team_template.migrating", extra={"schema": template})
            migrate_schema(template)
        return frozenset(applied_migrations(template))
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_TEMPLATE_LOCK_ID])


class _DdlCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: str | None = None
        self._ddl: str = ""

    def get(self, applied: frozenset[tuple[str, str]]) -> str:
        key = hashlib.sha256(repr(sorted(applied)).encode()).hexdigest()
        with self._lock:
            if key != self._key:
                self._ddl = _dump_template_ddl()
                self._key = key
            return self._ddl


def _dump_template_ddl() -> str:
    """The template's DDL, schema-qualified, with settings lines (which would change search_path) removed."""
    db = connection.settings_dict
    command = [
        "pg_dump",
        "--schema-only",
        "--no-owner",
        "--no-privileges",
        "--no-comments",
        f"--schema={settings.TEAM_TEMPLATE_SCHEMA}",
        "--dbname",
        str(db["NAME"]),
    ]
    if db.get("HOST"):
        command += ["--host", str(db["HOST"])]
    if db.get("PORT"):
        command += ["--port", str(db["PORT"])]
    if db.get("USER"):
        command += ["--username", str(db["USER"])]
    env = {"PGPASSWORD": str(db.get("PASSWORD") or ""), "PATH": "/usr/bin:/usr/local/bin:/bin"}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False)
    if result.returncode != 0:
        raise ProvisioningError(f"pg_dump of the template failed: {result.stderr.strip()[:500]}")
    kept = []
    for line in result.stdout.splitlines():
        if line.startswith(("SET ", "SELECT pg_catalog.set_config", "--", "\\")):
            continue
        if line.startswith("CREATE SCHEMA "):
            continue
        kept.append(line)
    return "\n".join(kept)


_ddl_cache = _DdlCache()


def _template_pattern() -> re.Pattern[str]:
    return re.compile(r"(?<![\w\"])" + re.escape(settings.TEAM_TEMPLATE_SCHEMA) + r"\.")


def schema_clone(schema: str) -> None:
    """Build ``schema`` from the (current) template in one transaction."""
    applied = template_ensure_current()
    ddl = _template_pattern().sub(f"{_quote(schema)}.", _ddl_cache.get(applied))
    template = _quote(settings.TEAM_TEMPLATE_SCHEMA)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {_quote(schema)}")
        cursor.execute(ddl)
        cursor.execute(
            f"INSERT INTO {_quote(schema)}.django_migrations (app, name, applied) "  # noqa: S608
            f"SELECT app, name, applied FROM {template}.django_migrations"
        )
        ledger_record(schema)  # the template holds every migration of the code (checked above)
    # The DDL ran with no search path of its own; make django-tenants re-issue ours on the next cursor.
    connection.search_path_set_schemas = None


# --- spare schemas: built ahead, renamed at signup (ADR 0153) ------------------------------------------------------

SPARE_PREFIX = "spare_"
_SPARE_LOCK_ID = 74_210_002


def spare_claim(schema: str) -> bool:
    """Rename a ready spare schema to ``schema`` (one catalog row); False when none is ready.

    Only a spare whose ledger digest is this code's migration set is taken: a spare built before a deploy that
    added migrations is never handed out (it is dropped by the next refill)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"SELECT schema_name FROM {_LEDGER} WHERE schema_name LIKE %s AND digest = %s "  # noqa: S608
            "ORDER BY recorded_at LIMIT 1 FOR UPDATE SKIP LOCKED",
            [SPARE_PREFIX.replace("_", "\\_") + "%", expected_digest()],
        )
        row = cursor.fetchone()
        if row is None:
            return False
        spare = row[0]
        cursor.execute(f"ALTER SCHEMA {_quote(spare)} RENAME TO {_quote(schema)}")
        cursor.execute(
            f"UPDATE {_LEDGER} SET schema_name = %s, recorded_at = now() WHERE schema_name = %s",  # noqa: S608
            [schema, spare],
        )
    connection.search_path_set_schemas = None
    return True


def spares_refill(*, count: int | None = None) -> int:
    """Drop spares built for another migration set and build new ones up to ``TEAM_SPARE_SCHEMAS``; returns how
    many were built. One refill at a time (advisory lock); a second caller returns 0 at once."""
    want = settings.TEAM_SPARE_SCHEMAS if count is None else count
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_SPARE_LOCK_ID])
        if not cursor.fetchone()[0]:
            return 0
    try:
        pattern = SPARE_PREFIX.replace("_", "\\_") + "%"
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT schema_name, digest FROM {_LEDGER} WHERE schema_name LIKE %s",  # noqa: S608
                [pattern],
            )
            spares = cursor.fetchall()
        current = 0
        for name, digest in spares:
            if digest == expected_digest():
                current += 1
            else:
                schema_drop(name)
        built = 0
        for _ in range(max(0, want - current)):
            schema_clone(f"{SPARE_PREFIX}{secrets.token_hex(6)}")
            built += 1
        return built
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_SPARE_LOCK_ID])


def schema_migrate(schema: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {_quote(schema)}")
    migrate_schema(schema)


def schema_build(*, team: Team, method: str | None = None) -> ProvisionResult:
    """Create ``team``'s schema by the configured method. Fails if it exists already."""
    method = method or settings.TEAM_PROVISIONING_METHOD
    start = time.perf_counter()
    if schema_exists(team.schema_name):
        raise ProvisioningError(f"Schema {team.schema_name} already exists.")
    if method == "clone":
        if settings.TEAM_SPARE_SCHEMAS and spare_claim(team.schema_name):
            method = "spare"
        else:
            schema_clone(team.schema_name)
    elif method == "migrate":
        schema_migrate(team.schema_name)
    else:
        raise ProvisioningError(f"Unknown provisioning method {method!r}.")
    return ProvisionResult(team.schema_name, method, time.perf_counter() - start)


def schema_drop(schema: str) -> None:
    if schema in ("public", settings.TEAM_TEMPLATE_SCHEMA):
        raise ProvisioningError(f"Refusing to drop {schema}.")
    with connection.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA IF EXISTS {_quote(schema)} CASCADE")
    ledger_forget(schema)
