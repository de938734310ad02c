"""Delivery reports: every grouping from the same exact counters, periods cut in the display
time zone, uncounted events apart by reason, the chart's series and the streamed CSV."""

import csv
import datetime as dt
import io
import tracemalloc
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from sponsors import reports
from sponsors.models import DeliveryCounter
from sponsors.reports import GROUPS, REASONS, ReportFilters, ReportStream, delivery_report
from tests.sponsors.factories_ads import CreativeFactory, SlotFactory
from tests.sponsors.reporting import END, START, apart, at, count, make_book

pytestmark = pytest.mark.django_db

UTC = dt.UTC
NEW_YORK = ZoneInfo("America/New_York")
Z_UTC = ZoneInfo("UTC")


@pytest.fixture
def book():
    return make_book()


def report(group_by="day", **filters):
    return delivery_report(
        start=START, end=END, group_by=group_by, filters=ReportFilters(**filters), zone=Z_UTC
    )


def uncounted(**reasons):
    counts = dict.fromkeys(REASONS, 0)
    counts.update(reasons)
    return counts


def summary(rows, *fields):
    return [(*(row[f] for f in fields), row["impressions"], row["clicks"]) for row in rows]


# -- groupings


def test_by_day_sums_the_days_with_every_uncounted_event_in_its_day(book):
    result = report("day")
    assert summary(result["rows"], "day") == [
        (dt.date(2026, 11, 1), 1300, 13),
        (dt.date(2026, 11, 2), 700, 5),
        (dt.date(2026, 11, 3), 50, 1),
    ]
    day3 = result["rows"][2]["uncounted"]["impressions"]
    assert day3 == uncounted(invalid=9, unknown=6)  # periods hold what names nothing
    assert result["totals"]["uncounted"]["impressions"] == uncounted(
        bot=60, replayed=4, expired=2, invalid=9, unknown=6
    )
    assert (result["totals"]["bot_impressions"], result["totals"]["bot_clicks"]) == (60, 1)
    assert result["totals"]["ctr"] == round(19 / 2050, 6)


@pytest.mark.parametrize(
    ("group_by", "fields", "expected"),
    [
        ("campaign", ("name",), [("Spring", 1800, 18), ("Autumn", 250, 1), ("Quiet", 0, 0)]),
        (
            "creative",
            ("name",),
            [("A", 1500, 15), ("A2", 300, 3), ("B", 250, 1), ("Bots only", 0, 0)],
        ),
        ("slot", ("slot", "name"), [("strip", "Strip", 1250, 11), ("sidebar", "Sidebar", 800, 8)]),
        (
            "sponsor",
            ("sponsor", "name"),
            [("tiktok", "TikTok", 1800, 18), ("acme", "Acme", 250, 1)],
        ),
    ],
)
def test_by_dimension_rows_are_named_and_ordered_by_id(book, group_by, fields, expected):
    assert summary(report(group_by)["rows"], *fields) == expected


def test_objects_with_only_uncounted_events_get_a_row_of_them(book):
    rows = {row["name"]: row for row in report("creative")["rows"]}
    assert rows["Bots only"]["uncounted"]["impressions"] == uncounted(bot=3, expired=2)
    assert rows["Bots only"]["bot_impressions"] == 3
    assert rows["A"]["uncounted"]["impressions"] == uncounted(bot=50, replayed=4)
    assert rows["A"]["uncounted"]["clicks"] == uncounted(bot=1)
    assert rows["A"]["campaign"] == book["a"].campaign_id


def test_events_naming_nothing_or_something_deleted_are_in_the_totals_only(book):
    for group_by in ("campaign", "creative", "slot", "sponsor", "creative_by_day"):
        result = report(group_by)
        in_rows = sum(row["uncounted"]["impressions"]["invalid"] for row in result["rows"])
        assert in_rows == 0, group_by
        assert result["totals"]["uncounted"]["impressions"]["invalid"] == 9
    # The slot of the deleted creative's event still exists: it is the strip's.
    strip = next(row for row in report("slot")["rows"] if row["slot"] == "strip")
    assert strip["uncounted"]["impressions"]["unknown"] == 6
    assert report("creative")["totals"]["uncounted"]["impressions"]["unknown"] == 6


