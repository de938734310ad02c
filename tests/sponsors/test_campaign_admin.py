"""The campaign in the admin: pacing in the list and on its page, its delivery totals and chart,
its creatives edited inline under the creative form's rules, slot choices with their sizes,
and the slot preview's pictures, article search and date-time picker."""

import datetime as dt
import json
import re
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.contenttypes.models import ContentType
from django.urls import NoReverseMatch, reverse

from sponsors import reports
from sponsors.admin import inventory
from sponsors.models import Creative
from tests.cms.factories import ArticleFactory, TopicFactory
from tests.images import image_bytes, upload
from tests.sponsors.factories_ads import (
    CampaignFactory,
    CreativeFactory,
    ImageCreativeFactory,
    SlotFactory,
)
from tests.sponsors.factories_countdowns import countdown_with_phases
from tests.sponsors.reporting import apart, count

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
LEADERBOARD = "Leaderboard (leaderboard) — 728 x 90, image"


@pytest.fixture(autouse=True)
def frozen():
    # Pacing, states and the report's "today" are read from the clock.
    with time_machine.travel(NOW, tick=False):
        yield


def campaign_page(campaign) -> str:
    return f"/admin/sponsors/campaign/{campaign.pk}/change/"


def deliver(creative, slot, *, impressions, clicks=0, hour=NOW - dt.timedelta(hours=1)):
    count(hour, creative, slot, impressions, clicks)


def ten_day_campaign(name, *, goal=1000, delivered=0, slot=None):
    """Halfway through ten days: 500 of a 1,000 goal are due by now."""
    campaign = CampaignFactory(
        name=name, starts_at=NOW - 5 * DAY, ends_at=NOW + 5 * DAY, impression_goal=goal
    )
    creative = CreativeFactory(campaign=campaign, name=f"{name} strip")
    if delivered:
        deliver(creative, slot or SlotFactory(key="strip"), impressions=delivered)
    return campaign


def row_cells(html: str, name: str) -> list[str]:
    """The text of each cell of the changelist row that links to ``name``."""
    row = next(r for r in re.findall(r"<tr>.*?</tr>", html, re.S) if f">{name}</a>" in r)
    cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in cells]


class FormFields(HTMLParser):
    """The values a browser would post from the page's main form (lists for every name)."""

    def __init__(self):
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if not name or "__prefix__" in name or "disabled" in attrs:
            if tag == "option" and self._select and "selected" in attrs:
                self.data[self._select].append(attrs.get("value", ""))
            return
        if tag == "input":
            kind = attrs.get("type", "text")
            if kind in ("submit", "button", "file"):
                return
            if kind == "checkbox" and "checked" not in attrs:
                return
            default = "on" if kind == "checkbox" else ""
            self.data.setdefault(name, []).append(attrs.get("value", default))
        elif tag == "select":
            self._select = name
            self.data.setdefault(name, [])
        elif tag == "textarea":
            self._textarea = name
            self.data[name] = [""]

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        if tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea][0] += data.lstrip("\n")


def form_data(response) -> dict[str, list[str]]:
    parser = FormFields()
    parser.feed(response.content.decode())
    return parser.data


# --- pacing in the campaign list ------------------------------------------------------------


def test_campaign_list_shows_delivered_goal_expected_pace_projection_and_status(admin_client):
    slot = SlotFactory(key="strip")
    ten_day_campaign("Behind buy", delivered=400, slot=slot)
    ten_day_campaign("Steady buy", delivered=500, slot=slot)
    ten_day_campaign("Fast buy", delivered=700, slot=slot)
    CampaignFactory(name="House filler", ends_at=None)
    html = admin_client.get("/admin/sponsors/campaign/").content.decode()

    # name, sponsor, tier, state, dates, delivered, goal, expected by now, % of pace,
    # projected at end, pacing, frequency cap, creatives (after the checkbox cell)
    assert row_cells(html, "Behind buy")[6:12] == [
        "400",
        "1,000",
        "500",
        "80.0 %",
        "800",
        "behind",
    ]
    assert row_cells(html, "Steady buy")[6:12] == [
        "500",
        "1,000",
        "500",
        "100.0 %",
        "1,000",
        "on track",
    ]
    assert row_cells(html, "Fast buy")[11] == "ahead"
    assert row_cells(html, "House filler")[6:12] == ["0", "—", "—", "—", "—", "no goal"]
    assert "2026-11-22 09:00 – 2026-12-02 09:00" in row_cells(html, "Behind buy")


