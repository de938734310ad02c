"""A sponsor's own report at /partners/report/: its campaigns' billable impressions, clicks
and CTR by day (page, chart, CSV) and the reads of its sponsored articles, and nothing of
any other sponsor's."""

import csv
import datetime as dt
import io
import json
import re
from html import unescape
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.management import call_command
from django.http import HttpRequest
from django.test import Client

from sponsors import partner_reports
from sponsors.counters import hour_of, upsert_apart, upsert_delivery
from sponsors.models import ArticleReadCounter, Event, Reason, Sponsor
from sponsors.reports import ReportFilters, delivery_report
from tests.cms.factories import ArticleFactory, TopicFactory
from tests.sponsors.factories import PartnerFactory, SponsorFactory, SponsorshipFactory
from tests.sponsors.factories_ads import CampaignFactory, CreativeFactory, SlotFactory

pytestmark = pytest.mark.django_db

REPORT = "/partners/report/"
DELIVERY_CSV = "/partners/report/delivery.csv"
READS_CSV = "/partners/report/reads.csv"
ZONE = "America/New_York"  # days are cut at New York's midnight; its clocks went back 1 Nov
NOW = dt.datetime(2026, 11, 20, 17, 0, tzinfo=dt.UTC)  # noon in New York
DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)

# Figures of sponsor B that must never reach A's partner, in any form.
B_IMPRESSIONS, B_CLICKS, B_READS, B_BOTS = 987_654, 4_321, 55_555, 777_777
B_WORDS = ("Bravo", "Secret Launch", "Hidden creative", "classified headline")


@pytest.fixture(autouse=True)
def frozen(settings):
    settings.TIME_ZONE = ZONE
    with time_machine.travel(NOW, tick=False):
        yield


def at(day: str, time: str = "12:00") -> dt.datetime:
    """A UTC hour given as New York wall time (the start of the counted hour)."""
    local = dt.datetime.fromisoformat(f"{day}T{time}").replace(tzinfo=ZoneInfo(ZONE))
    return local.astimezone(dt.UTC)


def count(creative, hour, impressions, clicks=0):
    """Billable counts as tracking writes them: the hourly row and its daily rollup."""
    upsert_delivery({(hour_of(hour), creative.pk, creative.slots.get().pk): (impressions, clicks)})


def bots(creative, hour, n):
    """Bot impressions, counted apart as tracking does."""
    slot = creative.slots.get()
    upsert_apart({(hour_of(hour), Event.IMPRESSION, Reason.BOT, creative.pk, slot.pk, 0): n})


def read(article, hour, reads):
    return ArticleReadCounter.objects.create(hour=hour, article=article, reads=reads)


