"""A test double of Meta's Graph API (v25.0) for the WhatsApp Cloud API and Messenger senders: a loopback HTTP
server that speaks the Graph's answers and its error bodies, and records every request.

    with MetaGraphApi(tokens={"tok"}, port=PLATFORM_DOUBLE_PORTS["meta_graph"]) as graph:
        ...  # settings.PLATFORM_API_URLS["meta_graph"] == graph.base_url
        graph.fail(status=429, code=4, message="Application request limit reached", retry_after="3")
        [sent] = graph.sent  # POST /{id}/messages bodies, in order

Answers: ``POST /{phone_number_id}/messages`` → ``{"messaging_product":"whatsapp","contacts":[{"input","wa_id"}],
"messages":[{"id":"wamid.…"}]}``; ``POST /{page_id}/messages`` → ``{"recipient_id","message_id":"m_…"}``;
``GET /{id}`` → the phone number's or Page's fields. A token it does not know gets Graph's OAuthException (code
190, HTTP 401); a queued failure (``fail``) answers the next calls with ``{"error": {...}}``.
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from tests.fakes.http_server import LoopbackServer, Received

VERSION = "/v25.0"


@dataclass
class Failure:
    status: int
    code: int
    message: str
    subcode: int | None = None
    retry_after: str | None = None
    error_type: str = "OAuthException"


class _AnyPath(dict):  # type: ignore[type-arg]
    """LoopbackServer looks routes up by exact path; the Graph has ids in its paths."""

    def __init__(self, handler: Any) -> None:
        super().__init__()
        self._handler = handler

    def get(self, key: Any, default: Any = None) -> Any:
        return self._handler


@dataclass
class MetaGraphApi:
    tokens: set[str] = field(default_factory=set)  # access tokens it accepts (empty: any)
    port: int = 0
    phone_numbers: dict[str, dict[str, str]] = field(default_factory=dict)  # id -> display_phone_number, name
    pages: dict[str, str] = field(default_factory=dict)  # page id -> name
    failures: list[Failure] = field(default_factory=list)
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _fail_at: tuple[int, Failure] | None = None

    def __post_init__(self) -> None:
        self.server = LoopbackServer(_AnyPath(self._answer), port=self.port)  # type: ignore[arg-type]

    # ---- test API
    @property
    def base_url(self) -> str:
        return self.server.url(VERSION)

    @property
    def received(self) -> list[Received]:
        return self.server.received

    @property
    def sent(self) -> list[dict[str, Any]]:
        """The JSON bodies of the message sends, in order."""
        return [json.loads(r.body) for r in self.received if r.method == "POST" and r.path.endswith("/messages")]

    def fail(self, *, status: int, code: int, message: str = "failed", times: int = 1, **extra: Any) -> None:
        self.failures.extend(Failure(status, code, message, **extra) for _ in range(times))

    def fail_after(self, calls: int, *, status: int, code: int, message: str = "failed") -> None:
        """Answer normally ``calls`` more times, then fail once (a long reply's later part, say)."""
        self._fail_at = (len(self.received) + calls, Failure(status, code, message))

    def __enter__(self) -> MetaGraphApi:
        self.server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.__exit__(*exc)

    # ---- the Graph
    def _error(self, failure: Failure) -> tuple[int, dict[str, str], bytes]:
        error: dict[str, Any] = {
            "message": failure.message,
            "type": failure.error_type,
            "code": failure.code,
            "fbtrace_id": "AbCdEfGhIjK",
        }
        if failure.subcode is not None:
            error["error_subcode"] = failure.subcode
        headers = {"Content-Type": "application/json"}
        if failure.retry_after:
            headers["Retry-After"] = failure.retry_after
        return failure.status, headers, json.dumps({"error": error}).encode()

    def _json(self, body: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()

    def _answer(self, req: Received) -> tuple[int, dict[str, str], bytes]:
        token = req.headers.get("authorization", "").removeprefix("Bearer ")
        token = token or (parse_qs(req.query).get("access_token") or [""])[0]
        if self.tokens and token not in self.tokens:
            return self._error(Failure(401, 190, "Invalid OAuth access token - Cannot parse access token"))
        with self._lock:
            failure = self.failures.pop(0) if self.failures else None
            if self._fail_at is not None and len(self.received) - 1 == self._fail_at[0]:
                failure, self._fail_at = self._fail_at[1], None
            number = next(self._ids)
        if failure is not None:
            return self._error(failure)
        parts = req.path.removeprefix(VERSION).strip("/").split("/")
        if req.method == "POST" and len(parts) == 2 and parts[1] == "messages":
            body = json.loads(req.body or b"{}")
            if body.get("messaging_product") == "whatsapp":
                to = str(body.get("to", ""))
                return self._json(
                    {
                        "messaging_product": "whatsapp",
                        "contacts": [{"input": to, "wa_id": to}],
                        "messages": [{"id": f"wamid.TEST{number:08d}"}],
                    }
                )
            return self._json({"recipient_id": body.get("recipient", {}).get("id"), "message_id": f"m_TEST{number}"})
        if req.method == "GET" and len(parts) == 1:
            if parts[0] in self.phone_numbers:
                return self._json({"id": parts[0], **self.phone_numbers[parts[0]]})
            if parts[0] in self.pages:
                return self._json({"id": parts[0], "name": self.pages[parts[0]]})
            return self._error(
                Failure(400, 100, f"Unsupported get request. Object with ID '{parts[0]}' does not exist", subcode=33)
            )
        return self._error(Failure(400, 100, "Unknown path components"))


def main() -> None:
    """Run the double on its own (benchmarks): every message send is appended as one JSON line to ``--log``."""
    import argparse
    import time

    parser = argparse.ArgumentParser(description="TEST TOOL: loopback double of Meta's Graph API.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", action="append", default=[], help="an access token it accepts (repeatable)")
    parser.add_argument("--log", required=True, help="file that receives one JSON line per message send")
    args = parser.parse_args()
    double = MetaGraphApi(tokens=set(args.token), port=args.port)
    answer = double._answer
    lock = threading.Lock()

    def logged(req: Received) -> tuple[int, dict[str, str], bytes]:
        status, headers, body = answer(req)
        if req.method == "POST" and req.path.endswith("/messages") and status == 200:
            with lock, open(args.log, "ab") as out:
                out.write(req.body.replace(b"\n", b" ") + b"\n")
        return status, headers, body

    double.server.routes._handler = logged  # type: ignore[attr-defined]
    double.server.received = _Discard()  # type: ignore[assignment]  (no memory growth on long runs)
    with double:
        while True:
            time.sleep(3600)


class _Discard(list):  # type: ignore[type-arg]
    def append(self, item: Any) -> None:
        pass


if __name__ == "__main__":
    main()
