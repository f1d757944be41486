"""What a pipeline run may touch, passed in explicitly (no globals): input, state, history, models, side effects.

The caller (the conversations app's turn service) builds one ``RunContext`` per turn. Everything a node needs
from the outside world comes through here, which is what lets tests run the engine against in-memory stores and
a scripted model, and what keeps the engine free of ORM access in the hot path. The engine imports no model,
service or view of any app (import contract); the adapters that reach the team's data live outside it
(``tenant_apps.pipelines.adapters``).
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from django.utils import timezone

from shared_apps.core.exceptions import ApplicationError
from shared_apps.core.http import SafeResponse, safe_request
from tenant_apps.pipelines.engine.limits import RunLimits
from tenant_apps.providers.llm.errors import LlmError
from tenant_apps.providers.llm.tokens import count_tokens
from tenant_apps.providers.llm.types import ChatModel

if TYPE_CHECKING:
    from tenant_apps.pipelines.sandbox.runner import CodeRunner

HistoryMode = Literal["global", "node", "named"]


@dataclass(frozen=True)
class HistoryKey:
    """Which conversation history a node reads and extends.

    ``global``: the session's own messages (``name`` is ""). ``node``: private to one node (``name`` is the node
    id). ``named``: shared by every node that names it (``name`` is the history name).
    """

    mode: HistoryMode
    name: str = ""


@dataclass(frozen=True)
class HistoryEntry:
    """One message of a history. ``summary`` marks a compression point: it summarises this entry and all before."""

    role: Literal["user", "assistant"]
    content: str
    id: int | str | None = None  # the store's identity for the entry, used to place a summary marker
    summary: str | None = None


class HistoryStore(Protocol):
    """Where histories live. The conversations app implements it on its tables; tests use the in-memory one.

    Writes may be buffered: the executor never reads what a DB-backed store wrote within the same transaction,
    except through ``load`` on the same store object, so a store can collect appends and summaries and write them
    in the caller's end-of-turn transaction (and drop them when the run fails).
    """

    def load(self, key: HistoryKey) -> Sequence[HistoryEntry]:
        """Entries oldest first, starting at the newest entry that carries a ``summary`` (inclusive).

        For ``global`` the entries are the session's messages *before* the current input.
        """
        ...

    def append(self, key: HistoryKey, entries: Sequence[HistoryEntry]) -> None:
        """Record one exchange (the node's input and its answer). A store may ignore ``global`` appends when the
        session's own messages already are that history."""
        ...

    def summarize(self, key: HistoryKey, *, upto: HistoryEntry, summary: str) -> None:
        """Set the compression marker on ``upto`` (an entry ``load`` returned): it and everything before it are
        replaced by ``summary`` from now on."""
        ...


class InMemoryHistoryStore:
    """A ``HistoryStore`` in a dict: for tests, benchmarks and the pipeline test panel."""

    def __init__(self, initial: Mapping[HistoryKey, Sequence[HistoryEntry]] | None = None) -> None:
        self._ids = itertools.count(1)
        self.histories: dict[HistoryKey, list[HistoryEntry]] = {}
        for key, entries in (initial or {}).items():
            self.append(key, entries)

    def load(self, key: HistoryKey) -> Sequence[HistoryEntry]:
        entries = self.histories.get(key, [])
        for index in range(len(entries) - 1, -1, -1):
            if entries[index].summary is not None:
                return list(entries[index:])
        return list(entries)

    def append(self, key: HistoryKey, entries: Sequence[HistoryEntry]) -> None:
        stored = self.histories.setdefault(key, [])
        stored.extend(replace(entry, id=entry.id if entry.id is not None else next(self._ids)) for entry in entries)

    def summarize(self, key: HistoryKey, *, upto: HistoryEntry, summary: str) -> None:
        entries = self.histories.get(key, [])
        for index, entry in enumerate(entries):
            if entry.id == upto.id:
                entries[index] = replace(entry, summary=summary)
                return
        raise KeyError(f"no entry {upto.id!r} in history {key}")


@dataclass(frozen=True)
class Attachment:
    """A file the participant sent with the message (already stored by the caller)."""

    name: str
    content_type: str
    size: int
    url: str = ""
    id: int | str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "content_type": self.content_type, "size": self.size, "url": self.url}


@dataclass(frozen=True)
class EmailRequest:
    recipients: tuple[str, ...]
    subject: str
    body: str


