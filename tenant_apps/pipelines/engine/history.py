"""Conversation history for model nodes, with the three compression modes (ADR 0030).

Budgets count the system prompt and the current input too, so "the prompt fits the budget" means the whole
request does: ``fixed_tokens + history tokens <= limit``. Exactly at the limit nothing is dropped.

* ``max_history_length``: keep the last N messages.
* ``truncate_tokens``: drop the oldest messages until the request fits.
* ``summarize``: when the request does not fit, the older messages (plus the previous summary) are summarised by
  the node's own model into at most half the remaining budget; the newest messages that fit in the other half
  stay verbatim. The summary is stored as a marker on the last summarised entry, so later turns load from there
  and never re-summarise what is already folded in. A previous summary that alone exceeds its half is
  re-summarised.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from tenant_apps.pipelines.engine.context import HistoryEntry, HistoryKey, HistoryStore
from tenant_apps.providers.llm.types import ChatModel, ChatParams, Message, Usage

CompressionMode = Literal["summarize", "truncate_tokens", "max_history_length"]

SUMMARY_INSTRUCTIONS = (
    "Summarise the conversation below for the assistant who continues it. Keep names, facts, decisions, open "
    "questions and anything the user asked to remember. Write plain prose, no preamble."
)


@dataclass(slots=True)
class PreparedHistory:
    messages: list[Message]
    summary: str | None  # goes into the system prompt, not as a separate message (one system message per call)
    summary_usage: Usage | None = None
    dropped: int = 0  # entries left out this turn
    summarized: int = 0  # entries newly folded into the summary


def prepare_history(
    *,
    store: HistoryStore,
    key: HistoryKey,
    mode: CompressionMode,
    token_limit: int,
    max_messages: int,
    fixed_tokens: int,
    count: Callable[[str], int],
    model: ChatModel,
) -> PreparedHistory:
    entries = list(store.load(key))
    summary: str | None = None
    marker: HistoryEntry | None = None
    if entries and entries[0].summary is not None and mode == "summarize":
        marker, summary = entries[0], entries[0].summary
        entries = entries[1:]

    if mode == "max_history_length":
        kept = entries[-max_messages:] if max_messages > 0 else []
        return PreparedHistory(_messages(kept), None, dropped=len(entries) - len(kept))

    costs = [count(entry.content) for entry in entries]
    summary_cost = count(summary) if summary else 0
    if fixed_tokens + summary_cost + sum(costs) <= token_limit:
        return PreparedHistory(_messages(entries), summary)

    if mode == "truncate_tokens":
        budget = token_limit - fixed_tokens
        start, total = 0, sum(costs)
        while start < len(entries) and total > budget:
            total -= costs[start]
            start += 1
        return PreparedHistory(_messages(entries[start:]), None, dropped=start)

    room = max(token_limit - fixed_tokens, 0) // 2
    keep_from, kept_cost = len(entries), 0
    while keep_from > 0 and kept_cost + costs[keep_from - 1] <= room:
        keep_from -= 1
        kept_cost += costs[keep_from]
    older, kept = entries[:keep_from], entries[keep_from:]
    upto = older[-1] if older else marker
    if upto is None or (not older and summary_cost <= room):
        return PreparedHistory(_messages(kept), summary)  # nothing to fold, and the summary is not the problem
    new_summary, usage = _summarize(model, previous=summary, entries=older, max_tokens=max(room, 64))
    store.summarize(key, upto=upto, summary=new_summary)
    return PreparedHistory(_messages(kept), new_summary, summary_usage=usage, summarized=len(older))


def _messages(entries: Sequence[HistoryEntry]) -> list[Message]:
    return [Message(role=entry.role, content=entry.content) for entry in entries]


def _summarize(
    model: ChatModel, *, previous: str | None, entries: Sequence[HistoryEntry], max_tokens: int
) -> tuple[str, Usage]:
    transcript = "\n".join(f"{entry.role}: {entry.content}" for entry in entries)
    if previous:
        transcript = f"Summary so far:\n{previous}\n\nConversation since:\n{transcript}"
    result = model.chat(
        messages=[Message(role="system", content=SUMMARY_INSTRUCTIONS), Message(role="user", content=transcript)],
        params=ChatParams(max_tokens=max_tokens),
    )
    return result.text.strip(), result.usage
