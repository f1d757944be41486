"""Read the dev mailbox: Django's file email backend writes every message into ``EMAIL_FILE_PATH``."""

from __future__ import annotations

import email
import re
import time
from email.message import Message
from pathlib import Path

_SEPARATOR = "-" * 79


def messages(mail_dir: Path) -> list[Message]:
    found = []
    for path in sorted(mail_dir.glob("*.log"), key=lambda p: p.stat().st_mtime):
        for chunk in path.read_text(errors="replace").split(_SEPARATOR):
            if chunk.strip():
                found.append(email.message_from_string(chunk.strip() + "\n"))
    return found


def text_of(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            return payload.decode(part.get_content_charset() or "utf-8") if isinstance(payload, bytes) else ""
    return ""


def wait_for_link(mail_dir: Path, *, to: str, pattern: str, timeout: float = 60) -> str:
    """The first URL matching ``pattern`` in a message to ``to`` (waits for the message to arrive)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in reversed(messages(mail_dir)):
            if to in str(message.get("To", "")):
                match = re.search(pattern, text_of(message))
                if match:
                    return match.group(0)
        time.sleep(0.2)
    raise AssertionError(f"no mail to {to} with a link like {pattern!r} in {mail_dir}")
