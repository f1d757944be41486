"""A published chatbot as an MCP server: the official ``mcp`` client lists and calls its tool over Streamable HTTP
against the ASGI app on a live uvicorn, with the real chat worker answering (ADR 0111)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from tests.fakes.llm_server import Profile

pytestmark = pytest.mark.worker

CEILING = 120.0


@pytest.fixture
def live_mcp(django_db_setup: None, committed: None) -> Iterator[str]:
    """The product's ASGI process (config/asgi.py: the stream server, with the MCP server under /mcp/)."""
    from config.asgi import application

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(application, host="127.0.0.1", port=port, lifespan="on", log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + CEILING
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


async def _session(url: str, host: str, key: str, call: Any = None) -> tuple[list[str], Any]:
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {key}", "Host": host})
    async with http, Client(streamable_http_client(url, http_client=http), read_timeout_seconds=CEILING) as client:
        tools = [tool.name for tool in (await client.list_tools()).tools]
        result = await client.call_tool(*call) if call else None
        return tools, result


def test_mcp_client_lists_and_calls_the_chatbot(live_worker, live_mcp, published_bot, fake_llm):
    team, bot, key = published_bot("alpha")
    fake_llm.profile = Profile(first_token=0.2, tokens=5, seconds=0.3)

    tools, result = asyncio.run(
        _session(f"{live_mcp}/mcp/{bot.pk}/", f"{team.slug}.localhost", key, ("send_message", {"message": "hi mcp"}))
    )

    assert tools == ["send_message"]
    assert result.is_error is False
    assert result.content[0].text.startswith("Echo: hi mcp")


def test_mcp_refuses_a_bad_key_and_another_teams_key(live_mcp, published_bot):
    team, bot, key = published_bot("alpha")
    other_team, _other_bot, other_key = published_bot("bravo")

    for host, raw in ((f"{team.slug}.localhost", "cs_0000000000.not-a-real-secret-at-all"),
                      (f"{team.slug}.localhost", other_key),
                      (f"{other_team.slug}.localhost", key)):  # fmt: skip
        with pytest.raises(Exception) as refused:  # noqa: PT011 - the client wraps the 401 in its transport error
            asyncio.run(_session(f"{live_mcp}/mcp/{bot.pk}/", host, raw))
        assert "401" in repr(refused.value) or "Unauthorized" in repr(refused.value)
