"""History compression at its boundaries: exactly at the limit, one over, and summarise with markers."""

from __future__ import annotations

import pytest

from tenant_apps.pipelines.engine.context import HistoryEntry, HistoryKey, InMemoryHistoryStore
from tenant_apps.pipelines.engine.history import prepare_history
from tests.fakes.scripted_chat_model import ScriptedChatModel

KEY = HistoryKey("named", "h")


def words(text: str) -> int:
    return len(text.split())


def store_with(*sizes: int) -> InMemoryHistoryStore:
    """Alternating user/assistant entries of the given sizes in words ("m0 m0 m0", "m1 m1", ...)."""
    entries = [
        HistoryEntry("user" if index % 2 == 0 else "assistant", " ".join([f"m{index}"] * size))
        for index, size in enumerate(sizes)
    ]
    return InMemoryHistoryStore({KEY: entries})


def prepare(store, mode, limit=0, max_messages=0, fixed=0, model=None):
    return prepare_history(
        store=store,
        key=KEY,
        mode=mode,
        token_limit=limit,
        max_messages=max_messages,
        fixed_tokens=fixed,
        count=words,
        model=model or ScriptedChatModel(),
    )


def contents(prepared):
    return [message.content.split()[0] for message in prepared.messages]


@pytest.mark.parametrize(
    ("keep", "expected"), [(0, []), (2, ["m2", "m3"]), (4, ["m0", "m1", "m2", "m3"]), (9, ["m0", "m1", "m2", "m3"])]
)
def test_max_history_length_keeps_last_n(keep, expected):
    prepared = prepare(store_with(1, 1, 1, 1), "max_history_length", max_messages=keep)

    assert contents(prepared) == expected
    assert prepared.dropped == 4 - len(expected)


def test_truncate_exactly_at_limit_keeps_everything():
    prepared = prepare(store_with(10, 10, 10), "truncate_tokens", limit=35, fixed=5)

    assert contents(prepared) == ["m0", "m1", "m2"]
    assert prepared.dropped == 0


def test_truncate_one_over_limit_drops_the_oldest():
    prepared = prepare(store_with(10, 10, 10), "truncate_tokens", limit=34, fixed=5)

    assert contents(prepared) == ["m1", "m2"]
    assert prepared.dropped == 1


def test_truncate_drops_everything_when_fixed_part_fills_the_budget():
    prepared = prepare(store_with(3, 3), "truncate_tokens", limit=10, fixed=10)

    assert prepared.messages == []


def test_summarize_exactly_at_limit_calls_no_model():
    model = ScriptedChatModel()  # any call would fail: no reply scripted

    prepared = prepare(store_with(10, 10, 10), "summarize", limit=35, fixed=5, model=model)

    assert contents(prepared) == ["m0", "m1", "m2"]
    assert prepared.summary is None
    assert model.calls == []


def test_summarize_one_over_limit_folds_older_messages_into_a_stored_summary():
    store = store_with(10, 10, 10)
    model = ScriptedChatModel(replies=["S1"])

    prepared = prepare(store, "summarize", limit=34, fixed=5, model=model)

    # room for verbatim messages is (34 - 5) // 2 = 14 words: only the newest (10) stays
    assert contents(prepared) == ["m2"]
    assert (prepared.summary, prepared.summarized) == ("S1", 2)
    assert "user: m0" in model.calls[0].last_user
    assert "assistant: m1" in model.calls[0].last_user
    assert "m2" not in model.calls[0].last_user
    loaded = store.load(KEY)
    assert [(entry.content.split()[0], entry.summary) for entry in loaded] == [("m1", "S1"), ("m2", None)]


def test_summarize_next_turn_starts_from_marker_and_extends_previous_summary():
    store = store_with(10, 10, 10)
    prepare(store, "summarize", limit=34, fixed=5, model=ScriptedChatModel(replies=["S1"]))
    store.append(KEY, [HistoryEntry("user", "n " * 10), HistoryEntry("assistant", "o " * 10)])
    model = ScriptedChatModel(replies=["S2"])

    prepared = prepare(store, "summarize", limit=34, fixed=5, model=model)

    assert model.calls[0].last_user.startswith("Summary so far:\nS1")
    assert contents(prepared) == ["o"]
    assert prepared.summary == "S2"


def test_summarize_with_stored_summary_under_limit_reuses_it():
    store = store_with(10, 2)
    store.summarize(KEY, upto=store.load(KEY)[0], summary="short summary")

    prepared = prepare(store, "summarize", limit=100, model=ScriptedChatModel())

    assert prepared.summary == "short summary"
    assert contents(prepared) == ["m1"]


def test_summarize_counts_the_summary_against_the_budget():
    store = store_with(10, 2)
    store.summarize(KEY, upto=store.load(KEY)[0], summary="s " * 20)  # 20 words + 2 = 22
    model = ScriptedChatModel(replies=["S"])

    at_limit = prepare(store, "summarize", limit=22, model=model)
    assert (at_limit.summary.split()[0], model.calls) == ("s", [])

    over = prepare(store, "summarize", limit=21, model=model)  # room 10: m1 stays, the 20-word summary is redone
    assert (over.summary, contents(over)) == ("S", ["m1"])
    assert model.calls[0].last_user.startswith("Summary so far:")


def test_summarize_single_oversized_message_is_folded():
    model = ScriptedChatModel(replies=["S"])

    prepared = prepare(store_with(50), "summarize", limit=40, model=model)

    assert (prepared.messages, prepared.summary, prepared.summarized) == ([], "S", 1)


def test_summarize_empty_history_over_budget_calls_no_model():
    model = ScriptedChatModel()

    prepared = prepare(InMemoryHistoryStore(), "summarize", limit=10, fixed=50, model=model)

    assert (prepared.messages, prepared.summary, model.calls) == ([], None, [])


def test_in_memory_store_summarize_unknown_entry_fails_loudly():
    store = store_with(1)

    with pytest.raises(KeyError):
        store.summarize(KEY, upto=HistoryEntry("user", "x", id=999), summary="s")
