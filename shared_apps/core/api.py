"""The API edge: one exception handler maps every error to ``{"code", "message", "extra"}``."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler

from shared_apps.core.exceptions import ApplicationError

_DRF_CODES = {
    400: "request.invalid",
    401: "auth.unauthenticated",
    403: "auth.forbidden",
    404: "request.not_found",
    405: "request.method_not_allowed",
    406: "request.not_acceptable",
    415: "request.unsupported_media_type",
    429: "request.throttled",
}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        return Response(exc.as_dict(), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        exc = drf_exceptions.ValidationError(as_serializer_error(exc))
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = response.data
    if isinstance(exc, drf_exceptions.ValidationError):
        body = {"code": "request.invalid", "message": "The request is not valid.", "extra": {"fields": detail}}
    else:
        message = detail.get("detail", str(detail)) if isinstance(detail, dict) else str(detail)
        body = {"code": _DRF_CODES.get(response.status_code, "request.error"), "message": str(message), "extra": {}}
    response.data = body
    return response
