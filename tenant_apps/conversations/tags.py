"""Tags on messages: added by reviewers (``services.message_tag_add``) and by pipelines, on the reply, at the end of
a turn (``turns``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tenant_apps.conversations.models import ChatMessage, MessageTag, Tag

MAX_LENGTH = 60


def tags_add(*, message: ChatMessage, names: Sequence[str], user: Any) -> list[Tag]:
    """Tag ``message`` with each of ``names`` (trimmed, at most 60 characters, blanks skipped); idempotent."""
    tags = []
    for name in {n.strip()[:MAX_LENGTH] for n in names if n.strip()}:
        tag, _ = Tag.objects.get_or_create(name=name)
        MessageTag.objects.get_or_create(message=message, tag=tag, defaults={"created_by": user})
        tags.append(tag)
    return tags
