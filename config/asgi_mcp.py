"""ASGI entry point of the MCP server (chatbots as MCP servers, ADR 0111), run by uvicorn:

    uvicorn config.asgi_mcp:application --port 8002

Route ``/mcp/`` of team hosts here. It authenticates team API keys itself; pages stay on WSGI (config/wsgi.py).
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
django.setup()

from tenant_apps.api.mcp_server import application  # noqa: E402 (needs the settings loaded)

__all__ = ["application"]
