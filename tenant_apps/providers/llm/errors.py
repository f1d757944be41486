"""Typed LLM errors. Retryable ones subclass ``RetryableProviderError`` (the only error tasks retry on)."""

from __future__ import annotations

from shared_apps.core.exceptions import ApplicationError, RetryableProviderError


class LlmError(ApplicationError):
    """A model call failed. ``message`` is safe to show a team member (no secrets, no raw payloads)."""

    status_code = 502


class LlmAuthenticationError(LlmError):
    pass


class LlmBadRequestError(LlmError):
    status_code = 400


class LlmContextTooLongError(LlmBadRequestError):
    pass


class LlmRetryableError(RetryableProviderError, LlmError):
    """Base for errors worth retrying later (rate limit, timeout, provider unavailable)."""


class LlmRateLimitError(LlmRetryableError):
    pass


class LlmTimeoutError(LlmRetryableError):
    pass


class LlmUnavailableError(LlmRetryableError):
    pass