@pytest.fixture
def world():
    """Two sponsors sharing a slot, each with campaigns, creatives, counters and reads."""
    slot = SlotFactory(key="leaderboard")
    a = SponsorFactory(name="Acme Video", slug="acme-video")
    spring = CampaignFactory(
        sponsor=a, name="Acme Spring Push", starts_at=NOW - 25 * DAY, ends_at=NOW + 5 * DAY
    )
    autumn = CampaignFactory(
        sponsor=a, name="Acme Autumn Push", starts_at=NOW - 5 * DAY, ends_at=NOW + 5 * DAY
    )
    spring_1 = CreativeFactory(campaign=spring, name="Spring banner", slots=[slot])
    spring_2 = CreativeFactory(campaign=spring, name="Spring strip", slots=[slot])
    autumn_1 = CreativeFactory(campaign=autumn, name="Autumn banner", slots=[slot])
    # 18 Nov: two creatives of one campaign add up; 19 Nov 23:30 New York is 20 Nov in UTC.
    count(spring_1, at("2026-11-18", "09:00"), 1_000, 30)
    count(spring_2, at("2026-11-18", "15:00"), 200, 6)
    count(spring_1, at("2026-11-19", "23:00"), 500, 5)
    count(autumn_1, at("2026-11-19", "10:00"), 300, 9)
    # 1 Nov had 25 hours in New York: 00:00 EDT (04:00 UTC) to 23:59 EST (04:59 UTC, 2 Nov).
    count(spring_1, dt.datetime(2026, 11, 1, 4, tzinfo=dt.UTC), 40, 1)
    count(spring_1, dt.datetime(2026, 11, 2, 4, tzinfo=dt.UTC), 60, 2)
    count(spring_1, dt.datetime(2026, 11, 1, 3, tzinfo=dt.UTC), 7)  # 31 Oct, 23:00 EDT
    # Not billable: never shown to the partner.
    bots(spring_1, at("2026-11-18"), 424_242)
    topic = TopicFactory(name="Video")
    a_article = ArticleFactory(headline="Acme on sound-on video", topics=[topic])
    SponsorshipFactory(sponsor=a, article=a_article, starts_at=at("2026-11-10", "00:00"))
    read(a_article, at("2026-11-09", "22:00"), 90_001)  # before the sponsorship: not A's
    read(a_article, at("2026-11-10", "00:00"), 11)
    read(a_article, at("2026-11-19", "14:00"), 13)

    b = SponsorFactory(name="Bravo Cola", slug="bravo-cola")
    launch = CampaignFactory(
        sponsor=b, name="Bravo Secret Launch", starts_at=NOW - 10 * DAY, ends_at=NOW + 5 * DAY
    )
    hidden = CreativeFactory(campaign=launch, name="Hidden creative", slots=[slot])
    count(hidden, at("2026-11-18", "09:00"), B_IMPRESSIONS, B_CLICKS)
    bots(hidden, at("2026-11-18"), B_BOTS)
    b_article = ArticleFactory(headline="The classified headline")
    SponsorshipFactory(sponsor=b, article=b_article)
    read(b_article, at("2026-11-18"), B_READS)
    # B sponsors the topic of A's article: that is B's section, not a read of A's content,
    # and not B's article either.
    SponsorshipFactory(
        sponsor=b, article=None, topic=topic, starts_at=NOW - 30 * DAY, ends_at=NOW + DAY
    )
    return {
        "a": a,
        "b": b,
        "spring": spring,
        "autumn": autumn,
        "launch": launch,
        "a_article": a_article,
        "b_article": b_article,
    }


@pytest.fixture
def partner_a(client, world):
    partner = PartnerFactory(sponsor=world["a"])
    client.force_login(partner.user)
    return partner


def page_text(response) -> str:
    return unescape(response.content.decode())


def chart_data(response) -> dict:
    found = re.search(
        r'<script id="partner-delivery-chart" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    assert found, "the page has no chart data"
    return json.loads(found.group(1))


def csv_rows(response) -> list[dict]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment; filename=")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def table_rows(html: str, heading: str) -> dict[str, list[str]]:
    """The first table after ``heading``: first cell -> the other cells (tags stripped)."""
    section = html.split(heading, 1)[1].split("</table>", 1)[0]
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", section, re.S):
        cells = [
            " ".join(re.sub(r"<[^>]+>", " ", cell).split())
            for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)
        ]
        rows[cells[0]] = cells[1:]
    return rows


def assert_nothing_of_b(text: str, world) -> None:
    for word in B_WORDS:
        assert word not in text
    for number in (B_IMPRESSIONS, B_CLICKS, B_READS, B_BOTS):
        assert str(number) not in text and f"{number:,}" not in text
    assert f'campaign={world["launch"].pk}"' not in text
    assert f'value="{world["launch"].pk}"' not in text


# --- what the partner sees ------------------------------------------------------------------


def test_partner_sees_its_campaigns_per_campaign_and_in_total_for_the_last_30_days(
    client, partner_a
):
    response = client.get(REPORT)
    assert response.status_code == 200
    html = page_text(response)
    assert "Acme Video: your report" in html
    # Default: the last 30 New York days, today included.
    assert 'name="start" value="2026-10-22"' in html and 'name="end" value="2026-11-20"' in html
    assert "22 Oct 2026 – 20 Nov 2026: 30 days, cut at midnight America/New_York time" in html
    by_campaign = table_rows(html, "<h3>By campaign</h3>")
    spring = next(v for k, v in by_campaign.items() if k.startswith("Acme Spring Push"))
    autumn = next(v for k, v in by_campaign.items() if k.startswith("Acme Autumn Push"))
    assert spring == ["1,807", "44", "2.43%"]  # 1,000 + 200 + 500 + 40 + 60 + 7; 30 + 6 + 5 + 1 + 2
    assert autumn == ["300", "9", "3.00%"]
    assert by_campaign["Total"] == ["2,107", "53", "2.52%"]
    assert "Live" in next(k for k in by_campaign if k.startswith("Acme Spring Push"))