@pytest.mark.parametrize(
    ("status", "names"),
    [
        ("behind", ["Behind buy"]),
        ("on_track", ["Steady buy"]),
        ("ahead", ["Fast buy"]),
        ("no_goal", ["House filler"]),
        ("goal_reached", []),
    ],
)
def test_campaigns_filter_by_pacing_status(admin_client, status, names):
    slot = SlotFactory(key="strip")
    ten_day_campaign("Behind buy", delivered=400, slot=slot)
    ten_day_campaign("Steady buy", delivered=500, slot=slot)
    ten_day_campaign("Fast buy", delivered=700, slot=slot)
    CampaignFactory(name="House filler", ends_at=None)
    response = admin_client.get(f"/admin/sponsors/campaign/?pacing_status={status}")
    assert [c.name for c in response.context["cl"].result_list] == names


@pytest.mark.parametrize("campaigns", [1, 12])
@pytest.mark.parametrize(("query", "queries"), [("", 8), ("?pacing_status=behind", 9)])
def test_campaign_list_query_count_does_not_grow_with_campaigns(
    admin_client, django_assert_num_queries, campaigns, query, queries
):
    slot = SlotFactory(key="strip")
    for i in range(campaigns):
        ten_day_campaign(f"Buy {i}", delivered=100 + i, slot=slot)
    # session, user; sponsors (filter); count (filtered), count (total); campaigns joined to
    # sponsors with delivered and creative counts annotated; date hierarchy (min/max, days);
    # with the pacing filter, the campaigns with a goal and what they delivered
    with django_assert_num_queries(queries):
        response = admin_client.get(f"/admin/sponsors/campaign/{query}")
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == campaigns


# --- the campaign page: pacing, delivery totals and chart -----------------------------------


def test_campaign_page_shows_pacing_totals_bots_apart_and_a_chart_by_day(admin_client):
    slot = SlotFactory(key="strip")
    campaign = CampaignFactory(
        name="Awards push", starts_at=NOW - 2 * DAY, ends_at=NOW + 2 * DAY, impression_goal=1000
    )
    creative = CreativeFactory(campaign=campaign)
    deliver(creative, slot, impressions=300, clicks=6, hour=NOW - 2 * DAY + dt.timedelta(hours=2))
    deliver(creative, slot, impressions=100, clicks=3, hour=NOW - dt.timedelta(hours=2))
    for event, reason, n in (
        ("impression", "bot", 40),
        ("click", "bot", 2),
        ("click", "replayed", 5),
    ):
        apart(NOW - dt.timedelta(hours=2), reason, n, creative, slot, event=event)
    other = CreativeFactory(name="Another campaign's strip")  # not in this report
    deliver(other, slot, impressions=999, clicks=99)

    response = admin_client.get(campaign_page(campaign))
    html = response.content.decode()
    # Two days of four: 500 due, 400 delivered.
    pacing_row = re.search(r'<table class="pacing">.*?</table>', html, re.S).group(0)
    assert [
        re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td>(.*?)</td>", pacing_row)
    ] == [
        "400",
        "1,000",
        "500",
        "80.0 %",
        "800",
        "behind",
    ]
    totals = re.search(r'<table class="totals">.*?</table>', html, re.S).group(0)
    assert "Delivery from 2026-11-25 to 2026-11-27 (UTC)" in totals
    assert re.findall(r"<td>(.*?)</td>", totals) == ["400", "9", "2.25 %", "40", "2", "5"]
    chart = json.loads(
        re.search(r'<script id="campaign-delivery-chart"[^>]*>(.*?)</script>', html, re.S).group(1)
    )
    assert chart == {
        "labels": ["2026-11-25", "2026-11-26", "2026-11-27"],
        "impressions": [300, 0, 100],
        "clicks": [6, 0, 3],
    }
    assert 'data-delivery-chart="campaign-delivery-chart"' in html
    assert "sponsors/vendor/chartjs/chart.umd.min.js" in html


