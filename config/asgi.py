"""ASGI entry point, run by uvicorn: the stream server (ADR 0090 §6, ADR 0095) and, under ``/mcp/``, published
chatbots as MCP servers (ADR 0111). Pages stay on WSGI (config/wsgi.py); the load balancer routes ``/stream/`` and
``/mcp/`` of every host here.

uvicorn config.asgi:application --port 8001
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
django.setup()

from shared_apps.core.asgi import path_dispatch  # noqa: E402 (needs the settings loaded)
from tenant_apps.api.mcp_server import application as mcp_application  # noqa: E402
from tenant_apps.conversations.stream_server import StreamServer  # noqa: E402

application = path_dispatch({"/mcp/": mcp_application}, default=StreamServer())