def test_a_dimension_by_a_period_splits_each_object_by_the_period(book):
    rows = report("campaign_by_day")["rows"]
    assert summary(rows, "name", "day") == [
        ("Spring", dt.date(2026, 11, 1), 1300, 13),
        ("Spring", dt.date(2026, 11, 2), 500, 5),
        ("Autumn", dt.date(2026, 11, 2), 200, 0),
        ("Autumn", dt.date(2026, 11, 3), 50, 1),
        ("Quiet", dt.date(2026, 11, 2), 0, 0),
    ]
    assert reports.row_fields("campaign_by_day") == ["campaign", "name", "day"]


def test_every_grouping_adds_up_to_the_same_totals(book):
    expected = report("day")["totals"]
    for group_by in GROUPS:
        result = report(group_by)
        assert result["totals"] == expected, group_by
        assert sum(row["impressions"] for row in result["rows"]) == 2050, group_by
        assert sum(row["clicks"] for row in result["rows"]) == 19, group_by


def test_filters_narrow_rows_and_totals(book):
    assert report(sponsor="tiktok", slot="strip")["totals"]["impressions"] == 1000
    assert report(campaign=book["a"].campaign_id)["totals"]["impressions"] == 1800
    only_b = report("creative", creative=book["b"].pk)
    assert summary(only_b["rows"], "name") == [("B", 250, 1)]
    assert only_b["totals"]["uncounted"]["impressions"] == uncounted(bot=7)
    nothing = report(campaign=999_999)
    assert (nothing["rows"], nothing["totals"]["impressions"]) == ([], 0)


def test_unknown_grouping_is_refused():
    with pytest.raises(ValueError, match="group_by"):
        report("minute")


# -- periods in the display time zone


def hourly(creative, slot, first: dt.datetime, hours: int) -> None:
    DeliveryCounter.objects.bulk_create(
        DeliveryCounter(
            hour=first + dt.timedelta(hours=n), creative=creative, slot=slot, impressions=1
        )
        for n in range(hours)
    )


def test_weeks_run_from_mondays_local_midnight_and_hold_a_dst_change():
    creative = CreativeFactory()
    slot = SlotFactory()
    hourly(creative, slot, dt.datetime(2026, 10, 19, tzinfo=UTC), 24 * 28)
    result = delivery_report(
        start=dt.date(2026, 10, 26), end=dt.date(2026, 11, 8), group_by="week", zone=NEW_YORK
    )
    # New York leaves summer time on Sunday 1 November: that week has 169 hours.
    assert summary(result["rows"], "week") == [
        (dt.date(2026, 10, 26), 169, 0),
        (dt.date(2026, 11, 2), 168, 0),
    ]


def test_months_are_local_calendar_months():
    creative, slot = CreativeFactory(), SlotFactory()
    count(dt.datetime(2026, 11, 1, 3, tzinfo=UTC), creative, slot, 5)  # 31 Oct, 23:00 there
    count(dt.datetime(2026, 11, 1, 5, tzinfo=UTC), creative, slot, 7)  # 1 Nov, 01:00 there
    result = delivery_report(
        start=dt.date(2026, 10, 15), end=dt.date(2026, 11, 15), group_by="month", zone=NEW_YORK
    )
    assert summary(result["rows"], "month") == [
        (dt.date(2026, 10, 1), 5, 0),
        (dt.date(2026, 11, 1), 7, 0),
    ]


def test_a_range_starts_and_ends_at_local_midnight():
    creative, slot = CreativeFactory(), SlotFactory()
    count(dt.datetime(2026, 11, 2, 4, tzinfo=UTC), creative, slot, 5)  # 1 Nov, 23:00 there
    count(dt.datetime(2026, 11, 2, 5, tzinfo=UTC), creative, slot, 7)  # 2 Nov, 00:00 there
    day = dt.date(2026, 11, 2)
    result = delivery_report(start=day, end=day, group_by="hour", zone=NEW_YORK)
    assert summary(result["rows"], "hour") == [(dt.datetime(2026, 11, 2, 5, tzinfo=UTC), 7, 0)]


# -- the chart


