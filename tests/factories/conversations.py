"""Conversation helpers for tests: a participant's message through the one ingress service, a chatbot's graph."""

from __future__ import annotations

from typing import Any

from tenant_apps.conversations import ingress
from tenant_apps.pipelines.services import pipeline_update_graph
from tests.factories.pipelines import node


def say(session: Any, text: str, **inbound: Any) -> Any:
    """``text`` (and any other ``Inbound`` field) from the session's participant; returns the stored message."""
    return ingress.message_receive(session=session, inbound=ingress.Inbound(text=text, **inbound)).message


def set_graph(chatbot: Any, graph: dict[str, Any]) -> None:
    """Replace the chatbot's working pipeline graph."""
    pipeline = chatbot.pipeline
    pipeline_update_graph(pipeline=pipeline, graph=graph, base_revision=pipeline.edit_revision)
    chatbot.refresh_from_db()


def llm_node(provider: Any, **params: Any) -> dict[str, Any]:
    """The LLM node ``llm`` on ``provider``'s ``fake-model``, global history unless ``history_type`` says otherwise."""
    return node(
        "llm",
        "llm",
        "Answer",
        llm_provider_id=provider.pk,
        llm_model="fake-model",
        prompt="Be kind.",
        history_type=params.pop("history_type", "global"),
        **params,
    )


def start_chat(client: Any, chatbot: Any, **query: Any) -> str:
    """Start an in-app chat on ``chatbot``; the chat page's URL."""
    response = client.get(f"/chatbots/{chatbot.pk}/chat/", query)
    assert response.status_code == 302
    return response["Location"]


def upload(name: str, content: bytes = b"hello", content_type: str = "text/plain") -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type=content_type)


def public_first_send(client: Any, public_id: Any, text: str = "hello", *, new: bool = False) -> tuple[Any, str]:
    """A public-link visitor's first message (it starts their session): the response and the session's address
    (``/c/<public id>/s/<session id>/``), which the page learns from the ``chat-session`` event."""
    import json

    response = client.post(f"/c/{public_id}/send/" + ("?new=1" if new else ""), {"message": text})
    assert response.status_code == 200, response.content[:500]
    return response, json.loads(response["HX-Trigger"])["chat-session"]["base"]
