"""The personal iCalendar feed at ``/calendar/<token>.ics``: no session, the token is the key.

Calendar apps cannot sign in, so the secret address stands for its owner; what it shows is
what the owner's permissions let them see now (``sponsors.calendar``).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_safe

from sponsors.calendar import calendar_events, calendar_feed_owner, calendar_ical, feed_window

FEED_NAME = "Sponsored content: changes"
# Calendar apps poll; a copy kept by them for a few minutes is fine, by a shared cache never
# (the address is personal).
CACHE_CONTROL = "private, max-age=300"


def _not_found() -> HttpResponse:
    # The same answer for an address that never existed and one that was revoked.
    return HttpResponse(
        "No calendar feed at this address.\n",
        status=404,
        content_type="text/plain; charset=utf-8",
        headers={"Cache-Control": "no-store"},
    )


@require_safe
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    owner = calendar_feed_owner(token)
    if owner is None:
        return _not_found()
    now = timezone.now()
    start, end = feed_window(now)
    body = calendar_ical(
        calendar_events(start=start, end=end, user=owner),
        base_url=request.build_absolute_uri("/"),
        host=request.get_host(),
        now=now,
        name=FEED_NAME,
    )
    return HttpResponse(
        body,
        content_type="text/calendar; charset=utf-8",
        headers={
            "Cache-Control": CACHE_CONTROL,
            "Content-Disposition": 'inline; filename="calendar.ics"',
            "X-Robots-Tag": "noindex",
        },
    )