def test_a_campaign_without_a_goal_says_so_and_one_not_started_has_no_chart(admin_client):
    house = CampaignFactory(name="House", ends_at=None)
    html = admin_client.get(campaign_page(house)).content.decode()
    assert "No impression goal, so no pacing: 0 impressions delivered so far." in html
    assert 'data-delivery-chart="campaign-delivery-chart"' in html

    later = CampaignFactory(name="Later", starts_at=NOW + 3 * DAY, ends_at=NOW + 9 * DAY)
    html = admin_client.get(campaign_page(later)).content.decode()
    assert "Not started yet: nothing delivered." in html
    assert "data-delivery-chart" not in html
    assert "chart.umd.min.js" not in html


def test_the_add_page_has_no_delivery_panel(admin_client):
    html = admin_client.get("/admin/sponsors/campaign/add/").content.decode()
    assert "Pacing and delivery" not in html


LONDON = ZoneInfo("Europe/London")


@pytest.mark.parametrize(
    ("starts", "ends", "days"),
    [
        # Live: from its first day to today, in the display zone.
        (NOW - 3 * DAY, NOW + 3 * DAY, (dt.date(2026, 11, 24), dt.date(2026, 11, 27))),
        # Ended at midnight: its last day is the day before.
        (
            dt.datetime(2026, 11, 1, tzinfo=LONDON),
            dt.datetime(2026, 11, 11, tzinfo=LONDON),
            (dt.date(2026, 11, 1), dt.date(2026, 11, 10)),
        ),
        # A second after midnight: that day too.
        (
            dt.datetime(2026, 11, 1, tzinfo=LONDON),
            dt.datetime(2026, 11, 11, 0, 0, 1, tzinfo=LONDON),
            (dt.date(2026, 11, 1), dt.date(2026, 11, 11)),
        ),
        # Open-ended for longer than a report may cover: the last 30 days.
        (NOW - 800 * DAY, None, (dt.date(2026, 10, 29), dt.date(2026, 11, 27))),
        # Exactly as long as a report may be: all of it.
        (NOW - 365 * DAY, None, (dt.date(2025, 11, 27), dt.date(2026, 11, 27))),
        # Not started.
        (NOW + DAY, NOW + 9 * DAY, None),
    ],
)
def test_the_campaign_page_reports_its_days_to_date(starts, ends, days):
    campaign = CampaignFactory.build(starts_at=starts, ends_at=ends)
    assert reports.campaign_days(campaign=campaign, now=NOW, zone=LONDON) == days


def test_full_report_link_goes_to_the_report_by_day_for_the_campaign(admin_client, monkeypatch):
    campaign = ten_day_campaign("Linked")
    try:
        url = reverse("admin:sponsors_delivery_report")
    except NoReverseMatch:
        # Until the report page is installed, the campaign page works and links nowhere.
        assert "Full report" not in admin_client.get(campaign_page(campaign)).content.decode()
        url = "/admin/sponsors/report/"
        real = inventory.reverse

        def reverse_with_report(name, *args, **kwargs):
            return url if name == "admin:sponsors_delivery_report" else real(name, *args, **kwargs)

        monkeypatch.setattr(inventory, "reverse", reverse_with_report)
    html = admin_client.get(campaign_page(campaign)).content.decode()
    assert f'<a href="{url}?campaign={campaign.pk}&amp;group_by=day">Full report</a>' in html


@pytest.mark.parametrize("creatives", [1, 6])
def test_campaign_page_query_count_does_not_grow_with_its_creatives(
    admin_client, django_assert_num_queries, creatives
):
    slot = SlotFactory(key="strip")
    tiktok, microsoft = TopicFactory(name="TikTok"), TopicFactory(name="Microsoft")
    countdown = countdown_with_phases(("Deadline", NOW + 3 * DAY))
    campaign = ten_day_campaign("Many", delivered=10, slot=slot)
    for i in range(creatives - 1):
        CreativeFactory(
            campaign=campaign,
            name=f"Strip {i}",
            slots=[slot],
            include=[tiktok],
            exclude=[microsoft],
            countdown=countdown,
        )
    ContentType.objects.clear_cache()  # as in a fresh process
    # session, user; the campaign; its creatives, their slots, include and exclude topics
    # (prefetched, and the selected ones labelled from them); the slot choices, once; the
    # campaign with what it delivered, and its report by day (billable rows, uncounted rows);
    # the campaign's content type; its sponsor (the selected choice)
    with django_assert_num_queries(13):
        response = admin_client.get(campaign_page(campaign))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count(f'<option value="{tiktok.pk}" selected>TikTok</option>') == creatives - 1


