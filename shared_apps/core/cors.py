"""CORS for the widget chat API only (``CHAT_CORS_URLS_REGEX``), as Open Chat Studio configures it (real-clients
§1.6): any origin, no credentials, the widget's headers allowed, the rate-limit headers exposed.

Access control is the embed key and the allowed-origin check in the channel, not CORS. A preflight (OPTIONS) is
answered here, before the host is resolved: it touches no database, no rate limit and no authentication, so a
browser never fails a send because its preflight was counted or refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

ALLOW_HEADERS = (
    "accept, accept-encoding, authorization, content-type, dnt, origin, user-agent, x-csrftoken, x-requested-with, "
    "x-ocs-widget-version, x-embed-key, x-session-token"
)
ALLOW_METHODS = "DELETE, GET, OPTIONS, PATCH, POST, PUT"
EXPOSE_HEADERS = "X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After, Deprecation, Sunset, Link"
PREFLIGHT_MAX_AGE = "86400"


class ChatCorsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.paths = re.compile(settings.CHAT_CORS_URLS_REGEX)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not self.paths.match(request.path_info):
            return self.get_response(request)
        if request.method == "OPTIONS" and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in request.META:
            response = HttpResponse(status=200)
            response["Access-Control-Allow-Headers"] = ALLOW_HEADERS
            response["Access-Control-Allow-Methods"] = ALLOW_METHODS
            response["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
        else:
            response = self.get_response(request)
            response["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
        response["Access-Control-Allow-Origin"] = "*"
        response["Vary"] = "Origin"
        return response
