"""The admin's home page for staff: the dashboard above the app list.

What is live in each slot and its share, campaigns starting or ending soon, campaigns behind
pace, countdowns with their time left, submissions waiting, articles going live, and when the
counters were last flushed; each line links to its object, each section shows only to those
who may see it, and the page costs the same queries with 2 or 20 of everything.
"""

import datetime as dt
import re

import pytest
import time_machine
from django.contrib.auth.models import Group, Permission, User
from django.urls import NoReverseMatch, reverse

from cms.models import Article, Submission
from sponsors import dashboard
from sponsors.counters import IMPRESSION, TrackedEvent, get_counters, uses_redis
from sponsors.dashboard import build_dashboard, format_span, is_stale
from sponsors.models import Campaign, FlushedBatch
from tests.cms.factories import ArticleFactory
from tests.sponsors.factories import SubmissionFactory
from tests.sponsors.factories_ads import CampaignFactory, CreativeFactory, SlotFactory
from tests.sponsors.factories_countdowns import countdown_with_phases
from tests.sponsors.reporting import count

pytestmark = pytest.mark.django_db
needs_redis = pytest.mark.skipif(not uses_redis(), reason="needs Redis (set REDIS_URL)")

# A Wednesday morning; New York is then on EST (UTC-5), so display times read 04:00.
NOW = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
HOME = "/admin/"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def new_york(settings):
    settings.TIME_ZONE = "America/New_York"


def staff(username: str, *, group: str | None = None, superuser: bool = False) -> User:
    user = User.objects.create_user(
        username, password="a-long-test-password", is_staff=True, is_superuser=superuser
    )
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


def home(client, user) -> str:
    client.force_login(user)
    response = client.get(HOME)
    assert response.status_code == 200
    return response.content.decode()


