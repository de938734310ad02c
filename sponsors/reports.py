"""Delivery reports: impressions and clicks from the exact daily counters, grouped for ad-ops.

Read from ``DeliveryCounter`` (what ``ads_flush`` has written; with Redis, counts reach the
database within a flush interval). Bot and crawler traffic is reported apart and never in
the billable columns. Shared by the staff API and anything else that reports delivery.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, TypedDict

from django.db.models import Q, QuerySet, Sum

from sponsors.models import DeliveryCounter

MAX_REPORT_DAYS = 366
COUNT_COLUMNS = ("impressions", "clicks", "bot_impressions", "bot_clicks")

# group_by -> what names a row in the report: its field -> the counter field it comes from.
# Rows are ordered by the first.
GROUPS = {
    "day": {"day": "day"},
    "campaign": {"campaign": "creative__campaign_id", "name": "creative__campaign__name"},
    "creative": {
        "creative": "creative_id",
        "name": "creative__name",
        "campaign": "creative__campaign_id",
    },
    "slot": {"slot": "slot__key"},
}


# Counts per column of COUNT_COLUMNS, plus "ctr" (clicks per billable impression).
Counts = dict[str, float]


class DeliveryReport(TypedDict):
    start: date
    end: date
    group_by: str
    rows: list[dict[str, Any]]  # the row's names (GROUPS[group_by]), then its Counts
    totals: Counts


@dataclass(frozen=True)
class ReportFilters:
    campaign: int | None = None
    creative: int | None = None
    slot: str | None = None  # slot key
    sponsor: str | None = None  # sponsor slug


def _counters(start: date, end: date, filters: ReportFilters) -> QuerySet[DeliveryCounter]:
    query = Q(day__gte=start, day__lte=end)
    if filters.campaign is not None:
        query &= Q(creative__campaign_id=filters.campaign)
    if filters.creative is not None:
        query &= Q(creative_id=filters.creative)
    if filters.slot is not None:
        query &= Q(slot__key=filters.slot)
    if filters.sponsor is not None:
        query &= Q(creative__campaign__sponsor__slug=filters.sponsor)
    return DeliveryCounter.objects.filter(query)


def _with_ctr(counts: Counts) -> Counts:
    impressions = counts["impressions"]
    counts["ctr"] = round(counts["clicks"] / impressions, 6) if impressions else 0.0
    return counts


def delivery_report(
    *, start: date, end: date, group_by: str = "day", filters: ReportFilters | None = None
) -> DeliveryReport:
    """Billable and bot impressions and clicks from ``start`` to ``end`` (UTC days,
    inclusive), one row per ``group_by`` value (see ``GROUPS``), plus the totals.

    Rows with nothing counted do not appear. One query for the rows, one for the totals.
    """
    if group_by not in GROUPS:
        raise ValueError(f"group_by must be one of {', '.join(GROUPS)}")
    counters = _counters(start, end, filters or ReportFilters())
    sums = {column: Sum(column) for column in COUNT_COLUMNS}
    names = GROUPS[group_by]
    fields = list(names.values())
    rows = counters.values(*fields).annotate(**sums).order_by(fields[0])
    out_rows: list[dict[str, Any]] = []
    for row in rows:
        counts = {column: row[column] or 0 for column in COUNT_COLUMNS}
        key = {name: row[field] for name, field in names.items()}
        out_rows.append({**key, **_with_ctr(counts)})
    totals = counters.aggregate(**sums)
    return {
        "start": start,
        "end": end,
        "group_by": group_by,
        "rows": out_rows,
        "totals": _with_ctr({column: totals[column] or 0 for column in COUNT_COLUMNS}),
    }
