"""Article reads: the view beacon a page calls once per page view.

A hot-path view like the impression beacon (``sponsors.api.ads``): a plain Django view, one
Redis script call per request (then ``ads_flush``), documented by a schema-only DRF view.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import ValidationError

from cms.api.errors import ERROR_400, ERROR_503
from sponsors import tracking
from sponsors.api.ads import (
    NO_STORE_HEADERS,
    HotPathDocs,
    HotPathView,
    _head_schema,
    _options_schema,
)

READ_RESPONSES: dict[int, Any] = {
    204: OpenApiResponse(description="Received (counted once per page view)."),
    **ERROR_400,
    **ERROR_503,
}


def _verified(token: str, *, count_refusal: bool = True) -> tracking.ReadTokenData:
    """The token's data, or a 400; a refused token is counted apart (expired, invalid),
    except for a HEAD, which counts nothing."""
    try:
        return tracking.read_read_token(token)
    except tracking.InvalidReadTokenError as exc:
        if count_refusal:
            tracking.record_refused_read(exc, now=timezone.now())
        raise ValidationError({"token": [str(exc)]}) from None


class ReadDocs(HotPathDocs):
    @extend_schema(
        summary="Read beacon of an article page view",
        description=(
            "Call the article's `read_url` once the page is shown. Counts one read of the "
            "article per page view (a replay counts nothing and is counted apart as "
            "`replayed`); bots and crawlers are counted apart, never as reads. A tampered, "
            "foreign or expired token (`ADS_READ_MAX_AGE`, default 6 hours) answers 400 and "
            "is counted apart. GET for an image pixel or fetch, POST for sendBeacon."
        ),
        request=None,
        responses=READ_RESPONSES,
    )
    def get(self, request, token: str): ...

    @extend_schema(
        summary="Read beacon of an article page view (sendBeacon)",
        description="The same as GET, for `navigator.sendBeacon`; the body is not read.",
        request=None,
        responses=READ_RESPONSES,
    )
    def post(self, request, token: str): ...

    @_head_schema(
        "Checks the token and answers as GET would (204, or 400 for a tampered, expired or "
        "foreign token) but counts nothing: a HEAD is not a page view.",
        {204: "The token is valid; nothing was counted.", 400: "The token is not valid."},
    )
    def head(self, request, token: str): ...

    @_options_schema()
    def options(self, request, token: str): ...


class ReadView(HotPathView):
    """The read beacon: GET or POST count one read per page view; HEAD does not."""

    docs = ReadDocs
    http_method_names = ["get", "post", "head", "options"]
    name = "Read beacon"
    description = "Counts one read of an article per page view: GET, or POST for sendBeacon."

    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        data = _verified(token)
        tracking.record_read(
            data, user_agent=request.META.get("HTTP_USER_AGENT"), now=timezone.now()
        )
        return HttpResponse(status=204, headers=NO_STORE_HEADERS)

    def post(self, request: HttpRequest, token: str) -> HttpResponse:
        return self.get(request, token)

    def head(self, request: HttpRequest, token: str) -> HttpResponse:
        # Link checkers and previewers send HEAD: the token is checked, nothing is counted.
        _verified(token, count_refusal=False)
        return HttpResponse(status=204, headers=NO_STORE_HEADERS)
