"""Archive one team's schema: ``pg_dump --schema=<schema>`` (plain SQL) streamed through gzip into a file.

Files live under ``TEAM_EXPORT_ROOT/<schema_name>/`` so anything on disk names the team it belongs to, and
deleting a team removes its directory. Plain SQL was chosen over pg_dump's custom format because an owner can
read it and restore it with ``psql`` into any PostgreSQL without our tooling (docs/adr/0014-team-export.md).
"""

from __future__ import annotations

import gzip
import logging
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from shared_apps.core.db import connection
from tenants.audit import team_audit
from tenants.enums import ExportStatus, TeamStatus
from tenants.models import Team, TeamExport
from tenants.provisioning import ProvisioningError, quote_schema

logger = logging.getLogger(__name__)

_CHUNK = 256 * 1024


class ExportError(Exception):
    pass


def export_dir(schema_name: str) -> Path:
    quote_schema(schema_name)  # refuses anything that is not a plain schema identifier (no path tricks)
    return Path(settings.TEAM_EXPORT_ROOT) / schema_name


def export_path(*, schema_name: str, export_id: int) -> Path:
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    return export_dir(schema_name) / f"{schema_name}-{stamp}-{export_id}.sql.gz"


def _pg_dump_command(schema_name: str) -> tuple[list[str], dict[str, str]]:
    db = connection.settings_dict
    command = ["pg_dump", "--no-owner", "--no-privileges", f"--schema={schema_name}", "--dbname", str(db["NAME"])]
    if db.get("HOST"):
        command += ["--host", str(db["HOST"])]
    if db.get("PORT"):
        command += ["--port", str(db["PORT"])]
    if db.get("USER"):
        command += ["--username", str(db["USER"])]
    env = {"PGPASSWORD": str(db.get("PASSWORD") or ""), "PATH": "/usr/bin:/usr/local/bin:/bin"}
    return command, env


def schema_dump(*, schema_name: str, target: Path, progress: Callable[[int], None] | None = None) -> int:
    """Write the gzipped dump of ``schema_name`` to ``target``; returns the compressed size in bytes.

    ``progress(bytes_read)`` is called about once a second while the dump runs. A failed dump leaves no file.
    """
    try:
        quote_schema(schema_name)
    except ProvisioningError as exc:
        raise ExportError(str(exc)) from exc
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(target.suffix + ".part")
    command, env = _pg_dump_command(schema_name)
    read = 0
    last_report = time.monotonic()
    # stderr goes to a file, not a pipe: a chatty stderr can never block the dump.
    with (
        tempfile.TemporaryFile() as errors,
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, env=env) as process,
    ):
        assert process.stdout is not None
        try:
            with gzip.open(partial, "wb", compresslevel=6) as out:
                while chunk := process.stdout.read(_CHUNK):
                    out.write(chunk)
                    read += len(chunk)
                    if progress is not None and time.monotonic() - last_report >= 1:
                        progress(read)
                        last_report = time.monotonic()
            code = process.wait(timeout=600)
            errors.seek(0)
            stderr = errors.read().decode(errors="replace")
        except BaseException:
            process.kill()
            partial.unlink(missing_ok=True)
            raise
    if code != 0:
        partial.unlink(missing_ok=True)
        raise ExportError(f"pg_dump failed ({code}): {stderr.strip()[:500]}")
    partial.replace(target)
    return target.stat().st_size


def export_files_remove(*, schema_name: str) -> None:
    """Delete every export file of a schema (after the team is deleted)."""
    shutil.rmtree(export_dir(schema_name), ignore_errors=True)


def team_export_run(*, export_id: int) -> TeamExport:
    """Dump the schema to a file and record the outcome. Idempotent: a finished export is left alone."""
    export = TeamExport.objects.select_related("team").get(pk=export_id)
    if export.is_finished:
        return export
    team = export.team
    TeamExport.objects.filter(pk=export.pk).update(status=ExportStatus.RUNNING, started_at=timezone.now())
    target = export_path(schema_name=team.schema_name, export_id=export.pk)

    def progress(read: int) -> None:
        TeamExport.objects.filter(pk=export.pk).update(size_bytes=read)

    try:
        size = schema_dump(schema_name=team.schema_name, target=target, progress=progress)
    except Exception as exc:
        logger.exception("team_export.failed", extra={"team": team.slug, "export": export.pk})
        TeamExport.objects.filter(pk=export.pk).update(
            status=ExportStatus.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
        export.refresh_from_db()
        return export
    TeamExport.objects.filter(pk=export.pk).update(
        status=ExportStatus.DONE, file_path=str(target), size_bytes=size, finished_at=timezone.now(), error=""
    )
    _team_exports_prune(team=team)
    logger.info("team_export.finished", extra={"team": team.slug, "export": export.pk, "bytes": size})
    export.refresh_from_db()
    if team.status == TeamStatus.ACTIVE:
        team_audit(team=team, actor=None, action="team.export_finished", target=export, data={"bytes": size})
    return export


def _team_exports_prune(*, team: Team) -> None:
    """Keep the newest ``TEAM_EXPORT_KEEP`` finished exports of a team; delete older files and rows."""
    finished = TeamExport.objects.filter(team=team, status__in=[ExportStatus.DONE, ExportStatus.FAILED])
    for old in finished.order_by("-created_at", "-id")[settings.TEAM_EXPORT_KEEP :]:
        if old.file_path:
            Path(old.file_path).unlink(missing_ok=True)
        old.delete()