# --- creatives edited inline ----------------------------------------------------------------


def test_creatives_edited_on_the_campaign_page_are_served_on_the_next_decision(
    admin_client, api_client
):
    slot = SlotFactory(key="sidebar")
    campaign = CampaignFactory(name="Awards")
    CreativeFactory(campaign=campaign, name="Strip", headline="Old", slots=[slot])
    served = api_client.get("/api/v1/ads/?slots=sidebar").json()["slots"]["sidebar"]
    assert served["text"]["headline"] == "Old"

    data = form_data(admin_client.get(campaign_page(campaign)))
    assert data["creatives-0-slots"] == [str(slot.pk)]
    data["creatives-0-headline"] = ["New"]
    response = admin_client.post(campaign_page(campaign), data)
    assert response.status_code == 302, response.context["errors"]

    served = api_client.get("/api/v1/ads/?slots=sidebar").json()["slots"]["sidebar"]
    assert served["text"]["headline"] == "New"

    # Its slots are saved after the creative: the next decision serves them too.
    strip = SlotFactory(key="strip")
    data["creatives-0-slots"] = [str(strip.pk)]
    response = admin_client.post(campaign_page(campaign), data)
    assert response.status_code == 302, response.context["errors"]
    served = api_client.get("/api/v1/ads/?slots=sidebar,strip").json()["slots"]
    assert served["sidebar"] is None
    assert served["strip"]["text"]["headline"] == "New"


