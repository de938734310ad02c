"""One error format for every API answer that is not a success.

    {"status": 400, "code": "invalid", "detail": "…", "errors": {"field": ["message", …]}}

``errors`` holds field errors for 400s (``non_field_errors`` for errors of the whole request)
and is empty otherwise.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import redis
from django.conf import settings
from django.core.exceptions import (
    NON_FIELD_ERRORS,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.urls import Resolver404, resolve
from django.utils.http import escape_leading_slashes
from django.views.decorators.csrf import csrf_exempt
from django.views.defaults import page_not_found
from django_redis.exceptions import ConnectionInterrupted
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from cms.api.authentication import THROTTLED_DESCRIPTION as TOKEN_THROTTLED

log = logging.getLogger(__name__)

DEFAULT_DETAIL = {
    400: "The request is not valid; see errors.",
}


def _flatten(detail: Any) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for raw_key, value in detail.items():
            # A model's own errors of the whole object (Django's "__all__") are the request's.
            key = "non_field_errors" if raw_key == NON_FIELD_ERRORS else raw_key
            if isinstance(value, dict):
                for sub_key, sub_value in _flatten(value).items():
                    out[f"{key}.{sub_key}"] = sub_value
            elif isinstance(value, list) and value and isinstance(value[0], dict):
                for index, item in enumerate(value):
                    for sub_key, sub_value in _flatten(item).items():
                        out[f"{key}[{index}].{sub_key}"] = sub_value
            else:
                out[str(key)] = [str(v) for v in (value if isinstance(value, list) else [value])]
        return out
    if isinstance(detail, list):
        return {"non_field_errors": [str(v) for v in detail]}
    return {"non_field_errors": [str(detail)]}


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "unavailable"
    default_detail = "A service this needs is not answering; try again shortly."
    retry_after = 5  # seconds, sent as Retry-After


# Redis (shared cache, ad counters, caps, the inventory version) not answering.
REDIS_DOWN = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    ConnectionInterrupted,
)

# The database not answering: refused, shut down or restarting, cut mid-query, or the
# connect timeout. A 503 like Redis down (``cms.outages`` answers it outside DRF's views).
DATABASE_DOWN = (OperationalError, InterfaceError)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, REDIS_DOWN):  # one line: an outage is not a bug (no traceback spam)
        log.warning("Redis did not answer (%s: %s)", type(exc).__name__, exc)
        exc = ServiceUnavailable()
    if isinstance(exc, DATABASE_DOWN):
        log.warning("The database did not answer (%s: %s)", type(exc).__name__, exc)
        exc = ServiceUnavailable()
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    # Only APIExceptions get here: DRF's handler answers nothing else.
    assert isinstance(exc, exceptions.APIException)
    response.data = error_data(exc)
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None and "Retry-After" not in response:
        response["Retry-After"] = str(retry_after)
    return response


def request_refused(exc: SuspiciousOperation) -> exceptions.ValidationError:
    """What Django refused in a request as it read it (``SuspiciousOperation``: too many
    query parameters or form fields, too many files, a body too large), as the API's 400."""
    if isinstance(exc, TooManyFieldsSent):
        message = (
            f"Too many query parameters or form fields (at most "
            f"{settings.DATA_UPLOAD_MAX_NUMBER_FIELDS:,})."
        )
    elif isinstance(exc, TooManyFilesSent):
        message = f"Too many files (at most {settings.DATA_UPLOAD_MAX_NUMBER_FILES:,})."
    elif isinstance(exc, RequestDataTooBig):
        message = (
            f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes "
            "(files not counted)."
        )
    else:
        message = "The request is malformed."
    return exceptions.ValidationError({"non_field_errors": [message]})


def error_data(exc: exceptions.APIException) -> dict[str, Any]:
    """The body of the error format for ``exc`` (DRF views and plain views alike)."""
    if isinstance(exc, exceptions.ValidationError):
        return {
            "status": exc.status_code,
            "code": "invalid",
            "detail": DEFAULT_DETAIL[400],
            "errors": _flatten(exc.detail),
        }
    codes = exc.get_codes()
    return {
        "status": exc.status_code,
        "code": codes if isinstance(codes, str) else "error",
        "detail": str(exc.detail),
        "errors": {},
    }


def api_error(exc: exceptions.APIException, headers: dict[str, str] | None = None) -> HttpResponse:
    """``exc`` answered in the error format without DRF's dispatch, for plain Django views.

    The same body and Retry-After as ``exception_handler``, and the bytes DRF's JSONRenderer
    writes (compact UTF-8), so a client cannot tell which kind of view answered.
    """
    response = HttpResponse(
        json.dumps(error_data(exc), ensure_ascii=False, separators=(",", ":")),
        content_type="application/json",
        status=exc.status_code,
        headers=headers,
    )
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


