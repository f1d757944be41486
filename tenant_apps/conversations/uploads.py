"""Files participants send with a message, when the chatbot allows uploads.

Stored under MEDIA_ROOT/chat-files/<schema>/<session>/<random>/<name> and always served as downloads (never
rendered inline), so an uploaded HTML or SVG file cannot run in our origin.

Files arrive two ways. With the message: ``ingress`` checks them (``files_check``) before anything is written,
then stores them in the message's own transaction (``files_store``), and a message that is refused or rolled back
leaves no file behind (``removed_on_failure``). Or first, on their own (the widget uploads, then sends the
message with ``attachment_ids``): ``files_upload`` stores them unattached and the message claims them
(``files_claim``).
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.text import get_valid_filename

from shared_apps.core.exceptions import InvalidStateError
from tenant_apps.chatbots.selectors import bot_config
from tenant_apps.conversations.models import ChatFile, ChatMessage, ChatSession

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


@dataclass(frozen=True)
class CheckedFile:
    """An upload that may be stored: its safe name, the content type we will record, its size."""

    upload: UploadedFile
    name: str
    content_type: str
    size: int


def files_check(*, session: ChatSession, files: Sequence[UploadedFile], already: int = 0) -> list[CheckedFile]:
    """Refuse what may not be stored (uploads off, more than ``max_files()`` with the ``already`` uploaded ones a
    message names, a type we do not take, too large) before anything is written."""
    if not files and not already:
        return []
    config = bot_config(chatbot=session.chatbot, version=session.version)
    if not config.file_uploads_enabled:
        raise InvalidStateError(code="upload.disabled", message="This chatbot does not accept files.")
    if len(files) + already > max_files():
        raise InvalidStateError(code="upload.too_many", message=f"Send at most {max_files()} files at once.")
    checked = []
    for upload in files:
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
        checked.append(CheckedFile(upload=upload, name=name, content_type=content_type, size=upload.size))
    return checked


@contextmanager
def removed_on_failure() -> Iterator[list[ChatFile]]:
    """Collects the files ``files_store`` writes inside the block; when the block fails (and its transaction rolls
    back) their files are deleted from storage too, so a refused message leaves no orphan file. Enter it before
    the transaction, so the rollback has happened when the files go."""
    stored: list[ChatFile] = []
    try:
        yield stored
    except BaseException:
        for chat_file in stored:
            chat_file.file.delete(save=False)
        raise


def files_store(*, session: ChatSession, files: Sequence[CheckedFile], into: list[ChatFile]) -> list[ChatFile]:
    """Write ``files`` and their rows (unattached) in the caller's transaction; each written file joins ``into`` (a
    ``removed_on_failure`` list) as soon as it is on disk."""
    stored = []
    for checked in files:
        chat_file = ChatFile(session=session, name=checked.name, content_type=checked.content_type, size=checked.size)
        chat_file.file.save(checked.name, checked.upload, save=False)
        into.append(chat_file)
        chat_file.save()
        stored.append(chat_file)
    return stored


def files_claim(*, session: ChatSession, ids: Sequence[int]) -> list[ChatFile]:
    """The files ``ids`` this session uploaded earlier and no message has attached yet, locked until the caller's
    transaction ends. Any other id (another session's file, one already sent, no such file) is refused."""
    wanted = list(dict.fromkeys(ids))
    files = list(ChatFile.objects.select_for_update().filter(session=session, message__isnull=True, pk__in=wanted))
    if len(files) != len(wanted):
        raise InvalidStateError(code="upload.not_found", message="A file of this message is missing. Upload it again.")
    order = {file_id: index for index, file_id in enumerate(wanted)}
    return sorted(files, key=lambda chat_file: order[chat_file.pk])


def files_attach(*, files: Sequence[ChatFile], message: ChatMessage) -> None:
    ChatFile.objects.filter(pk__in=[chat_file.pk for chat_file in files]).update(message=message)


def attachment_entry(chat_file: ChatFile) -> dict[str, Any]:
    """What the message records about a file (``ChatMessage.attachments``)."""
    return {"id": chat_file.pk, "name": chat_file.name, "content_type": chat_file.content_type, "size": chat_file.size}


def files_upload(*, session: ChatSession, files: Sequence[UploadedFile]) -> list[ChatFile]:
    """Store ``files`` on their own, before the message that will name them (``attachment_ids``): all or nothing.
    Raises ``session.ended`` for an ended session."""
    if session.is_ended:
        raise InvalidStateError(code="session.ended", message="This conversation has ended. Start a new one.")
    if not files:
        raise InvalidStateError(code="upload.empty", message="Choose a file to upload.")
    checked = files_check(session=session, files=files)
    with removed_on_failure() as stored, transaction.atomic():
        return files_store(session=session, files=checked, into=stored)


def chat_file_get(*, session: ChatSession, file_id: int) -> ChatFile | None:
    return ChatFile.objects.filter(session=session, pk=file_id).first()