class EffectLog(Protocol):
    """Which outside effects (an email sent, an HTTP request made) this turn already performed, so a turn that is
    run again (a retry, a redelivery after its worker died) performs each at most once (ADR 0066).

    ``begin(key)`` records that the effect ``key`` (the node id) is about to happen and returns None when no earlier
    attempt got that far; otherwise it returns the earlier attempt's record: ``{"state": "started"}`` (the outcome
    is unknown: the worker died during it) or ``{"state": "done", "result": {...}}`` (what ``finish`` stored)."""

    def begin(self, key: str) -> Mapping[str, Any] | None: ...

    def finish(self, key: str, result: Mapping[str, Any]) -> None: ...


class NoEffectLog:
    """The default: a run that is never repeated (the editor's test panel, unit tests) records nothing."""

    def begin(self, key: str) -> Mapping[str, Any] | None:
        return None

    def finish(self, key: str, result: Mapping[str, Any]) -> None:
        return None


@dataclass(frozen=True)
class ParticipantInfo:
    """Who the run is for, as templates see it (``participant_details``). Never secrets."""

    identifier: str = ""
    name: str = ""
    platform: str = ""


class ReplyCancelled(Exception):  # noqa: N818 (a signal, not an error)
    """Raised by ``ReplyStream.write``/``flush`` when the participant stopped the generation: the node ends the model
    call and keeps the text streamed so far as its answer."""


class ReplyStream(Protocol):
    """Where the final reply's tokens go as the model produces them (ADR 0090 §4-5). The engine hands it to the
    one LLM node whose every outgoing edge goes to the end node; the caller publishes, coalesces and stores.

    ``write`` and ``flush`` raise ``ReplyCancelled`` when the participant stopped the generation."""

    def write(self, text: str) -> None:
        """More text of the reply (may be buffered)."""
        ...

    def flush(self) -> None:
        """Send anything buffered: the node's stream ended."""
        ...


ModelResolver = Callable[[int, str], ChatModel]
HttpRequester = Callable[..., SafeResponse]


def no_models(provider_id: int, model: str) -> ChatModel:
    """The default ``models``: this run has no language model (the LLM node fails with ``pipeline.no_model``).
    Real runs pass the team's models (``tenant_apps.pipelines.adapters.run_context``)."""
    raise LlmError(code="pipeline.no_model", message="No language model is available to this run.")


def no_email(request: EmailRequest) -> None:
    """The default ``send_email``: this run cannot send email (the node fails with ``pipeline.no_email``). Real runs
    queue it on the pipelines queue (``tenant_apps.pipelines.adapters.run_context``)."""
    raise ApplicationError(code="pipeline.no_email", message="Email cannot be sent from this run.")


def layer_count_tokens(text: str, model: str) -> int:
    """Default ``count_tokens``: the LLM layer's offline tokenizer (cl100k; an estimate when unavailable)."""
    return count_tokens(text, model=model)


def sandbox_code_runner() -> CodeRunner:
    """Default ``code_runner``: the process-wide sandbox (started on first use)."""
    from tenant_apps.pipelines.sandbox.runner import default_code_runner  # no sandbox process until a code node runs

    return default_code_runner()


@dataclass(frozen=True, kw_only=True)
class RunContext:
    """Everything one run reads from or hands to the outside. State mappings are copied; the originals are never
    mutated (the caller persists ``RunResult``'s final state in its own transaction).

    The defaults need no app: no model and no email (both fail the node that asks), the SSRF-guarded HTTP client,
    the code sandbox. ``tenant_apps.pipelines.adapters.run_context`` wires the team's models and email."""

    input_text: str
    attachments: Sequence[Attachment] = ()
    participant_data: Mapping[str, Any] = field(default_factory=dict)
    session_state: Mapping[str, Any] = field(default_factory=dict)
    participant: ParticipantInfo = field(default_factory=ParticipantInfo)
    history: HistoryStore = field(default_factory=InMemoryHistoryStore)
    models: ModelResolver = no_models
    send_email: Callable[[EmailRequest], None] = no_email
    http_request: HttpRequester = safe_request
    code_runner: Callable[[], CodeRunner] = sandbox_code_runner
    count_tokens: Callable[[str, str], int] = layer_count_tokens
    now: Callable[[], datetime] = timezone.now
    limits: RunLimits = field(default_factory=RunLimits.from_settings)  # ADR 0060
    reply_stream: ReplyStream | None = None  # the final reply's tokens, as they come (ADR 0090); None: no streaming
    effects: EffectLog = field(default_factory=NoEffectLog)  # ADR 0066
    deadline: float | None = None  # ``time.monotonic()`` after which no further node starts (the turn's time limit)
    time_limit: float | None = None  # the seconds that deadline stands for, named in the error


def copy_state(state: Mapping[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(dict(state))
