"""Delivery reports: billable impressions and clicks from the hourly counters, with every
uncounted event beside them by reason, grouped for ad-ops.

Read from ``DeliveryCounter`` and ``UncountedCounter`` (what ``ads_flush`` has written; with
Redis, counts reach the database within a flush interval). Days are the display time
zone's (``TIME_ZONE``): a report's range starts and ends at local midnight, so a day of a
DST change has 23 or 25 hours; weeks are ISO weeks (Monday's local midnight to the next)
and months local calendar months. The first and last week or month of a range hold only
the days inside it.

One home for every figure: the admin page, the staff API and the CSV all read the rows of
:class:`ReportStream`, which merges two queries ordered by the same key (the billable sums,
the uncounted events by reason) as they stream from the database, so a report costs the
same few queries whatever its size, and the CSV's memory does not grow with its rows.
"""

from __future__ import annotations

import csv
import datetime as dt
import heapq
import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, TypedDict
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db.models import DateField, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.expressions import Combinable
from django.db.models.functions import TruncDate, TruncMonth, TruncWeek
from django.http import StreamingHttpResponse
from django.utils import timezone

from sponsors.counters import display_zone as display_zone  # re-exported: reports' days
from sponsors.models import (
    Campaign,
    Creative,
    DailyDeliveryCounter,
    DailyUncountedCounter,
    DeliveryCounter,
    Event,
    Reason,
    Slot,
    UncountedCounter,
)

MAX_REPORT_DAYS = 366
DEFAULT_REPORT_DAYS = 30
BILLABLE = ("impressions", "clicks")
EVENTS = {Event.IMPRESSION.value: "impressions", Event.CLICK.value: "clicks"}
REASONS = tuple(Reason.values)
# Rows read from the database per round trip while a report streams.
CHUNK_SIZE = 2000

PERIODS = ("hour", "day", "week", "month")
DIMENSIONS = ("campaign", "creative", "slot", "sponsor")

# group_by -> its parts, the key its rows are ordered by: a period, a dimension, or a
# dimension split by a period ("campaign_by_day": each campaign's days, campaign by campaign).
GROUPS: dict[str, tuple[str, ...]] = {
    **{period: (period,) for period in PERIODS},
    **{dimension: (dimension,) for dimension in DIMENSIONS},
    **{
        f"{dimension}_by_{period}": (dimension, period)
        for dimension in DIMENSIONS
        for period in PERIODS
    },
}
GROUP_LABELS = {group_by: " by ".join(parts).capitalize() for group_by, parts in GROUPS.items()}

# What each part puts in a row, in order. Dimensions: their id, and what names them.
PART_FIELDS: dict[str, tuple[str, ...]] = {
    "hour": ("hour",),  # the UTC start of the hour
    "day": ("day",),  # a local date
    "week": ("week",),  # its Monday
    "month": ("month",),  # its first day
    "campaign": ("campaign", "name"),  # campaign id
    "creative": ("creative", "name", "campaign"),  # creative id, its campaign's id
    "slot": ("slot", "slot_id", "name"),  # slot key
    "sponsor": ("sponsor", "sponsor_id", "name"),  # sponsor slug
}

# Billable counts, "ctr" (clicks per billable impression), the bots apart (as before
# reasons were reported) and "uncounted": {"impressions": {reason: n}, "clicks": {...}}.
Counts = dict[str, Any]
Row = dict[str, Any]  # the row's fields (row_fields(group_by)), then its Counts
Key = tuple[Any, ...]


class DeliveryReport(TypedDict):
    start: dt.date
    end: dt.date
    time_zone: str
    group_by: str
    rows: list[Row]
    totals: Counts


@dataclass(frozen=True)
class ReportFilters:
    campaign: int | None = None
    creative: int | None = None
    slot: str | None = None  # slot key
    sponsor: str | None = None  # sponsor slug


