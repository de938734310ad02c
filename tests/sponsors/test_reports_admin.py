"""The admin's delivery report page: what ad-ops see and download, and what never breaks."""

import csv
import datetime as dt
import html
import io
import json
import re

import pytest
import time_machine
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from sponsors.admin import reports as report_admin
from sponsors.reports import GROUPS, period_of
from tests.sponsors.factories import UserFactory
from tests.sponsors.factories_ads import CreativeFactory, SlotFactory
from tests.sponsors.reporting import apart, at, count, make_book

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)
PAGE = reverse("admin:sponsors_delivery_report")
CSV = reverse("admin:sponsors_delivery_report_csv")
RANGE = "start=2026-11-01&end=2026-11-03"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def adops(client):
    user = UserFactory(username="adops", is_staff=True)
    user.groups.add(Group.objects.get(name="Ad ops"))
    client.force_login(user)
    return client


@pytest.fixture
def book():
    return make_book()


def text(response) -> str:
    return response.content.decode()


def section(page: str, tag: str) -> str:
    return re.search(rf"<{tag}>(.*?)</{tag}>", page, re.S).group(1)


def figures(row_html: str) -> list[str]:
    """The counts of a table row as shown: impressions, clicks, CTR, bots, not counted."""
    cells = re.findall(r'<td class="num[^"]*">(.*?)(?:<span|</td>)', row_html, re.S)
    return [cell.strip() for cell in cells]


def page_rows(page: str) -> list[list[str]]:
    return [figures(row) for row in re.findall(r"<tr>(.*?)</tr>", section(page, "tbody"), re.S)]


def chart(page: str) -> dict:
    raw = re.search(
        r'<script id="delivery-report-chart" type="application/json">(.*?)</script>', page, re.S
    )
    return json.loads(raw.group(1))


def download(client, query: str) -> list[list[str]]:
    response = client.get(f"{CSV}?{query}")
    assert response.status_code == 200
    assert response.streaming
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def shown(counts: list[str]) -> list[str]:
    """CSV counts as the page writes them: thousands separated, CTR in percent."""
    impressions, clicks, ctr, bots, bot_clicks, *reasons = counts
    half = len(reasons) // 2
    return [
        f"{int(impressions):,}",
        f"{int(clicks):,}",
        f"{float(ctr) * 100:.2f} %",
        f"{int(bots):,}",
        f"{int(bot_clicks):,}",
        f"{sum(map(int, reasons[:half])):,}",
        f"{sum(map(int, reasons[half:])):,}",
    ]


# -- finding it, and who may


def test_ad_ops_find_the_report_in_the_sponsors_app_list(adops):
    response = adops.get(reverse("admin:app_list", args=["sponsors"]))
    assert f'href="{PAGE}"' in text(response)
    assert "Delivery report" in text(response)


