"""One ASGI process, several apps by path prefix (the stream server and the MCP server share a deployment).

``path_dispatch({"/mcp/": mcp_app}, default=stream_app)`` sends each HTTP request to the app whose prefix its path
starts with, else to ``default``; lifespan events go to every app, and the process reports startup (or shutdown)
complete once all of them have — or the first failure.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any

App = Callable[..., Coroutine[Any, Any, None]]  # (scope, receive, send), as ASGI defines it
Scope = Any
Receive = Callable[[], Awaitable[Any]]
Send = Callable[[Any], Awaitable[None]]


def path_dispatch(routes: Mapping[str, App], *, default: App) -> App:
    apps = [*dict.fromkeys([*routes.values(), default])]

    async def application(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(apps, scope, receive, send)
            return
        path = scope.get("path", "")
        app = next((app for prefix, app in routes.items() if path.startswith(prefix)), default)
        await app(scope, receive, send)

    return application


async def _lifespan(apps: list[App], scope: Scope, receive: Receive, send: Send) -> None:
    inboxes: list[asyncio.Queue[Any]] = [asyncio.Queue() for _ in apps]
    outboxes: list[asyncio.Queue[Any]] = [asyncio.Queue() for _ in apps]
    tasks: list[asyncio.Task[None]] = [
        asyncio.create_task(app(scope, inbox.get, outbox.put))
        for app, inbox, outbox in zip(apps, inboxes, outboxes, strict=True)
    ]
    try:
        while True:
            message = await receive()
            for inbox in inboxes:
                inbox.put_nowait(message)
            replies = [
                await _reply(task, outbox, message["type"]) for task, outbox in zip(tasks, outboxes, strict=True)
            ]
            failed = next((reply for reply in replies if reply["type"].endswith(".failed")), None)
            await send(failed or replies[0])
            if failed is not None or message["type"] == "lifespan.shutdown":
                return
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _reply(task: asyncio.Task[None], outbox: asyncio.Queue[Any], asked: str) -> Any:
    """One app's answer to a lifespan event; an app that ended without answering has failed it."""
    getting = asyncio.ensure_future(outbox.get())
    await asyncio.wait({getting, task}, return_when=asyncio.FIRST_COMPLETED)
    if getting.done():
        return getting.result()
    getting.cancel()
    error = task.exception() if not task.cancelled() else None
    return {"type": f"{asked}.failed", "message": repr(error) if error else "The app stopped without answering."}
