"""Meta's Graph API, as the WhatsApp Cloud API and Messenger senders and "Test connection" call it.

Every call goes to ``settings.PLATFORM_API_URLS["meta_graph"]`` (tests point it at a loopback double) through the
SSRF-guarded client, with the token in the ``Authorization`` header (never in a URL that could be logged) and an
``appsecret_proof`` (Meta apps that require it refuse calls without; the others ignore it). Graph errors come as
``{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}``: rate limits, Meta's own temporary
failures, 5xx and network failures are ``TransientSendError`` (retried by the send task, after ``Retry-After``
when given); everything else is permanent (``ApplicationError``), worded for the channel page without any
token.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from shared_apps.core.exceptions import ApplicationError
from shared_apps.core.http import HttpRequestError, UnsafeUrlError, safe_request
from tenant_apps.channels.outbound import TransientSendError

WHATSAPP_TEXT_LIMIT = 4096
MESSENGER_TEXT_LIMIT = 2000

# Graph error codes worth another try: 1/2 unknown/temporary, 4/17/32/613/80007/130429 rate limits (app, user,
# page, custom, WhatsApp account, WhatsApp throughput), 131016 WhatsApp service unavailable.
TRANSIENT_CODES = frozenset({1, 2, 4, 17, 32, 613, 80007, 130429, 131016})
# Outside the customer-service window: WhatsApp's re-engagement error, Messenger's "outside of allowed window".
WINDOW_CODES = frozenset({131047})
MESSENGER_WINDOW_SUBCODES = frozenset({2018278})


@dataclass(frozen=True)
class GraphAnswer:
    status: int
    body: dict[str, Any]
    retry_after: str | None = None


def _base() -> str:
    return str(settings.PLATFORM_API_URLS["meta_graph"]).rstrip("/")


@sensitive_variables("token", "app_secret")
def _proof(token: str, app_secret: str) -> str:
    return hmac.new(app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()


@sensitive_variables("token", "app_secret")
def call(
    method: str,
    path: str,
    *,
    token: str,
    app_secret: str,
    params: dict[str, str] | None = None,
    json: dict[str, Any] | None = None,
) -> GraphAnswer:
    """One Graph call; raises ``TransientSendError`` when the network or Meta failed for now, else returns the
    answer (whatever its status) for the caller to read."""
    query = {**(params or {}), "appsecret_proof": _proof(token, app_secret)}
    try:
        response = safe_request(
            method,
            f"{_base()}/{path.lstrip('/')}",
            params=query,
            json=json,
            headers={"Authorization": f"Bearer {token}"},
            timeout=settings.CHANNEL_SEND_TIMEOUT_SECONDS,
        )
    except UnsafeUrlError as exc:
        raise ApplicationError(code="channel.platform_unsafe", message=exc.message) from exc
    except HttpRequestError as exc:
        raise TransientSendError(
            code="channel.platform_unreachable", message=f"Meta's Graph API did not answer: {exc.message}"
        ) from exc
    try:
        body = response.json() if response.content else {}
    except ValueError:
        body = {}
    retry_after = next((v for k, v in response.headers.items() if k.lower() == "retry-after"), None)
    return GraphAnswer(response.status, body if isinstance(body, dict) else {}, retry_after)


def raise_for_error(answer: GraphAnswer, *, secrets: tuple[str, ...] = ()) -> None:
    """Nothing for a 2xx answer; otherwise the error to raise: transient (rate limits, 5xx, Meta's temporary
    codes) or permanent (``channel.outside_window`` for the customer-service window, else
    ``channel.platform_refused``). Meta's message is kept, scrubbed of ``secrets``."""
    if 200 <= answer.status < 300 and "error" not in answer.body:
        return
    error = answer.body.get("error") if isinstance(answer.body.get("error"), dict) else {}
    assert isinstance(error, dict)
    code = _int(error.get("code"))
    subcode = _int(error.get("error_subcode"))
    said = _scrub(str(error.get("message") or f"HTTP {answer.status}"), secrets)[:300]
    detail = f"Meta answered {answer.status}" + (f" (code {code})" if code is not None else "") + f": {said}"
    extra: dict[str, Any] = {"graph_code": code, "graph_subcode": subcode}
    if answer.status == 429 or answer.status >= 500 or code in TRANSIENT_CODES:
        if answer.retry_after:
            extra["retry_after"] = answer.retry_after
        raise TransientSendError(code="channel.platform_busy", message=detail, extra=extra)
    if code in WINDOW_CODES or subcode in MESSENGER_WINDOW_SUBCODES:
        raise ApplicationError(code="channel.outside_window", message=OUTSIDE_WINDOW + f" ({detail})", extra=extra)
    raise ApplicationError(code="channel.platform_refused", message=detail, extra=extra)


OUTSIDE_WINDOW = (
    "Not sent: the participant's last message is more than 24 hours old, and Meta allows free-form messages only "
    "within 24 hours of it (the customer-service window). Template messages are not supported yet."
)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _scrub(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "…")
    return text
