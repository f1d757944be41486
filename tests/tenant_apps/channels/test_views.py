"""Channel pages: add, configure (validated), enable/disable, rotate, delete with confirmation; who may do what."""

from __future__ import annotations

from typing import Any

import pytest

from tenant_apps.channels.enums import ChannelKind
from tenant_apps.channels.models import Channel
from tenant_apps.conversations import services as conversation_services
from tenants.enums import Role


@pytest.fixture
def owner_client(team: Any, owner: Any, client_for: Any) -> Any:
    return client_for(team, owner)


def test_add_widget_channel_then_its_page_shows_snippet_and_urls(owner_client: Any, published: Any) -> None:
    added = owner_client.post(f"/chatbots/{published.pk}/channels/", {"kind": "widget", "name": "Site"})
    channel = Channel.objects.get()
    page = owner_client.get(added["Location"])

    assert added.status_code == 302
    assert page.status_code == 200
    assert channel.embed_key.encode() in page.content
    assert b"open-chat-studio-widget@0.6.0" in page.content
    assert b"/api/chat/start/" in page.content
    assert b"vendor/open-chat-studio-widget/open-chat-studio-widget.esm.js" in page.content
    assert b"/static/build/chat-widget.js" in page.content  # ours
    assert b"&lt;chat-studio-widget chatbot-id" in page.content


def test_add_custom_api_channel_shows_the_secret_once(owner_client: Any, published: Any) -> None:
    added = owner_client.post(f"/chatbots/{published.pk}/channels/", {"kind": "custom_api", "name": "Backend"})
    channel = Channel.objects.get()
    page = owner_client.get(f"/chatbots/{published.pk}/channels/{channel.pk}/")
    secret = channel.secrets.reveal()["signing_secret"]

    assert added.status_code == 200
    assert added["Cache-Control"] == "no-store"
    assert secret.encode() in added.content
    assert secret.encode() not in page.content
    assert f"/api/channels/{channel.public_id}/messages/".encode() in page.content


def test_allowed_domains_are_validated_on_the_form(owner_client: Any, widget: Any) -> None:
    url = f"/chatbots/{widget.chatbot_id}/channels/{widget.pk}/"

    bad = owner_client.post(
        url, {"name": "Site", "disabled_message": "", "allowed_domains": "not a domain!", "auth_level": "1"}
    )
    good = owner_client.post(
        url,
        {
            "name": "Site",
            "disabled_message": "Off",
            "allowed_domains": "shop.example.com\n*.example.net",
            "auth_level": "2",
        },
    )
    widget.refresh_from_db()

    assert bad.status_code == 422
    assert b"is not a domain" in bad.content
    assert good.status_code == 302
    assert widget.allowed_domains == ["shop.example.com", "*.example.net"]
    assert widget.auth_level == 2


def test_toggle_rotate_and_delete_with_confirmation(owner_client: Any, widget: Any) -> None:
    base = f"/chatbots/{widget.chatbot_id}/channels/{widget.pk}/"
    old_key = widget.embed_key

    owner_client.post(base + "toggle/")
    disabled = Channel.objects.get(pk=widget.pk).enabled
    owner_client.post(base + "rotate/")
    confirm = owner_client.get(base + "delete/")
    owner_client.post(base + "delete/")

    assert disabled is False
    assert confirm.status_code == 200
    assert b"cannot be undone" in confirm.content
    assert not Channel.objects.filter(pk=widget.pk).exists()
    assert old_key  # rotated before deletion (the audit log has it)
    from tenant_apps.audit.models import AuditEvent

    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"channel.disabled", "channel.key_rotated", "channel.deleted"} <= actions


def test_viewer_sees_but_cannot_change(team: Any, widget: Any, make_member: Any, client_for: Any) -> None:
    viewer = client_for(team, make_member(team, Role.VIEWER))
    base = f"/chatbots/{widget.chatbot_id}/channels/{widget.pk}/"

    page = viewer.get(base)
    toggled = viewer.post(base + "toggle/")
    added = viewer.post(f"/chatbots/{widget.chatbot_id}/channels/", {"kind": "widget", "name": "X"})

    assert page.status_code == 200
    assert toggled.status_code == 404
    assert added.status_code == 404
    assert Channel.objects.get(pk=widget.pk).enabled


def test_channel_of_another_chatbot_is_404(owner_client: Any, widget: Any, owner: Any, fake_provider: Any) -> None:
    from tenant_apps.chatbots.services import chatbot_create

    other = chatbot_create(name="Other", created_by=owner)

    assert owner_client.get(f"/chatbots/{other.pk}/channels/{widget.pk}/").status_code == 404


def test_failed_delivery_is_visible_on_the_session_page(owner_client: Any, widget: Any, member_session: Any) -> None:
    reply = member_session.messages.create(role="assistant", content="Hello there")
    conversation_services.message_delivery_note(
        message_id=reply.pk, status="failed", error="The callback answered 503."
    )

    page = owner_client.get(f"/sessions/{member_session.external_id}/")

    assert b'data-testid="delivery-failed"' in page.content
    assert b"The callback answered 503." in page.content


def test_kinds_offered(owner_client: Any, published: Any) -> None:
    page = owner_client.get(f"/chatbots/{published.pk}/channels/")

    for kind in ChannelKind:
        assert kind.label.encode() in page.content
