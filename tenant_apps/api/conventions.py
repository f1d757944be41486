"""The management API's conventions, applied once here and inherited by every resource (docs/api.md, ADR 0110).

* **Pagination**: cursor pagination (``?cursor=`` opaque, ``?page_size=`` up to ``MAX_PAGE_SIZE``), answers
  ``{"next", "previous", "results"}``. A cursor survives rows being added, unlike offsets.
* **Ordering**: ``?ordering=<field>`` or ``-<field>`` among the view's ``ordering_fields``; anything else is a 400.
* **Throttling**: per API key (or per member for session calls), ``API_RATE_LIMIT`` requests per window, every
  answer carries ``X-RateLimit-Limit/Remaining/Reset``; a refused one is 429 ``request.throttled`` with
  ``Retry-After``.
* **Idempotency**: a creating ``POST`` (``idempotent = True`` on the view) with an ``Idempotency-Key`` header is
  performed once; a repeat with the same key and body replays the stored answer (``Idempotent-Replayed: true``),
  a repeat with another body is 422 ``request.idempotency_mismatch``, and one arriving while the first is still
  running is 409 ``request.idempotency_in_progress``. Keys are kept 24 hours, per credential, in the team's Redis
  namespace.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any, ClassVar

import redis
from django.db.models import QuerySet
from rest_framework import exceptions, pagination
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from shared_apps.core.exceptions import ApplicationError, RateLimitedError
from shared_apps.core.ratelimit import RateLimitStatus, rate_limit_check, rate_limit_headers
from shared_apps.core.redis import get_redis, team_key
from tenants.api import TeamApiView

logger = logging.getLogger(__name__)

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
IDEMPOTENCY_TTL_SECONDS = 24 * 3600
IDEMPOTENCY_PENDING_SECONDS = 60  # a first request that died leaves its key usable again after this
MAX_IDEMPOTENCY_KEY = 255


class RequestInvalidError(ApplicationError):
    """code "request.*": the request's parameters are not acceptable (400)."""


class IdempotencyMismatchError(ApplicationError):
    status_code = 422


class IdempotencyInProgressError(ApplicationError):
    status_code = 409


class _Replay(Exception):  # noqa: N818 - not an error: carries the stored answer out of ``initial``
    def __init__(self, response: Response) -> None:
        super().__init__("replay")
        self.response = response


class ApiCursorPagination(pagination.CursorPagination):
    page_size = DEFAULT_PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    ordering = ("-created_at", "-id")


def _credential_ident(request: Request) -> str:
    auth = request.auth
    prefix = getattr(auth, "prefix", None)
    if prefix:
        return f"key:{prefix}"
    return f"user:{getattr(request.user, 'pk', None) or 'anon'}"