def test_days_are_cut_at_midnight_in_the_display_time_zone(client, partner_a):
    html = page_text(client.get(REPORT))
    by_day = table_rows(html, "<h3>By day, all campaigns</h3>")
    assert len(by_day) == 31  # the header and 30 days
    assert by_day["Wed 18 Nov 2026"] == ["1,200", "36", "3.00%"]
    # 23:00 on 19 Nov in New York is 04:00 on 20 Nov in UTC: it belongs to the 19th.
    assert by_day["Thu 19 Nov 2026"] == ["800", "14", "1.75%"]
    assert by_day["Fri 20 Nov 2026"] == ["0", "0", "0.00%"]
    # 1 Nov had 25 hours (the clocks went back): both its first and its last hour count.
    assert by_day["Sun 1 Nov 2026"] == ["100", "3", "3.00%"]
    assert by_day["Sat 31 Oct 2026"] == ["7", "0", "0.00%"]


def test_each_campaign_has_its_figures_by_day(client, partner_a):
    html = page_text(client.get(REPORT))
    details = html.split("<h3>By day, per campaign</h3>", 1)[1]
    autumn = table_rows(details.split("Acme Autumn Push", 1)[1], "<table")
    assert autumn["Thu 19 Nov 2026"] == ["300", "9", "3.00%"]
    assert autumn["Wed 18 Nov 2026"] == ["0", "0", "0.00%"]


def test_chart_draws_the_total_of_every_day(client, partner_a):
    response = client.get(REPORT)
    data = chart_data(response)
    assert set(data) == {"labels", "impressions", "clicks"}
    assert data["labels"][0] == "2026-10-22" and data["labels"][-1] == "2026-11-20"
    pairs = zip(data["impressions"], data["clicks"], strict=True)
    days = dict(zip(data["labels"], pairs, strict=True))
    assert days["2026-11-18"] == (1_200, 36)
    assert days["2026-11-19"] == (800, 14)
    assert days["2026-11-01"] == (100, 3)
    assert sum(data["impressions"]) == 2_107
    html = response.content.decode()
    assert "sponsors/vendor/chartjs/chart.umd.min.js" in html
    assert "sponsors/admin/delivery-chart.js" in html


def test_csv_has_the_page_figures_by_day_and_campaign(client, partner_a):
    response = client.get(DELIVERY_CSV, {"start": "2026-11-17", "end": "2026-11-19"})
    rows = csv_rows(response)
    assert response["Content-Disposition"] == (
        'attachment; filename="acme-video-delivery-2026-11-17-2026-11-19.csv"'
    )
    assert [(r["day"], r["campaign"], r["impressions"], r["clicks"], r["ctr"]) for r in rows] == [
        # The most recently started campaign first, as on the page.
        ("2026-11-17", "Acme Autumn Push", "0", "0", "0.000000"),
        ("2026-11-18", "Acme Autumn Push", "0", "0", "0.000000"),
        ("2026-11-19", "Acme Autumn Push", "300", "9", "0.030000"),
        ("2026-11-17", "Acme Spring Push", "0", "0", "0.000000"),
        ("2026-11-18", "Acme Spring Push", "1200", "36", "0.030000"),
        ("2026-11-19", "Acme Spring Push", "500", "5", "0.010000"),
    ]
    page = client.get(REPORT, {"start": "2026-11-17", "end": "2026-11-19"})
    assert "delivery.csv?start=2026-11-17&end=2026-11-19" in page_text(page)


def test_one_campaign_chosen_shows_only_that_campaign(client, partner_a, world):
    chosen = {"campaign": world["autumn"].pk}
    response = client.get(REPORT, chosen)
    html = page_text(response)
    assert "Campaign: Acme Autumn Push" in html
    by_campaign = table_rows(html, "<h3>By campaign</h3>")
    assert [name.split(" Live")[0] for name in by_campaign] == ["Campaign", "Acme Autumn Push"]
    assert "1,200" not in html and "campaign-days" not in html
    assert sum(chart_data(response)["impressions"]) == 300
    rows = csv_rows(client.get(DELIVERY_CSV, chosen))
    assert {r["campaign"] for r in rows} == {"Acme Autumn Push"}
    assert sum(int(r["impressions"]) for r in rows) == 300
    assert f"campaign={world['autumn'].pk}" in html  # its CSV link keeps the choice


