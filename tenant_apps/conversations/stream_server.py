"""The ASGI stream server (ADR 0090 §6, ADR 0095): a turn's tokens to the browser as Server-Sent Events.

``GET /stream/turn/<signed token>/`` streams one turn; ``POST /stream/turn/<signed token>/cancel/`` stops it (the
page's Stop button and its ``pagehide`` beacon). The token (``streams.grant_sign``, issued by the send) names the
schema, the message and the host it was issued for, so this server needs no database and no Django middleware: a
token used on another host answers 404.

A stream subscribes to the turn's channel first, then reads the text and done keys, then forwards events, skipping
text it already sent (by offset). SSE ``id:`` is the offset of the text sent so far, so a reconnect (the browser's
``Last-Event-ID``) resumes where it stopped. ``done`` carries the stored reply rendered with the pages' markdown
sanitiser, and ends the stream. Idle streams get a comment line every ``CHAT_STREAM_HEARTBEAT_SECONDS``; after
``CHAT_STREAM_MAX_SECONDS`` a stream says ``timeout`` and the page falls back to the long poll.

Every stream of a process shares one Redis pub/sub connection (``Hub``), which subscribes a turn's channel when
its first stream opens and unsubscribes it when its last one closes. At most ``CHAT_STREAMS_PER_PROCESS`` streams
are open at once per process; beyond that the server answers 503 and the page uses the long poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import redis
import redis.asyncio as aioredis
from django.conf import settings

from shared_apps.core.redis import key
from shared_apps.core.templatetags.markdown_tags import render_markdown
from tenant_apps.conversations import streams

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_ROUTE = re.compile(r"^/stream/turn/(?P<token>[A-Za-z0-9_\-:.]{1,500})/(?P<cancel>cancel/)?$")
_QUEUE_SIZE = 256  # events waiting for a slow client; beyond that it re-reads the text key instead
_CORS = [(b"access-control-allow-origin", b"*")]  # the signed token is the credential; no cookies are read


class _Subscriber:
    """One stream's inbox on the hub. ``None`` in the queue means: the client left."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(maxsize=_QUEUE_SIZE)
        self.lagged = False  # events were dropped: re-read the keys

    def put(self, event: dict[str, Any] | None) -> None:
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.lagged = True


class Hub:
    """One Redis pub/sub connection per process, multiplexing the channels of every open stream."""

    def __init__(self, client: aioredis.Redis) -> None:
        self.client = client
        self.pubsub = client.pubsub()
        self._subscribers: dict[str, set[_Subscriber]] = {}
        self._confirmed: dict[str, asyncio.Event] = {}
        self._reader: asyncio.Task[None] | None = None
        # Keeps the connection subscribed (and the reader reading) while no stream is open.
        self._anchor = key("stream-server", os.getpid())

    async def start(self) -> None:
        if self._reader is None:
            await self.pubsub.subscribe(self._anchor)
            self._reader = asyncio.create_task(self._read())

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self.pubsub.aclose()
        await self.client.aclose()

    @property
    def channels(self) -> int:
        return len(self._subscribers)

    async def open(self, channel: str) -> _Subscriber:
        """A subscriber on ``channel``, once Redis confirmed the subscription (nothing published later is missed)."""
        await self.start()
        subscriber = _Subscriber()
        first = channel not in self._subscribers
        self._subscribers.setdefault(channel, set()).add(subscriber)
        confirmed = self._confirmed.setdefault(channel, asyncio.Event())
        try:
            if first:
                await self.pubsub.subscribe(channel)
            await asyncio.wait_for(confirmed.wait(), timeout=10)
        except BaseException:
            await self.leave(channel, subscriber)
            raise
        return subscriber

    async def leave(self, channel: str, subscriber: _Subscriber) -> None:
        subscribers = self._subscribers.get(channel)
        if subscribers is None:
            return
        subscribers.discard(subscriber)
        if not subscribers:
            del self._subscribers[channel]
            self._confirmed.pop(channel, None)
            with contextlib.suppress(redis.RedisError, OSError):
                await self.pubsub.unsubscribe(channel)

    async def _read(self) -> None:
        while True:
            try:
                message = await self.pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis went away: redis-py reconnects and re-subscribes on the next read
                logger.warning("stream_server.redis_read_failed", exc_info=True)
                for subscribers in self._subscribers.values():
                    for subscriber in subscribers:
                        subscriber.lagged = True
                        subscriber.put({"t": "lagged"})
                await asyncio.sleep(0.5)
                continue
            if message is None:
                continue
            channel = message["channel"].decode() if isinstance(message["channel"], bytes) else message["channel"]
            if message["type"] == "subscribe":
                event = self._confirmed.get(channel)
                if event is not None:
                    event.set()
            elif message["type"] == "message":
                try:
                    payload = streams.decode(message["data"])
                except ValueError:
                    continue
                for subscriber in list(self._subscribers.get(channel, ())):
                    subscriber.put(payload)


