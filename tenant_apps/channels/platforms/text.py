"""Text shared by the messaging platforms: a reply split to a platform's size limit, and the model's markdown in
the forms WhatsApp and plain-text platforms show."""

from __future__ import annotations

import re

WORDS = ("\n\n", "\n", " ")  # paragraph, line, word
SENTENCES = ("\n\n", "\n", ". ", " ")  # paragraph, line, sentence, word
FENCE_ROOM = 8  # for a code fence closed at the end of a part and reopened at the start of the next


def split_text(text: str, limit: int, *, separators: tuple[str, ...], reopen_fences: bool = False) -> list[str]:
    """``text`` in parts of at most ``limit`` characters, each cut at the first of ``separators`` found in the
    second half of the window (a hard cut only when none is). With ``reopen_fences``, a code block cut in two is
    closed at the end of its part and reopened at the start of the next."""
    text = text.strip()
    room = limit - FENCE_ROOM if reopen_fences else limit
    parts: list[str] = []
    while len(text) > room:
        cut = _cut(text[:room], room, separators)
        part, text = text[:cut].rstrip(), text[cut:].lstrip()
        if reopen_fences and part.count("```") % 2:
            part += "\n```"
            text = "```\n" + text
        parts.append(part)
    if text:
        parts.append(text)
    return parts or [""]


def _cut(window: str, limit: int, separators: tuple[str, ...]) -> int:
    for separator in separators:
        at = window.rfind(separator)
        if at >= limit // 2:
            return at + len(separator)
    return limit


def escape_html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_BOLD = re.compile(r"\*\*(.+?)\*\*|__(.+?)__", re.DOTALL)
_STRIKE = re.compile(r"~~(.+?)~~", re.DOTALL)
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*$", re.MULTILINE)
_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^)\s]+)\)")


def _links(markdown: str) -> str:
    return _LINK.sub(lambda m: m.group(1) if m.group(1) == m.group(2) else f"{m.group(1)} ({m.group(2)})", markdown)


def whatsapp_text(markdown: str) -> str:
    """The model's markdown as WhatsApp renders it: *bold*, ~strike~, headings bold, links as "text (url)";
    _italic_ and ```code``` are the same in both."""
    text = _HEADING.sub(r"*\1*", _links(markdown))
    text = _BOLD.sub(lambda m: f"*{m.group(1) or m.group(2)}*", text)
    return _STRIKE.sub(r"~\1~", text)


def plain_text(markdown: str) -> str:
    """Plain text (Messenger, SMS): emphasis markers dropped, links as "text (url)"."""
    text = _HEADING.sub(r"\1", _links(markdown))
    text = _BOLD.sub(lambda m: m.group(1) or m.group(2), text)
    return _STRIKE.sub(r"\1", text)
