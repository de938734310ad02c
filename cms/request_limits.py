"""Limits of what the app reads from a request, answered in the API's error format."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse
from rest_framework import status

from cms.api.errors import URITooLong, api_error, request_refused


class RequestLimitsMiddleware:
    """Requests past what the app reads, answered in the API's error format under /api/.

    - An address longer than ``MAX_URL_LENGTH`` is a 414 before anything reads it (plain
      text outside /api/). The length is the path and query string as sent (percent-
      encoded). Granian refuses a request line of 65,535 bytes or more itself (an empty
      414: its HTTP library's fixed limit), so the setting stays below that.
    - What Django refuses as a view reads the request (``SuspiciousOperation``: more query
      parameters or form fields than ``DATA_UPLOAD_MAX_NUMBER_FIELDS``, too many files, a
      form body too large) is the API's 400, not Django's HTML 400 page, wherever the view
      read it (some read the query string before DRF's own error handling).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit: int = settings.MAX_URL_LENGTH
        if len(request.get_full_path()) > limit:
            if request.path_info.startswith("/api/"):
                return api_error(URITooLong(limit))
            return HttpResponse(
                "URI too long",
                status=status.HTTP_414_REQUEST_URI_TOO_LONG,
                content_type="text/plain; charset=utf-8",
            )
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if isinstance(exc, SuspiciousOperation) and request.path_info.startswith("/api/"):
            return api_error(request_refused(exc))
        return None
