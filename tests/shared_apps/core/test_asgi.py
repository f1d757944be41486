"""Several ASGI apps in one process: requests by path prefix, lifespan to all of them."""

from __future__ import annotations

import asyncio
from typing import Any

from shared_apps.core.asgi import path_dispatch


def _app(name: str, calls: list[str], *, fail_startup: bool = False) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                calls.append(f"{name}:{message['type']}")
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.failed" if fail_startup else "lifespan.startup.complete"})
                    if fail_startup:
                        return
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        calls.append(f"{name}:{scope['path']}")

    return app


def _lifespan(app: Any) -> list[str]:
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[str] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message["type"])

    asyncio.run(app({"type": "lifespan"}, receive, send))
    return sent


def test_requests_go_to_the_app_of_their_prefix_else_the_default():
    calls: list[str] = []
    app = path_dispatch({"/mcp/": _app("mcp", calls)}, default=_app("stream", calls))

    for path in ("/mcp/12/", "/stream/abc/", "/healthz"):
        asyncio.run(app({"type": "http", "path": path}, None, None))

    assert calls == ["mcp:/mcp/12/", "stream:/stream/abc/", "stream:/healthz"]


def test_every_app_starts_and_stops_with_the_process():
    calls: list[str] = []
    app = path_dispatch({"/mcp/": _app("mcp", calls)}, default=_app("stream", calls))

    sent = _lifespan(app)

    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert sorted(calls) == sorted(
        ["mcp:lifespan.startup", "stream:lifespan.startup", "mcp:lifespan.shutdown", "stream:lifespan.shutdown"]
    )


def test_one_app_failing_to_start_fails_the_process_start():
    calls: list[str] = []
    app = path_dispatch({"/mcp/": _app("mcp", calls, fail_startup=True)}, default=_app("stream", calls))

    assert _lifespan(app) == ["lifespan.startup.failed"]


def test_an_app_that_crashes_at_start_fails_the_process_start_instead_of_hanging_it():
    calls: list[str] = []

    async def broken(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        raise RuntimeError("no Redis")

    app = path_dispatch({"/mcp/": broken}, default=_app("stream", calls))

    assert _lifespan(app) == ["lifespan.startup.failed"]
