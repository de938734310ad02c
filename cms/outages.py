"""What a request answers while the database does not: a quick 503, never a 500.

The connections are kept between requests (``DB_CONN_MAX_AGE``) and checked before reuse
(``CONN_HEALTH_CHECKS``), so after PostgreSQL restarts, the first request of each app
thread opens a fresh connection and succeeds: no app restart. While it is down (or
restarting), every request that needs it fails at once (a refused connection, or
``DB_CONNECT_TIMEOUT`` at most) and answers 503 with ``Retry-After``: in the API's error
format under ``/api/`` (DRF views through ``cms.api.errors.exception_handler``, every other
view here), a readable page elsewhere. Answers served from the cache (the read API's stored
payloads, the ad decision's snapshot) go on answering 200 meanwhile.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.views.defaults import server_error as django_server_error
from rest_framework import exceptions

from cms.api.errors import DATABASE_DOWN, ServiceUnavailable, api_error
from cms.site.views import error_page

log = logging.getLogger(__name__)


def unavailable(request: HttpRequest, error: BaseException) -> HttpResponse:
    """The 503 for ``request`` while the database does not answer (logged in one line: an
    outage is not a bug, and a traceback per request would flood the log)."""
    log.warning("The database did not answer (%s: %s)", type(error).__name__, error)
    if request.path.startswith("/api/"):
        return api_error(ServiceUnavailable())
    return error_page(request, 503, "Please try again in a moment.")


class DatabaseUnavailableMiddleware:
    """A view that raised because the database did not answer answers 503 (with ``DEBUG``
    on too, where Django would show its technical page)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, DATABASE_DOWN):
            return unavailable(request, exception)
        return None


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: what a middleware raised because the database did not answer (a
    session saved on the way out, say) is a 503 too; any other error a 500, in the API's
    error format under ``/api/``, the site's page elsewhere."""
    error = sys.exc_info()[1]  # Django calls handler500 inside its except block
    if isinstance(error, DATABASE_DOWN):
        return unavailable(request, error)
    if request.path.startswith("/api/"):
        return api_error(exceptions.APIException())
    return django_server_error(request)