def local_range(start: dt.date, end: dt.date, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """[start's local midnight, the midnight after end), as aware datetimes."""
    first = dt.datetime.combine(start, dt.time(0), tzinfo=zone)
    after = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
    return first, after


def report_range(
    start: dt.date | None, end: dt.date | None, zone: ZoneInfo | None = None
) -> tuple[dt.date, dt.date]:
    """The days a report asked for covers: ``end`` defaults to today (in the display time
    zone), ``start`` to the 30 days ending at ``end``. Raises a ``ValidationError`` naming
    ``start`` when it is after ``end`` or the range is longer than ``MAX_REPORT_DAYS``."""
    end = end or timezone.localdate(timezone.now(), zone or display_zone())
    start = start or end - dt.timedelta(days=DEFAULT_REPORT_DAYS - 1)
    if start > end:
        raise ValidationError(
            {"start": ValidationError("Must not be after end.", code="start_after_end")}
        )
    if (end - start).days + 1 > MAX_REPORT_DAYS:
        message = f"A report covers at most {MAX_REPORT_DAYS} days."
        raise ValidationError({"start": ValidationError(message, code="too_long")})
    return start, end


def row_fields(group_by: str) -> list[str]:
    """The fields naming a row of a ``group_by`` report, in order."""
    return [field for part in _parts(group_by) for field in PART_FIELDS[part]]


def period_of(group_by: str) -> str:
    """The period a chart of this report is drawn by: its own, or days."""
    return next((part for part in GROUPS[group_by] if part in PERIODS), "day")


def _parts(group_by: str) -> tuple[str, ...]:
    if group_by not in GROUPS:
        raise ValueError(f"group_by must be one of {', '.join(GROUPS)}")
    return GROUPS[group_by]


# -- what is read


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
    start: dt.date, end: dt.date, zone: ZoneInfo, filters: ReportFilters, *, daily: bool
) -> QuerySet[Any]:
    """The billable counters of the local days ``start`` to ``end``: the daily rollups when
    ``daily``, else the hourly rows from ``start``'s local midnight to the one after ``end``."""
    if daily:
        query = Q(day__gte=start, day__lte=end)
    else:
        first, after = local_range(start, end, zone)
        query = Q(hour__gte=first, hour__lt=after)
    if filters.slot is not None:
        query &= Q(slot__key=filters.slot)
    creatives = _creative_filter(filters)
    if creatives:
        query &= Q(creative__in=Creative.objects.filter(creatives).values("pk"))
    model = DailyDeliveryCounter if daily else DeliveryCounter
    return model.objects.filter(query)


def _apart(
    start: dt.date, end: dt.date, zone: ZoneInfo, filters: ReportFilters, *, daily: bool
) -> QuerySet[Any]:
    if daily:
        query = Q(day__gte=start, day__lte=end, event__in=list(EVENTS))
    else:
        first, after = local_range(start, end, zone)
        query = Q(hour__gte=first, hour__lt=after, event__in=list(EVENTS))
    if filters.slot is not None:
        query &= Q(slot_id__in=Slot.objects.filter(key=filters.slot).values("pk"))
    creatives = _creative_filter(filters)
    if creatives:
        query &= Q(creative_id__in=Creative.objects.filter(creatives).values("pk"))
    model = DailyUncountedCounter if daily else UncountedCounter
    return model.objects.filter(query)


def _of_creative(field: str) -> Subquery:
    # Uncounted events hold plain ids (what they named may be gone): what a creative
    # belongs to is looked up, NULL for one that no longer exists.
    return Subquery(Creative.objects.filter(pk=OuterRef("creative_id")).values(field)[:1])


def _period_expression(part: str, zone: ZoneInfo, daily: bool) -> Combinable:
    if daily:  # the rollups' days are already the display zone's
        if part == "day":
            return F("day")
        truncate = TruncWeek if part == "week" else TruncMonth
        return truncate("day", output_field=DateField())
    if part == "hour":
        return F("hour")
    if part == "day":
        return TruncDate("hour", tzinfo=zone)
    if part == "week":
        return TruncWeek("hour", tzinfo=zone, output_field=DateField())
    return TruncMonth("hour", tzinfo=zone, output_field=DateField())


