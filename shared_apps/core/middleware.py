"""Refuse input no view can handle safely, once, before any view sees it (ADR 0061).

PostgreSQL refuses the NUL character in text and ``jsonb``, so a NUL that reaches a query or a stored row fails
the request with a 500 (a form field, a query parameter, an ``Authorization`` header looked up as an API key, a
URL segment looked up as a token). Python's JSON parser and ``copy.deepcopy`` recurse, so JSON nested thousands
of levels deep ends in ``RecursionError``. Checking every endpoint's every field would miss the next endpoint:
this middleware answers ``400`` for any request that carries a NUL anywhere we read (path, query string,
headers, form fields, JSON body) or JSON nested deeper than ``strict_json.MAX_DEPTH``. File contents are not
checked: uploads may be binary.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render

from shared_apps.core import strict_json
from shared_apps.core.request_context import REQUEST_ID_HEADER, request_id_from, request_id_var, request_var

NUL_MESSAGE = "The request contains a NUL character (\\u0000), which text here cannot hold."
MALFORMED_MESSAGE = "The request body could not be read (malformed, or too many fields)."
DEPTH_MESSAGE = f"The JSON in the request is nested deeper than {strict_json.MAX_DEPTH} levels."
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class RequestIdMiddleware:
    """Give every request an id (the proxy's ``X-Request-ID`` when it sent a sane one), put it on every log line
    and error report of the request, and echo it in the response so a user's report can be found in the logs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_from(request.META.get("HTTP_X_REQUEST_ID"))
        request.request_id = request_id  # type: ignore[attr-defined]
        id_token = request_id_var.set(request_id)
        request_token = request_var.set(request)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(id_token)
            request_var.reset(request_token)
        response[REQUEST_ID_HEADER] = request_id
        return response


class BadInputMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        problem = bad_input(request)
        if problem is not None:
            return _refusal(request, *problem)
        return self.get_response(request)


def bad_input(request: HttpRequest) -> tuple[str, str] | None:
    """``(code, message)`` when the request must be refused, else None."""
    if "\x00" in request.path_info or "%00" in request.META.get("QUERY_STRING", ""):
        return "request.nul_character", NUL_MESSAGE
    for name, value in request.META.items():
        if name.startswith("HTTP_") and isinstance(value, str) and "\x00" in value:
            return "request.nul_character", NUL_MESSAGE
    if request.method not in _BODY_METHODS:
        return None
    content_type = request.content_type or ""
    if content_type == "application/x-www-form-urlencoded":
        if b"%00" in request.body or b"\x00" in request.body:
            return "request.nul_character", NUL_MESSAGE
    elif content_type == "multipart/form-data":
        try:
            fields = [value for key, values in request.POST.lists() for value in [key, *values]]
        except (MultiPartParserError, SuspiciousOperation):  # malformed, or over DATA_UPLOAD_MAX_NUMBER_FIELDS
            return "request.malformed_body", MALFORMED_MESSAGE
        fields += [str(upload.name or "") for _key, uploads in request.FILES.lists() for upload in uploads]
        if any("\x00" in field for field in fields):
            return "request.nul_character", NUL_MESSAGE
    elif content_type == "application/json" or content_type.endswith("+json"):
        if strict_json.has_nul(request.body):
            return "request.nul_character", NUL_MESSAGE
        if strict_json.nesting_depth(request.body) > strict_json.MAX_DEPTH:
            return "request.json_too_deep", DEPTH_MESSAGE
    return None


def _refusal(request: HttpRequest, code: str, message: str) -> HttpResponse:
    accept = request.META.get("HTTP_ACCEPT", "")
    wants_json = "json" in (request.content_type or "") or ("json" in accept and "html" not in accept)
    if wants_json or request.path_info.startswith("/api/"):  # an API client reads errors as data
        return JsonResponse({"code": code, "message": message, "extra": {}}, status=400)
    return render(request, "errors/bad_input.html", {"message": message}, status=400)
