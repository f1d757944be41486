"""Files participants send with a message, when the chatbot allows uploads.

Stored under MEDIA_ROOT/chat-files/<schema>/<session>/<random>/<name> and always served as downloads (never
rendered inline), so an uploaded HTML or SVG file cannot run in our origin.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Sequence
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.text import get_valid_filename

from shared_apps.core.exceptions import InvalidStateError
from tenant_apps.chatbots.selectors import bot_config
from tenant_apps.conversations.models import ChatFile, ChatSession

ALLOWED_EXTENSIONS = frozenset(
    {
        ".txt",
        ".md",
        ".csv",
        ".json",
        ".pdf",
        ".png",
        ".jpg",
        ".jpeg",
        ".gif",
        ".webp",
        ".docx",
        ".xlsx",
        ".pptx",
        ".odt",
        ".mp3",
        ".m4a",
        ".ogg",
        ".wav",
    }
)


def max_bytes() -> int:
    return settings.CHAT_UPLOAD_MAX_BYTES


def max_files() -> int:
    return settings.CHAT_UPLOAD_MAX_FILES


def attachments_store(*, session: ChatSession, uploads: Sequence[UploadedFile]) -> list[dict[str, Any]]:
    """Validate and store ``uploads``; return the attachment entries for the message. All or nothing."""
    return _store(session, uploads) if uploads else []


@transaction.atomic
def _store(session: ChatSession, uploads: Sequence[UploadedFile]) -> list[dict[str, Any]]:
    config = bot_config(chatbot=session.chatbot, version=session.version)
    if not config.file_uploads_enabled:
        raise InvalidStateError(code="upload.disabled", message="This chatbot does not accept files.")
    if len(uploads) > max_files():
        raise InvalidStateError(code="upload.too_many", message=f"Send at most {max_files()} files at once.")
    stored = []
    for upload in uploads:
        name = get_valid_filename(PurePath(upload.name or "file").name)[:200] or "file"
        extension = PurePath(name).suffix.lower()
        if extension not in ALLOWED_EXTENSIONS:
            raise InvalidStateError(
                code="upload.type", message=f"“{name}”: files of this type are not accepted ({extension or 'none'})."
            )
        if upload.size is None or upload.size > max_bytes():
            limit = max_bytes() // (1024 * 1024)
            raise InvalidStateError(code="upload.too_large", message=f"“{name}” is larger than {limit} MB.")
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        chat_file = ChatFile(session=session, name=name, content_type=content_type, size=upload.size)
        chat_file.file.save(name, upload, save=False)
        chat_file.save()
        stored.append({"id": chat_file.pk, "name": name, "content_type": content_type, "size": upload.size})
    return stored


def chat_file_get(*, session: ChatSession, file_id: int) -> ChatFile | None:
    return ChatFile.objects.filter(session=session, pk=file_id).first()