class StreamServer:
    """The ASGI application."""

    def __init__(self) -> None:
        self.hub: Hub | None = None
        self.open_streams = 0

    def _hub(self) -> Hub:
        if self.hub is None:
            client = aioredis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, health_check_interval=30)
            self.hub = Hub(client)
        return self.hub

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        if path == "/healthz" and method in ("GET", "HEAD"):
            await _plain(send, 200, b"ok")
            return
        match = _ROUTE.match(path)
        if match is None:
            await _error(send, 404, "stream.not_found", "There is no stream here.")
            return
        if method == "OPTIONS":
            await _preflight(send)
            return
        grant = streams.grant_read(match["token"], host=_hostname(scope))
        if grant is None:
            await _error(send, 404, "stream.not_found", "There is no stream here.")
            return
        if match["cancel"]:
            if method != "POST":
                await _error(send, 405, "stream.method_not_allowed", "Use POST to stop a reply.")
                return
            await self._cancel(grant, send)
            return
        if method != "GET":
            await _error(send, 405, "stream.method_not_allowed", "Use GET to read a stream.")
            return
        if self.open_streams >= settings.CHAT_STREAMS_PER_PROCESS:
            await _error(send, 503, "stream.busy", "Too many streams right now; use the reply poll.", retry_after=5)
            return
        self.open_streams += 1
        try:
            await self._stream(grant, _last_event_id(scope), receive, send)
        finally:
            self.open_streams -= 1

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.hub is not None:
                    await self.hub.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _cancel(self, grant: streams.StreamGrant, send: Send) -> None:
        try:
            await self._hub().client.set(
                streams.cancel_key(grant.schema, grant.message_id), b"1", ex=streams.STREAM_TTL_SECONDS
            )
        except (redis.RedisError, OSError):
            await _error(send, 503, "stream.unavailable", "The reply could not be stopped; try again.")
            return
        await send({"type": "http.response.start", "status": 204, "headers": _CORS})
        await send({"type": "http.response.body", "body": b""})

    async def _stream(self, grant: streams.StreamGrant, sent: int, receive: Receive, send: Send) -> None:
        hub = self._hub()
        channel = streams.channel(grant.schema, grant.message_id)
        text_key = streams.text_key(grant.schema, grant.message_id)
        done_key = streams.done_key(grant.schema, grant.message_id)
        try:
            subscriber = await hub.open(channel)
        except (redis.RedisError, OSError, TimeoutError):
            logger.warning("stream_server.subscribe_failed", exc_info=True)
            await _error(
                send, 503, "stream.unavailable", "Streaming is unavailable; use the reply poll.", retry_after=5
            )
            return
        watcher = asyncio.create_task(_watch_disconnect(receive, subscriber))
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"text/event-stream; charset=utf-8"),
                        (b"cache-control", b"no-store"),
                        (b"x-accel-buffering", b"no"),
                        *_CORS,
                    ],
                }
            )
            await _write(send, b"retry: 2000\n\n")
            sent, finished = await self._catch_up(hub, text_key, done_key, sent, send)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + settings.CHAT_STREAM_MAX_SECONDS
            while not finished:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    await _write(send, _sse("timeout", {}))
                    break
                try:
                    event = await asyncio.wait_for(
                        subscriber.queue.get(), timeout=min(settings.CHAT_STREAM_HEARTBEAT_SECONDS, remaining)
                    )
                except TimeoutError:
                    await _write(send, b": ping\n\n")
                    continue
                if event is None:  # the client left
                    return
                if subscriber.lagged or event["t"] == "lagged":
                    subscriber.lagged = False
                    sent, finished = await self._catch_up(hub, text_key, done_key, sent, send)
                    continue
                sent, finished = await self._forward(hub, event, text_key, done_key, sent, send)
        except OSError:  # the client's connection broke while writing
            return
        finally:
            watcher.cancel()
            await hub.leave(channel, subscriber)
        await _end(send)

    async def _catch_up(self, hub: Hub, text_key: str, done_key: str, sent: int, send: Send) -> tuple[int, bool]:
        """What the keys hold beyond ``sent``: the done reply (the stream is finished) or the text not yet sent."""
        try:
            text_raw, done_raw = await hub.client.mget(text_key, done_key)
        except (redis.RedisError, OSError):
            return sent, False  # the next event or heartbeat tries again
        if done_raw is not None:
            await _write(send, _done(done_raw))
            return sent, True
        text = _text(text_raw)
        if len(text) < sent:  # the turn restarted while we were away
            await _write(send, _sse("reset", {}, event_id=0))
            sent = 0
        if len(text) > sent:
            await _write(send, _sse("token", {"d": text[sent:]}, event_id=len(text)))
            sent = len(text)
        return sent, False

    async def _forward(
        self, hub: Hub, event: dict[str, Any], text_key: str, done_key: str, sent: int, send: Send
    ) -> tuple[int, bool]:
        kind = event.get("t")
        if kind == "token":
            offset, data = event.get("o"), event.get("d")
            if not isinstance(offset, int) or not isinstance(data, str):
                return sent, False
            if offset > sent:  # a gap (we were lagging or resumed ahead of the keys): the key has it all
                return await self._catch_up(hub, text_key, done_key, sent, send)
            fresh = data[sent - offset :]
            if fresh:
                sent = offset + len(data)
                await _write(send, _sse("token", {"d": fresh}, event_id=sent))
            return sent, False
        if kind == "status":
            await _write(send, _sse("status", {"s": event.get("s", ""), "detail": event.get("detail", "")}))
            return sent, False
        if kind == "reset":
            await _write(send, _sse("reset", {}, event_id=0))
            return 0, False
        if kind == "done":
            try:
                done_raw = await hub.client.get(done_key)
            except (redis.RedisError, OSError):
                done_raw = None
            if done_raw is None:  # expired or unreadable: the page fetches the reply itself
                await _write(send, _sse("done", {"id": event.get("id"), "ok": event.get("ok", True)}))
            else:
                await _write(send, _done(done_raw))
            return sent, True
        return sent, False


