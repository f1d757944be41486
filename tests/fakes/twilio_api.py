"""TEST TOOL: a double of Twilio's REST API (2010-04-01) for the Twilio WhatsApp and SMS channels: a loopback HTTP
server that speaks Twilio's JSON answers and its error bodies, and records every request.

    with TwilioApi(account_sid=SID, auth_token=TOKEN, port=PLATFORM_DOUBLE_PORTS["twilio"]) as api:
        ...  # settings.PLATFORM_API_URLS["twilio"] == api.base_url
        api.fail(status=429, code=20429, message="Too Many Requests", retry_after="3")
        [sent] = api.sent  # the form fields of each Messages.json POST, in order

Answers: ``POST /2010-04-01/Accounts/{sid}/Messages.json`` → 201 with a Message resource (``sid`` ``SM…``,
``status: queued``); ``GET /2010-04-01/Accounts/{sid}.json`` → the Account; ``GET
/2010-04-01/Accounts/{sid}/IncomingPhoneNumbers.json?PhoneNumber=`` → a page of the account's numbers. Wrong Basic
credentials get Twilio's 401 (code 20003); a queued failure (``fail``) answers the next calls with
``{"code", "message", "more_info", "status"}`` as Twilio does.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qs

from tests.fakes.http_server import LoopbackServer, Received

PREFIX = "/2010-04-01/Accounts/"


@dataclass
class Failure:
    status: int
    code: int
    message: str
    retry_after: str | None = None


class _AnyPath(dict):  # type: ignore[type-arg]
    """LoopbackServer looks routes up by exact path; Twilio has the account SID in its paths."""

    def __init__(self, handler: Any) -> None:
        super().__init__()
        self._handler = handler

    def get(self, key: Any, default: Any = None) -> Any:
        return self._handler


@dataclass
class TwilioApi:
    account_sid: str
    auth_token: str
    port: int = 0
    numbers: list[str] = field(default_factory=list)  # the account's IncomingPhoneNumbers
    friendly_name: str = "My first Twilio account"
    failures: list[Failure] = field(default_factory=list)
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _fail_at: tuple[int, Failure] | None = None

    def __post_init__(self) -> None:
        self.server = LoopbackServer(_AnyPath(self._answer), port=self.port)  # type: ignore[arg-type]

    # ---- test API
    @property
    def base_url(self) -> str:
        return self.server.url("")

    @property
    def received(self) -> list[Received]:
        return self.server.received

    @property
    def sent(self) -> list[dict[str, str]]:
        """The form fields of the message sends, in order (one value per field)."""
        return [
            {k: v[0] for k, v in parse_qs(r.body.decode(), keep_blank_values=True).items()}
            for r in self.received
            if r.method == "POST" and r.path.endswith("/Messages.json")
        ]

    def fail(self, *, status: int, code: int, message: str = "failed", times: int = 1, **extra: Any) -> None:
        self.failures.extend(Failure(status, code, message, **extra) for _ in range(times))

    def fail_after(self, calls: int, *, status: int, code: int, message: str = "failed") -> None:
        """Answer normally ``calls`` more times, then fail once (a long reply's later part, say)."""
        self._fail_at = (len(self.received) + calls, Failure(status, code, message))

    def __enter__(self) -> TwilioApi:
        self.server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.__exit__(*exc)

    # ---- Twilio
    def _error(self, failure: Failure) -> tuple[int, dict[str, str], bytes]:
        body = {
            "code": failure.code,
            "message": failure.message,
            "more_info": f"https://www.twilio.com/docs/errors/{failure.code}",
            "status": failure.status,
        }
        headers = {"Content-Type": "application/json"}
        if failure.retry_after:
            headers["Retry-After"] = failure.retry_after
        return failure.status, headers, json.dumps(body).encode()

    def _json(self, body: dict[str, Any], status: int = 200) -> tuple[int, dict[str, str], bytes]:
        return status, {"Content-Type": "application/json"}, json.dumps(body).encode()

    def _authorised(self, req: Received) -> bool:
        header = req.headers.get("authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            sid, _, token = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return sid == self.account_sid and token == self.auth_token

    def _answer(self, req: Received) -> tuple[int, dict[str, str], bytes]:
        if not self._authorised(req):
            return self._error(Failure(401, 20003, "Authenticate"))
        with self._lock:
            failure = self.failures.pop(0) if self.failures else None
            if self._fail_at is not None and len(self.received) - 1 == self._fail_at[0]:
                failure, self._fail_at = self._fail_at[1], None
            number = next(self._ids)
        if failure is not None:
            return self._error(failure)
        sid = self.account_sid
        now = format_datetime(datetime.now(tz=UTC), usegmt=True)
        if req.method == "POST" and req.path == f"{PREFIX}{sid}/Messages.json":
            form = {k: v[0] for k, v in parse_qs(req.body.decode(), keep_blank_values=True).items()}
            if not form.get("To") or not (form.get("Body") or form.get("MediaUrl")):
                return self._error(Failure(400, 21602, "Message body is required."))
            if len(form.get("Body", "")) > 1600 and not form["To"].startswith("whatsapp:"):
                message = "The concatenated message body exceeds the 1600 character limit."
                return self._error(Failure(400, 21617, message))
            message_sid = f"SM{number:032x}"
            return self._json(
                {
                    "account_sid": sid,
                    "api_version": "2010-04-01",
                    "body": form.get("Body", ""),
                    "date_created": now,
                    "date_sent": None,
                    "date_updated": now,
                    "direction": "outbound-api",
                    "error_code": None,
                    "error_message": None,
                    "from": form.get("From"),
                    "messaging_service_sid": None,
                    "num_media": "0",
                    "num_segments": str(max(1, -(-len(form.get("Body", "")) // 153))),
                    "price": None,
                    "price_unit": "USD",
                    "sid": message_sid,
                    "status": "queued",
                    "subresource_uris": {"media": f"{PREFIX}{sid}/Messages/{message_sid}/Media.json"},
                    "to": form["To"],
                    "uri": f"{PREFIX}{sid}/Messages/{message_sid}.json",
                },
                status=201,
            )
        if req.method == "GET" and req.path == f"{PREFIX}{sid}.json":
            return self._json(
                {
                    "auth_token": "",
                    "date_created": now,
                    "date_updated": now,
                    "friendly_name": self.friendly_name,
                    "owner_account_sid": sid,
                    "sid": sid,
                    "status": "active",
                    "subresource_uris": {},
                    "type": "Full",
                    "uri": f"{PREFIX}{sid}.json",
                }
            )
        if req.method == "GET" and req.path == f"{PREFIX}{sid}/IncomingPhoneNumbers.json":
            wanted = (parse_qs(req.query).get("PhoneNumber") or [""])[0]
            numbers = [n for n in self.numbers if not wanted or n == wanted]
            uri = f"{PREFIX}{sid}/IncomingPhoneNumbers.json"
            return self._json(
                {
                    "end": max(len(numbers) - 1, 0),
                    "first_page_uri": f"{uri}?PageSize=50&Page=0",
                    "incoming_phone_numbers": [
                        {
                            "account_sid": sid,
                            "friendly_name": n,
                            "phone_number": n,
                            "sid": f"PN{i:032x}",
                            "sms_method": "POST",
                            "capabilities": {"sms": True, "mms": True, "voice": True},
                        }
                        for i, n in enumerate(numbers)
                    ],
                    "next_page_uri": None,
                    "page": 0,
                    "page_size": 50,
                    "previous_page_uri": None,
                    "start": 0,
                    "uri": f"{uri}?PageSize=50&Page=0",
                }
            )
        return self._error(Failure(404, 20404, f"The requested resource {req.path} was not found"))


def main() -> None:
    """Run the double on its own (benchmarks): every message send is appended as one JSON line to ``--log``."""
    import argparse
    import time

    parser = argparse.ArgumentParser(description="TEST TOOL: loopback double of Twilio's REST API.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--account-sid", required=True)
    parser.add_argument("--auth-token", required=True)
    parser.add_argument("--log", required=True, help="file that receives one JSON line per message send")
    args = parser.parse_args()
    double = TwilioApi(account_sid=args.account_sid, auth_token=args.auth_token, port=args.port)
    answer = double._answer
    lock = threading.Lock()

    def logged(req: Received) -> tuple[int, dict[str, str], bytes]:
        status, headers, body = answer(req)
        if req.method == "POST" and req.path.endswith("/Messages.json") and status == 201:
            form = {k: v[0] for k, v in parse_qs(req.body.decode(), keep_blank_values=True).items()}
            with lock, open(args.log, "a") as out:
                out.write(json.dumps(form) + "\n")
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
