"""The SSRF-guarded HTTP client for URLs a team configured (ADR 0020).

Every outbound request to a URL a team configured (LLM base URLs, the pipeline HTTP node, custom actions, the
code node's ``http`` helper) goes through ``safe_request``: private, loopback, link-local and other non-public
addresses are refused unless ``settings.ALLOW_PRIVATE_URLS`` is on (dev and tests), the connection goes to the
address that was checked (no DNS rebinding), redirects are re-checked, and time and size are capped.

How the pinning works: the host is resolved once, every address is checked, and the request is sent to the
checked IP with the original ``Host`` header and the original name as TLS SNI (so certificates still verify
against the name). Error messages name the host only, never the path or query (tokens live there).
"""

from __future__ import annotations

import ipaddress
import json as jsonlib
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings

from shared_apps.core.exceptions import ApplicationError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_REQUEST_BYTES = 1024 * 1024  # request bodies above this are refused before anything is sent
ALLOWED_SCHEMES = frozenset({"http", "https"})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

# Blocks the ipaddress module does not flag as non-global on every Python version.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_EXTRA_BLOCKED = (
    ipaddress.ip_network("100.64.0.0/10"),  # carrier-grade NAT (shared address space)
    ipaddress.ip_network("192.0.0.0/24"),  # IETF protocol assignments
    ipaddress.ip_network("198.18.0.0/15"),  # benchmarking
    ipaddress.ip_network("2001:db8::/32"),  # documentation
)


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
        return jsonlib.loads(self.content)


