"""An httpx2 transport for the SDK clients that applies the SSRF rules of ``shared_apps.core.http`` at connect
time: the host is resolved, every address checked, and the request goes to the checked IP (Host header and TLS
SNI keep the name). Used whenever private URLs are not allowed, so a base URL that passed validation cannot be
re-pointed at an internal address by DNS later (rebinding). Checked answers are reused for a short while.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx2

from shared_apps.core.http import IPAddress, checked_addresses

RESOLVE_TTL_SECONDS = 30.0


class GuardedTransport(httpx2.BaseTransport):
    def __init__(self, **kwargs: Any) -> None:
        self._inner = httpx2.HTTPTransport(**kwargs)
        self._resolved: dict[tuple[str, int], tuple[float, IPAddress]] = {}
        self._lock = threading.Lock()

    def _address(self, host: str, port: int) -> IPAddress:
        now = time.monotonic()
        with self._lock:
            hit = self._resolved.get((host, port))
        if hit is not None and now - hit[0] < RESOLVE_TTL_SECONDS:
            return hit[1]
        address = checked_addresses(host, port)[0]  # raises UnsafeUrlError; the SDK wraps it, errors_map unwraps
        with self._lock:
            self._resolved[(host, port)] = (now, address)
        return address

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        url = request.url
        host = url.raw_host.decode("ascii")
        port = url.port or (443 if url.scheme == "https" else 80)
        address = self._address(host, port)
        request.url = url.copy_with(host=str(address))
        request.extensions = {**request.extensions, "sni_hostname": host}
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()
