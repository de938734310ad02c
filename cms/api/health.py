"""``GET /healthz``: readiness for load balancers and monitors, 200 or 503.

Unlike the liveness check ``/api/v1/health/`` (no I/O: the process answers), this one asks
what the product needs to serve and count: the database (``SELECT 1``), the cache (a write
and a read back) and the counters (with Redis: when ``ads_flush`` last moved counts to the
database; counts waiting longer than ``ADS_FLUSH_STALE_AFTER`` seconds make it 503, as the
admin dashboard warns). Never cached; no token or session is looked at.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from rest_framework.exceptions import MethodNotAllowed

from cms.api.errors import api_error
from sponsors.dashboard import flush_status
from sponsors.reports import display_zone
from sponsors.versions import REDIS_DOWN

log = logging.getLogger(__name__)
ALLOW = "GET, HEAD"


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        log.warning("healthz: the database did not answer (%s)", type(error).__name__)
        return "unavailable"
    return "ok"


def _cache() -> str:
    key, token = "healthz:probe", secrets.token_hex(8)
    try:
        cache.set(key, token, 10)
        read = cache.get(key)
    except REDIS_DOWN as error:
        log.warning("healthz: the cache did not answer (%s)", type(error).__name__)
        return "unavailable"
    return "ok" if read == token else "unavailable"


def _counters(database: str) -> dict[str, Any]:
    if database != "ok":
        return {"status": "unknown"}  # the last flush is a database row
    now = timezone.now()
    status = flush_status(now=now, zone=display_zone())
    if status.counted_directly:
        return {"status": "ok", "mode": "database"}  # every event is written as it happens
    last = status.last_flushed_at
    return {
        "status": "unavailable" if status.redis_down else "stale" if status.stale else "ok",
        "mode": "redis",
        "redis": "unavailable" if status.redis_down else "ok",
        "last_flush_at": last.isoformat() if last is not None else None,
        "last_flush_age_seconds": round((now - last).total_seconds()) if last else None,
        "pending": status.pending,
        "stale_after_seconds": status.stale_after,
    }


@csrf_exempt  # a probe's POST is a 405, not the CSRF failure page
def healthz(request: HttpRequest) -> HttpResponse:
    """200 when the database, the cache and the counters are well, else 503 (JSON either
    way, saying which part failed)."""
    headers = {"Cache-Control": "no-store"}
    if request.method not in ("GET", "HEAD"):
        return api_error(
            MethodNotAllowed(request.method or ""), headers={**headers, "Allow": ALLOW}
        )
    database = _database()
    parts: dict[str, Any] = {
        "database": database,
        "cache": _cache(),
        "counters": _counters(database),
    }
    well = parts["database"] == "ok" and parts["cache"] == "ok"
    well = well and parts["counters"]["status"] == "ok"
    body = {"status": "ok" if well else "unavailable", **parts}
    if not well:
        headers["Retry-After"] = "10"
    return JsonResponse(body, status=200 if well else 503, headers=headers)
