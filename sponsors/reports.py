"""Delivery reports: billable impressions and clicks from the hourly counters, with every
uncounted event beside them by reason, grouped for ad-ops.

Read from ``DeliveryCounter`` and ``UncountedCounter`` (what ``ads_flush`` has written; with
Redis, counts reach the database within a flush interval). Days are the display time
zone's (``TIME_ZONE``): a report's range starts and ends at local midnight, so a day of a
DST change has 23 or 25 hours. Shared by the staff API and anything else that reports.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, TypedDict
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import TruncDate

from sponsors.models import (
    Campaign,
    Creative,
    DeliveryCounter,
    Event,
    Reason,
    Slot,
    UncountedCounter,
)

MAX_REPORT_DAYS = 366
BILLABLE = ("impressions", "clicks")
EVENTS = {Event.IMPRESSION.value: "impressions", Event.CLICK.value: "clicks"}
REASONS = tuple(Reason.values)

# group_by -> what names a row in the report: its field -> the counter field it comes from.
# Rows are ordered by the first.
GROUPS = {
    "hour": {"hour": "hour"},
    "day": {"day": "local_day"},
    "campaign": {"campaign": "creative__campaign_id", "name": "creative__campaign__name"},
    "creative": {
        "creative": "creative_id",
        "name": "creative__name",
        "campaign": "creative__campaign_id",
    },
    "slot": {"slot": "slot__key"},
}


# Billable counts, "ctr" (clicks per billable impression), the bots apart (as before
# reasons were reported) and "uncounted": {"impressions": {reason: n}, "clicks": {...}}.
Counts = dict[str, Any]


class DeliveryReport(TypedDict):
    start: dt.date
    end: dt.date
    time_zone: str
    group_by: str
    rows: list[dict[str, Any]]  # the row's names (GROUPS[group_by]), then its Counts
    totals: Counts


@dataclass(frozen=True)
class ReportFilters:
    campaign: int | None = None
    creative: int | None = None
    slot: str | None = None  # slot key
    sponsor: str | None = None  # sponsor slug


def display_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def local_range(start: dt.date, end: dt.date, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """[start's local midnight, the midnight after end), as aware datetimes."""
    first = dt.datetime.combine(start, dt.time(0), tzinfo=zone)
    after = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
    return first, after


def _creative_filter(filters: ReportFilters) -> Q:
    query = Q()
    if filters.campaign is not None:
        query &= Q(campaign_id=filters.campaign)
    if filters.creative is not None:
        query &= Q(pk=filters.creative)
    if filters.sponsor is not None:
        query &= Q(campaign__sponsor__slug=filters.sponsor)
    return query


def _counters(
    first: dt.datetime, after: dt.datetime, filters: ReportFilters
) -> QuerySet[DeliveryCounter]:
    query = Q(hour__gte=first, hour__lt=after)
    if filters.slot is not None:
        query &= Q(slot__key=filters.slot)
    creatives = _creative_filter(filters)
    if creatives:
        query &= Q(creative__in=Creative.objects.filter(creatives).values("pk"))
    return DeliveryCounter.objects.filter(query)


def _apart(
    first: dt.datetime, after: dt.datetime, filters: ReportFilters
) -> QuerySet[UncountedCounter]:
    query = Q(hour__gte=first, hour__lt=after, event__in=list(EVENTS))
    if filters.slot is not None:
        query &= Q(slot_id__in=Slot.objects.filter(key=filters.slot).values("pk"))
    creatives = _creative_filter(filters)
    if creatives:
        query &= Q(creative_id__in=Creative.objects.filter(creatives).values("pk"))
    return UncountedCounter.objects.filter(query)


def _empty() -> Counts:
    return {
        "impressions": 0,
        "clicks": 0,
        "uncounted": {name: dict.fromkeys(REASONS, 0) for name in EVENTS.values()},
    }


def _finish(counts: Counts) -> Counts:
    impressions = counts["impressions"]
    counts["ctr"] = round(counts["clicks"] / impressions, 6) if impressions else 0.0
    counts["bot_impressions"] = counts["uncounted"]["impressions"][Reason.BOT]
    counts["bot_clicks"] = counts["uncounted"]["clicks"][Reason.BOT]
    return counts


def _apart_row_keys(
    group_by: str, rows: list[dict[str, Any]]
) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    """How a row of uncounted events (by its plain ids) maps to a report row's names."""
    if group_by in ("campaign", "creative"):
        ids = {row["creative_id"] for row in rows}
        found = Creative.objects.filter(pk__in=ids).values_list(
            "pk", "name", "campaign_id", "campaign__name"
        )
        if group_by == "campaign":
            return {(pk,): (campaign, campaign_name) for pk, _, campaign, campaign_name in found}
        return {(pk,): (pk, name, campaign) for pk, name, campaign, _ in found}
    if group_by == "slot":
        slots = Slot.objects.filter(pk__in={row["slot_id"] for row in rows})
        return {(pk,): (key,) for pk, key in slots.values_list("pk", "key")}
    return {}


def delivery_report(
    *,
    start: dt.date,
    end: dt.date,
    group_by: str = "day",
    filters: ReportFilters | None = None,
    zone: ZoneInfo | None = None,
) -> DeliveryReport:
    """Billable impressions and clicks from ``start`` to ``end`` (local days, inclusive), one
    row per ``group_by`` value (see ``GROUPS``), with the uncounted events by reason beside
    them, plus the totals. Tampered tokens name nothing, so they are in the totals (and in
    hour and day rows) only.

    Rows with nothing counted or uncounted do not appear. Four queries, whatever the range
    (five for a campaign, creative or slot report: the names of what uncounted events name).
    """
    if group_by not in GROUPS:
        raise ValueError(f"group_by must be one of {', '.join(GROUPS)}")
    zone = zone or display_zone()
    filters = filters or ReportFilters()
    first, after = local_range(start, end, zone)
    names = GROUPS[group_by]
    fields = list(names.values())
    rows: dict[tuple[Any, ...], Counts] = defaultdict(_empty)
    counters = _counters(first, after, filters)
    if group_by == "day":
        counters = counters.annotate(local_day=TruncDate("hour", tzinfo=zone))
    sums = {column: Sum(column) for column in BILLABLE}
    for row in counters.values(*fields).annotate(**sums).order_by():
        counts = rows[tuple(row[field] for field in fields)]
        for column in BILLABLE:
            counts[column] += row[column] or 0

    totals = _empty()
    for row in counters.aggregate(**sums).items():
        totals[row[0]] = row[1] or 0
    apart = _apart(first, after, filters)
    apart_fields = {"hour": ["hour"], "day": ["local_day"], "slot": ["slot_id"]}.get(
        group_by, ["creative_id"]
    )
    if group_by == "day":
        apart = apart.annotate(local_day=TruncDate("hour", tzinfo=zone))
    apart_rows = list(
        apart.values(*apart_fields, "event", "reason").annotate(n=Sum("count")).order_by()
    )
    mapping = _apart_row_keys(group_by, apart_rows)
    for row in apart_rows:
        event, reason, n = EVENTS[row["event"]], row["reason"], row["n"] or 0
        totals["uncounted"][event][reason] += n
        plain = tuple(row[field] for field in apart_fields)
        key = plain if group_by in ("hour", "day") else mapping.get(plain)
        if key is not None:
            rows[key]["uncounted"][event][reason] += n

    out_rows = [
        {**dict(zip(names, key, strict=True)), **_finish(counts)}
        for key, counts in sorted(rows.items(), key=lambda item: item[0][0])
    ]
    return {
        "start": start,
        "end": end,
        "time_zone": zone.key,
        "group_by": group_by,
        "rows": out_rows,
        "totals": _finish(totals),
    }


# What a campaign's page reports when its days to date are more than one report may cover.
CAMPAIGN_RECENT_DAYS = 30


def campaign_days(
    *, campaign: Campaign, now: dt.datetime, zone: ZoneInfo
) -> tuple[dt.date, dt.date] | None:
    """The local days a campaign's page reports: from its first day to today, or to its last
    day once it has ended; the last ``CAMPAIGN_RECENT_DAYS`` of them when they are more than
    ``MAX_REPORT_DAYS`` (an open-ended house campaign). None before its first day."""
    first = campaign.starts_at.astimezone(zone).date()
    last = now.astimezone(zone).date()
    if campaign.ends_at is not None:
        # The end is the first instant it no longer serves: a campaign ending at midnight
        # ended with the day before.
        ended = (campaign.ends_at - dt.timedelta(microseconds=1)).astimezone(zone).date()
        last = min(last, ended)
    if last < first:
        return None
    if (last - first).days + 1 > MAX_REPORT_DAYS:
        first = last - dt.timedelta(days=CAMPAIGN_RECENT_DAYS - 1)
    return first, last


def campaign_report(
    *, campaign: Campaign, now: dt.datetime, zone: ZoneInfo | None = None
) -> DeliveryReport | None:
    """The campaign's delivery by local day over :func:`campaign_days` (three queries); None
    before its first day."""
    zone = zone or display_zone()
    days = campaign_days(campaign=campaign, now=now, zone=zone)
    if days is None:
        return None
    return delivery_report(
        start=days[0],
        end=days[1],
        group_by="day",
        filters=ReportFilters(campaign=campaign.pk),
        zone=zone,
    )


class ChartSeries(TypedDict):
    labels: list[str]
    impressions: list[int]
    clicks: list[int]


def chart_series(report: DeliveryReport) -> ChartSeries:
    """A day (or hour) report as the delivery chart draws it: one point per local day from
    its start to its end (per hour for an hour report), days with nothing counted at 0."""
    group_by = report["group_by"]
    rows: list[dict[str, Any] | None]  # None: a day with nothing counted
    if group_by == "day":
        by_day = {row["day"]: row for row in report["rows"]}
        days = (report["end"] - report["start"]).days + 1
        keys: list[Any] = [report["start"] + dt.timedelta(days=n) for n in range(days)]
        rows = [by_day.get(day) for day in keys]
        labels = [day.isoformat() for day in keys]
    elif group_by == "hour":
        zone = ZoneInfo(report["time_zone"])
        rows = list(report["rows"])
        labels = [row["hour"].astimezone(zone).strftime("%Y-%m-%d %H:%M") for row in report["rows"]]
    else:
        raise ValueError("a chart is drawn from a day or hour report")
    return {
        "labels": labels,
        "impressions": [row["impressions"] if row else 0 for row in rows],
        "clicks": [row["clicks"] if row else 0 for row in rows],
    }
