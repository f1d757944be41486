"""ASGI entry point: the stream server (ADR 0090 §6, ADR 0095), run by uvicorn. Pages stay on WSGI (config/wsgi.py).

uvicorn config.asgi:application --port 8001
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
django.setup()

from tenant_apps.conversations.stream_server import StreamServer  # noqa: E402 (needs the settings loaded)

application = StreamServer()
