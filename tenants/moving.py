"""Move one team: a self-contained archive (``team_archive_write``), its restore into this or another database
(``team_archive_restore``), and the erasure of every byte of a team with a proving scan (``team_erase``).
ADR 0152. Operator tools (management commands ``export_team``, ``import_team``, ``erase_team``); the user-facing
data export (ADR 0014, ``tenants.exports``) stays what it is, and its ``schema_dump`` writes the schema part here.

The archive (``.tar``) holds:

* ``manifest.json``: format, team slug and schema, the code's migration digest, counts and sizes;
* ``schema.sql.gz``: ``pg_dump --schema`` of the team schema (DDL + data, plain SQL);
* ``public.json``: the team's rows in public: the team, its domains, and every row of every public model with a
  foreign key to the team (memberships, invitations, billing ids, usage, channel routes, ...), found through the
  model graph so a new public model is carried without a change here; plus the users those rows reference (email,
  names, password hash: a moved team's members log in as before);
* ``files/<path under MEDIA_ROOT>``: the team's files (every ``MEDIA_ROOT/<area>/<schema>/`` directory).
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.utils.dateparse import parse_datetime

from shared_apps.accounts.models import User
from shared_apps.core.db import connection
from shared_apps.core.redis import get_redis
from tenants import exports, provisioning
from tenants.exceptions import InvalidStateError
from tenants.models import Domain, SchemaMigrationState, Team
from tenants.resolver import invalidate_on_commit

logger = logging.getLogger(__name__)

FORMAT = "chatstudio-team-archive/1"
Echo = Callable[[str], None]


class MoveError(Exception):
    pass


def _team_models() -> list[tuple[type[models.Model], str]]:
    """Every public model with a foreign key (or one-to-one) to Team, with the field's name."""
    found = []
    for rel in Team._meta.related_objects:
        if rel.one_to_many or rel.one_to_one:
            found.append((rel.related_model, rel.field.name))
    return sorted(found, key=lambda item: item[0]._meta.label)


def _row(obj: models.Model) -> dict[str, Any]:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def team_media_dirs(schema_name: str) -> list[Path]:
    """The team's file directories under ``MEDIA_ROOT/<area>/<schema>/`` (what an archive carries)."""
    provisioning.quote_schema(schema_name)
    media = Path(settings.MEDIA_ROOT)
    return sorted(path for path in media.glob(f"*/{schema_name}") if path.is_dir()) if media.is_dir() else []


def team_files(schema_name: str) -> list[Path]:
    """Every directory holding the team's files: its media and its data-export archives (``TEAM_EXPORT_ROOT``,
    ADR 0014: regenerable, so not carried by a move archive, but erased)."""
    export_dir = exports.export_dir(schema_name)
    return team_media_dirs(schema_name) + ([export_dir] if export_dir.is_dir() else [])


def _redis_patterns(team: Team) -> list[str]:
    return [f"*{team.schema_name}*", f"*team:{team.pk}:*", f"*team:{team.pk}"]


def team_redis_keys(team: Team) -> list[str]:
    redis = get_redis()
    keys: set[str] = set()
    for pattern in _redis_patterns(team):
        keys.update(k.decode() if isinstance(k, bytes) else k for k in redis.scan_iter(match=pattern, count=1000))
    return sorted(keys)


# --- export ---------------------------------------------------------------------------------------------------


@dataclass
class ArchiveSummary:
    path: str = ""
    rows: dict[str, int] = field(default_factory=dict)
    users: int = 0
    files: int = 0
    schema_bytes: int = 0
    archive_bytes: int = 0
    seconds: float = 0.0