def _delivered_key(part: str, zone: ZoneInfo, daily: bool) -> Combinable:
    """SQL for one part of a row's key, on the billable counters (foreign keys)."""
    if part in PERIODS:
        return _period_expression(part, zone, daily)
    return F(
        {
            "creative": "creative_id",
            "slot": "slot_id",
            "campaign": "creative__campaign_id",
            "sponsor": "creative__campaign__sponsor_id",
        }[part]
    )


def _apart_key(part: str, zone: ZoneInfo, daily: bool) -> tuple[Combinable, Subquery | None]:
    """What uncounted events (plain ids, no joins) are grouped by for one part of a row's
    key, and ordered by when that differs: by campaign or sponsor they are summed per
    creative (plain columns) and ordered by what the creative belongs to, so the rows of a
    campaign come together and are merged in Python (see ``_Names.of_creative``)."""
    if part in PERIODS:
        return _period_expression(part, zone, daily), None
    if part == "slot":
        return F("slot_id"), None
    if part == "creative":
        return F("creative_id"), None
    field = "campaign_id" if part == "campaign" else "campaign__sponsor_id"
    return F("creative_id"), _of_creative(field)


@dataclass
class _Names:
    """What names each object a dimension's rows may be about, by id, and for a campaign
    or sponsor report the campaign or sponsor of each creative. One query; it grows with the
    inventory the filters allow, never with the counters."""

    by_id: dict[int, Row]
    of_creative: dict[int, int] | None = None


def _names(part: str, filters: ReportFilters) -> _Names:
    creatives = Creative.objects.filter(_creative_filter(filters))
    if part == "creative":
        return _Names(
            {
                pk: {"creative": pk, "name": name, "campaign": campaign}
                for pk, name, campaign in creatives.values_list("pk", "name", "campaign_id")
            }
        )
    if part == "slot":
        slots = Slot.objects.all()
        if filters.slot is not None:
            slots = slots.filter(key=filters.slot)
        return _Names(
            {
                pk: {"slot": key, "slot_id": pk, "name": name}
                for pk, key, name in slots.values_list("pk", "key", "name")
            }
        )
    by_id: dict[int, Row] = {}
    of_creative: dict[int, int] = {}
    if part == "campaign":
        for pk, campaign, name in creatives.values_list("pk", "campaign_id", "campaign__name"):
            by_id[campaign] = {"campaign": campaign, "name": name}
            of_creative[pk] = campaign
        return _Names(by_id, of_creative)
    found = creatives.values_list(
        "pk", "campaign__sponsor_id", "campaign__sponsor__slug", "campaign__sponsor__name"
    )
    for pk, sponsor, slug, name in found:
        by_id[sponsor] = {"sponsor": slug, "sponsor_id": sponsor, "name": name}
        of_creative[pk] = sponsor
    return _Names(by_id, of_creative)


def _empty() -> Counts:
    return {
        "impressions": 0,
        "clicks": 0,
        "uncounted": {name: dict.fromkeys(REASONS, 0) for name in EVENTS.values()},
    }


def _add(counts: Counts, more: Counts) -> None:
    for column in BILLABLE:
        counts[column] += more[column]
    for event, reasons in more["uncounted"].items():
        for reason, n in reasons.items():
            counts["uncounted"][event][reason] += n


def _finish(counts: Counts) -> Counts:
    impressions = counts["impressions"]
    counts["ctr"] = round(counts["clicks"] / impressions, 6) if impressions else 0.0
    counts["bot_impressions"] = counts["uncounted"]["impressions"][Reason.BOT]
    counts["bot_clicks"] = counts["uncounted"]["clicks"][Reason.BOT]
    return counts


