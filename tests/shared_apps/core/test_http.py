"""The SSRF guard: every refusal with private URLs disallowed, and real requests to a loopback server when allowed."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from shared_apps.core import http
from shared_apps.core.http import HttpRequestError, UnsafeUrlError, ip_is_public, safe_request, validate_public_url
from tests.fakes.http_server import LoopbackServer

PUBLIC_IP = ipaddress.ip_address("93.184.216.34")


@pytest.fixture
def private_urls_refused(settings):
    settings.ALLOW_PRIVATE_URLS = False


@pytest.fixture
def fake_dns(monkeypatch):
    """Names under .test resolve through this table (the DNS edge of the process)."""
    table: dict[str, list[str]] = {}
    real = http.resolve

    def resolve(host, port):
        if host in table:
            return [ipaddress.ip_address(a) for a in table[host]]
        return real(host, port)

    monkeypatch.setattr(http, "resolve", resolve)
    return table


@pytest.fixture
def loopback_is_public(monkeypatch):
    """Treat 127.0.0.1 (only) as public, so the guard's rules can be exercised against a loopback server."""
    real = http.ip_is_public
    monkeypatch.setattr(http, "ip_is_public", lambda ip: str(ip) == "127.0.0.1" or real(ip))


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("ftp://example.com/x", id="ftp"),
        pytest.param("file:///etc/passwd", id="file"),
        pytest.param("gopher://example.com/", id="gopher"),
        pytest.param("javascript:alert(1)", id="javascript"),
        pytest.param("http:///nohost", id="no-host"),
        pytest.param("not a url", id="garbage"),
    ],
)
def test_validate_public_url_refuses_other_schemes_and_garbage(url, settings):
    settings.ALLOW_PRIVATE_URLS = True  # refused even where private addresses are allowed

    with pytest.raises(UnsafeUrlError) as err:
        validate_public_url(url)

    assert err.value.code == "http.unsafe_url"


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("http://127.0.0.1/", id="loopback"),
        pytest.param("http://127.1.2.3:8080/", id="loopback-range"),
        pytest.param("http://localhost:8000/", id="localhost-name"),
        pytest.param("http://10.0.0.7/", id="private-10"),
        pytest.param("http://172.16.5.4/", id="private-172"),
        pytest.param("http://192.168.1.1/", id="private-192"),
        pytest.param("http://169.254.169.254/latest/meta-data/", id="link-local-metadata"),
        pytest.param("http://100.64.0.1/", id="carrier-nat"),
        pytest.param("http://0.0.0.0/", id="unspecified"),
        pytest.param("http://224.0.0.1/", id="multicast"),
        pytest.param("http://240.0.0.1/", id="reserved"),
        pytest.param("http://255.255.255.255/", id="broadcast"),
        pytest.param("http://2130706433/", id="decimal-loopback"),
        pytest.param("http://0x7f000001/", id="hex-loopback"),
        pytest.param("http://[::1]/", id="ipv6-loopback"),
        pytest.param("http://[::]/", id="ipv6-unspecified"),
        pytest.param("http://[fe80::1]/", id="ipv6-link-local"),
        pytest.param("http://[fd00::1]/", id="ipv6-unique-local"),
        pytest.param("http://[ff02::1]/", id="ipv6-multicast"),
        pytest.param("http://[::ffff:127.0.0.1]/", id="ipv4-mapped-loopback"),
        pytest.param("http://[::ffff:10.0.0.1]/", id="ipv4-mapped-private"),
        pytest.param("http://[64:ff9b::a00:1]/", id="nat64-private"),
        pytest.param("http://[2002:7f00:1::]/", id="6to4-loopback"),
        pytest.param("https://[2001:db8::1]/", id="ipv6-documentation"),
    ],
)
def test_validate_public_url_refuses_non_public_addresses(url, private_urls_refused):
    with pytest.raises(UnsafeUrlError) as err:
        validate_public_url(url)

    assert err.value.code == "http.unsafe_url"


