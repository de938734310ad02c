"""Middleware of the whole site."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from rest_framework import status

from cms.api.errors import URITooLong, api_error


class URLLengthMiddleware:
    """Answers an address longer than ``MAX_URL_LENGTH`` with a 414 before anything reads it:
    in the API's error format under /api/, as plain text elsewhere.

    The length is the path and query string as sent (percent-encoded). Granian refuses a
    request line of 65,535 bytes or more itself (an empty 414: its HTTP library's fixed
    limit), so the setting must stay below that for the app to answer every long address.
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