class ReportStream:
    """The rows of a delivery report, read from the database while they are iterated, in
    the order of their key (time, or the dimension's id then time); ``totals`` is complete
    once every row has been read. Iterate once.

    Three queries at most, whatever the range and the number of rows: the names of what a
    dimension's rows are about, the billable sums and the uncounted events by reason, the
    last two ordered by the same key and streamed side by side in chunks (``.iterator()``),
    merged as a sorted merge, so only a chunk of each is in memory. Rows with nothing
    counted or uncounted do not appear. Tampered tokens name nothing, so they are in the
    totals (and in period rows) only; so are events of a creative or slot deleted since.
    """

    def __init__(
        self,
        *,
        start: dt.date,
        end: dt.date,
        group_by: str = "day",
        filters: ReportFilters | None = None,
        zone: ZoneInfo | None = None,
        chunk_size: int = CHUNK_SIZE,
    ) -> None:
        self.parts = _parts(group_by)
        self.group_by = group_by
        self.start, self.end = start, end
        self.zone = zone or display_zone()
        self.filters = filters or ReportFilters()
        self.fields = row_fields(group_by)
        self.chunk_size = chunk_size
        # Whole local days of the display zone (every report but by hour) are read from the
        # daily rollups: a year is 365 rows per creative and slot instead of 8,760.
        self.daily = "hour" not in self.parts and self.zone.key == display_zone().key
        self.totals: Counts = _empty()
        self.done = False

    def __iter__(self) -> Iterator[Row]:
        dimension = next((part for part in self.parts if part in DIMENSIONS), None)
        names = _names(dimension, self.filters) if dimension else _Names({})
        where = self.parts.index(dimension) if dimension else -1
        merged = heapq.merge(self._delivered(), self._apart(names, where), key=itemgetter(0))
        for key, pieces in itertools.groupby(merged, key=itemgetter(0)):
            counts = _empty()
            for _, piece in pieces:
                _add(counts, piece)
            _add(self.totals, counts)
            row: Row = {}
            for index, (part, value) in enumerate(zip(self.parts, key, strict=True)):
                if index == where:
                    # Counted before the names were read (a creative added meanwhile):
                    # the row keeps its id; its names fill in on the next report.
                    row.update(names.by_id.get(value) or _unnamed(part, value))
                else:
                    row[part] = value
            yield {**row, **_finish(counts)}
        _finish(self.totals)
        self.done = True

    def _delivered(self) -> Iterator[tuple[Key, Counts]]:
        aliases = [f"key_{index}" for index in range(len(self.parts))]
        keys = {
            alias: _delivered_key(part, self.zone, self.daily)
            for alias, part in zip(aliases, self.parts, strict=True)
        }
        counters = _counters(
            self.start, self.end, self.zone, self.filters, daily=self.daily
        ).annotate(**keys)
        sums = counters.values(*aliases).annotate(**{c: Sum(c) for c in BILLABLE})
        for row in sums.order_by(*aliases).iterator(chunk_size=self.chunk_size):
            counts = _empty()
            for column in BILLABLE:
                counts[column] = row[column] or 0
            yield tuple(row[alias] for alias in aliases), counts

    def _apart(self, names: _Names, where: int) -> Iterator[tuple[Key, Counts]]:
        aliases = [f"key_{index}" for index in range(len(self.parts))]
        groups: dict[str, Combinable] = {}
        orders: list[Any] = []
        for alias, part in zip(aliases, self.parts, strict=True):
            group, order = _apart_key(part, self.zone, self.daily)
            groups[alias] = group
            orders.append(alias if order is None else order.asc())
        apart = _apart(self.start, self.end, self.zone, self.filters, daily=self.daily)
        apart = apart.annotate(**groups)
        sums = apart.values(*aliases, "event", "reason").annotate(n=Sum("count"))
        rows = sums.order_by(*orders).iterator(chunk_size=self.chunk_size)
        of_creative = names.of_creative

        def key_of(row: dict[str, Any]) -> Key:
            key = [row[alias] for alias in aliases]
            if of_creative is not None:  # by campaign or sponsor: what the creative is in
                key[where] = of_creative.get(key[where])
            return tuple(key)

        for key, same_key in itertools.groupby(rows, key=key_of):
            counts = _empty()
            for row in same_key:
                counts["uncounted"][EVENTS[row["event"]]][row["reason"]] += row["n"] or 0
            if where >= 0 and key[where] not in names.by_id:
                # Names nothing (tampered) or something deleted since: the totals only.
                _add(self.totals, counts)
                continue
            yield key, counts