def test_validate_public_url_refuses_a_name_with_any_private_address(private_urls_refused, fake_dns):
    fake_dns["mixed.test"] = [str(PUBLIC_IP), "10.1.2.3"]

    with pytest.raises(UnsafeUrlError):
        validate_public_url("https://mixed.test/v1")


def test_validate_public_url_accepts_a_public_name(private_urls_refused, fake_dns):
    fake_dns["api.example.test"] = [str(PUBLIC_IP), "2606:4700::1111"]

    validate_public_url("https://api.example.test/v1")


def test_validate_public_url_accepts_loopback_when_private_urls_are_allowed(settings):
    settings.ALLOW_PRIVATE_URLS = True

    validate_public_url("http://127.0.0.1:8011/v1")


@pytest.mark.parametrize(
    ("address", "public"),
    [("8.8.8.8", True), ("2606:4700::1111", True), ("10.0.0.1", False), ("::ffff:8.8.8.8", True)],
)
def test_ip_is_public_cases(address, public):
    assert ip_is_public(ipaddress.ip_address(address)) is public


def test_safe_request_refuses_private_address_before_connecting(private_urls_refused):
    with LoopbackServer({"/": lambda r: (200, {}, b"secret")}) as server:
        with pytest.raises(UnsafeUrlError):
            safe_request("GET", server.url("/"))

        assert server.received == []


def test_safe_request_succeeds_against_loopback_when_allowed(settings):
    settings.ALLOW_PRIVATE_URLS = True
    routes = {"/echo": lambda r: (200, {"Content-Type": "application/json"}, b'{"ok": true}')}

    with LoopbackServer(routes) as server:
        response = safe_request("POST", server.url("/echo"), params={"q": "1"}, json={"a": 1}, headers={"X-K": "v"})

        seen = server.received[0]
    assert response.status == 200
    assert response.json() == {"ok": True}
    assert seen.query == "q=1"
    assert seen.body == b'{"a": 1}'
    assert seen.headers["content-type"] == "application/json"
    assert seen.headers["x-k"] == "v"


def test_safe_request_connects_to_the_checked_address_with_the_original_host(
    private_urls_refused, fake_dns, loopback_is_public
):
    # The name is resolved once; later answers (a rebinding attacker) are never asked for.
    answers = iter([["127.0.0.1"], ["10.0.0.1"]])
    real = http.resolve
    with LoopbackServer({"/": lambda r: (200, {}, b"ok")}) as server:
        http.resolve = lambda host, port: (
            [ipaddress.ip_address(a) for a in next(answers)] if host == "rebind.test" else real(host, port)
        )
        try:
            response = safe_request("GET", server.url("/", host="rebind.test"))
        finally:
            http.resolve = real

        assert response.status == 200
        assert server.received[0].headers["host"] == f"rebind.test:{server.port}"


def test_safe_request_rechecks_every_redirect(private_urls_refused, fake_dns, loopback_is_public):
    fake_dns["public.test"] = ["127.0.0.1"]
    routes = {"/go": lambda r: (302, {"Location": "http://10.0.0.1/admin"}, b"")}

    with LoopbackServer(routes) as server:
        with pytest.raises(UnsafeUrlError):
            safe_request("GET", server.url("/go", host="public.test"))

        assert [r.path for r in server.received] == ["/go"]


def test_safe_request_follows_allowed_redirects_and_drops_auth_across_origins(settings, fake_dns):
    settings.ALLOW_PRIVATE_URLS = True
    fake_dns["other.test"] = ["127.0.0.1"]
    with LoopbackServer({}) as server:
        server.routes["/a"] = lambda r: (302, {"Location": server.url("/b", host="other.test")}, b"")
        server.routes["/b"] = lambda r: (200, {}, b"done")

        response = safe_request("POST", server.url("/a"), headers={"Authorization": "Bearer t"}, data="x")

        first, second = server.received
    assert response.text == "done"
    assert (first.method, second.method) == ("POST", "GET")
    assert "authorization" in first.headers
    assert "authorization" not in second.headers


