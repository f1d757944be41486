"""Chatbots as MCP servers (issue 14, ADR 0111): ``POST /mcp/<chatbot_id>/`` on a team host speaks the Model
Context Protocol's Streamable HTTP transport, served by the official ``mcp`` SDK (``MCPServer``, stateless, JSON
answers) on the ASGI server.

One tool, ``send_message(message)``: the message goes to the chatbot's published version through the one ingress
service, the turn runs in the chat worker, and the tool returns the reply's text. Every call is authenticated by a
team API key (``Authorization: Bearer`` or ``X-Api-Key``) on the team's own host, before the SDK sees the request:
an unknown host, a bad key or another team's key answers 401, a chatbot of another team (or unpublished) 404.
The participant is ``mcp:<key prefix>``; a conversation continues while its session is open.
"""

from __future__ import annotations

import json
import re
from typing import Any

from asgiref.sync import sync_to_async
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.transport_security import TransportSecuritySettings

MCP_PATH = re.compile(r"^/mcp/(\d{1,12})/?$")
TOOL_NAME = "send_message"

server = MCPServer(
    name="chat-studio-chatbot",
    instructions="Send a message to this chatbot with the send_message tool; it returns the chatbot's reply.",
)


def _authorize(host: str, raw_key: str | None, chatbot_id: int) -> tuple[int, str, str] | int:
    """(team id, schema, key prefix) when the key belongs to the host's team and the chatbot is published there;
    else the HTTP status to answer (401 or 404)."""
    from tenant_apps.api.services import api_key_authenticate
    from tenant_apps.chatbots.models import Chatbot
    from tenants.context import tenant_context
    from tenants.resolver import team_for_host

    team = team_for_host(host.split(":")[0].lower())
    if team is None or team.is_public or not raw_key:
        return 401
    with tenant_context(team):
        key = api_key_authenticate(raw=raw_key)
        if key is None:
            return 401
        if key.read_only:
            return 403
        published = Chatbot.objects.filter(
            pk=chatbot_id, published_version__isnull=False, archived_at__isnull=True
        ).exists()
    return (team.pk, team.schema_name, key.prefix) if published else 404


def _chat(team_id: int, chatbot_id: int, key_prefix: str, text: str) -> str:
    """The message in through ingress, the reply out (the OpenAI endpoint's long poll)."""
    from tenant_apps.api.openai_compat import _wait_for_reply
    from tenant_apps.chatbots import selectors as chatbot_selectors
    from tenant_apps.conversations import ingress
    from tenant_apps.conversations.enums import Platform
    from tenants.context import tenant_context
    from tenants.models import Team

    team = Team.objects.get(pk=team_id)
    with tenant_context(team):
        chatbot = chatbot_selectors.chatbot_get(chatbot_id=chatbot_id)
        received = ingress.message_receive_for(
            chatbot=chatbot,
            participant=ingress.ParticipantRef(platform=Platform.API, identifier=f"mcp:{key_prefix}"),
            platform=Platform.API,
            inbound=ingress.Inbound(text=text),
            version=chatbot.published_version,
        )
        reply = _wait_for_reply(received.session, received.message)
        return reply.content


@server.tool(name=TOOL_NAME, description="Send a message to the chatbot and return its reply.")
async def send_message(message: str, ctx: Context) -> str:
    request = ctx.request_context.request
    scope = request.scope if request is not None else {}
    grant = scope.get("state", {}).get("chat_studio")
    if not grant:
        raise PermissionError("Not authorized.")
    if not message.strip() or len(message) > 20_000:
        raise ValueError("Send a message of 1 to 20,000 characters.")
    team_id, _schema, key_prefix, chatbot_id = grant
    return await sync_to_async(_chat, thread_sensitive=False)(team_id, chatbot_id, key_prefix, message)


def _new_sdk_app() -> Any:
    """The SDK's Starlette app; a new one per server start (its session manager runs once per instance)."""
    return server.streamable_http_app(
        streamable_http_path="/mcp",
        stateless_http=True,
        json_response=True,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )


_sdk_app: Any = None


async def _refuse(send: Any, status: int) -> None:
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": None,
            "error": {
                "code": -32001,
                "message": {
                    401: "Unauthorized",
                    403: "Read-only API keys cannot chat",
                    404: "No such published chatbot",
                }.get(status, "Refused"),
            },
        }
    ).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="mcp"'))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _raw_key(headers: dict[bytes, bytes]) -> str | None:
    scheme, _, value = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return headers.get(b"x-api-key", b"").decode("latin-1") or None


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """ASGI: authenticate, then hand ``/mcp/<chatbot_id>/`` to the SDK's app as ``/mcp``."""
    global _sdk_app
    if scope["type"] == "lifespan":
        _sdk_app = _new_sdk_app()
        await _sdk_app(scope, receive, send)
        return
    if scope["type"] != "http":
        return
    match = MCP_PATH.match(scope.get("path", ""))
    if match is None:
        await _refuse(send, 404)
        return
    headers = dict(scope.get("headers") or [])
    chatbot_id = int(match.group(1))
    host = headers.get(b"host", b"").decode("latin-1")
    outcome = await sync_to_async(_authorize, thread_sensitive=False)(host, _raw_key(headers), chatbot_id)
    if isinstance(outcome, int):
        await _refuse(send, outcome)
        return
    team_id, schema, key_prefix = outcome
    state = dict(scope.get("state") or {})
    state["chat_studio"] = (team_id, schema, key_prefix, chatbot_id)
    await _sdk_app({**scope, "path": "/mcp", "raw_path": b"/mcp", "state": state}, receive, send)