def text(html: str) -> str:
    """The page's words, tags removed and spaces squeezed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def section(html: str, name: str) -> str:
    """The HTML of one dashboard section (``ops-<name>-title``), up to its end."""
    start = html.index(f'id="ops-{name}-title"')
    return html[start : html.index("</section>", start)]


def report_url() -> str | None:
    try:
        return reverse("admin:sponsors_delivery_report")
    except NoReverseMatch:
        return None


def deliver(campaign: Campaign, impressions: int) -> None:
    creative = campaign.creatives.first() or CreativeFactory(campaign=campaign)
    slot = creative.slots.first() or SlotFactory()
    count(NOW.replace(minute=0) - dt.timedelta(hours=1), creative, slot, impressions)


# --- Query count ------------------------------------------------------------------------------


def populate(n: int) -> None:
    """n of everything the dashboard lists: slots with a live creative each, campaigns behind
    pace and ending this week (each with a promo strip carrying a countdown), campaigns
    starting this week, pending submissions, articles going live."""
    for i in range(n):
        slot = SlotFactory(key=f"slot-{i:02d}")
        behind = CampaignFactory(
            name=f"Behind {i:02d}",
            starts_at=NOW - 5 * DAY,
            ends_at=NOW + 3 * DAY,
            impression_goal=10_000,
        )
        # A promo strip with a countdown: the snapshot then reads countdowns and phases too.
        countdown = countdown_with_phases(
            ("Early bird", NOW + DAY), ("Deadline", NOW + (i + 2) * DAY)
        )
        CreativeFactory(campaign=behind, slots=[slot], weight=i + 1, countdown=countdown)
        deliver(behind, 100)
        CampaignFactory(name=f"Starting {i:02d}", starts_at=NOW + 2 * DAY, ends_at=NOW + 30 * DAY)
        SubmissionFactory()
        ArticleFactory(status=Article.Status.SCHEDULED, published_at=NOW + 2 * DAY)


# The page as a superuser (every section; no permission queries), from a cold process:
#   the session, the user;
#   live now: the slots (1) and the decision's snapshot, built cold (8: slots, creatives,
#     campaigns, slot links, include and exclude topics, countdowns, their phases);
#   campaigns starting (1) and ending (1) this week; behind pace (1);
#   countdowns (1) and their phases (1); pending submissions with their count (1);
#   articles going live with their count (1);
#   the last flush (1, only with Redis: without it nothing is flushed);
#   the stock index's recent actions (1).
PAGE_QUERIES = 2 + 9 + 3 + 2 + 1 + 1 + (1 if uses_redis() else 0) + 1


@pytest.mark.parametrize("n", [2, 20])
def test_the_page_costs_the_same_queries_with_2_or_20_of_everything(
    n, client, django_assert_num_queries
):
    populate(n)
    client.force_login(staff("root", superuser=True))
    with django_assert_num_queries(PAGE_QUERIES):
        response = client.get(HOME)
    html = response.content.decode()
    # Everything is there, capped at dashboard.ROWS lines per list.
    shown = min(n, dashboard.ROWS)
    assert section(html, "live").count('class="ops-slot ') == n  # every slot
    assert section(html, "behind").count("<tr>") == 1 + shown  # the header row, then lines
    assert section(html, "countdowns").count("<li>") == shown
    assert section(html, "upcoming").count("<li>") == 2 * shown  # starting, ending
    assert section(html, "submissions").count("<li>") == shown
    assert f"Submissions waiting for review ({n})" in text(html)
    assert f"Articles going live in the next 7 days ({n})" in text(html)


# --- Live now ---------------------------------------------------------------------------------


def test_each_live_creative_shows_its_share_of_the_winning_tier(client):
    slot = SlotFactory(key="leaderboard", name="Leaderboard", width=728, height=90)
    top = CampaignFactory(name="Lantern sponsorship", tier=Campaign.Tier.SPONSORSHIP)
    big = CreativeFactory(name="Big banner", campaign=top, weight=3, slots=[slot])
    small = CreativeFactory(name="Small banner", campaign=top, weight=1, slots=[slot])
    # Not live: paused, or its campaign not started; neither counts in the shares.
    CreativeFactory(name="Paused", campaign=top, weight=50, slots=[slot], is_active=False)
    later = CampaignFactory(tier=Campaign.Tier.SPONSORSHIP, starts_at=NOW + DAY)
    CreativeFactory(name="Tomorrow", campaign=later, weight=50, slots=[slot])
    # Live but outranked by the sponsorship tier.
    CreativeFactory(name="Standard", weight=5, slots=[slot])

    (now,) = build_dashboard(user=staff("root", superuser=True), now=NOW).slots
    assert now.state == "live"
    assert now.tier_label == "Sponsorship"
    assert now.size == "728 x 90"
    assert [(c.creative_name, c.percent) for c in now.creatives] == [
        ("Big banner", 75.0),
        ("Small banner", 25.0),
    ]
    assert now.outranked == 1

    html = home(client, User.objects.get(username="root"))
    page = text(html)
    assert "Leaderboard" in page and "728 x 90" in page and "Sponsorship tier" in page
    assert "75.0% Big banner" in page and "25.0% Small banner" in page
    assert "1 live creative of lower tiers waits" in page
    assert "Paused" not in page and "Tomorrow" not in page
    for url in (
        reverse("admin:sponsors_slot_change", args=[slot.pk]),
        reverse("admin:sponsors_creative_change", args=[big.pk]),
        reverse("admin:sponsors_creative_change", args=[small.pk]),
        reverse("admin:sponsors_campaign_change", args=[top.pk]),
    ):
        assert f'href="{url}"' in html
    assert "winning tier" in page  # how the share is defined, said on the page
    assert re.search(r'<abbr title="[^"]*winning tier[^"]*">Share</abbr>', html)


def test_slots_with_nothing_live_say_house_creative_empty_or_switched_off(client):
    house_campaign = CampaignFactory(name="House ads", tier=Campaign.Tier.HOUSE, ends_at=None)
    house = CreativeFactory(name="Subscribe to the newsletter", campaign=house_campaign)
    SlotFactory(key="a-house", name="With a house ad", house_creative=house)
    SlotFactory(key="b-empty", name="Nothing at all")
    ended = CampaignFactory(starts_at=NOW - 9 * DAY, ends_at=NOW - DAY)
    SlotFactory(key="c-ended", name="Only an ended campaign")
    CreativeFactory(name="Old ad", campaign=ended, slots=[SlotFactory(key="c-ended")])
    off = SlotFactory(key="d-off", name="Switched off", is_active=False)
    CreativeFactory(name="Would serve", slots=[off])

    slots = build_dashboard(user=staff("root", superuser=True), now=NOW).slots
    assert [(s.key, s.state) for s in slots] == [
        ("a-house", "house"),
        ("b-empty", "empty"),
        ("c-ended", "empty"),
        ("d-off", "off"),
    ]
    assert slots[0].house.creative_name == "Subscribe to the newsletter"

    html = home(client, User.objects.get(username="root"))
    page = text(html)
    assert "Nothing paid is live: the house creative Subscribe to the newsletter serves" in page
    assert page.count("Nothing live and no house creative: the slot stays empty.") == 2
    assert "Switched off: serves nothing." in page
    assert "Old ad" not in page
    assert f'href="{reverse("admin:sponsors_creative_change", args=[house.pk])}"' in html


def test_a_slot_lists_its_first_creatives_and_the_share_of_the_rest(client):
    slot = SlotFactory(key="sidebar")
    for i in range(dashboard.ROWS + 3):
        CreativeFactory(name=f"Ad {i:02d}", weight=1, slots=[slot])
    (now,) = build_dashboard(user=staff("root", superuser=True), now=NOW).slots
    assert len(now.creatives) == dashboard.ROWS
    assert now.more == 3
    total = dashboard.ROWS + 3
    assert now.more_percent == round(3 * 100 / total, 1)
    page = text(home(client, User.objects.get(username="root")))
    assert f"3 more live creatives , {now.more_percent}% together" in page


# --- Campaigns --------------------------------------------------------------------------------


def test_campaigns_starting_or_ending_this_week_with_dates_in_the_display_zone(client):
    sponsor_campaign = CampaignFactory(
        name="Starts Friday",
        starts_at=dt.datetime(2026, 12, 4, 14, 0, tzinfo=dt.UTC),
        ends_at=NOW + 30 * DAY,
    )
    CampaignFactory(
        name="Paused start",
        starts_at=NOW + 3 * DAY,
        ends_at=NOW + 30 * DAY,
        is_active=False,
    )
    ending = CampaignFactory(
        name="Ends Tuesday",
        starts_at=NOW - 9 * DAY,
        ends_at=dt.datetime(2026, 12, 8, 23, 0, tzinfo=dt.UTC),
    )
    CampaignFactory(name="Starts next month", starts_at=NOW + 8 * DAY, ends_at=NOW + 40 * DAY)
    CampaignFactory(name="Ended yesterday", starts_at=NOW - 9 * DAY, ends_at=NOW - DAY)

    html = home(client, staff("root", superuser=True))
    page = text(html)
    # 14:00 UTC is 09:00 in New York; 23:00 UTC on the 8th is 18:00 there.
    assert "Fri 4 Dec, 09:00 EST Starts Friday" in page
    assert "Tue 8 Dec, 18:00 EST Ends Tuesday" in page
    assert "Starts next month" not in page and "Ended yesterday" not in page
    lines = re.findall(r"<li>.*?</li>", section(html, "upcoming"), re.S)
    assert [line for line in lines if ">paused<" in line and "Paused start" in line]
    assert not [line for line in lines if ">paused<" in line and "Starts Friday" in line]
    assert f'href="{reverse("admin:sponsors_campaign_change", args=[sponsor_campaign.pk])}"' in html
    assert f'href="{reverse("admin:sponsors_campaign_change", args=[ending.pk])}"' in html
    assert "Now: Wed 2 Dec 2026, 04:00 EST" in page


def test_campaigns_behind_pace_show_percent_of_pace_and_projection(client):
    # Half-way through: 5,000 of 10,000 expected by now.
    behind = CampaignFactory(
        name="Slow burner", starts_at=NOW - 5 * DAY, ends_at=NOW + 5 * DAY, impression_goal=10_000
    )
    deliver(behind, 2_000)
    on_track = CampaignFactory(
        name="On track", starts_at=NOW - 5 * DAY, ends_at=NOW + 5 * DAY, impression_goal=10_000
    )
    deliver(on_track, 5_000)

    (row,) = build_dashboard(user=staff("root", superuser=True), now=NOW).behind.campaigns
    assert (row.name, row.delivered, row.expected, row.percent_of_pace) == (
        "Slow burner",
        2_000,
        5_000,
        40.0,
    )
    assert (row.projected, row.projected_percent_of_goal) == (4_000, 40.0)

    html = home(client, User.objects.get(username="root"))
    page = text(html)
    assert "Slow burner" in page and "On track" not in section(html, "behind")
    assert "2,000 of 10,000 5,000 40.0% 4,000 (40.0% of goal)" in page
    assert f'href="{reverse("admin:sponsors_campaign_change", args=[behind.pk])}"' in html
    # Its report, once the delivery report page exists; until then no broken link.
    url = report_url()
    if url is None:
        assert "?campaign=" not in html
        assert "Delivery reports are not available yet." in page
    else:
        assert f'href="{url}?campaign={behind.pk}"' in html


def test_no_campaign_behind_pace_says_so(client):
    page = text(home(client, staff("root", superuser=True)))
    assert "No live campaign is behind pace." in page


# --- Countdowns -------------------------------------------------------------------------------


def test_countdowns_show_their_phase_time_left_and_an_extend_link(client):
    left = dt.timedelta(days=3, hours=4, minutes=12, seconds=9)
    awards = countdown_with_phases(
        ("Early bird", NOW - DAY), ("Deadline", NOW + left), title="Lantern Awards"
    )
    closed = countdown_with_phases(("Deadline", NOW - 2 * DAY), title="Closed awards")
    countdown_with_phases(("Deadline", NOW - 30 * DAY), title="Long forgotten")

    rows = build_dashboard(user=staff("root", superuser=True), now=NOW).countdowns.countdowns
    assert [(c.title, c.phase_label, c.time_left) for c in rows] == [
        ("Lantern Awards", "Deadline", "3d 4h 12min"),
        ("Closed awards", None, ""),
    ]

    html = home(client, User.objects.get(username="root"))
    page = text(html)
    assert "Lantern Awards Deadline 3d 4h 12min left" in page
    assert "Closed awards Closed" in page
    assert "Long forgotten" not in page
    for countdown in (awards, closed):
        assert f'href="{reverse("admin:sponsors_countdown_change", args=[countdown.pk])}"' in html
        assert f'href="{reverse("admin:sponsors_countdown_extend", args=[countdown.pk])}"' in html


def test_the_extend_link_shows_only_to_those_who_may_extend(client):
    awards = countdown_with_phases(("Deadline", NOW + DAY), title="Lantern Awards")
    extend_url = reverse("admin:sponsors_countdown_extend", args=[awards.pk])
    viewer = staff("viewer")
    viewer.user_permissions.add(Permission.objects.get(codename="view_countdown"))
    html = home(client, viewer)
    assert "Lantern Awards" in html and extend_url not in html

    extender = staff("extender")
    extender.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_countdown", "change_countdown", "add_deadlineextension"]
        )
    )
    assert extend_url in home(client, extender)
    assert client.get(extend_url).status_code == 200  # the link works for them


# --- Editorial --------------------------------------------------------------------------------


def test_submissions_waiting_for_review_oldest_first(client):
    newer = SubmissionFactory(headline="Sound-on creative")
    older = SubmissionFactory(headline="Captions first")
    Submission.objects.filter(pk=older.pk).update(created_at=NOW - 2 * DAY)
    Submission.objects.filter(pk=newer.pk).update(created_at=NOW - dt.timedelta(hours=3))
    SubmissionFactory(
        headline="Already rejected",
        status=Submission.Status.REJECTED,
        rejection_reason="Off topic",
        decided_at=NOW - DAY,
    )

    html = home(client, staff("editor", group="Editors"))
    page = text(html)
    assert "Submissions waiting for review (2)" in page
    assert page.index("Captions first") < page.index("Sound-on creative")
    assert "waiting 2d 0h 0min" in page and "waiting 0d 3h 0min" in page
    assert "Already rejected" not in page
    for submission in (older, newer):
        assert f'href="{reverse("admin:cms_submission_change", args=[submission.pk])}"' in html


def test_articles_going_live_this_week_for_editors(client):
    soon = ArticleFactory(
        headline="Goes live Friday",
        status=Article.Status.SCHEDULED,
        published_at=dt.datetime(2026, 12, 4, 14, 0, tzinfo=dt.UTC),
    )
    ArticleFactory(
        headline="Next month", status=Article.Status.SCHEDULED, published_at=NOW + 20 * DAY
    )
    ArticleFactory(headline="Already live")
    html = home(client, staff("editor", group="Editors"))
    page = text(html)
    assert "Articles going live in the next 7 days (1)" in page
    assert "Fri 4 Dec, 09:00 EST Goes live Friday" in page
    assert "Next month" not in page and "Already live" not in page
    assert f'href="{reverse("admin:cms_article_change", args=[soon.pk])}"' in html


# --- Counters ---------------------------------------------------------------------------------


@pytest.mark.skipif(uses_redis(), reason="without Redis only")
def test_without_redis_the_counters_are_counted_directly(client):
    page = text(home(client, staff("root", superuser=True)))
    assert "Counters: counted directly." in page
    assert "stale" not in page.lower()


def test_counters_are_stale_when_counts_wait_and_no_flush_came_for_a_while():
    after = 60
    flushed = NOW - dt.timedelta(seconds=61)
    assert is_stale(last=flushed, pending=12, now=NOW, after=after)
    assert is_stale(last=None, pending=12, now=NOW, after=after)  # never flushed
    assert is_stale(last=flushed, pending=None, now=NOW, after=after)  # Redis not read
    assert not is_stale(last=NOW - dt.timedelta(seconds=60), pending=12, now=NOW, after=after)
    # Nothing waiting: no traffic since, nothing to flush, however old the last flush.
    assert not is_stale(last=NOW - 30 * DAY, pending=0, now=NOW, after=after)
    assert not is_stale(last=None, pending=0, now=NOW, after=after)


def send_impressions(n: int, prefix: str = "first") -> None:
    creative = CreativeFactory(slots=[SlotFactory(key="strip")])
    store = get_counters()
    for i in range(n):
        store.record(
            TrackedEvent(
                kind=IMPRESSION,
                receipt_id=f"dashboard-{prefix}-{i}",
                creative_id=creative.pk,
                slot_id=creative.slots.get().pk,
                campaign_id=creative.campaign_id,
                at=dt.datetime.now(dt.UTC),
            )
        )


@needs_redis
def test_with_redis_counts_waiting_past_the_threshold_warn_and_a_flush_clears_it(
    client, frozen, settings
):
    settings.ADS_FLUSH_STALE_AFTER = 60
    root = staff("root", superuser=True)
    send_impressions(3)
    page = text(home(client, root))
    assert "Warning: counters are stale." in page and "never flushed" in page
    assert "3 counts waiting in Redis" in page

    get_counters().flush()
    assert FlushedBatch.objects.count() == 1
    page = text(home(client, root))
    assert "Warning" not in page
    assert "last flushed Wed 2 Dec, 04:00:00 EST" in page
    assert "nothing waiting in Redis" in page

    frozen.shift(dt.timedelta(minutes=5))  # no traffic: an old flush is no warning
    assert "Warning" not in text(home(client, root))
    send_impressions(2, prefix="later")
    page = text(home(client, root))
    assert "Warning: counters are stale." in page and "(0d 0h 5min ago" in page
    assert "2 counts waiting in Redis" in page


# --- Who sees what ----------------------------------------------------------------------------

AD_SECTIONS = ["Live now, by slot", "Campaigns behind pace", "Campaigns starting or ending"]
AD_SECTIONS += ["Countdowns", "Counters"]
EDITORIAL_SECTIONS = ["Submissions waiting for review", "Articles going live"]


@pytest.fixture
def a_bit_of_everything():
    populate(1)


def section_titles(html: str) -> list[str]:
    return [text(t).strip() for t in re.findall(r'<h2 id="ops-[a-z]+-title"[^>]*>(.*?)</h2>', html)]


def test_editors_see_submissions_and_articles_but_no_ad_sections(client, a_bit_of_everything):
    html = home(client, staff("editor", group="Editors"))
    titles = " | ".join(section_titles(html))
    for title in EDITORIAL_SECTIONS:
        assert title in titles
    for title in AD_SECTIONS:
        assert title not in titles
    assert "Behind 00" not in html and "slot-00" not in html
    # The app list is still there, below.
    assert "Everything in the admin" in html
    assert reverse("admin:cms_article_changelist") in html

    shown = build_dashboard(user=User.objects.get(username="editor"), now=NOW)
    assert shown.slots is None and shown.behind is None and shown.flush is None
    assert shown.submissions is not None


def test_ad_ops_see_the_ad_sections_and_articles_but_not_submissions(client, a_bit_of_everything):
    html = home(client, staff("adops", group="Ad ops"))
    titles = " | ".join(section_titles(html))
    for title in AD_SECTIONS:
        assert title in titles
    # Ad ops read articles (the ones they sponsor); moderating submissions is the editors'.
    assert "Articles going live" in titles
    assert "Submissions waiting for review" not in titles
    assert "Behind 00" in html and "Slot 00" in html
    assert "Partner story" not in html
    assert "Everything in the admin" in html
    assert reverse("admin:sponsors_campaign_changelist") in html


def test_staff_without_permissions_get_the_stock_page(client, a_bit_of_everything):
    html = home(client, staff("nobody"))
    assert section_titles(html) == []
    assert "permission to view or edit anything" in html


def test_non_staff_are_sent_to_the_login_page(client):
    client.force_login(User.objects.create_user("reader"))
    response = client.get(HOME)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


# --- Formatting -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "seconds, shown",
    [
        (3 * 86400 + 4 * 3600 + 12 * 60 + 9, "3d 4h 12min"),
        (3600, "0d 1h 0min"),
        (60, "0d 0h 1min"),
        (59, "less than 1min"),
        (0, "less than 1min"),
        (-5, "less than 1min"),
    ],
)
def test_spans_read_like_the_countdown_widget_to_the_minute(seconds, shown):
    assert format_span(seconds) == shown