def test_chart_fills_every_day_week_and_month_of_the_range_with_zeros(book):
    by_day = reports.chart_series(report("day"))
    assert by_day == {
        "labels": ["2026-11-01", "2026-11-02", "2026-11-03"],
        "impressions": [1300, 700, 50],
        "clicks": [13, 5, 1],
    }
    wide = {"start": dt.date(2026, 10, 20), "end": dt.date(2026, 12, 2), "zone": Z_UTC}
    weeks = reports.chart_series(delivery_report(group_by="week", **wide))
    assert weeks["labels"] == [
        "2026-W43",
        "2026-W44",
        "2026-W45",
        "2026-W46",
        "2026-W47",
        "2026-W48",
        "2026-W49",
    ]
    assert weeks["impressions"] == [0, 1300, 750, 999, 0, 0, 0]
    months = reports.chart_series(delivery_report(group_by="month", **wide))
    assert months == {
        "labels": ["2026-10", "2026-11", "2026-12"],
        "impressions": [0, 3049, 0],
        "clicks": [0, 28, 0],
    }


def test_hour_chart_has_every_hour_of_a_dst_day_labelled_in_local_time():
    creative, slot = CreativeFactory(), SlotFactory()
    count(dt.datetime(2026, 11, 1, 6, tzinfo=UTC), creative, slot, 3)  # 01:00 EST, the second
    day = dt.date(2026, 11, 1)
    chart = reports.chart_series(
        delivery_report(start=day, end=day, group_by="hour", zone=NEW_YORK)
    )
    assert len(chart["labels"]) == 25
    assert chart["labels"][:3] == ["2026-11-01 00:00", "2026-11-01 01:00", "2026-11-01 01:00"]
    assert chart["impressions"][:3] == [0, 0, 3]


def test_a_chart_is_drawn_from_a_period_report_only(book):
    with pytest.raises(ValueError, match="chart"):
        reports.chart_series(report("campaign"))
    assert reports.period_of("campaign") == "day"
    assert reports.period_of("creative_by_week") == "week"


# -- queries and streaming


def more_campaigns(n: int, slot) -> None:
    for i in range(n):
        creative = CreativeFactory(campaign__name=f"More {i}")
        count(at(2, 9), creative, slot, 10, 1)
        apart(at(2, 9), "bot", 1, creative, slot)


@pytest.mark.parametrize(
    ("group_by", "queries"), [("day", 2), ("week", 2), ("campaign", 3), ("sponsor_by_month", 3)]
)
def test_a_report_costs_the_same_queries_whatever_its_rows(
    book, group_by, queries, django_assert_num_queries
):
    # (the names of what dimension rows are about), the billable sums, the uncounted events
    with django_assert_num_queries(queries):
        few = len(report(group_by)["rows"])
    more_campaigns(20, book["strip"])
    with django_assert_num_queries(queries):
        many = report(group_by)["rows"]
    assert len(many) >= few


def test_the_merge_is_the_same_across_chunk_boundaries(book):
    more_campaigns(5, book["sidebar"])
    for group_by in ("hour", "creative", "campaign_by_day", "slot_by_hour"):
        small = ReportStream(start=START, end=END, group_by=group_by, zone=Z_UTC, chunk_size=1)
        rows = list(small)
        assert rows == report(group_by)["rows"], group_by
        assert small.totals == report(group_by)["totals"]


# -- CSV


def read_csv(**options) -> list[list[str]]:
    return list(csv.reader(io.StringIO("".join(reports.report_csv(**options)))))


@pytest.mark.parametrize("group_by", list(GROUPS))
def test_csv_has_the_rows_and_totals_of_the_report(book, group_by):
    options = {"start": START, "end": END, "group_by": group_by, "zone": NEW_YORK}
    expected = delivery_report(**options)
    header, *lines = read_csv(**options)
    fields = reports.row_fields(group_by)
    assert header == [*fields, *reports.COUNT_COLUMNS]
    *rows, totals = lines
    assert len(rows) == len(expected["rows"])

    def figures(counts):
        return [
            str(counts[column])
            for column in ("impressions", "clicks", "ctr", "bot_impressions", "bot_clicks")
        ] + [str(counts["uncounted"][e][r]) for e in ("impressions", "clicks") for r in REASONS]

    for line, row in zip(rows, expected["rows"], strict=True):
        assert line[len(fields) :] == figures(row)
        for cell, field in zip(line[: len(fields)], fields, strict=True):
            value = row[field]
            if isinstance(value, dt.datetime):
                assert dt.datetime.fromisoformat(cell) == value
                assert cell.endswith(("-05:00", "-04:00"))  # local, with the offset
            else:
                assert cell == (value.isoformat() if isinstance(value, dt.date) else str(value))
    assert totals[0] == "total"
    assert totals[1 : len(fields)] == [""] * (len(fields) - 1)
    assert totals[len(fields) :] == figures(expected["totals"])


