"""Demo countdown: an awards entry countdown whose deadline was extended (with its history).

Loaded once: if the countdown exists it is left as it is, so running the loader again changes
nothing (and never adds a second history row).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from sponsors.countdowns import countdown_extend, countdown_snapshot, countdown_state, format_local
from sponsors.models import Countdown, DeadlinePhase

SLUG = "lantern-awards-for-marketing"
ZONE = ZoneInfo("Europe/London")


def _local_end_of_day(moment: dt.datetime) -> dt.datetime:
    """23:59:59 in London on the day of ``moment`` (never in a DST gap or fold)."""
    day = moment.astimezone(ZONE).date()
    return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=ZONE).astimezone(dt.UTC)


@transaction.atomic
def load(*, admin_password: str) -> list[str]:
    """Create the Lantern Awards countdown (extended deadline) unless it is already there."""
    now = timezone.now()
    countdown = Countdown.objects.filter(slug=SLUG).first()
    if countdown is None:
        countdown = Countdown.objects.create(
            slug=SLUG,
            title="The Lantern Awards for Marketing",
            time_zone=ZONE.key,
            closed_message="Entries are closed: the shortlist is announced soon.",
            closed_link_url="https://example.com/lantern-awards/shortlist",
            closed_link_label="See the shortlist",
        )
        DeadlinePhase.objects.create(
            countdown=countdown,
            label="Early bird",
            deadline=_local_end_of_day(now - dt.timedelta(days=21)),
        )
        deadline = DeadlinePhase.objects.create(
            countdown=countdown,
            label="Deadline",
            deadline=_local_end_of_day(now - dt.timedelta(days=1)),
        )
        DeadlinePhase.objects.create(
            countdown=countdown,
            label="Final deadline",
            deadline=_local_end_of_day(now + dt.timedelta(days=14)),
        )
        # Extended three days ago, before the original deadline passed, by the demo admin.
        staff = get_user_model().objects.filter(username="admin").first()
        countdown_extend(
            phase=deadline,
            new_deadline=_local_end_of_day(now + dt.timedelta(days=3)),
            reason="Agencies asked for more time after the bank holiday weekend.",
            by=staff,
            now=now - dt.timedelta(days=3),
        )
    countdown = Countdown.objects.prefetch_related("phases").get(pk=countdown.pk)
    state = countdown_state(countdown_snapshot(countdown), now=now)
    if state.is_open:
        shown = f"“{state.label}” until {format_local(state.deadline, ZONE)}" + (  # type: ignore[arg-type]  # open: it has one
            f" (was {format_local(state.original_deadline, ZONE)})"  # type: ignore[arg-type]  # open: it has one
            if state.extended
            else ""
        )
    else:
        shown = "closed"
    return [
        f"Countdown “{countdown.title}”: {shown}. API: /api/v1/countdowns/{countdown.slug}/ "
        f"({countdown.extensions.count()} extension(s) in its history)."
    ]
