"""CSV export of filtered sessions: one row per message, written by ``session_export_task`` with progress (the
request is ``services.export_create``)."""

from __future__ import annotations

import logging
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from shared_apps.core.csv_export import SafeCsvWriter
from shared_apps.core.db import connection
from tenant_apps.conversations.enums import ExportStatus
from tenant_apps.conversations.models import ChatMessage, SessionExport
from tenant_apps.conversations.selectors import SessionFilters, session_list

logger = logging.getLogger(__name__)

COLUMNS = [
    "session_id",
    "chatbot",
    "version",
    "platform",
    "participant",
    "session_status",
    "session_started",
    "message_id",
    "created_at",
    "role",
    "content",
    "tags",
]


def export_dir() -> Path:
    """Exports live under MEDIA_ROOT/exports/<schema>/: the schema name keeps teams' files apart."""
    path = Path(settings.MEDIA_ROOT) / "exports" / connection.schema_name
    path.mkdir(parents=True, exist_ok=True)
    return path


def export_path(export: SessionExport) -> Path | None:
    if export.status != ExportStatus.DONE or not export.file_name:
        return None
    path = export_dir() / export.file_name
    return path if path.exists() else None


def export_run(*, export_id: int) -> None:
    """Idempotent: a finished export is left alone; a rerun rewrites the file from scratch."""
    export = SessionExport.objects.filter(pk=export_id).first()
    if export is None or export.status == ExportStatus.DONE:
        return
    SessionExport.objects.filter(pk=export_id).update(status=ExportStatus.RUNNING, progress=0)
    try:
        sessions = list(session_list(filters=SessionFilters.from_dict(export.filters)).values_list("pk", flat=True))
        name = f"sessions-{export.pk}-{timezone.now():%Y%m%d-%H%M%S}.csv"
        rows = 0
        with open(export_dir() / name, "w", newline="", encoding="utf-8") as handle:
            writer = SafeCsvWriter(handle)  # formulas in chat content, names or tags are never evaluated
            writer.writerow(COLUMNS)
            step = max(len(sessions) // 20, 1)
            for index in range(0, len(sessions), step):
                chunk = sessions[index : index + step]
                messages = (
                    ChatMessage.objects.filter(session_id__in=chunk, hidden=False)
                    .select_related("session__chatbot", "session__version", "session__participant")
                    .prefetch_related("tags")
                    .order_by("session__created_at", "session_id", "created_at", "id")
                )
                for message in messages.iterator(chunk_size=500):
                    session = message.session
                    writer.writerow(
                        [
                            session.external_id,
                            session.chatbot.name,
                            session.version.number if session.version else "working",
                            session.platform,
                            session.participant.identifier,
                            session.status,
                            session.created_at.isoformat(),
                            message.pk,
                            message.created_at.isoformat(),
                            message.role,
                            message.content,
                            "|".join(tag.name for tag in message.tags.all()),
                        ]
                    )
                    rows += 1
                done = min(100, int((index + len(chunk)) * 100 / max(len(sessions), 1)))
                SessionExport.objects.filter(pk=export_id).update(progress=done, row_count=rows)
        SessionExport.objects.filter(pk=export_id).update(
            status=ExportStatus.DONE, progress=100, row_count=rows, file_name=name, finished_at=timezone.now()
        )
    except Exception as exc:  # task boundary: record the failure for the progress page
        logger.exception("session_export.failed", extra={"export": export_id})
        SessionExport.objects.filter(pk=export_id).update(status=ExportStatus.FAILED, error=str(exc)[:1000])
        raise