def test_csv_never_writes_a_name_a_spreadsheet_would_run(book):
    book["a"].campaign.name = '=HYPERLINK("https://evil.example")'
    book["a"].campaign.save()
    lines = read_csv(start=START, end=END, group_by="campaign", zone=Z_UTC)
    assert lines[1][1] == '\'=HYPERLINK("https://evil.example")'


def test_csv_streams_its_header_before_reading_anything(book, django_assert_num_queries):
    lines = reports.report_csv(start=START, end=END, group_by="campaign", zone=Z_UTC)
    with django_assert_num_queries(0):
        assert next(lines).startswith("campaign,name,impressions,")
    with django_assert_num_queries(3):
        assert sum(1 for _ in lines) == 4  # three campaigns and the totals


def test_csv_response_is_a_streamed_named_attachment(book):
    response = reports.report_csv_response(
        start=START, end=END, group_by="campaign_by_day", filters=ReportFilters(sponsor="tiktok")
    )
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="delivery-by-campaign-by-day-2026-11-01-to-2026-11-03-'
        'sponsor-tiktok.csv"'
    )
    body = b"".join(response.streaming_content).decode()
    assert body.splitlines()[1].startswith(f"{book['a'].campaign_id},Spring,2026-11-01,1300,13,")


def csv_peak(rows: int) -> int:
    creative, slot = CreativeFactory(), SlotFactory()
    DeliveryCounter.objects.all().delete()
    first = dt.datetime(2025, 1, 1, tzinfo=UTC)
    hourly(creative, slot, first, rows)
    end = first.date() + dt.timedelta(days=rows // 24)
    lines = reports.report_csv(start=first.date(), end=end, group_by="hour", zone=Z_UTC)
    tracemalloc.start()
    written = sum(1 for _ in lines)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert written == rows + 2
    return peak


def test_csv_memory_does_not_grow_with_its_rows():
    csv_peak(240)  # first use: what is allocated once (query compilation, caches) is not a row's
    # Both well past one chunk (CHUNK_SIZE rows of each stream): from then on the peak is
    # the chunks', however many rows follow. Kept in memory, 18,000 more rows would add
    # some 2 MB or more.
    assert reports.CHUNK_SIZE * 3 <= 6_000
    small, large = csv_peak(6_000), csv_peak(24_000)
    assert large < small * 1.25 + 200_000


# -- the range


def test_a_range_defaults_to_the_last_30_days_and_is_bounded():
    today = dt.date(2026, 11, 27)
    assert reports.report_range(None, today) == (dt.date(2026, 10, 29), today)
    with pytest.raises(ValidationError) as after:
        reports.report_range(dt.date(2026, 11, 28), today)
    assert after.value.message_dict == {"start": ["Must not be after end."]}
    with pytest.raises(ValidationError) as long:
        reports.report_range(today - dt.timedelta(days=366), today)
    assert long.value.message_dict == {"start": ["A report covers at most 366 days."]}
    assert reports.report_range(today - dt.timedelta(days=365), today)[0] == dt.date(2025, 11, 27)


@pytest.mark.parametrize("group_by", [g for g, parts in GROUPS.items() if "hour" not in parts])
@pytest.mark.parametrize("zone", ["Europe/London", "America/New_York"])
def test_the_daily_rollups_give_the_figures_of_the_hourly_counters(settings, group_by, zone):
    settings.TIME_ZONE = zone
    make_book()
    rolled = ReportStream(start=START, end=END, group_by=group_by)
    hourly = ReportStream(start=START, end=END, group_by=group_by)
    hourly.daily = False
    assert rolled.daily
    assert list(rolled) == list(hourly)
    assert rolled.totals == hourly.totals
    assert rolled.totals["impressions"] > 0


def test_a_report_in_another_zone_than_the_rollups_reads_the_hourly_counters(settings):
    settings.TIME_ZONE = "Europe/London"
    make_book()
    stream = ReportStream(start=START, end=END, group_by="day", zone=ZoneInfo("Asia/Tokyo"))
    assert not stream.daily
    rows = list(stream)
    assert sum(row["impressions"] for row in rows) == stream.totals["impressions"] > 0
