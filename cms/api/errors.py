"""One error format for every API answer that is not a success.

    {"status": 400, "code": "invalid", "detail": "…", "errors": {"field": ["message", …]}}

``errors`` holds field errors for 400s (``non_field_errors`` for errors of the whole request)
and is empty otherwise.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.views.defaults import page_not_found
from django_redis.exceptions import ConnectionInterrupted
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

log = logging.getLogger(__name__)

DEFAULT_DETAIL = {
    400: "The request is not valid; see errors.",
}


def _flatten(detail: Any) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for key, value in detail.items():
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


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, REDIS_DOWN):
        log.exception("Redis did not answer")
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
    if isinstance(exc, exceptions.ValidationError):
        body = {
            "status": response.status_code,
            "code": "invalid",
            "detail": DEFAULT_DETAIL[400],
            "errors": _flatten(exc.detail),
        }
    else:
        detail = getattr(exc, "detail", str(exc))
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        body = {
            "status": response.status_code,
            "code": codes if isinstance(codes, str) else "error",
            "detail": str(detail),
            "errors": {},
        }
    response.data = body
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None and "Retry-After" not in response:
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
ERROR_503 = {
    status.HTTP_503_SERVICE_UNAVAILABLE: error_response(
        "A service it depends on (Redis) is not answering; retry after the seconds in the "
        "Retry-After header."
    )
}


def not_found(request, exception=None):
    """The 404 view: the API's error format under /api/, Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"status": 404, "code": "not_found", "detail": "Not found.", "errors": {}}, status=404
        )
    return page_not_found(request, exception)


def document_service_unavailable(result, generator, request, public):
    """Schema hook: every operation may answer 503 when Redis does not answer (see
    ``exception_handler``), so every operation documents it."""
    description = ERROR_503[status.HTTP_503_SERVICE_UNAVAILABLE].description
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            operation.setdefault("responses", {}).setdefault(
                "503",
                {
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/Error"},
                        }
                    },
                    "description": description,
                },
            )
    return result
