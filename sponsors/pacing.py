"""Pacing: how a campaign with an impression goal stands against its schedule.

Delivered is what the database counters hold (billable impressions written by
``ads_flush``; with Redis, within a flush interval of the live count), the same figures the
delivery reports show. Expected by now is the goal spread evenly over the campaign's dates,
whatever its own pacing setting: ad-ops judge every buy against a straight line from start
to end. Shared by the admin (campaign list and page, dashboard) and the staff API.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from django.db.models import IntegerField, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from sponsors.models import Campaign, DailyDeliveryCounter

# Within this share of the expected delivery (either way), a campaign is on track.
ON_TRACK_BAND = 0.10

NOT_STARTED = "not_started"
ON_TRACK = "on_track"
BEHIND = "behind"
AHEAD = "ahead"
GOAL_REACHED = "goal_reached"
UNDER_DELIVERED = "under_delivered"  # ended below its goal
NO_END_DATE = "no_end_date"  # open-ended: there is no schedule to pace against

STATUS_LABELS = {
    NOT_STARTED: "not started",
    ON_TRACK: "on track",
    BEHIND: "behind",
    AHEAD: "ahead",
    GOAL_REACHED: "goal reached",
    UNDER_DELIVERED: "ended under goal",
    NO_END_DATE: "no end date",
}
STATUSES = tuple(STATUS_LABELS)


@dataclass(frozen=True)
class Pacing:
    delivered: int
    goal: int
    expected: int | None  # impressions due by now on a straight line; None without an end
    percent_of_pace: float | None  # delivered / expected x 100; None before any is due
    projected: int | None  # delivery at the end at the rate so far; None when unknown
    status: str  # one of STATUSES

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def percent_of_goal(self) -> float:
        return round(self.delivered * 100 / self.goal, 1)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def pace(
    *,
    goal: int,
    delivered: int,
    starts: dt.datetime,
    ends: dt.datetime | None,
    now: dt.datetime,
) -> Pacing:
    """Where a campaign delivering toward ``goal`` stands at ``now``."""

    def result(expected, percent, projected, status) -> Pacing:
        return Pacing(delivered, goal, expected, percent, projected, status)

    if delivered >= goal:
        return result(
            goal if ends is None else _due(goal, starts, ends, now), None, None, GOAL_REACHED
        )
    if now < starts:
        return result(0, None, None, NOT_STARTED)
    if ends is None:
        return result(None, None, None, NO_END_DATE)
    expected = _due(goal, starts, ends, now)
    if now >= ends:
        percent = round(delivered * 100 / goal, 1)
        return result(goal, percent, delivered, UNDER_DELIVERED)
    elapsed = (now - starts) / (ends - starts)
    projected = round(delivered / elapsed) if elapsed > 0 else None
    if expected == 0:
        return result(0, None, projected, ON_TRACK)
    ratio = delivered / expected
    status = ON_TRACK
    if ratio < 1 - ON_TRACK_BAND:
        status = BEHIND
    elif ratio > 1 + ON_TRACK_BAND:
        status = AHEAD
    return result(expected, round(ratio * 100, 1), projected, status)


def _due(goal: int, starts: dt.datetime, ends: dt.datetime, now: dt.datetime) -> int:
    if now <= starts:
        return 0
    if now >= ends or ends <= starts:
        return goal
    return round(goal * ((now - starts) / (ends - starts)))


def with_delivered(campaigns: QuerySet[Campaign]) -> QuerySet[Campaign]:
    """The campaigns annotated with ``delivered``: their billable impressions so far (one
    subquery, so a list of any length costs one query). Summed from the daily rollups,
    which hold the same totals as the hourly rows in a 24th of the rows."""
    delivered = (
        DailyDeliveryCounter.objects.filter(creative__campaign=OuterRef("pk"))
        .order_by()
        .values("creative__campaign")
        .annotate(total=Sum("impressions"))
        .values("total")
    )
    return campaigns.annotate(
        delivered=Coalesce(Subquery(delivered, output_field=IntegerField()), 0)
    )


def campaign_pacing(campaign: Campaign, now: dt.datetime | None = None) -> Pacing | None:
    """The pacing of a campaign annotated by :func:`with_delivered`; None without a goal."""
    if campaign.impression_goal is None:
        return None
    return pace(
        goal=campaign.impression_goal,
        delivered=campaign.delivered,  # type: ignore[attr-defined]  # annotated
        starts=campaign.starts_at,
        ends=campaign.ends_at,
        now=now or timezone.now(),
    )


def pacing_by_campaign(
    campaigns: Iterable[Campaign], now: dt.datetime | None = None
) -> dict[int, Pacing]:
    """Pacing of every campaign with a goal among ``campaigns`` (annotated by
    :func:`with_delivered`), by id."""
    now = now or timezone.now()
    out = {}
    for campaign in campaigns:
        pacing = campaign_pacing(campaign, now)
        if pacing is not None:
            out[campaign.pk] = pacing
    return out


def behind_pace(now: dt.datetime | None = None) -> list[tuple[Campaign, Pacing]]:
    """Live campaigns with a goal that are behind pace, furthest behind first (one query)."""
    now = now or timezone.now()
    live = with_delivered(
        Campaign.objects.live(now).filter(impression_goal__isnull=False).select_related("sponsor")
    )
    behind = []
    for campaign in live:
        pacing = campaign_pacing(campaign, now)
        if pacing is not None and pacing.status == BEHIND:
            behind.append((campaign, pacing))
    behind.sort(key=lambda pair: pair[1].percent_of_pace or 0.0)
    return behind