def test_the_totals_are_those_of_the_staff_delivery_report(world):
    """The partner reads the same numbers as ad-ops' report filtered by the sponsor."""
    start, end = dt.date(2026, 10, 22), dt.date(2026, 11, 20)
    delivery = partner_reports.campaign_delivery(sponsor=world["a"], start=start, end=end)
    staff = delivery_report(
        start=start, end=end, group_by="campaign", filters=ReportFilters(sponsor="acme-video")
    )
    assert {r["name"]: (r["impressions"], r["clicks"]) for r in staff["rows"]} == {
        item.campaign.name: (item.totals.impressions, item.totals.clicks)
        for item in delivery.campaigns
    }
    assert (delivery.totals.impressions, delivery.totals.clicks) == (
        staff["totals"]["impressions"],
        staff["totals"]["clicks"],
    )
    assert sum(d.impressions for d in delivery.days) == delivery.totals.impressions


def test_partner_sees_the_reads_of_its_sponsored_articles_while_sponsored(client, partner_a):
    html = page_text(client.get(REPORT))
    articles = table_rows(html, "<h3>By article</h3>")
    assert list(articles) == ["Article", "Acme on sound-on video published 20 Nov 2026"]
    assert articles["Acme on sound-on video published 20 Nov 2026"] == ["24"]  # 11 + 13
    by_day = table_rows(html.split("<h3>By article</h3>", 1)[1], "<h3>By day</h3>")
    assert by_day["Tue 10 Nov 2026"] == ["11"] and by_day["Thu 19 Nov 2026"] == ["13"]
    assert by_day["Mon 9 Nov 2026"] == ["0"]  # read before the sponsorship began
    assert "90,001" not in html
    rows = csv_rows(client.get(READS_CSV, {"start": "2026-11-09", "end": "2026-11-10"}))
    assert rows == [
        {"day": "2026-11-09", "article": "Acme on sound-on video", "reads": "0"},
        {"day": "2026-11-10", "article": "Acme on sound-on video", "reads": "11"},
    ]


def test_reads_stop_with_the_sponsorship(world):
    sponsorship = world["a_article"].sponsorships.get()
    sponsorship.ends_at = at("2026-11-15", "00:00")
    sponsorship.save()
    reads = partner_reports.article_reads(
        sponsor=world["a"], start=dt.date(2026, 11, 1), end=dt.date(2026, 11, 20)
    )
    assert reads.total == 11
    assert [a.headline for a in reads.articles] == ["Acme on sound-on video"]
    # An article whose sponsorship ended before the range is not listed at all.
    later = partner_reports.article_reads(
        sponsor=world["a"], start=dt.date(2026, 11, 16), end=dt.date(2026, 11, 20)
    )
    assert later.articles == [] and later.total == 0


def test_bots_and_other_uncounted_events_are_not_shown(client, partner_a):
    html = page_text(client.get(REPORT))
    assert "424,242" not in html and "424242" not in html
    for label in ("Bot or crawler", "Replayed", "Uncounted", "uncounted"):
        assert label not in html


# --- nothing of other sponsors --------------------------------------------------------------


def test_partner_of_a_sees_nothing_of_b_in_page_chart_and_csv(client, partner_a, world):
    page = client.get(REPORT)
    assert_nothing_of_b(page_text(page), world)
    data = chart_data(page)
    assert B_IMPRESSIONS not in data["impressions"] and B_CLICKS not in data["clicks"]
    assert max(data["impressions"]) < B_IMPRESSIONS
    assert_nothing_of_b(client.get(DELIVERY_CSV).content.decode(), world)
    assert_nothing_of_b(client.get(READS_CSV).content.decode(), world)
    # The campaign list offers A's campaigns only.
    options = re.findall(r'<option value="(\d*)"', page.content.decode())
    assert sorted(options) == sorted(["", str(world["spring"].pk), str(world["autumn"].pk)])


def test_partner_of_b_sees_its_own_and_nothing_of_a(world):
    client = Client()
    client.force_login(PartnerFactory(sponsor=world["b"]).user)
    html = page_text(client.get(REPORT))
    assert "Bravo Secret Launch" in html and f"{B_IMPRESSIONS:,}" in html
    assert "The classified headline" in html and f"{B_READS:,}" in html
    for word in ("Acme", "Spring", "Autumn", "sound-on"):
        assert word not in html


