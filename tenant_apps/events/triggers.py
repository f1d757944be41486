"""Triggers as a version freezes them, and which of them a session's version fires.

The working copy is the ``StaticTrigger`` / ``TimeoutTrigger`` rows; a version copies them into its snapshot under
``"triggers"`` (``triggers_take``, registered with ``chatbots.versioning``). A session fires its version's frozen
triggers only (ADR 0140): editing a trigger changes nothing live until a new version is published, like the
pipeline. A version is immutable, so its parsed triggers are cached per process by version id.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from tenant_apps.chatbots.models import Chatbot, ChatbotVersion
from tenant_apps.conversations.models import ChatSession
from tenant_apps.events.enums import TriggerKind
from tenant_apps.events.models import StaticTrigger, TimeoutTrigger


@dataclass(frozen=True)
class FrozenTrigger:
    kind: TriggerKind
    id: int
    name: str
    action: str
    params: dict[str, Any]
    event: str = ""  # static
    delay_seconds: int = 0  # timeout
    from_first_message: bool = False
    repeat: int = 1


@dataclass(frozen=True)
class FrozenTriggers:
    static: tuple[FrozenTrigger, ...] = ()
    timeouts: tuple[FrozenTrigger, ...] = ()
    events: frozenset[str] = field(default_factory=frozenset)

    def for_event(self, event: str) -> list[FrozenTrigger]:
        return [t for t in self.static if t.event == event]

    def timeout(self, trigger_id: int) -> FrozenTrigger | None:
        return next((t for t in self.timeouts if t.id == trigger_id), None)


NONE = FrozenTriggers()


def triggers_take(chatbot: Chatbot) -> dict[str, list[dict[str, Any]]]:
    """The working copy's triggers as JSON (the version snapshot's ``"triggers"``), inactive ones included."""
    common = ("id", "name", "is_active", "action", "params")
    return {
        "static": list(StaticTrigger.objects.filter(chatbot=chatbot).order_by("id").values(*common, "event")),
        "timeout": list(
            TimeoutTrigger.objects.filter(chatbot=chatbot)
            .order_by("id")
            .values(*common, "delay_seconds", "from_first_message", "repeat")
        ),
    }


@transaction.atomic
def triggers_restore(chatbot: Chatbot, frozen: Any) -> None:
    """Revert: the working copy's triggers become the version's (same ids, so logs still match them)."""
    frozen = frozen if isinstance(frozen, dict) else {}
    for model, key in ((StaticTrigger, "static"), (TimeoutTrigger, "timeout")):
        rows = [row for row in frozen.get(key) or [] if isinstance(row, dict)]
        keep = [row["id"] for row in rows]
        model.objects.filter(chatbot=chatbot).exclude(pk__in=keep).delete()  # type: ignore[attr-defined]
        for row in rows:
            values = {k: v for k, v in row.items() if k != "id"}
            model.objects.update_or_create(pk=row["id"], chatbot=chatbot, defaults=values)  # type: ignore[attr-defined]


def parse(snapshot: Any) -> FrozenTriggers:
    """The active triggers in a version snapshot (a snapshot from before triggers existed has none)."""
    raw = snapshot.get("triggers") if isinstance(snapshot, dict) else None
    if not isinstance(raw, dict):
        return NONE
    static = tuple(
        FrozenTrigger(
            kind=TriggerKind.STATIC,
            id=row["id"],
            name=row["name"],
            action=row["action"],
            params=row.get("params") or {},
            event=row["event"],
        )
        for row in raw.get("static") or []
        if row.get("is_active", True)
    )
    timeouts = tuple(
        FrozenTrigger(
            kind=TriggerKind.TIMEOUT,
            id=row["id"],
            name=row["name"],
            action=row["action"],
            params=row.get("params") or {},
            delay_seconds=int(row["delay_seconds"]),
            from_first_message=bool(row.get("from_first_message")),
            repeat=max(1, int(row.get("repeat") or 1)),
        )
        for row in raw.get("timeout") or []
        if row.get("is_active", True)
    )
    return FrozenTriggers(static=static, timeouts=timeouts, events=frozenset(t.event for t in static))


_CACHE_SIZE = 512
_cache: OrderedDict[int, FrozenTriggers] = OrderedDict()


def for_version_id(version_id: int | None, *, loaded: ChatbotVersion | None = None) -> FrozenTriggers:
    """The version's active triggers: from ``loaded`` when given, else the process cache, else one query."""
    if version_id is None:
        return NONE
    found = _cache.get(version_id)
    if found is not None:
        _cache.move_to_end(version_id)
        return found
    if loaded is not None:
        snapshot = loaded.snapshot
    else:
        snapshot = ChatbotVersion.objects.filter(pk=version_id).values_list("snapshot", flat=True).first()
    found = parse(snapshot)
    _cache[version_id] = found
    if len(_cache) > _CACHE_SIZE:
        _cache.popitem(last=False)
    return found


def for_session(session: ChatSession) -> FrozenTriggers:
    """What ``session``'s version fires. A working-copy session (the in-app test chat) fires nothing: triggers go
    live with a version, as the pipeline does. No query when the version is loaded or was seen before."""
    if session.version_id is None:
        return NONE
    loaded = session.version if ChatSession.version.is_cached(session) else None  # type: ignore[attr-defined]
    return for_version_id(session.version_id, loaded=loaded)