# --------------------------------------------------------------------------------------------------------- helpers


def _hostname(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"host":
            return value.decode("latin-1").rsplit(":", 1)[0] if not value.startswith(b"[") else value.decode()
    return ""


def _last_event_id(scope: Scope) -> int:
    """Where a reconnecting client stopped: the ``Last-Event-ID`` header, or ``?from=`` (bounded, else 0)."""
    value = ""
    for name, raw in scope.get("headers", ()):
        if name == b"last-event-id":
            value = raw.decode("latin-1")
    if not value:
        query = scope.get("query_string", b"").decode("latin-1")
        for part in query.split("&"):
            if part.startswith("from="):
                value = part[5:]
    return int(value) if value.isdigit() and len(value) <= 9 else 0


async def _watch_disconnect(receive: Receive, subscriber: _Subscriber) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            if subscriber.queue.full():  # the client is gone: what it did not read does not matter
                subscriber.queue.get_nowait()
            subscriber.queue.put_nowait(None)
            return


def _text(raw: bytes | str | None) -> str:
    if isinstance(raw, bytes):
        return raw.decode("utf-8", "replace")
    return raw or ""


def _sse(event: str, data: dict[str, Any], *, event_id: int | None = None) -> bytes:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n".encode()


def _done(done_raw: bytes | str) -> bytes:
    try:
        value = streams.decode(done_raw)
    except ValueError:
        return _sse("done", {})
    text = value["text"] if isinstance(value.get("text"), str) else ""
    return _sse("done", {"id": value.get("id"), "ok": value.get("ok", True), "html": render_markdown(text)})


async def _write(send: Send, body: bytes) -> None:
    await send({"type": "http.response.body", "body": body, "more_body": True})


async def _end(send: Send) -> None:
    with contextlib.suppress(OSError):
        await send({"type": "http.response.body", "body": b""})


async def _plain(send: Send, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body})


async def _preflight(send: Send) -> None:
    headers = [*_CORS, (b"access-control-allow-methods", b"GET, POST"), (b"access-control-max-age", b"86400")]
    headers.append((b"access-control-allow-headers", b"last-event-id, cache-control"))
    await send({"type": "http.response.start", "status": 204, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


async def _error(send: Send, status: int, code: str, message: str, *, retry_after: int | None = None) -> None:
    body = json.dumps({"code": code, "message": message, "extra": {}}).encode()
    headers = [(b"content-type", b"application/json"), *_CORS]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