@pytest.mark.parametrize("url", [REPORT, DELIVERY_CSV, READS_CSV])
@pytest.mark.parametrize("campaign", ["other sponsor's", "999999", "abc", "1e3", "9" * 30])
def test_a_campaign_that_is_not_the_partners_is_a_form_error(
    client, partner_a, world, url, campaign
):
    value = str(world["launch"].pk) if campaign == "other sponsor's" else campaign
    response = client.get(url, {"campaign": value})
    assert response.status_code == 400
    html = page_text(response)
    assert "Select a valid choice." in html
    assert_nothing_of_b(html, world)
    assert "partner-delivery-chart" not in html


def test_the_service_refuses_another_sponsors_campaign(world):
    with pytest.raises(ValueError):
        partner_reports.campaign_delivery(
            sponsor=world["a"],
            start=dt.date(2026, 11, 1),
            end=dt.date(2026, 11, 20),
            campaign=world["launch"],
        )


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start": "yesterday"}, "Enter a valid date."),
        ({"start": "2026-02-30"}, "Enter a valid date."),
        ({"start": "2026-11-20", "end": "2026-11-19"}, "The end date is before the start date."),
        (
            {"start": "2025-11-19", "end": "2026-11-20"},
            "Choose at most 366 days (this range has 367).",
        ),
        ({"start": "0001-01-01", "end": "0001-01-02"}, "Choose a date from 1 January 2000"),
        ({"start": "9999-12-30", "end": "9999-12-31"}, "to 21 November 2027."),
    ],
)
@pytest.mark.parametrize("url", [REPORT, DELIVERY_CSV, READS_CSV])
def test_bad_dates_are_form_errors_never_500(client, partner_a, url, params, message):
    response = client.get(url, params)
    assert response.status_code == 400
    assert message in page_text(response)
    assert response["Content-Type"].startswith("text/html")


def test_a_full_year_is_accepted(client, partner_a):
    response = client.get(REPORT, {"start": "2025-11-20", "end": "2026-11-20"})
    assert response.status_code == 200
    assert len(chart_data(response)["labels"]) == 366


# --- empty states and who may see it --------------------------------------------------------


def test_partner_with_no_campaigns_sees_an_empty_state(client, world):
    partner = PartnerFactory(sponsor=SponsorFactory(name="Newcomer"))
    client.force_login(partner.user)
    response = client.get(REPORT)
    assert response.status_code == 200
    html = page_text(response)
    assert "You have no campaigns with us yet." in html
    assert "No article carried your sponsorship between these dates." in html
    assert "partner-delivery-chart" not in html and "chart.umd.min.js" not in html
    assert_nothing_of_b(html, world)
    assert "Acme" not in html
    rows = csv_rows(client.get(DELIVERY_CSV))
    assert rows == []


def test_partner_whose_campaigns_did_not_run_in_the_dates_is_told_so(client, partner_a):
    response = client.get(REPORT, {"start": "2025-01-01", "end": "2025-01-31"})
    assert "None of your campaigns ran between these dates." in page_text(response)


def test_anonymous_visitors_are_sent_to_sign_in():
    for url in (REPORT, DELIVERY_CSV, READS_CSV):
        response = Client().get(url)
        assert response.status_code == 302
        assert response.url.startswith(f"/partners/login/?next={url}")


@pytest.mark.parametrize("kind", ["staff", "superuser", "inactive sponsor"])
def test_accounts_that_are_not_active_partners_are_denied(client, world, kind):
    if kind == "inactive sponsor":
        partner = PartnerFactory(sponsor=world["a"])
        Sponsor.objects.filter(pk=world["a"].pk).update(is_active=False)
        user = partner.user
    else:
        user = User.objects.create_user(
            kind, is_staff=True, is_superuser=kind == "superuser", password="x" * 12
        )
    client.force_login(user)
    for url in (REPORT, DELIVERY_CSV, READS_CSV):
        response = client.get(url)
        assert response.status_code == 403
        assert "Acme" not in page_text(response)
    # The same as the partner pages that were there before.
    assert client.get("/partners/").status_code == 403


def test_only_get_and_head(client, partner_a):
    assert client.post(REPORT).status_code == 405
    assert client.head(REPORT).status_code == 200


