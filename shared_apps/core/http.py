"""Contract of the SSRF-guarded HTTP client (implemented in the providers issue; see its brief).

Every outbound request to a URL a team configured (LLM base URLs, the pipeline HTTP node, custom actions, the
code node's ``http`` helper) goes through ``safe_request``: private, loopback, link-local and other non-public
addresses are refused unless ``settings.ALLOW_PRIVATE_URLS`` is on (dev and tests), the connection goes to the
address that was checked (no DNS rebinding), redirects are re-checked, and time and size are capped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared_apps.core.exceptions import ApplicationError


class UnsafeUrlError(ApplicationError):
    """code "http.unsafe_url": the URL's scheme or address is not allowed."""


class HttpRequestError(ApplicationError):
    """code "http.failed" / "http.timeout" / "http.too_large": the request itself failed."""

    status_code = 502


@dataclass(frozen=True)
class SafeResponse:
    status: int
    headers: Mapping[str, str]
    content: bytes
    url: str

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        import json

        return json.loads(self.content)


def validate_public_url(url: str) -> None:
    """Raise ``UnsafeUrlError`` unless ``url`` is http(s) and resolves only to allowed addresses."""
    raise NotImplementedError("implemented by the providers issue")


def safe_request(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
    json: Any = None,
    data: bytes | str | None = None,
    timeout: float = 10.0,
    max_response_bytes: int = 5 * 1024 * 1024,
    max_redirects: int = 3,
) -> SafeResponse:
    """Make one request under the rules above. Raises ``UnsafeUrlError`` or ``HttpRequestError``."""
    raise NotImplementedError("implemented by the providers issue")