def team_public_rows(team: Team) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
    """The team's rows in public by model label, and the users they reference."""
    rows: dict[str, list[dict[str, Any]]] = {Team._meta.label: [_row(team)]}
    user_ids: set[int] = set()
    for model, name in _team_models():
        objs = list(model._default_manager.filter(**{name: team}))
        rows[model._meta.label] = [_row(obj) for obj in objs]
        for f in model._meta.concrete_fields:
            if f.is_relation and f.related_model is User:
                user_ids.update(getattr(obj, f.attname) for obj in objs if getattr(obj, f.attname) is not None)
    users = [
        {"id": u.pk, "email": u.email, "first_name": u.first_name, "last_name": u.last_name, "password": u.password}
        for u in User.objects.filter(pk__in=user_ids)
    ]
    return rows, users


def team_archive_write(
    *, team: Team, target: Path, echo: Echo = lambda _: None, dry_run: bool = False
) -> ArchiveSummary:
    start = time.perf_counter()
    summary = ArchiveSummary(path=str(target))
    rows, users = team_public_rows(team)
    summary.rows = {label: len(items) for label, items in rows.items()}
    summary.users = len(users)
    files = [p for d in team_media_dirs(team.schema_name) for p in d.rglob("*") if p.is_file()]
    summary.files = len(files)
    echo(f"{team.slug}: {sum(summary.rows.values())} public rows, {len(users)} users, {len(files)} files")
    if dry_run:
        return summary
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="team-archive-") as tmp:
        dump = Path(tmp) / "schema.sql.gz"
        echo(f"dumping schema {team.schema_name}…")
        summary.schema_bytes = exports.schema_dump(
            schema_name=team.schema_name, target=dump, progress=lambda read: echo(f"  {read / 1e6:.1f} MB dumped")
        )
        manifest = {
            "format": FORMAT,
            "slug": team.slug,
            "schema_name": team.schema_name,
            "migrations_digest": provisioning.expected_digest(),
            "rows": summary.rows,
            "users": summary.users,
            "files": summary.files,
            "schema_bytes": summary.schema_bytes,
        }
        partial = target.with_suffix(target.suffix + ".part")
        with tarfile.open(partial, "w") as tar:
            _add_bytes(tar, "manifest.json", json.dumps(manifest, indent=2).encode())
            _add_bytes(tar, "public.json", json.dumps({"rows": rows, "users": users}, cls=DjangoJSONEncoder).encode())
            tar.add(dump, arcname="schema.sql.gz")
            media = Path(settings.MEDIA_ROOT)
            for path in files:
                tar.add(path, arcname=f"files/{path.relative_to(media)}")
        partial.replace(target)
    summary.archive_bytes = target.stat().st_size
    summary.seconds = time.perf_counter() - start
    echo(f"wrote {target} ({summary.archive_bytes / 1e6:.1f} MB) in {summary.seconds:.1f} s")
    return summary


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(time.time())
    tar.addfile(info, io.BytesIO(data))


# --- import ---------------------------------------------------------------------------------------------------


def _read_member(tar: tarfile.TarFile, name: str) -> bytes:
    member = tar.extractfile(name)
    if member is None:
        raise MoveError(f"The archive has no {name}.")
    return member.read()


def _restore_schema(dump: bytes, schema_name: str) -> None:
    db = connection.settings_dict
    command = ["psql", "--no-psqlrc", "--quiet", "--set", "ON_ERROR_STOP=1", "--single-transaction"]
    command += ["--dbname", str(db["NAME"])]
    if db.get("HOST"):
        command += ["--host", str(db["HOST"])]
    if db.get("PORT"):
        command += ["--port", str(db["PORT"])]
    if db.get("USER"):
        command += ["--username", str(db["USER"])]
    env = {"PGPASSWORD": str(db.get("PASSWORD") or ""), "PATH": "/usr/bin:/usr/local/bin:/bin"}
    result = subprocess.run(command, input=gzip.decompress(dump), capture_output=True, env=env, check=False)
    if result.returncode != 0:
        provisioning.schema_drop(schema_name)
        raise MoveError(f"Restoring the schema failed: {result.stderr.decode(errors='replace').strip()[:500]}")


