"""A loopback double of the Telegram Bot API for tests (``PLATFORM_API_URLS["telegram"] = double.base_url``):
``getMe``, ``setWebhook``, ``deleteWebhook``, ``getWebhookInfo``, ``sendChatAction`` and ``sendMessage`` as the Bot
API answers them, including its errors (``{"ok": false, "error_code", "description", "parameters":
{"retry_after"}}``). Only its own bot token is accepted (any other: 401 Unauthorized, as Telegram). Test tool only.

    with TelegramApiDouble(port=PLATFORM_DOUBLE_PORTS["telegram"]) as telegram:
        telegram.fail_next("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)
        ...
        assert [m["text"] for m in telegram.sent] == ["Hello"]
"""

from __future__ import annotations

import html
import itertools
import json
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.http_server import LoopbackServer, Received

# The bot token the double accepts (the same as ``tests.factories.providers.TELEGRAM_TOKEN``; not imported so the
# double runs on its own, without Django, for a bench).
TELEGRAM_TOKEN = "123456789:AAE-never-shown-SECRET-abcdefghijk"
METHODS = ("getMe", "setWebhook", "deleteWebhook", "getWebhookInfo", "sendChatAction", "sendMessage")
BLOCKED = (403, "Forbidden: bot was blocked by the user")


