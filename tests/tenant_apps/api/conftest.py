"""A live HTTP server for the API tests that need a real client (the ``openai`` SDK, the ``mcp`` client)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

from tenant_apps.api.services import api_key_create
from tenants.context import tenant_context
from tenants.models import Team
from tests.factories.providers import llm_provider


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        """One thread per request: close its database connection when it ends (``CONN_MAX_AGE`` would keep it
        open with nobody to reuse it, and a few hundred requests exhaust the server's connection slots)."""
        from django.db import connections

        try:
            super().process_request_thread(request, client_address)
        finally:
            connections.close_all()


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve_http(*, threaded: bool = True) -> Iterator[str]:
    """Django's WSGI app on a free loopback port, in threads of this process, while the block runs. Unthreaded,
    one thread answers every request in turn on one reused database connection (for a client that sends one
    request at a time: much faster than a connection per request)."""
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connections

    server_class = _ThreadingServer if threaded else WSGIServer
    server = make_server("127.0.0.1", 0, WSGIHandler(), server_class=server_class, handler_class=_QuietHandler)

    def serve() -> None:
        try:
            server.serve_forever()
        finally:
            connections.close_all()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def live_http(django_db_setup: None, committed: None) -> Iterator[str]:
    """``http://127.0.0.1:<port>``: Django's WSGI app in threads of this process, on the test database (committed
    data only: the server's threads have their own connections). Send ``Host: <slug>.localhost`` for a team."""
    with serve_http() as url:
        yield url


@pytest.fixture
def published_bot(
    django_db_setup: None, committed: None, fake_llm: Any
) -> Iterator[Callable[[str], tuple[Team, Any, str]]]:
    """``published_bot(slug)``: a committed chatbot with a published version on the fake model and a full API key
    of that team; everything is removed afterwards."""
    from tenant_apps.api.models import ApiKey
    from tenant_apps.audit.models import AuditEvent
    from tenant_apps.chatbots.models import Chatbot
    from tenant_apps.chatbots.services import chatbot_create, version_create
    from tenant_apps.conversations.models import ChatSession, Participant
    from tenant_apps.pipelines.models import Pipeline

    made: list[tuple[Team, Any, Any, Any, int]] = []

    def make(slug: str) -> tuple[Team, Any, str]:
        team = Team.objects.get(slug=slug)
        with tenant_context(team):
            last_event = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
            provider = llm_provider(base_url=fake_llm.openai_base_url, name=f"OpenAI API test {slug}")
            provider.custom_models.create(name="fake-model")
            bot = chatbot_create(name=f"OpenAI API bot {slug}", created_by=None)
            version_create(chatbot=bot, actor=None)
            key, raw = api_key_create(name="openai test", read_only=False, created_by=None)
        made.append((team, bot, provider, key, last_event))
        return team, bot, raw

    yield make
    for team, bot, provider, key, last_event in made:
        with tenant_context(team):
            ChatSession.objects.filter(chatbot=bot).delete()
            Participant.objects.filter(platform="api").delete()
            Chatbot.objects.filter(pk=bot.pk).update(published_version=None)
            bot.versions.all().delete()
            Chatbot.objects.filter(pk=bot.pk).delete()
            Pipeline.objects.filter(name__startswith=bot.name).delete()
            provider.delete()
            ApiKey.objects.filter(pk=key.pk).delete()
            AuditEvent.objects.filter(id__gt=last_event).delete()