ErrorSerializer = inline_serializer(
    name="Error",
    fields={
        "status": serializers.IntegerField(help_text="The HTTP status code."),
        "code": serializers.CharField(help_text="A stable, machine-readable error code."),
        "detail": serializers.CharField(help_text="A human-readable explanation."),
        "errors": serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()),
            help_text="Field errors (400 only): field name to messages; empty otherwise.",
        ),
    },
)


def error_response(description: str) -> OpenApiResponse:
    return OpenApiResponse(response=ErrorSerializer, description=description)


ERROR_400: dict[int, OpenApiResponse] = {
    status.HTTP_400_BAD_REQUEST: error_response("Invalid input; see `errors`.")
}
ERROR_401: dict[int, OpenApiResponse] = {
    status.HTTP_401_UNAUTHORIZED: error_response("Authentication is required.")
}
ERROR_403: dict[int, OpenApiResponse] = {
    status.HTTP_403_FORBIDDEN: error_response("Not allowed for this account.")
}
ERROR_404: dict[int, OpenApiResponse] = {
    status.HTTP_404_NOT_FOUND: error_response("No such object (or not public), or no such page.")
}
ERROR_429: dict[int, OpenApiResponse] = {
    status.HTTP_429_TOO_MANY_REQUESTS: error_response("Too many requests; retry later.")
}
# Operations that read a token by hand (the schema hook covers those whose security is a token).
ERROR_429_TOKEN: dict[int, OpenApiResponse] = {
    status.HTTP_429_TOO_MANY_REQUESTS: error_response(TOKEN_THROTTLED)
}
ERROR_503: dict[int, OpenApiResponse] = {
    status.HTTP_503_SERVICE_UNAVAILABLE: error_response(
        "A service it depends on (Redis, the database) is not answering; retry after the "
        "seconds in the Retry-After header."
    )
}


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """The 404 view: the API's error format under /api/, Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return api_error(exceptions.NotFound())
    return page_not_found(request, exception)


@csrf_exempt  # a POST to no route is a 404, not the CSRF failure page
def unmatched_api_path(request: HttpRequest) -> HttpResponse:
    """The last route under /api/: every address no other route matches.

    A route, not only ``handler404``, because with DEBUG on Django answers an unmatched
    address with its HTML technical page and never calls ``handler404``. Since this route
    matches everything under /api/, CommonMiddleware no longer sees those addresses as
    invalid, so its APPEND_SLASH redirect (``/api/v1/ads?…`` to ``/api/v1/ads/?…``) is made
    here: the 301 Django makes with DEBUG off, for every method (with DEBUG on, Django's own
    raises an error for POST, PUT, PATCH and DELETE, which would be a 500 here).
    """
    path = request.path_info
    if settings.APPEND_SLASH and not path.endswith("/"):
        try:
            match = resolve(f"{path}/", getattr(request, "urlconf", None))
        except Resolver404:
            match = None
        if (
            match is not None
            and match.func is not unmatched_api_path
            and getattr(match.func, "should_append_slash", True)
        ):
            target = request.get_full_path(force_append_slash=True)
            return HttpResponsePermanentRedirect(escape_leading_slashes(target))
    return api_error(exceptions.NotFound())


def _document_everywhere(result: dict[str, Any], status_code: int, description: str) -> None:
    """Document ``status_code`` (the error format) on every operation but OPTIONS, which the
    views that document it answer from their own description."""
    body = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method == "options":
                continue
            answer: dict[str, Any] = {"description": description}
            if method != "head":  # a HEAD answer has no body
                answer["content"] = body
            operation.setdefault("responses", {}).setdefault(str(status_code), answer)


def document_service_unavailable(result, generator, request, public):
    """Schema hook: every operation may answer 503 when Redis or the database does not
    answer (see ``exception_handler``), so every operation documents it."""
    description = ERROR_503[status.HTTP_503_SERVICE_UNAVAILABLE].description
    _document_everywhere(result, status.HTTP_503_SERVICE_UNAVAILABLE, description)
    return result


class URITooLong(exceptions.APIException):
    """An address longer than ``MAX_URL_LENGTH`` (``cms.request_limits``)."""

    status_code = status.HTTP_414_REQUEST_URI_TOO_LONG
    default_code = "uri_too_long"

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"The address (path and query string) is longer than {limit:,} characters."
        )


def document_request_limits(result, generator, request, public):
    """Schema hook: every operation answers 414 to an address over ``MAX_URL_LENGTH`` and
    400 to a request Django refuses to read (``request_refused``), so every one documents
    both (an operation's own 400 keeps its description)."""
    too_long = (
        f"The address (path and query string, as sent) is longer than "
        f"{settings.MAX_URL_LENGTH:,} characters."
    )
    _document_everywhere(result, status.HTTP_414_REQUEST_URI_TOO_LONG, too_long)
    refused = (
        "The request is malformed: more query parameters or form fields than "
        f"{settings.DATA_UPLOAD_MAX_NUMBER_FIELDS:,}, for one; see `errors`."
    )
    _document_everywhere(result, status.HTTP_400_BAD_REQUEST, refused)
    return result
