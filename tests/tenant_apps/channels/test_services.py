from __future__ import annotations

from typing import Any

import pytest

from shared_apps.billing.exceptions import PlanLimitError
from tenant_apps.audit.models import AuditEvent
from tenant_apps.channels import selectors, services
from tenant_apps.channels.enums import ChannelKind
from tenant_apps.channels.exceptions import ChannelInvalidError
from tenants.models import ChannelRoute
from tenants.selectors import channel_route_resolve


def test_channel_create_widget_gets_key_route_and_audit(widget: Any, team: Any) -> None:
    route = channel_route_resolve(platform=ChannelKind.WIDGET, external_id=widget.embed_key)

    assert widget.embed_key
    assert len(widget.embed_key) >= 30
    assert widget.allowed_domains == ["example.com", "*.example.org"]
    assert route is not None
    assert route.team_id == team.pk
    assert route.channel_id == widget.pk
    assert AuditEvent.objects.filter(action="channel.created", target_id=str(widget.pk)).exists()


def test_channel_create_custom_api_seals_its_secret(custom_api: Any) -> None:
    secret = custom_api.secrets.reveal()["signing_secret"]

    assert secret.startswith("whsec_")
    assert secret not in repr(custom_api.secrets)
    assert custom_api.embed_key is None


@pytest.mark.parametrize(
    ("domains", "expected"),
    [
        pytest.param("example.com\n*.example.org, *", ["example.com", "*.example.org", "*"], id="text"),
        pytest.param(["https://Shop.Example.com/page"], ["shop.example.com"], id="url-reduced-to-host"),
        pytest.param(["localhost", "127.0.0.1"], ["localhost", "127.0.0.1"], id="local"),
    ],
)
def test_widget_config_clean_accepts(domains: Any, expected: list[str]) -> None:
    assert services.widget_config_clean({"allowed_domains": domains})["allowed_domains"] == expected


@pytest.mark.parametrize(
    "config",
    [
        pytest.param({"allowed_domains": ["exa mple.com"]}, id="space"),
        pytest.param({"allowed_domains": ["*example.com"]}, id="bad-wildcard"),
        pytest.param({"allowed_domains": ["a" * 300]}, id="too-long"),
        pytest.param({"allowed_domains": [f"d{i}.com" for i in range(60)]}, id="too-many"),
        pytest.param({"auth_level": 7}, id="auth-level"),
    ],
)
def test_widget_config_clean_refuses(config: dict[str, Any]) -> None:
    with pytest.raises(ChannelInvalidError):
        services.widget_config_clean(config)


def test_widget_key_rotate_refuses_old_key_at_once(widget: Any, owner: Any) -> None:
    old = widget.embed_key

    services.widget_key_rotate(channel=widget, user=owner)

    assert selectors.widget_channel_for(chatbot_public_id=widget.chatbot.public_id, embed_key=old) is None
    assert selectors.widget_channel_for(chatbot_public_id=widget.chatbot.public_id, embed_key=widget.embed_key)
    assert not ChannelRoute.objects.filter(external_id=old).exists()


def test_channel_delete_removes_route(widget: Any, owner: Any) -> None:
    key = widget.embed_key

    services.channel_delete(channel=widget, user=owner)

    assert channel_route_resolve(platform=ChannelKind.WIDGET, external_id=key) is None
    assert AuditEvent.objects.filter(action="channel.deleted").exists()


def test_channel_create_refuses_past_plan_limit(published: Any, owner: Any, settings: Any) -> None:
    from shared_apps.billing.models import Plan
    from shared_apps.billing.snapshot import billing_changed

    settings.STRIPE_SECRET_KEY, settings.STRIPE_WEBHOOK_SECRET = "sk_test_double", "whsec_double"  # billing on
    Plan.objects.filter(code="free").update(max_channels=1)
    billing_changed()
    services.channel_create(chatbot=published, kind=ChannelKind.WIDGET, name="First", user=owner)

    with pytest.raises(PlanLimitError) as refused:
        services.channel_create(chatbot=published, kind=ChannelKind.WIDGET, name="Second", user=owner)

    assert refused.value.code == "billing.plan_limit"
    assert selectors.channel_list().count() == 1