def test_the_report_is_never_cached(client, partner_a):
    assert "no-store" in client.get(REPORT)["Cache-Control"]
    assert "no-store" in client.get(DELIVERY_CSV)["Cache-Control"]


def test_partner_pages_link_to_the_report(client, partner_a):
    html = client.get("/partners/").content.decode()
    assert f'href="{REPORT}"' in html
    assert 'aria-current="page">Your report' in client.get(REPORT).content.decode()


def test_csv_cells_that_look_like_formulas_stay_text(client, partner_a, world):
    world["autumn"].name = '=HYPERLINK("http://evil.example","x")'
    world["autumn"].save()
    rows = csv_rows(client.get(DELIVERY_CSV))
    assert {r["campaign"] for r in rows} == {
        "Acme Spring Push",
        '\'=HYPERLINK("http://evil.example","x")',
    }


# --- query counts ---------------------------------------------------------------------------


def grow(world, campaigns: int, days: int) -> None:
    """More campaigns, creatives, counters and sponsored articles for sponsor A."""
    slot = SlotFactory(key="leaderboard")
    delivered, reads = {}, []
    for n in range(campaigns):
        campaign = CampaignFactory(
            sponsor=world["a"], starts_at=NOW - days * DAY, ends_at=NOW + DAY
        )
        creative = CreativeFactory(campaign=campaign, slots=[slot])
        article = ArticleFactory()
        SponsorshipFactory(sponsor=world["a"], article=article)
        for day in range(days):
            hour = NOW - day * DAY - HOUR
            delivered[(hour_of(hour), creative.pk, slot.pk)] = (100 + n, n)
            reads.append(ArticleReadCounter(hour=hour, article=article, reads=3))
    upsert_delivery(delivered)
    ArticleReadCounter.objects.bulk_create(reads)


def test_page_queries_do_not_grow_with_campaigns_articles_or_days(
    client, partner_a, world, django_assert_num_queries
):
    small = {"start": "2026-11-18", "end": "2026-11-20"}
    # session, user, partner + sponsor, the sponsor's campaigns; the staff delivery report
    # by day (its billable rows, its uncounted rows); delivery by campaign and day;
    # reads by article and day; the sponsored articles.
    with django_assert_num_queries(9):
        assert client.get(REPORT, small).status_code == 200
    grow(world, campaigns=8, days=90)
    large = {"start": "2026-08-23", "end": "2026-11-20"}
    with django_assert_num_queries(9):
        response = client.get(REPORT, large)
    assert response.status_code == 200
    html = page_text(response)
    assert html.count('<details class="campaign-days">') == 10
    assert html.count('<details class="article-days">') == 9


def test_csv_queries_do_not_grow_with_campaigns_or_days(
    client, partner_a, world, django_assert_num_queries
):
    # session, user, partner + sponsor, campaigns; the staff report (2); by campaign and day.
    with django_assert_num_queries(7):
        client.get(DELIVERY_CSV, {"start": "2026-11-18", "end": "2026-11-20"})
    # session, user, partner + sponsor, campaigns (the form's choices); reads; articles.
    with django_assert_num_queries(6):
        client.get(READS_CSV, {"start": "2026-11-18", "end": "2026-11-20"})
    grow(world, campaigns=8, days=90)
    large = {"start": "2026-08-23", "end": "2026-11-20"}
    with django_assert_num_queries(7):
        rows = csv_rows(client.get(DELIVERY_CSV, large))
    assert len(rows) == 10 * 90
    with django_assert_num_queries(6):
        rows = csv_rows(client.get(READS_CSV, large))
    assert len(rows) == 9 * 90


# --- the demo -------------------------------------------------------------------------------


def test_demo_partner_sees_its_sponsors_campaigns_and_reads_only(client):
    call_command("load_demo_data", "--admin-password", "pw", stdout=io.StringIO())
    assert client.login(request=HttpRequest(), username="partner", password="pw")
    response = client.get(REPORT)
    assert response.status_code == 200
    html = page_text(response)
    assert "Reelhouse: your report" in html
    assert "Reelhouse: sound-on stories" in html and "Reelhouse: creator week" in html
    assert sum(chart_data(response)["impressions"]) > 0
    assert "What a year of sound-on campaigns taught us about creative" in html
    for other in ("Contoso", "Fabrikam", "Lantern", "Northwind", "House:"):
        assert other not in html
