"""Structured logs (issue 15, headers and deployment): one line per request, and redaction.

``RequestLogMiddleware`` is django-structlog's ``RequestMiddleware`` made to write one line per
request instead of two (no ``request_started``) and to say more in it: the request id (an
upstream ``X-Request-ID`` if it is a sane one, else a new one; always sent back in the
response's ``X-Request-ID``), who asked (``user_id``, ``user``, ``role``), method, path,
status and duration. django-structlog binds the id for every line logged while the request
runs and keeps its ``request_failed`` line (with the traceback) for errors.

What is never written: headers (so no ``Authorization: Token …`` and no session or CSRF
cookie), request bodies (so no password), the signed tokens of the tracking and calendar URLs
(the path shows ``[redacted]`` in their place) and secret-looking query parameters.
``redact_event`` applies the same rules to every line that goes out, Django's own included
(``django.request`` writes the path of a failing request).
"""

from __future__ import annotations

import functools
import logging
import re
import sys
import time
import uuid
from collections.abc import MutableMapping
from typing import Any

import structlog
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject, empty
from django_structlog.middlewares.request import RequestMiddleware

REQUEST_ID_HEADER = "X-Request-ID"
# An upstream id is kept only when it could not forge or flood a log line.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")

REDACTED = "[redacted]"
# Signed tokens in paths: the ad impression and click URLs, the read beacon, the calendar feed.
_TOKEN_IN_PATH = re.compile(r"(/(?:ads/impression|ads/click|reads|calendar)/)[^/?#\s\"']+")
# Query parameters whose values are secrets or tracking identifiers.
_SECRET_QUERY = re.compile(
    r"([?&](?:token|key|api_key|access_token|signature|sig|password|secret|viewer|code)=)"
    r"[^&#\s\"']*",
    re.IGNORECASE,
)
# Credentials as they would appear in a header or a message, should one ever be logged.
_CREDENTIAL = re.compile(r"\b(Token|Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+")
_SECRET_FIELD = re.compile(
    r"((?:password|passwd|secret|csrfmiddlewaretoken|csrftoken|sessionid)[\"']?\s*[:=]\s*[\"']?)"
    r"[^\s&\"',;}]+",
    re.IGNORECASE,
)
REQUEST_LOGGER = "cms.requests"


def redact(text: str) -> str:
    """``text`` with signed tokens, credentials and secret-looking values replaced."""
    if "/" in text:
        text = _TOKEN_IN_PATH.sub(rf"\1{REDACTED}", text)
    if "=" in text:
        text = _SECRET_QUERY.sub(rf"\1{REDACTED}", text)
    text = _CREDENTIAL.sub(rf"\1 {REDACTED}", text)
    return _SECRET_FIELD.sub(rf"\1{REDACTED}", text)


def redact_event(
    logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: every string value of a line through ``redact``.

    The request line does not come this way: it is built redacted (``request_path``).
    """
    for key, value in event_dict.items():
        if isinstance(value, str):
            event_dict[key] = redact(value)
    return event_dict


def request_path(request: HttpRequest) -> str:
    """The path and query string as logged: tokens and secret parameters replaced.

    Only the two rules a path can need, each skipped when it cannot match (the beacons' hot
    path pays one regex pass).
    """
    path = request.get_full_path()
    if "/ads/" in path or "/reads/" in path or "/calendar/" in path:
        path = _TOKEN_IN_PATH.sub(rf"\1{REDACTED}", path)
    if "=" in path:
        path = _SECRET_QUERY.sub(rf"\1{REDACTED}", path)
    return path


def renderer(log_format: str) -> Any:
    """The structlog renderer of LOG_FORMAT: ``json`` or ``logfmt`` (key=value)."""
    if log_format == "json":
        return structlog.processors.JSONRenderer()
    return structlog.processors.LogfmtRenderer(
        key_order=["timestamp", "level", "event", "request_id"], drop_missing=True
    )


# What every line gets: the request id (and whatever else is bound), logger, level, time.
SHARED_PROCESSORS: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def configure_structlog() -> None:
    """structlog's loggers (django-structlog's among them) hand their lines to the logging
    module, whose ``structured_formatter`` renders them like every other line."""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *SHARED_PROCESSORS,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def structured_formatter(log_format: str) -> logging.Formatter:
    """The formatter of every log line (LOGGING in cms/settings.py): structlog's and the
    logging module's alike, redacted, rendered as LOG_FORMAT says."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=SHARED_PROCESSORS,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact_event,
            renderer(log_format),
        ],
    )


class _StderrLogger:
    """Where the request line goes: one write to the process's stderr as it is at that moment
    (where Django's own lines go too). structlog calls the method named as the level."""

    def msg(self, message: str) -> None:
        stream = sys.stderr
        stream.write(message + "\n")
        stream.flush()

    info = warning = error = critical = msg


@functools.cache
def _request_logger() -> Any:
    # Not through the logging module: a LogRecord, the handler's lock and structlog's
    # ProcessorFormatter cost about twice what the line itself does (README "Logs").
    return structlog.wrap_logger(
        _StderrLogger(),
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.INFO if settings.LOG_REQUESTS else logging.WARNING
        ),
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer(settings.LOG_FORMAT),
        ],
    ).bind(logger=REQUEST_LOGGER)


def _who(request: HttpRequest) -> dict[str, Any]:
    # The user the view authenticated (DRF writes a token's user back on the request). A
    # request whose user nobody looked at (the read endpoints and beacons never do) was
    # served as anonymous: its session is not loaded just to log it. No query either: every
    # non-staff login of this product is a partner's.
    user = request.__dict__.get("user")
    if isinstance(user, SimpleLazyObject) and user._wrapped is empty:
        user = None
    if user is None or not user.is_authenticated:
        return {"user_id": None, "user": "anonymous", "role": "anonymous"}
    role = "superuser" if user.is_superuser else "staff" if user.is_staff else "partner"
    return {"user_id": user.pk, "user": user.get_username(), "role": role}


class RequestLogMiddleware(RequestMiddleware):
    """One structured line per request, with its id, who asked, and how long it took."""

    def prepare(self, request: HttpRequest) -> None:
        upstream = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = upstream if _SANE_REQUEST_ID.fullmatch(upstream) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        request._log_started = time.perf_counter()  # type: ignore[attr-defined]
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)

    @staticmethod
    def bind_user_id(request: HttpRequest) -> None:
        # Who asked goes on the request line itself (handle_response); nothing to bind early,
        # and nothing that would read the session of a request that never looked at it.
        return None

    def handle_response(self, request: HttpRequest, response: HttpResponse) -> None:
        response[REQUEST_ID_HEADER] = getattr(request, "request_id", "")
        started = getattr(request, "_log_started", None)
        duration_ms = (
            round((time.perf_counter() - started) * 1000, 2) if started is not None else None
        )
        status = response.status_code
        log = _request_logger()
        write = log.info if status < 400 else log.warning if status < 500 else log.error
        write(
            "request",
            method=request.method,
            path=request_path(request),
            status=status,
            duration_ms=duration_ms,
            **_who(request),
        )
        if hasattr(request, "_raised_exception"):
            # django-structlog wrote request_failed (with the traceback) when the view raised;
            # its own handling of the answer tidies up after it.
            super().handle_response(request, response)
            return
        structlog.contextvars.clear_contextvars()