def test_safe_request_stops_after_max_redirects(settings):
    settings.ALLOW_PRIVATE_URLS = True
    with LoopbackServer({}) as server:
        server.routes["/loop"] = lambda r: (302, {"Location": "/loop"}, b"")

        with pytest.raises(HttpRequestError) as err:
            safe_request("GET", server.url("/loop"), max_redirects=2)

        assert len(server.received) == 3
    assert err.value.code == "http.too_many_redirects"


def test_safe_request_caps_a_declared_large_response(settings):
    settings.ALLOW_PRIVATE_URLS = True

    big = {"/big": lambda r: (200, {}, b"x" * 5000)}
    with LoopbackServer(big) as server, pytest.raises(HttpRequestError) as err:
        safe_request("GET", server.url("/big"), max_response_bytes=1000)

    assert err.value.code == "http.too_large"


def test_safe_request_stops_reading_an_endless_chunked_response(settings):
    settings.ALLOW_PRIVATE_URLS = True
    sent = {"chunks": 0}

    def endless(_request):
        def chunks():
            while sent["chunks"] < 10_000:
                sent["chunks"] += 1
                yield b"y" * 1024

        return 200, {}, chunks()

    with LoopbackServer({"/stream": endless}) as server, pytest.raises(HttpRequestError) as err:
        safe_request("GET", server.url("/stream"), max_response_bytes=8 * 1024)

    assert err.value.code == "http.too_large"
    assert sent["chunks"] < 10_000


def test_safe_request_times_out_on_a_slow_server(settings):
    settings.ALLOW_PRIVATE_URLS = True

    def slow(_request):
        time.sleep(1.5)
        return 200, {}, b"late"

    with LoopbackServer({"/slow": slow}) as server, pytest.raises(HttpRequestError) as err:
        safe_request("GET", server.url("/slow"), timeout=0.3)

    assert err.value.code == "http.timeout"


def test_safe_request_refuses_a_request_body_over_the_cap(settings):
    settings.ALLOW_PRIVATE_URLS = True

    with LoopbackServer({"/": lambda r: (200, {}, b"")}) as server:
        with pytest.raises(HttpRequestError) as err:
            safe_request("POST", server.url("/"), data=b"z" * (http.MAX_REQUEST_BYTES + 1))

        assert server.received == []
    assert err.value.code == "http.too_large"


def test_safe_request_error_messages_never_contain_the_path_or_query(settings):
    settings.ALLOW_PRIVATE_URLS = True

    with pytest.raises(HttpRequestError) as err:
        safe_request("GET", "http://127.0.0.1:1/bot123:SECRET/getMe?token=SECRET", timeout=2)

    assert "SECRET" not in err.value.message


def _self_signed(name: str) -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def test_safe_request_sends_the_host_name_as_tls_sni_not_the_ip(settings, fake_dns, tmp_path):
    settings.ALLOW_PRIVATE_URLS = True
    fake_dns["secure.test"] = ["127.0.0.1"]
    cert, key = _self_signed("secure.test")
    (tmp_path / "cert.pem").write_bytes(cert)
    (tmp_path / "key.pem").write_bytes(key)
    seen: list[str | None] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    context.sni_callback = lambda sock, name, ctx: seen.append(name)
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=True)
    threading.Thread(target=server.handle_request, daemon=True).start()
    try:
        # The self-signed certificate is (rightly) not trusted: the handshake still shows which name was sent.
        with pytest.raises(HttpRequestError):
            safe_request("GET", f"https://secure.test:{server.server_address[1]}/", timeout=3)
    finally:
        server.server_close()

    assert seen == ["secure.test"]