def _coerce(model: type[models.Model], values: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for f in model._meta.concrete_fields:
        if f.attname not in values:
            continue
        value = values[f.attname]
        if isinstance(f, models.DateTimeField) and isinstance(value, str):
            value = parse_datetime(value)
        out[f.attname] = value
    return out


@dataclass
class RestoreSummary:
    team_id: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    users_created: int = 0
    files: int = 0
    migrated: bool = False
    seconds: float = 0.0


def team_archive_restore(*, source: Path, echo: Echo = lambda _: None, dry_run: bool = False) -> RestoreSummary:
    """Restore an archive: schema, public rows (new ids, users matched by email), files. The slug and schema must
    be free here. The schema is migrated if this code is newer than the archive's."""
    start = time.perf_counter()
    summary = RestoreSummary()
    with tarfile.open(source, "r") as tar:
        manifest = json.loads(_read_member(tar, "manifest.json"))
        if manifest.get("format") != FORMAT:
            raise MoveError(f"Not a team archive ({manifest.get('format')!r}).")
        slug, schema = manifest["slug"], manifest["schema_name"]
        provisioning.quote_schema(schema)
        if Team.objects.filter(slug=slug).exists() or provisioning.schema_exists(schema):
            raise MoveError(f"A team {slug!r} (or schema {schema}) already exists here; erase it first.")
        public = json.loads(_read_member(tar, "public.json"))
        echo(f"{slug}: {sum(len(v) for v in public['rows'].values())} public rows, {manifest['files']} files")
        if dry_run:
            summary.rows = {label: len(items) for label, items in public["rows"].items()}
            return summary
        echo(f"restoring schema {schema}…")
        _restore_schema(_read_member(tar, "schema.sql.gz"), schema)
        try:
            with transaction.atomic():
                summary.team_id, summary.users_created = _restore_public(public, summary.rows)
                invalidate_on_commit()
        except Exception:
            provisioning.schema_drop(schema)
            raise
        media = Path(settings.MEDIA_ROOT)
        for member in tar.getmembers():
            if member.isfile() and member.name.startswith("files/"):
                relative = Path(member.name[len("files/") :])
                if ".." in relative.parts or relative.is_absolute():
                    raise MoveError(f"Refusing archive path {member.name!r}.")
                target = media / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                extracted = tar.extractfile(member)
                assert extracted is not None
                with target.open("wb") as out:
                    shutil.copyfileobj(extracted, out)
                summary.files += 1
    if provisioning.pending_migrations(schema):
        echo("migrating the restored schema to this code…")
        provisioning.migrate_schema(schema)
        summary.migrated = True
    else:
        provisioning.ledger_record(schema)
    summary.seconds = time.perf_counter() - start
    echo(f"restored team {slug} in {summary.seconds:.1f} s")
    return summary


def _restore_public(public: dict[str, Any], counts: dict[str, int]) -> tuple[int, int]:
    users: dict[int, int] = {}
    created = 0
    for u in public["users"]:
        user = User.objects.filter(email__iexact=u["email"]).first()
        if user is None:
            user = User(email=u["email"], first_name=u["first_name"], last_name=u["last_name"], password=u["password"])
            user.save()
            created += 1
        users[u["id"]] = user.pk
    team_values = _coerce(Team, public["rows"][Team._meta.label][0])
    team_values.pop("id", None)
    team = Team(**team_values)
    team.save()
    counts[Team._meta.label] = 1
    for model, name in _team_models():
        items = public["rows"].get(model._meta.label, [])
        objs = []
        for values in items:
            values = _coerce(model, values)
            if not model._meta.pk.is_relation:  # new ids here; a pk that is the team link is set below
                values.pop(model._meta.pk.attname, None)
            link: Any = model._meta.get_field(name)
            values[link.attname] = team.pk
            keep = True
            for f in model._meta.concrete_fields:
                if not f.is_relation or f.name == name or f.related_model is None:
                    continue
                if f.related_model is User:
                    if values.get(f.attname) is not None:
                        values[f.attname] = users.get(values[f.attname])
                elif (
                    values.get(f.attname) is not None
                    and not cast(Any, f.related_model)._default_manager.filter(pk=values[f.attname]).exists()
                ):
                    if f.null:
                        values[f.attname] = None
                    else:
                        keep = False
            if keep:
                objs.append(model(**values))
        model._default_manager.bulk_create(objs)
        counts[model._meta.label] = len(objs)
    return team.pk, created


# --- erase ----------------------------------------------------------------------------------------------------


@dataclass
class EraseReport:
    schema_dropped: bool = False
    public_rows: dict[str, int] = field(default_factory=dict)
    files: int = 0
    redis_keys: int = 0
    leftovers: list[str] = field(default_factory=list)
    seconds: float = 0.0


def team_erase(*, team: Team, echo: Echo = lambda _: None, dry_run: bool = False) -> EraseReport:
    """Remove every byte of a team: schema, public rows, files, cache and Redis keys; then prove it with a scan."""
    if team.is_public or team.schema_name == settings.TEAM_TEMPLATE_SCHEMA:
        raise InvalidStateError(code="team.public", message="The public tenant cannot be erased.")
    start = time.perf_counter()
    report = EraseReport()
    team_id, schema = team.pk, team.schema_name
    rows, _ = team_public_rows(team)
    report.public_rows = {label: len(items) for label, items in rows.items() if items}
    file_dirs = team_files(schema)
    report.files = sum(1 for d in file_dirs for p in d.rglob("*") if p.is_file())
    keys = team_redis_keys(team)
    report.redis_keys = len(keys)
    echo(
        f"{team.slug}: schema {schema}, {sum(report.public_rows.values())} public rows, {report.files} files, "
        f"{len(keys)} Redis keys"
    )
    if dry_run:
        return report
    connection.set_schema_to_public()
    echo(f"dropping schema {schema}…")
    provisioning.schema_drop(schema)
    report.schema_dropped = True
    with transaction.atomic():
        for model, name in _team_models():
            model._default_manager.filter(**{name: team_id}).delete()
        Team.objects.filter(pk=team_id).delete()
        invalidate_on_commit()
    for directory in file_dirs:
        shutil.rmtree(directory, ignore_errors=True)
    if keys:
        get_redis().delete(*keys)
    report.leftovers = team_erase_scan(team_id=team_id, slug=team.slug, schema_name=schema, team=team)
    report.seconds = time.perf_counter() - start
    echo("proving scan: " + ("nothing left" if not report.leftovers else "; ".join(report.leftovers)))
    return report


def team_erase_scan(*, team_id: int, slug: str, schema_name: str, team: Team) -> list[str]:
    """What is left of a team anywhere we keep it (empty = erased)."""
    left = []
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_namespace WHERE nspname = %s", [schema_name])
        if cursor.fetchone()[0]:
            left.append(f"schema {schema_name}")
        cursor.execute("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                       "WHERE n.nspname = %s", [schema_name])  # fmt: skip
        if cursor.fetchone()[0]:
            left.append("relations in the schema")
    if Team.objects.filter(pk=team_id).exists() or Team.objects.filter(slug=slug).exists():
        left.append("team row")
    if Domain.objects.filter(domain__startswith=f"{slug}.").exists():
        left.append("domain rows")
    if SchemaMigrationState.objects.filter(schema_name=schema_name).exists():
        left.append("ledger row")
    for model, name in _team_models():
        count = model._default_manager.filter(**{f"{name}_id": team_id}).count()
        if count:
            left.append(f"{count} {model._meta.label} rows")
    for directory in team_files(schema_name):
        left.append(f"files in {directory}")
    keys = team_redis_keys(team)
    if keys:
        left.append(f"{len(keys)} Redis keys")
    return left