def _unnamed(part: str, pk: int) -> Row:
    """A row's names when its object was added after they were read: its id, blanks."""
    if part == "creative":
        return {"creative": pk, "name": "", "campaign": 0}
    if part == "campaign":
        return {"campaign": pk, "name": ""}
    return {part: "", f"{part}_id": pk, "name": ""}


def delivery_report(
    *,
    start: dt.date,
    end: dt.date,
    group_by: str = "day",
    filters: ReportFilters | None = None,
    zone: ZoneInfo | None = None,
) -> DeliveryReport:
    """Billable impressions and clicks from ``start`` to ``end`` (local days, inclusive), one
    row per ``group_by`` value (see ``GROUPS`` and ``row_fields``), with the uncounted events
    by reason beside them, plus the totals: the rows of :class:`ReportStream`, in memory.

    Two queries, whatever the range (three for a campaign, creative, slot or sponsor
    report: the names of what its rows are about).
    """
    stream = ReportStream(start=start, end=end, group_by=group_by, filters=filters, zone=zone)
    rows = list(stream)
    return {
        "start": start,
        "end": end,
        "time_zone": stream.zone.key,
        "group_by": group_by,
        "rows": rows,
        "totals": stream.totals,
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


# -- the chart


class ChartSeries(TypedDict):
    labels: list[str]
    impressions: list[int]
    clicks: list[int]


def period_keys(period: str, start: dt.date, end: dt.date, zone: ZoneInfo) -> list[Any]:
    """Every key a ``period`` report from ``start`` to ``end`` can have, in order: UTC hours
    (a DST day has 23 or 25), local days, the Mondays of the weeks, the firsts of the months."""
    if period == "hour":
        first, after = local_range(start, end, zone)
        hour, stop = first.astimezone(dt.UTC), after.astimezone(dt.UTC)
        hours = []
        while hour < stop:
            hours.append(hour)
            hour += dt.timedelta(hours=1)
        return hours
    if period == "day":
        return [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]
    if period == "week":
        monday = start - dt.timedelta(days=start.weekday())
        return [monday + dt.timedelta(weeks=n) for n in range((end - monday).days // 7 + 1)]
    if period == "month":
        months, month = [], start.replace(day=1)
        while month <= end:
            months.append(month)
            month = (month + dt.timedelta(days=32)).replace(day=1)
        return months
    raise ValueError(f"period must be one of {', '.join(PERIODS)}")


def period_label(period: str, key: Any, zone: ZoneInfo) -> str:
    """How a period's key reads: local hour, day, ISO week, month."""
    if period == "hour":
        return str(key.astimezone(zone).strftime("%Y-%m-%d %H:%M"))
    if period == "week":
        year, week, _ = key.isocalendar()
        return f"{year}-W{week:02d}"
    if period == "month":
        return str(key.strftime("%Y-%m"))
    return str(key.isoformat())


def chart_series(report: DeliveryReport) -> ChartSeries:
    """An hour, day, week or month report as the delivery chart draws it: one point per
    period from its start to its end, periods with nothing counted at 0."""
    period = report["group_by"]
    if period not in PERIODS:
        raise ValueError("a chart is drawn from an hour, day, week or month report")
    zone = ZoneInfo(report["time_zone"])
    by_key = {row[period]: row for row in report["rows"]}
    keys = period_keys(period, report["start"], report["end"], zone)
    rows: list[dict[str, Any] | None] = [by_key.get(key) for key in keys]  # None: nothing
    return {
        "labels": [period_label(period, key, zone) for key in keys],
        "impressions": [row["impressions"] if row else 0 for row in rows],
        "clicks": [row["clicks"] if row else 0 for row in rows],
    }


# -- CSV

COUNT_COLUMNS = (
    "impressions",
    "clicks",
    "ctr",
    "bot_impressions",
    "bot_clicks",
    *(f"uncounted_{event}_{reason}" for event in EVENTS.values() for reason in REASONS),
)
TOTAL = "total"


class _Line:
    """A file-like ``csv.writer`` writes into, handing back the line it wrote."""

    def write(self, value: str) -> str:
        return value


# What a spreadsheet would run as a formula when a cell starts with it ("CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """``value`` for a CSV cell: text that a spreadsheet would run as a formula (a name like
    ``=HYPERLINK(...)``) gets a leading ``'`` and stays text; anything else is unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _cell(value: Any, zone: ZoneInfo) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(zone).isoformat()  # local, with its offset: DST-proof
    if isinstance(value, dt.date):
        return value.isoformat()
    return spreadsheet_safe(value)


def _count_cells(counts: Counts) -> list[Any]:
    uncounted = counts["uncounted"]
    return [
        *(counts[column] for column in COUNT_COLUMNS[:5]),
        *(uncounted[event][reason] for event in EVENTS.values() for reason in REASONS),
    ]


def report_csv(
    *,
    start: dt.date,
    end: dt.date,
    group_by: str = "day",
    filters: ReportFilters | None = None,
    zone: ZoneInfo | None = None,
) -> Iterator[str]:
    """The report as CSV lines, read from the database as they are written: a header line,
    one line per row (the rows and figures of :func:`delivery_report`), then one totals line
    whose first cell is ``total`` and whose other naming cells are empty (the page's totals
    row; tampered tokens and deleted objects are counted there only).

    Hours are written in the display time zone with their offset (``2026-10-25T01:00:00+01:00``),
    days, weeks (their Monday) and months (their first) as ISO dates; uncounted events have a
    column per event and reason (``uncounted_impressions_bot``). Memory stays flat: the
    rows stream (see :class:`ReportStream`), nothing is kept once written.
    """
    stream = ReportStream(start=start, end=end, group_by=group_by, filters=filters, zone=zone)
    writer = csv.writer(_Line())
    yield writer.writerow([*stream.fields, *COUNT_COLUMNS])
    for row in stream:
        names = [_cell(row[field], stream.zone) for field in stream.fields]
        yield writer.writerow([*names, *_count_cells(row)])
    blanks = [""] * (len(stream.fields) - 1)
    yield writer.writerow([TOTAL, *blanks, *_count_cells(stream.totals)])


def report_filename(
    *, start: dt.date, end: dt.date, group_by: str, filters: ReportFilters | None = None
) -> str:
    """``delivery-by-day-2026-11-01-to-2026-11-30[-campaign-3…].csv``."""
    named = [
        f"{name}-{value}"
        for name, value in vars(filters or ReportFilters()).items()
        if value is not None
    ]
    words = ["delivery", "by", group_by.replace("_by_", "-by-"), f"{start}-to-{end}", *named]
    return re.sub(r"[^A-Za-z0-9._-]", "", "-".join(words)) + ".csv"  # a safe header value


def report_csv_response(
    *,
    start: dt.date,
    end: dt.date,
    group_by: str = "day",
    filters: ReportFilters | None = None,
    zone: ZoneInfo | None = None,
) -> StreamingHttpResponse:
    """:func:`report_csv` as a streamed download (``text/csv; charset=utf-8``, an
    attachment named by :func:`report_filename`), for the admin and the staff API alike."""
    lines: Iterable[str] = report_csv(
        start=start, end=end, group_by=group_by, filters=filters, zone=zone
    )
    filename = report_filename(start=start, end=end, group_by=group_by, filters=filters)
    return StreamingHttpResponse(
        lines,
        content_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "private, no-store",
        },
    )
