"""Token counting works offline, with an estimate when no encoding loads."""

from __future__ import annotations

from tenant_apps.providers.llm import tokens
from tenant_apps.providers.llm.tokens import count_tokens
from tenant_apps.providers.llm.types import Message, ToolCall


def test_count_tokens_uses_the_offline_cl100k_encoding():
    assert tokens.tiktoken_encoding() is not None
    assert count_tokens("hello world") == 2
    assert count_tokens("") == 0


def test_count_tokens_for_a_chat_includes_format_overhead_and_tool_calls():
    chat = [
        Message(role="system", content="hello world"),
        Message(role="assistant", tool_calls=(ToolCall(id="1", name="lookup", arguments={"q": "x"}),)),
    ]

    total = count_tokens(chat, model="gpt-4o")

    assert total > count_tokens("hello world") + 2 * tokens.MESSAGE_OVERHEAD
    assert (
        count_tokens([{"role": "user", "content": "hello world"}]) == tokens.REPLY_PRIMER + tokens.MESSAGE_OVERHEAD + 2
    )


def test_count_tokens_estimates_when_no_encoding_is_available(monkeypatch):
    monkeypatch.setattr(tokens, "tiktoken_encoding", lambda: None)

    assert count_tokens("a" * 40) == 10