def test_a_creative_added_inline_follows_the_creative_forms_rules(admin_client, api_client):
    slot = SlotFactory(
        key="leaderboard", name="Leaderboard", width=728, height=90, accepts_text=False
    )
    campaign = CampaignFactory(name="Banners")
    data = form_data(admin_client.get(campaign_page(campaign)))
    data.update(
        {
            "creatives-TOTAL_FORMS": ["1"],
            "creatives-0-name": ["Big banner"],
            "creatives-0-kind": ["image"],
            "creatives-0-is_active": ["on"],
            "creatives-0-weight": ["1"],
            "creatives-0-click_url": ["https://advertiser.example.com/"],
            "creatives-0-alt_text": ["A banner"],
            "creatives-0-when_countdown_closes": ["stop"],
            "creatives-0-slots": [str(slot.pk)],
            "creatives-0-image": upload("big.png", image_bytes("PNG", size=(970, 250))),
        }
    )
    response = admin_client.post(campaign_page(campaign), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "970 x 250 px image does not fit leaderboard (728 x 90 px)." in html
    assert not Creative.objects.exists()

    data["creatives-0-image"] = upload("ok.png", image_bytes("PNG", size=(728, 90)))
    data["creatives-0-click_url"] = ["javascript:alert(1)"]
    response = admin_client.post(campaign_page(campaign), data)
    assert response.status_code == 200
    assert "click_url" in response.context["inline_admin_formsets"][0].formset.errors[0]
    assert not Creative.objects.exists()

    data["creatives-0-image"] = upload("ok.png", image_bytes("PNG", size=(728, 90)))
    data["creatives-0-click_url"] = ["https://advertiser.example.com/"]
    response = admin_client.post(campaign_page(campaign), data)
    assert response.status_code == 302, response.context["errors"]
    creative = Creative.objects.get()
    assert (creative.name, creative.image_width, creative.image_height) == ("Big banner", 728, 90)
    assert list(creative.slots.all()) == [slot]
    served = api_client.get("/api/v1/ads/?slots=leaderboard").json()["slots"]["leaderboard"]
    assert served["creative_id"] == creative.pk

    html = admin_client.get(campaign_page(campaign)).content.decode()
    assert '<img src="/media/renditions/' in html  # its preview
    assert "728 x 90 px" in html  # its size


def test_a_creative_with_delivery_counts_cannot_be_deleted_inline(admin_client):
    slot = SlotFactory(key="strip")
    campaign = CampaignFactory(name="Counted")
    creative = CreativeFactory(campaign=campaign, name="Counted strip", slots=[slot])
    deliver(creative, slot, impressions=5)
    data = form_data(admin_client.get(campaign_page(campaign)))
    data["creatives-0-DELETE"] = ["on"]
    response = admin_client.post(campaign_page(campaign), data)
    assert response.status_code == 200
    assert "would require deleting the following protected related objects" in (
        response.content.decode()
    )
    assert Creative.objects.filter(pk=creative.pk).exists()


# --- slot choices show each slot's size -----------------------------------------------------


def test_slot_choices_show_each_slots_size_and_kinds(admin_client):
    leaderboard = SlotFactory(
        key="leaderboard", name="Leaderboard", width=728, height=90, accepts_text=False
    )
    SlotFactory(key="sitewide-strip", name="Sitewide strip", accepts_image=False)
    SlotFactory(key="article-sidebar", name="Article sidebar", width=300, height=250)
    campaign = CampaignFactory()
    creative = CreativeFactory(campaign=campaign, slots=[leaderboard])
    deliver(creative, leaderboard, impressions=1)
    labels = [
        LEADERBOARD,
        "Sitewide strip (sitewide-strip) — flexible, text",
        "Article sidebar (article-sidebar) — 300 x 250, image or text",
    ]
    for url in (
        "/admin/sponsors/creative/add/",  # the creative's form
        campaign_page(campaign),  # the inline
        "/admin/sponsors/creative/",  # the list's filter
        "/admin/sponsors/deliverycounter/",  # the list's filter
        "/admin/sponsors/slot/preview/",  # the preview's choice
    ):
        html = admin_client.get(url).content.decode()
        for label in labels:
            assert label in html, (url, label)


# --- the slot preview -----------------------------------------------------------------------


def test_slot_preview_shows_each_creatives_picture(admin_client):
    slot = SlotFactory(key="leaderboard", width=728, height=90)
    ImageCreativeFactory(name="Banner", slots=[slot], alt_text="Awards banner")
    CreativeFactory(name="Strip", slots=[slot], headline="Enter the awards", cta_label="Go")
    html = admin_client.get("/admin/sponsors/slot/preview/", {"slot": slot.pk}).content.decode()
    assert re.search(r'<img src="/media/renditions/[^"]+" alt="Awards banner"', html)
    assert "“Enter the awards” [Go]" in html


def test_slot_preview_searches_articles_and_picks_the_time_with_the_admins_widgets(admin_client):
    slot = SlotFactory(key="sidebar")
    tiktok = TopicFactory(name="TikTok")
    article = ArticleFactory(headline="What is happening at TikTok?", topics=[tiktok])
    ArticleFactory(headline="Something else")
    html = admin_client.get("/admin/sponsors/slot/preview/").content.decode()
    # Article: the admin's autocomplete; time: its date and time pickers.
    select = re.search(r'<select name="article"[^>]*>', html).group(0)
    assert "admin-autocomplete" in select
    assert 'data-ajax--url="/admin/autocomplete/"' in select
    assert 'name="at_0"' in html and 'class="vDateField"' in html
    assert 'name="at_1"' in html and 'class="vTimeField"' in html
    assert "admin/js/calendar.js" in html and "admin/js/autocomplete.js" in html

    # What the widget asks as one types.
    found = admin_client.get(
        "/admin/autocomplete/",
        {
            "term": "tiktok",
            "app_label": "sponsors",
            "model_name": "sponsorship",
            "field_name": "article",
        },
    ).json()
    assert found["results"] == [{"id": str(article.pk), "text": str(article)}]

    # What it sends: the article's topics count, at the time picked (display zone).
    response = admin_client.get(
        "/admin/sponsors/slot/preview/",
        {"slot": slot.pk, "article": article.pk, "at_0": "2026-12-03", "at_1": "14:30"},
    )
    assert response.context["used"]["topics"] == ["tiktok"]
    assert response.context["used"]["at"] == dt.datetime(2026, 12, 3, 14, 30, tzinfo=dt.UTC)