def ip_is_public(ip: IPAddress) -> bool:
    """True for globally routable unicast addresses; False for everything an attacker could aim inward."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return ip_is_public(embedded)
        if ip in _NAT64_LOCAL:
            return False
    if (
        not ip.is_global
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    ):
        return False
    return not any(ip in network for network in _EXTRA_BLOCKED if network.version == ip.version)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address tunnels to (mapped, 6to4, Teredo client, NAT64), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _parse(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise UnsafeUrlError(code="http.unsafe_url", message="This is not a valid URL.") from exc
    if parsed.scheme not in ALLOWED_SCHEMES:
        raise UnsafeUrlError(code="http.unsafe_url", message="Only http:// and https:// URLs are allowed.")
    if not parsed.host:
        raise UnsafeUrlError(code="http.unsafe_url", message="The URL has no host name.")
    return parsed


def _port(url: httpx.URL) -> int:
    return url.port or (443 if url.scheme == "https" else 80)


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (literal IPs, decimal/hex forms and names alike). Patched in tests."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeUrlError(
            code="http.unsafe_url", message=f"The host “{host}” could not be resolved.", extra={"host": host}
        ) from exc
    addresses: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def checked_addresses(host: str, port: int) -> list[IPAddress]:
    """Resolve ``host`` and refuse it unless every address is public (or private URLs are allowed here).

    All addresses must pass, not just one: a name that answers with a public and a private address could
    otherwise be steered to the private one.
    """
    addresses = resolve(host, port)
    if not addresses:
        raise UnsafeUrlError(code="http.unsafe_url", message=f"The host “{host}” could not be resolved.")
    if not settings.ALLOW_PRIVATE_URLS:
        for address in addresses:
            if not ip_is_public(address):
                raise UnsafeUrlError(
                    code="http.unsafe_url",
                    message=f"“{host}” points at a private or reserved address, which is not allowed.",
                    extra={"host": host},
                )
    return addresses


def validate_public_url(url: str) -> None:
    """Raise ``UnsafeUrlError`` unless ``url`` is http(s) and resolves only to allowed addresses.

    With ``ALLOW_PRIVATE_URLS`` on (dev, tests) only the scheme and shape are checked: such machines may be
    offline, and every address would pass anyway.
    """
    parsed = _parse(url)
    if settings.ALLOW_PRIVATE_URLS:
        return
    checked_addresses(_ascii_host(parsed), _port(parsed))


def _ascii_host(url: httpx.URL) -> str:
    return url.raw_host.decode("ascii")


def _host_header(url: httpx.URL) -> str:
    host = url.raw_host.decode("ascii")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    default = 443 if url.scheme == "https" else 80
    return host if url.port in (None, default) else f"{host}:{url.port}"


def _encode_body(json: Any, data: bytes | str | None) -> tuple[bytes | None, str | None]:
    if json is not None:
        return jsonlib.dumps(json).encode(), "application/json"
    if isinstance(data, str):
        return data.encode(), None
    return data, None


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
    """Make one request under the rules above. Raises ``UnsafeUrlError`` or ``HttpRequestError``.

    ``timeout`` bounds the whole exchange (every hop, connect and body), not just each socket operation, so a
    server that drips bytes cannot hold a worker. Responses larger than ``max_response_bytes`` are cut off
    while streaming. ``Authorization`` and cookies are not forwarded to another origin on redirect.
    """
    body, content_type = _encode_body(json, data)
    if body is not None and len(body) > MAX_REQUEST_BYTES:
        raise HttpRequestError(
            code="http.too_large", message=f"The request body is larger than {MAX_REQUEST_BYTES // 1024} KB."
        )
    current = _parse(url)
    if params:
        current = current.copy_merge_params(dict(params))
    method = method.upper()
    base_headers = {k: v for k, v in (headers or {}).items() if k.lower() not in {"host", "content-length"}}
    if content_type and not any(k.lower() == "content-type" for k in base_headers):
        base_headers["Content-Type"] = content_type
    deadline = time.monotonic() + timeout

    with httpx.Client(trust_env=False, follow_redirects=False) as client:
        for _hop in range(max_redirects + 1):
            response = _one_hop(
                client,
                method,
                current,
                headers=base_headers,
                body=body,
                deadline=deadline,
                max_response_bytes=max_response_bytes,
            )
            location = response.headers.get("location")
            if response.status not in REDIRECT_STATUSES or not location:
                return response
            target = _parse(str(current.join(location)))
            if (target.scheme, target.host, _port(target)) != (current.scheme, current.host, _port(current)):
                base_headers = {k: v for k, v in base_headers.items() if k.lower() not in {"authorization", "cookie"}}
            if response.status == 303 or (response.status in (301, 302) and method == "POST"):
                method, body = "GET", None
                base_headers = {k: v for k, v in base_headers.items() if k.lower() != "content-type"}
            current = target
    raise HttpRequestError(code="http.too_many_redirects", message=f"More than {max_redirects} redirects.")


def _one_hop(
    client: httpx.Client,
    method: str,
    url: httpx.URL,
    *,
    headers: Mapping[str, str],
    body: bytes | None,
    deadline: float,
    max_response_bytes: int,
) -> SafeResponse:
    host = _ascii_host(url)
    address = checked_addresses(host, _port(url))[0]
    pinned = url.copy_with(host=str(address))
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise HttpRequestError(code="http.timeout", message=f"{host} did not answer in time.")
    request = client.build_request(
        method,
        pinned,
        headers={**headers, "Host": _host_header(url)},
        content=body,
        timeout=httpx.Timeout(remaining),
        extensions={"sni_hostname": host},
    )
    try:
        response = client.send(request, stream=True)
    except httpx.TimeoutException as exc:
        raise HttpRequestError(code="http.timeout", message=f"{host} did not answer in time.") from exc
    except httpx.HTTPError as exc:
        raise HttpRequestError(
            code="http.failed", message=f"Could not connect to {host}: {type(exc).__name__}."
        ) from exc
    try:
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > max_response_bytes:
            raise _too_large(host, max_response_bytes)
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > max_response_bytes:
                raise _too_large(host, max_response_bytes)
            if time.monotonic() > deadline:
                raise HttpRequestError(code="http.timeout", message=f"{host} did not answer in time.")
            chunks.append(chunk)
    except httpx.TimeoutException as exc:
        raise HttpRequestError(code="http.timeout", message=f"{host} did not answer in time.") from exc
    except httpx.HTTPError as exc:
        raise HttpRequestError(code="http.failed", message=f"{host} broke off the response.") from exc
    finally:
        response.close()
    return SafeResponse(
        status=response.status_code,
        headers={k.lower(): v for k, v in response.headers.items()},
        content=b"".join(chunks),
        url=str(url),
    )


def _too_large(host: str, limit: int) -> HttpRequestError:
    return HttpRequestError(
        code="http.too_large", message=f"The response from {host} is larger than {limit // 1024} KB."
    )