@dataclass
class TelegramApiDouble:
    port: int = 0
    token: str = TELEGRAM_TOKEN
    username: str = "acme_helper_bot"
    sent: list[dict[str, Any]] = field(default_factory=list)  # sendMessage bodies that were accepted
    webhook: dict[str, Any] = field(default_factory=dict)  # what setWebhook last set
    _failures: dict[str, list[tuple[int, str, int | None]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        routes: dict[str, Any] = {
            f"/bot{self.token}/{method}": getattr(self, f"_{_snake(method)}") for method in METHODS
        }
        routes.update({f"/botWRONG/{method}": self._unauthorized for method in METHODS})
        routes["/_sent"] = self._sent  # the double's own: what was sent (for a bench in another process)
        self.server = LoopbackServer(routes, port=self.port)
        self.port = self.server.port

    @property
    def base_url(self) -> str:
        return self.server.url("")

    def calls(self, method: str) -> list[Received]:
        return [r for r in self.server.received if r.path.endswith(f"/{method}")]

    def bodies(self, method: str) -> list[dict[str, Any]]:
        return [json.loads(r.body or b"{}") for r in self.calls(method)]

    def fail_next(
        self, method: str, status: int, description: str, *, retry_after: int | None = None, times: int = 1
    ) -> None:
        """The next ``times`` calls of ``method`` answer ``status`` with Telegram's error body."""
        with self._lock:
            self._failures.setdefault(method, []).extend([(status, description, retry_after)] * times)

    def __enter__(self) -> TelegramApiDouble:
        self.server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.__exit__(*exc)

    # ---- answers

    @staticmethod
    def _json(status: int, body: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        return status, {"Content-Type": "application/json"}, json.dumps(body).encode()

    def _ok(self, result: Any) -> tuple[int, dict[str, str], bytes]:
        return self._json(200, {"ok": True, "result": result})

    def _error(
        self, status: int, description: str, retry_after: int | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        if status >= 500 and status != 500:
            return status, {"Content-Type": "text/html"}, b"<html><body><h1>502 Bad Gateway</h1></body></html>"
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        return self._json(status, body)

    def _failure(self, method: str) -> tuple[int, dict[str, str], bytes] | None:
        with self._lock:
            queue = self._failures.get(method) or []
            if not queue:
                return None
            status, description, retry_after = queue.pop(0)
        return self._error(status, description, retry_after)

    @staticmethod
    def _payload(req: Received) -> dict[str, Any]:
        body = json.loads(req.body or b"{}")
        return body if isinstance(body, dict) else {}

    # ---- routes

    def _unauthorized(self, req: Received) -> tuple[int, dict[str, str], bytes]:
        return self._error(401, "Unauthorized")

    def _sent(self, req: Received) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            return self._json(200, {"sent": self.sent})

    def _get_me(self, req: Received) -> tuple[int, dict[str, str], bytes]:
        answer = self._failure("getMe")
        if answer is not None:
            return answer
        bot_id = int(self.token.split(":")[0])
        return self._ok(
            {
                "id": bot_id,
                "is_bot": True,
                "first_name": "Acme helper",
                "username": self.username,
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            }
        )

    def _set_webhook(self, req: Received) -> tuple[int, dict[str, str], bytes]:
        answer = self._failure("setWebhook")
        if answer is not None:
            return answer
        payload = self._payload(req)
        if not str(payload.get("url") or "").startswith(("http://", "https://")):
            return self._error(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        with self._lock:
            self.webhook = payload
        return self._json(200, {"ok": True, "result": True, "description": "Webhook was set"})

    def _delete_webhook(self, req: Received) -> tuple[int, dict[str, str], bytes]:
        answer = self._failure("deleteWebhook")
        if answer is not None:
            return answer
        with self._lock:
            self.webhook = {}
        return self._json(200, {"ok": True, "result": True, "description": "Webhook was deleted"})

    def _get_webhook_info(self, req: Received) -> tuple[int, dict[str, str], bytes]:
        answer = self._failure("getWebhookInfo")
        if answer is not None:
            return answer
        with self._lock:
            url = str(self.webhook.get("url") or "")
        info: dict[str, Any] = {"url": url, "has_custom_certificate": False, "pending_update_count": 0}
        if url:
            info.update(max_connections=40, allowed_updates=self.webhook.get("allowed_updates") or [])
        return self._ok(info)

    def _send_chat_action(self, req: Received) -> tuple[int, dict[str, str], bytes]:
        answer = self._failure("sendChatAction")
        if answer is not None:
            return answer
        return self._ok(True)

    def _send_message(self, req: Received) -> tuple[int, dict[str, str], bytes]:
        answer = self._failure("sendMessage")
        if answer is not None:
            return answer
        payload = self._payload(req)
        text = str(payload.get("text") or "")
        if not payload.get("chat_id"):
            return self._error(400, "Bad Request: chat_id is empty")
        if not text:
            return self._error(400, "Bad Request: message text is empty")
        if len(_rendered(text, payload.get("parse_mode"))) > 4096:
            return self._error(400, "Bad Request: message is too long")
        with self._lock:
            message_id = next(self._ids)
            self.sent.append(payload)
        chat_id = payload["chat_id"]
        return self._ok(
            {
                "message_id": message_id,
                "date": 1700000000,
                "chat": {"id": int(chat_id), "type": "private"},
                "from": {"id": int(self.token.split(":")[0]), "is_bot": True, "first_name": "Acme helper"},
                "text": _rendered(text, payload.get("parse_mode")),
            }
        )


def _snake(method: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", lambda m: "_" + m.group(1).lower(), method)


def _rendered(text: str, parse_mode: Any) -> str:
    """The text as Telegram counts it: tags removed and entities unescaped for HTML."""
    if parse_mode != "HTML":
        return text
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def main() -> None:
    """Serve the double on its own (``python -m tests.fakes.telegram_api --port P``) until stopped."""
    import argparse
    import time

    parser = argparse.ArgumentParser(description="TEST TOOL: loopback double of the Telegram Bot API.")
    parser.add_argument("--port", type=int, default=8767)
    args = parser.parse_args()
    with TelegramApiDouble(port=args.port) as double:
        double.server.received = _Discarded()  # a long run keeps no request log
        while True:
            time.sleep(3600)


class _Discarded(list):  # type: ignore[type-arg]
    def append(self, item: Any) -> None:
        pass


if __name__ == "__main__":
    main()
