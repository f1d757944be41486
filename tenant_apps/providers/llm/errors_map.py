"""SDK exceptions -> our typed errors, with messages safe to show a team member (ADR 0023).

Both official SDKs raise the same family (``APIStatusError`` with ``status_code``, ``APITimeoutError``,
``APIConnectionError``), so one mapping serves both. Secrets are scrubbed from provider messages (some providers
echo a rejected key back), and messages are cut short.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Iterable

import anthropic
import openai

from shared_apps.core.exceptions import ApplicationError
from tenant_apps.providers.llm.errors import (
    LlmAuthenticationError,
    LlmBadRequestError,
    LlmContextTooLongError,
    LlmError,
    LlmRateLimitError,
    LlmTimeoutError,
    LlmUnavailableError,
)

SDK_ERRORS: tuple[type[Exception], ...] = (openai.OpenAIError, anthropic.AnthropicError)
_STATUS_ERRORS = (openai.APIStatusError, anthropic.APIStatusError)
_TIMEOUT_ERRORS = (openai.APITimeoutError, anthropic.APITimeoutError)
_CONNECTION_ERRORS = (openai.APIConnectionError, anthropic.APIConnectionError)

_CONTEXT_PHRASES = (
    "context length",
    "context_length",
    "context window",
    "maximum context",
    "prompt is too long",
    "too many tokens",
    "reduce the length",
    "input is too long",
    "exceeds the context",
)
MASK = "••••"
MAX_MESSAGE = 300


def scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, MASK)
    return text


def _provider_message(exc: Exception) -> str:
    body = getattr(exc, "body", None)
    message = ""
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            message = str(inner.get("message") or "")
        elif isinstance(inner, str):
            message = inner
    return message or str(getattr(exc, "message", "") or exc)


def _error_code(exc: Exception) -> str:
    code = getattr(exc, "code", None)
    if code:
        return str(code)
    body = getattr(exc, "body", None)
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("code") or body["error"].get("type") or "")
    return ""


def retry_after_seconds(exc: Exception) -> float | None:
    """The wait the provider asked for (``retry-after-ms``, ``retry-after`` seconds or HTTP date), if any."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


def map_sdk_error(exc: Exception, *, provider: str, secrets: Iterable[str] = ()) -> LlmError | ApplicationError:
    """The typed error for an SDK exception. ``provider`` names the provider in the message (e.g. "OpenAI")."""
    if isinstance(exc, _TIMEOUT_ERRORS):
        return LlmTimeoutError(code="llm.timeout", message=f"{provider} did not answer in time.")
    if isinstance(exc, _CONNECTION_ERRORS):
        cause = exc.__cause__
        if isinstance(cause, ApplicationError):  # e.g. the SSRF guard refused the address
            return cause
        return LlmUnavailableError(code="llm.unavailable", message=f"Could not connect to {provider}.")
    if not isinstance(exc, _STATUS_ERRORS):
        return LlmError(code="llm.failed", message=f"{provider} returned something unexpected.")

    status = exc.status_code
    detail = scrub(_provider_message(exc), secrets)[:MAX_MESSAGE]
    said = f": {detail}" if detail else "."
    extra: dict[str, object] = {"status": status}
    if status in (401, 403):
        return LlmAuthenticationError(
            code="llm.authentication",
            message=f"{provider} refused the credentials (HTTP {status}){said}",
            extra=extra,
        )
    if status == 429:
        wait = retry_after_seconds(exc)
        if wait is not None:
            extra["retry_after"] = wait
        return LlmRateLimitError(
            code="llm.rate_limited", message=f"{provider} is rate limiting requests{said}", extra=extra
        )
    if status == 408:
        return LlmTimeoutError(code="llm.timeout", message=f"{provider} timed out (HTTP 408){said}", extra=extra)
    if status == 409 or status >= 500:
        return LlmUnavailableError(
            code="llm.unavailable", message=f"{provider} is unavailable (HTTP {status}){said}", extra=extra
        )
    lowered = f"{_error_code(exc)} {detail}".lower()
    if status == 413 or any(phrase in lowered for phrase in _CONTEXT_PHRASES):
        return LlmContextTooLongError(
            code="llm.context_too_long",
            message=f"The conversation is too long for this model{said}",
            extra=extra,
        )
    if status == 404:
        return LlmBadRequestError(
            code="llm.model_not_found", message=f"{provider} does not know this model or endpoint{said}", extra=extra
        )
    return LlmBadRequestError(
        code="llm.bad_request", message=f"{provider} rejected the request (HTTP {status}){said}", extra=extra
    )
