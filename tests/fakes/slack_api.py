"""A loopback double of Slack's Web API for tests (``WebClient(base_url=double.base_url)``): ``auth.test`` and
``chat.postMessage`` as Slack answers them, including its errors (``{"ok": false, "error": ...}`` with HTTP 200,
429 ``ratelimited`` with ``Retry-After``, 5xx). Test tool only.

    with SlackApiDouble(port=PLATFORM_DOUBLE_PORTS["slack"]) as slack:
        slack.fail_next("chat.postMessage", 429, "ratelimited", retry_after=7)
        ...
        assert [m["text"] for m in slack.posted] == ["Hello"]
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from tests.fakes.http_server import LoopbackServer, Received

BOT_TOKEN = "xoxb-"  # any token that starts so is accepted; "xoxb-revoked" is refused with invalid_auth


@dataclass
class SlackApiDouble:
    port: int = 0
    team_id: str = "T0SLACKA"
    team: str = "Acme"
    bot_user_id: str = "U0BOT"
    posted: list[dict[str, Any]] = field(default_factory=list)  # chat.postMessage bodies that were accepted
    _failures: dict[str, list[tuple[int, str, int | None]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ts: itertools.count = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self.server = LoopbackServer(
            {
                "/api/auth.test": self._auth_test,
                "/api/chat.postMessage": self._post_message,
                "/_posted": self._posted,  # the double's own: what was posted (for a bench in another process)
            },
            port=self.port,
        )
        self.port = self.server.port

    @property
    def base_url(self) -> str:
        return self.server.url("/api/")

    @property
    def received(self) -> list[Received]:
        return self.server.received

    def calls(self, method: str) -> list[Received]:
        return [r for r in self.server.received if r.path == f"/api/{method}"]

    def fail_next(
        self, method: str, status: int, error: str, *, retry_after: int | None = None, times: int = 1
    ) -> None:
        """The next ``times`` calls of ``method`` answer ``status`` with ``{"ok": false, "error": error}``."""
        with self._lock:
            self._failures.setdefault(method, []).extend([(status, error, retry_after)] * times)

    def __enter__(self) -> SlackApiDouble:
        self.server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.__exit__(*exc)

    # ---- routes

    def _posted(self, req: Received) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            body = json.dumps(self.posted).encode()
        return 200, {"Content-Type": "application/json"}, body

    def _failure(self, method: str) -> tuple[int, dict[str, str], bytes] | None:
        with self._lock:
            queue = self._failures.get(method) or []
            if not queue:
                return None
            status, error, retry_after = queue.pop(0)
        headers = {"Content-Type": "application/json"}
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        if status >= 500:
            return status, {"Content-Type": "text/html"}, b"<html>upstream error</html>"
        return status, headers, json.dumps({"ok": False, "error": error}).encode()

    def _refused(self, req: Received) -> tuple[int, dict[str, str], bytes] | None:
        token = req.headers.get("authorization", "").removeprefix("Bearer ")
        if not token.startswith(BOT_TOKEN) or token == "xoxb-revoked":
            error = "not_authed" if not token else "invalid_auth"
            return 200, {"Content-Type": "application/json"}, json.dumps({"ok": False, "error": error}).encode()
        return None

    def _auth_test(self, req: Received) -> tuple[int, dict[str, str], bytes]:
        answer = self._failure("auth.test") or self._refused(req)
        if answer is not None:
            return answer
        body = {
            "ok": True,
            "url": f"https://{self.team.lower()}.slack.com/",
            "team": self.team,
            "user": "helper-bot",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": "B0BOT",
        }
        return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()

    def _post_message(self, req: Received) -> tuple[int, dict[str, str], bytes]:
        answer = self._failure("chat.postMessage") or self._refused(req)
        if answer is not None:
            return answer
        if req.headers.get("content-type", "").startswith("application/json"):
            payload = json.loads(req.body or b"{}")
        else:
            payload = {k: v[0] for k, v in parse_qs(req.body.decode()).items()}
        if not payload.get("channel"):
            return 200, {"Content-Type": "application/json"}, b'{"ok": false, "error": "channel_not_found"}'
        if not payload.get("text"):
            return 200, {"Content-Type": "application/json"}, b'{"ok": false, "error": "no_text"}'
        with self._lock:
            ts = f"1700000000.{next(self._ts):06d}"
            self.posted.append(payload)
        body = {"ok": True, "channel": payload["channel"], "ts": ts, "message": {"text": payload["text"], "ts": ts}}
        return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()


def main() -> None:
    """Serve the double on its own (``python -m tests.fakes.slack_api --port P``) until stopped."""
    import argparse
    import time

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--team-id", default="T0SLACKA")
    args = parser.parse_args()
    with SlackApiDouble(port=args.port, team_id=args.team_id) as double:
        double.server.received = _Discarded()  # a long run keeps no request log
        while True:
            time.sleep(3600)


class _Discarded(list):  # type: ignore[type-arg]
    def append(self, item: Any) -> None:
        pass


if __name__ == "__main__":
    main()