class ResourceApiView(TeamApiView):
    """Base of every ``/api/v1/`` resource: throttled, paginated, ordered, idempotent creates.

    Subclasses declare ``required_role`` / ``write_role`` (tenants.access), and for lists ``ordering_fields`` and
    ``default_ordering`` (the last field must make the order total, e.g. ``-id``).
    """

    # Bodies are JSON (docs/api.md): a form-encoded or multipart body is 415 ``request.unsupported_media_type``
    # rather than half-parsed (nested objects and lists do not survive a form). File uploads opt in to multipart.
    parser_classes = [JSONParser]
    # Documentation only (tenant_apps.api.openapi): the serializer of one object this view answers (the payload
    # functions build the bodies), and whether its GET answers a page of them.
    output_serializer: ClassVar[type[Any] | None] = None
    output_paginated: ClassVar[bool] = False
    ordering_fields: ClassVar[tuple[str, ...]] = ()
    default_ordering: ClassVar[tuple[str, ...]] = ("-created_at", "-id")
    idempotent: ClassVar[bool] = False
    _rate: RateLimitStatus | None = None
    _idempotency: tuple[str, str] | None = None

    # ------------------------------------------------------------------------- throttling and idempotency
    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # authentication and permissions first: strangers are 401/404
        self._media_type_check(request)
        ident = _credential_ident(request)
        self._rate = rate_limit_check(scope="api.key", ident=ident)
        if not self._rate.allowed:
            raise RateLimitedError(
                code="request.throttled",
                message="Too many requests for this API key. Wait and try again.",
                extra={"retry_after": self._rate.reset},
            )
        raw_key = request.headers.get("Idempotency-Key")
        if self.idempotent and request.method == "POST" and raw_key:
            self._idempotency_begin(request, ident, raw_key)

    def _media_type_check(self, request: Request) -> None:
        """A body of a type the view does not parse is 415, for the methods that read one (those with a nested
        ``InputSerializer``/``UpdateSerializer``, as the schema documents them). DRF would do it while parsing,
        except when a middleware has read a form body already (``BadInputMiddleware`` does, for NULs): DRF then
        hands the view empty data, and a multipart PATCH would answer 200 having changed nothing."""
        reads_body = hasattr(self, "InputSerializer") or (
            request.method == "PATCH" and hasattr(self, "UpdateSerializer")
        )
        if request.method not in ("POST", "PUT", "PATCH", "DELETE") or not reads_body:
            return
        length = request.META.get("CONTENT_LENGTH") or "0"
        has_body = (length.isdigit() and int(length) > 0) or "HTTP_TRANSFER_ENCODING" in request.META
        if has_body and self.get_content_negotiator().select_parser(request, self.get_parsers()) is None:
            raise exceptions.UnsupportedMediaType(request.content_type or "")

    def _idempotency_begin(self, request: Request, ident: str, raw_key: str) -> None:
        """Claim the key, or raise ``_Replay`` with the stored answer, or refuse (mismatch, in progress)."""
        if len(raw_key) > MAX_IDEMPOTENCY_KEY:
            raise RequestInvalidError(
                code="request.idempotency_key_too_long", message="Use an Idempotency-Key of at most 255 characters."
            )
        digest = hashlib.sha256(f"{ident}\n{request.path}\n{raw_key}".encode()).hexdigest()[:40]
        fingerprint = hashlib.sha256(request._request.body or b"").hexdigest()
        name = team_key("api", "idem", digest)
        try:
            client = get_redis()
            if client.set(name, json.dumps({"pending": fingerprint}), nx=True, ex=IDEMPOTENCY_PENDING_SECONDS):
                self._idempotency = (name, fingerprint)
                return
            stored = client.get(name)
        except redis.RedisError:
            logger.warning("api.idempotency_unavailable")
            return  # fail open: the request runs as if it had no key
        record = json.loads(stored) if stored else {}
        if (record.get("fingerprint") or record.get("pending")) != fingerprint:
            raise IdempotencyMismatchError(
                code="request.idempotency_mismatch",
                message="This Idempotency-Key was already used with a different request body.",
            )
        if "pending" in record:
            raise IdempotencyInProgressError(
                code="request.idempotency_in_progress",
                message="A request with this Idempotency-Key is still being handled. Try again in a moment.",
            )
        response = Response(record["body"], status=record["status"])
        response["Idempotent-Replayed"] = "true"
        raise _Replay(response)

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, _Replay):
            return exc.response
        return super().handle_exception(exc)

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        if self._rate is not None:
            for name, value in rate_limit_headers(self._rate).items():
                response[name] = value
        if self._idempotency is not None:
            self._idempotency_end(response)
        return response

    def _idempotency_end(self, response: Any) -> None:
        """Store a successful answer for replay; forget the key after a refusal (it may be retried once fixed)."""
        name, fingerprint = self._idempotency  # type: ignore[misc]
        self._idempotency = None
        try:
            if 200 <= response.status_code < 300 and hasattr(response, "data"):
                record = {"fingerprint": fingerprint, "status": response.status_code, "body": response.data}
                get_redis().set(name, json.dumps(record, default=str), ex=IDEMPOTENCY_TTL_SECONDS)
            else:
                get_redis().delete(name)
        except redis.RedisError:
            logger.warning("api.idempotency_unavailable")

    # ------------------------------------------------------------------------------------ lists and ordering
    def ordered(self, request: Request, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = request.query_params.get("ordering", "")
        if not value:
            return queryset.order_by(*self.default_ordering)
        field = value.removeprefix("-")
        if field not in self.ordering_fields:
            raise RequestInvalidError(
                code="request.invalid_ordering",
                message="Order by one of the listed fields.",
                extra={"allowed": [*self.ordering_fields, *(f"-{name}" for name in self.ordering_fields)]},
            )
        return queryset.order_by(value, "-id" if value.startswith("-") else "id")

    def paginated(self, request: Request, queryset: QuerySet[Any], serialize: Any) -> Response:
        """One page of ``queryset`` (ordered with ``ordered``) as ``{"next", "previous", "results"}``."""
        paginator = ApiCursorPagination()
        ordering = [str(field) for field in queryset.query.order_by] or list(self.default_ordering)
        paginator.ordering = tuple(ordering)  # type: ignore[assignment]
        try:
            page = paginator.paginate_queryset(queryset, request, view=self)
        except Exception as exc:  # DRF raises NotFound for a forged cursor: say so clearly
            from rest_framework.exceptions import NotFound

            if isinstance(exc, NotFound):
                raise RequestInvalidError(code="request.invalid_cursor", message="The cursor is not valid.") from exc
            raise
        return paginator.get_paginated_response([serialize(item) for item in page or []])


def bounded_int(request: Request, name: str) -> int | None:
    """An optional integer query parameter; a non-number is a 400 ``request.invalid_parameter``."""
    value = request.query_params.get(name, "")
    if value == "":
        return None
    if not value.isdigit() or len(value) > 12:
        raise RequestInvalidError(
            code="request.invalid_parameter", message=f"“{name}” must be a whole number.", extra={"parameter": name}
        )
    return int(value)