def test_staff_who_may_not_view_delivery_counts_get_403_and_no_link(client):
    user = UserFactory(username="writer", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_campaign"))
    client.force_login(user)
    assert client.get(PAGE).status_code == 403
    assert client.get(CSV).status_code == 403
    assert PAGE not in text(client.get(reverse("admin:app_list", args=["sponsors"])))


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


# -- the page


def test_the_page_opens_on_the_last_30_days_by_day(adops, book):
    page = text(adops.get(PAGE))
    assert 'name="start" value="2026-10-29"' in page
    assert 'name="end" value="2026-11-27"' in page
    assert '<option value="day" selected>Day</option>' in page
    series = chart(page)
    assert len(series["labels"]) == 30
    assert (series["labels"][0], series["labels"][-1]) == ("2026-10-29", "2026-11-27")
    assert sum(series["impressions"]) == 2050 + 999
    assert "Impressions and clicks by day" in page


def test_rows_link_to_their_objects_and_the_totals_count_everything(adops, book):
    page = text(adops.get(f"{PAGE}?{RANGE}&group_by=campaign"))
    spring = book["a"].campaign
    assert (
        f'href="{reverse("admin:sponsors_campaign_change", args=[spring.pk])}">Spring</a>' in page
    )
    by_day = f"{PAGE}?start=2026-11-01&end=2026-11-03&group_by=day&campaign={spring.pk}"
    assert f'href="{by_day}"' in html.unescape(page)
    assert page_rows(page) == [
        ["1,800", "18", "1.00 %", "50", "1", "54", "1"],
        ["250", "1", "0.40 %", "7", "0", "7", "0"],
        ["0", "0", "0.00 %", "3", "0", "5", "0"],
    ]
    totals = section(page, "tfoot")
    # Tampered (9) and deleted (6) events name no campaign: in the totals only.
    assert figures(totals) == ["2,050", "19", "0.93 %", "60", "1", "81", "1"]
    assert "replayed 4 · bot 50" in page
    assert "replayed 4 · expired 2 · invalid 9 · bot 60 · unknown 6" in totals


def test_a_day_links_to_its_hours_and_a_week_to_its_days(adops, book):
    by_day = html.unescape(text(adops.get(f"{PAGE}?{RANGE}")))
    assert f"{PAGE}?start=2026-11-02&end=2026-11-02&group_by=hour" in by_day
    by_week = html.unescape(
        text(adops.get(f"{PAGE}?start=2026-11-01&end=2026-11-20&group_by=week"))
    )
    # The week of Monday 26 October, cut to the range's first day.
    assert f"{PAGE}?start=2026-11-01&end=2026-11-01&group_by=day" in by_week
    assert f"{PAGE}?start=2026-11-09&end=2026-11-15&group_by=day" in by_week


def test_other_pages_link_to_a_campaigns_report_by_day(adops, book):
    spring = book["a"].campaign
    page = text(adops.get(f"{PAGE}?campaign={spring.pk}&group_by=day"))
    assert f'<option value="{spring.pk}" selected>' in page  # the autocomplete shows it
    assert figures(section(page, "tfoot"))[:2] == ["1,800", "18"]
    assert chart(page)["impressions"][3:5] == [1300, 500]  # 1 and 2 November


@pytest.mark.parametrize("group_by", list(GROUPS))
def test_page_and_csv_show_the_same_figures_for_every_grouping(adops, book, group_by):
    query = f"{RANGE}&group_by={group_by}"
    response = adops.get(f"{PAGE}?{query}")
    assert response.status_code == 200
    page = text(response)
    header, *rows, totals = download(adops, query)
    skip = header.index("impressions")
    assert page_rows(page) == [shown(row[skip:]) for row in rows]
    assert figures(section(page, "tfoot")) == shown(totals[skip:])
    assert f'href="{CSV}?' in page
    # Every report has its chart: by its own period, or by day.
    points = {"hour": 72, "day": 3, "week": 2, "month": 1}[period_of(group_by)]
    assert len(chart(page)["labels"]) == points


def test_the_download_link_carries_the_reports_parameters(adops, book):
    page = html.unescape(text(adops.get(f"{PAGE}?{RANGE}&group_by=sponsor&slot=strip")))
    link = re.search(rf'href="({CSV}\?[^"]*)"', page).group(1)
    assert link == f"{CSV}?start=2026-11-01&end=2026-11-03&group_by=sponsor&slot=strip"
    response = adops.get(link)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "slot-strip.csv" in response["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [line[:5] for line in lines[1:]] == [
        ["tiktok", str(book["a"].campaign.sponsor_id), "TikTok", "1000", "10"],
        ["acme", str(book["b"].campaign.sponsor_id), "Acme", "250", "1"],
        ["total", "", "", "1250", "11"],
    ]


def test_a_long_report_shows_its_first_rows_and_counts_them_all(adops, book, monkeypatch):
    monkeypatch.setattr(report_admin, "PAGE_ROWS", 2)
    page = text(adops.get(f"{PAGE}?{RANGE}&group_by=creative"))
    assert len(page_rows(page)) == 2
    assert "The page shows the first 2 of 4 rows" in page
    assert figures(section(page, "tfoot"))[0] == "2,050"


# -- bad input


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("start=2026-11-05&end=2026-11-01", "start", "Must not be after end."),
        ("start=2025-01-01&end=2026-11-01", "start", "A report covers at most 366 days."),
        ("start=2026-13-01", "start", "Enter a valid date."),
        ("group_by=minute", "group_by", "Select a valid choice."),
        ("campaign=999999", "campaign", "Select a valid choice."),
        ("campaign=abc", "campaign", "Select a valid choice."),
        ("slot=nowhere", "slot", "Select a valid choice."),
    ],
)
def test_bad_input_shows_form_errors_on_the_page_and_for_the_csv(adops, query, field, message):
    for url in (PAGE, CSV):
        response = adops.get(f"{url}?{query}")
        assert response.status_code == 400
        page = text(response)
        assert "errornote" in page
        errors = re.search(rf'field-{field} errors">(.*?)</div>', page, re.S)
        assert errors and message in html.unescape(errors.group(1))
        assert 'id="delivery-report"' not in page
        if field != "group_by":  # what was asked stays chosen, defaults included
            assert '<option value="day" selected>Day</option>' in page


# -- queries


def campaigns(n: int, slot) -> None:
    for i in range(n):
        creative = CreativeFactory(campaign__name=f"More {i}")
        count(at(2, 9), creative, slot, 10, 1)
        apart(at(2, 9), "bot", 1, creative, slot)


@pytest.mark.parametrize(
    ("query", "queries"),
    [
        # session, user, user permissions, group permissions; slots and sponsors (filter
        # choices); the report: the billable sums, the uncounted events
        (RANGE, 8),
        # ... the report's names, sums, uncounted events; its chart by day: sums, uncounted
        (f"{RANGE}&group_by=campaign", 11),
        # ... the chosen campaign (checked, then shown in its autocomplete); the report
        (f"{RANGE}&group_by=day&campaign={{campaign}}", 10),
    ],
)
def test_the_page_costs_the_same_queries_however_many_campaigns(
    adops, book, django_assert_num_queries, query, queries
):
    query = query.format(campaign=book["a"].campaign_id)
    with django_assert_num_queries(queries):
        few = adops.get(f"{PAGE}?{query}")
    campaigns(25, book["strip"])
    with django_assert_num_queries(queries):
        many = adops.get(f"{PAGE}?{query}")
    assert few.status_code == many.status_code == 200
    if "group_by=campaign" in query:
        assert len(page_rows(text(many))) == len(page_rows(text(few))) + 25


def test_the_hour_the_clocks_go_back_shows_twice_with_its_zone(adops, settings):
    settings.TIME_ZONE = "Europe/London"
    creative = CreativeFactory()
    slot = SlotFactory(key="strip")
    for hour, n in ((0, 5), (1, 7)):  # 01:00 BST, then 01:00 GMT
        count(dt.datetime(2026, 10, 25, hour, tzinfo=dt.UTC), creative, slot, n)
    page = text(adops.get(f"{PAGE}?start=2026-10-25&end=2026-10-25&group_by=hour"))
    assert "2026-10-25 01:00 BST" in page
    assert "2026-10-25 01:00 GMT" in page
    assert len(chart(page)["labels"]) == 25
