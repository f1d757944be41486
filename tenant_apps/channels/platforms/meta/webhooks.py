"""The apex webhooks of Meta's WhatsApp Cloud API (``/webhooks/meta/whatsapp/``) and Messenger
(``/webhooks/meta/messenger/``), one URL each for every team (docs/channels/meta.md).

``GET``: Meta's subscription handshake. ``hub.verify_token`` is the verify token of some team's Meta provider; the
request names no team, so each Meta channel publishes ``sha256(verify token)`` as a public ``ChannelRoute`` of
platform ``<kind>_verify`` (``verify_route_set``, on save). The handshake finds that route, checks the token
against the routed channel's provider in its team (a token changed since no longer answers) and echoes
``hub.challenge``; anything else is 403.

``POST``: the body is signed with the Meta app's secret (``X-Hub-Signature-256: sha256=<hex HMAC-SHA256>``),
which is the secret of the team the body routes to. So the body is parsed only to find its routing ids (WhatsApp
``phone_number_id``, Messenger Page id), each id is resolved to its team and channel through ``ChannelRoute``,
and the raw body's signature is checked with each routed channel's app secret (``hmac.compare_digest``) before
anything is stored: any failure is 403 with nothing stored; no signature at all is 401. Ids nobody routes are
logged and answered 200 (Meta disables a webhook that keeps failing). Stored before acknowledged: an error while
storing is a 500, and Meta's redelivery is recognised by its message ids.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable
from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from shared_apps.core import strict_json
from tenant_apps.channels import inbound
from tenant_apps.channels.enums import ChannelKind
from tenant_apps.channels.models import Channel
from tenant_apps.channels.platforms.meta import events
from tenants.context import tenant_context
from tenants.selectors import channel_route_resolve
from tenants.services.routes import channel_route_set

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
SIGNATURE_PREFIX = "sha256="
VERIFY_PLATFORMS: dict[str, str] = {
    ChannelKind.META_WHATSAPP: "meta_whatsapp_verify",
    ChannelKind.MESSENGER: "messenger_verify",
}

Handler = Callable[[Channel, list[dict[str, Any]]], None]
_ROUTES: dict[str, Callable[[dict[str, Any]], dict[str, list[dict[str, Any]]]]] = {
    ChannelKind.META_WHATSAPP: events.routes_whatsapp,
    ChannelKind.MESSENGER: events.routes_messenger,
}
_HANDLERS: dict[str, Handler] = {
    ChannelKind.META_WHATSAPP: events.whatsapp_handle,
    ChannelKind.MESSENGER: events.messenger_handle,
}


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"code": code, "message": message, "extra": {}}, status=status)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _provider_secret(channel: Channel, name: str) -> str:
    return channel.provider.credentials.reveal().get(name, "") if channel.provider is not None else ""


def verify_route_set(channel: Channel) -> None:
    """Publish the digest of the channel's provider verify token for the handshake (another channel with the same
    token may hold the route already: the handshake only needs one)."""
    token = _provider_secret(channel, "verify_token")
    if token:
        channel_route_set(
            team=connection.tenant,  # type: ignore[attr-defined]
            platform=VERIFY_PLATFORMS[channel.kind],
            external_id=token_digest(token),
            channel_id=channel.pk,
        )


def signature_valid(app_secret: str, body: bytes, header: str) -> bool:
    """Meta's ``X-Hub-Signature-256`` over the raw body, compared in constant time."""
    if not app_secret or not header.startswith(SIGNATURE_PREFIX):
        return False
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header[len(SIGNATURE_PREFIX) :].strip().lower())


def _handshake(request: HttpRequest, kind: str) -> HttpResponse:
    mode, token = request.GET.get("hub.mode", ""), request.GET.get("hub.verify_token", "")
    challenge = request.GET.get("hub.challenge", "")
    if mode != "subscribe" or not token or not challenge:
        return _error(400, "request.invalid", "Expected hub.mode=subscribe, hub.verify_token and hub.challenge.")
    route = channel_route_resolve(platform=VERIFY_PLATFORMS[kind], external_id=token_digest(token))
    if route is not None and route.team.is_active:
        with tenant_context(route.team):
            channel = Channel.objects.select_related("provider").filter(pk=route.channel_id, kind=kind).first()
            known = channel is not None and hmac.compare_digest(_provider_secret(channel, "verify_token"), token)
        if known:
            return HttpResponse(challenge[:200], content_type="text/plain")
    logger.warning("meta.handshake_refused", extra={"kind": kind})
    return _error(403, "channel.bad_verify_token", "The verify token matches no channel's Meta provider.")


def _receive(request: HttpRequest, kind: str) -> HttpResponse:
    raw = request.body
    if len(raw) > MAX_BODY_BYTES:
        return _error(413, "request.too_large", f"The body is larger than {MAX_BODY_BYTES // 1024} KB.")
    signature = request.META.get("HTTP_X_HUB_SIGNATURE_256", "")
    if not signature:
        return _error(401, "channel.unsigned", "Sign the request (X-Hub-Signature-256).")
    try:
        body = strict_json.loads(raw)
        if not isinstance(body, dict):
            raise ValueError
    except (ValueError, UnicodeDecodeError):
        return _error(400, "request.invalid_json", "The body must be a JSON object.")
    groups = _ROUTES[kind](body)
    several = len(groups) > 1
    for external_id, items in groups.items():
        with inbound.routed_channel(kind=kind, external_id=external_id) as channel:
            if channel is None:
                logger.warning("meta.unrouted", extra={"kind": kind, "external_id": external_id[:40]})
                continue
            if not signature_valid(_provider_secret(channel, "app_secret"), raw, signature):
                logger.warning("meta.bad_signature", extra={"kind": kind, "channel_id": channel.pk})
                return _error(403, "channel.bad_signature", "The signature does not match the body.")
            if not several:
                _HANDLERS[kind](channel, items)
    if several:  # every routed channel's signature held: now store
        for external_id, items in groups.items():
            with inbound.routed_channel(kind=kind, external_id=external_id) as channel:
                if channel is not None:
                    _HANDLERS[kind](channel, items)
    return HttpResponse("EVENT_RECEIVED", content_type="text/plain")


@csrf_exempt
@require_http_methods(["GET", "POST"])
def whatsapp_webhook_view(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _handshake(request, ChannelKind.META_WHATSAPP)
    return _receive(request, ChannelKind.META_WHATSAPP)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def messenger_webhook_view(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _handshake(request, ChannelKind.MESSENGER)
    return _receive(request, ChannelKind.MESSENGER)
