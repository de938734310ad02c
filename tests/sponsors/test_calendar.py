"""The calendar of changes: the service, the admin page and the personal iCalendar feed.

Times are Europe/London's (the display zone here), around the night the clocks go back
(Sunday 25 October 2026: 01:00-02:00 happens twice, a 25-hour day) and the night they go
forward (Sunday 29 March 2026: a 23-hour day).
"""

import datetime as dt
import re
from itertools import count

import icalendar
import pytest
import time_machine
from django.contrib.auth.models import Permission, User
from django.db import IntegrityError, transaction
from django.urls import reverse

from cms.models import Article
from sponsors.calendar import (
    CalendarFilters,
    Kind,
    calendar_events,
    calendar_feed_create,
    calendar_feed_rotate,
)
from sponsors.models import CalendarFeed
from tests.cms.factories import ArticleFactory, TopicFactory
from tests.sponsors.factories import SponsorFactory, SponsorshipFactory
from tests.sponsors.factories_ads import CampaignFactory, CreativeFactory
from tests.sponsors.factories_countdowns import countdown_with_phases

pytestmark = pytest.mark.django_db

UTC = dt.UTC
NOW = dt.datetime(2026, 10, 20, 9, 0, tzinfo=UTC)  # Tuesday 20 October 2026, 10:00 BST
CALENDAR = "/admin/sponsors/calendar/"
FEED_PAGE = "/admin/sponsors/calendarfeed/"

ARTICLES = ["cms.view_article"]
SPONSORSHIPS = ["sponsors.view_sponsorship"]
CAMPAIGNS = ["sponsors.view_campaign"]
COUNTDOWNS = ["sponsors.view_countdown"]
SPONSORS = ["sponsors.view_sponsor"]
EVERYTHING = ARTICLES + SPONSORSHIPS + CAMPAIGNS + COUNTDOWNS + SPONSORS

_names = count()


@pytest.fixture(autouse=True)
def london(settings):
    settings.TIME_ZONE = "Europe/London"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def staff(*perms: str, **fields) -> User:
    """A staff login with exactly these permissions ("app.codename")."""
    fields.setdefault("is_staff", True)
    user = User.objects.create_user(f"staff{next(_names)}", password="a-long-password", **fields)
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return User.objects.get(pk=user.pk)  # no permission cache from before the grants


def at(text: str) -> dt.datetime:
    """An instant written in UTC: "2026-10-25 00:30"."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def window(first: str, days: int) -> dict:
    start = dt.datetime.combine(dt.date.fromisoformat(first), dt.time(0), tzinfo=UTC)
    return {"start": start, "end": start + dt.timedelta(days=days)}


def summary(events) -> list[tuple[str, str, str]]:
    return [(event.when.strftime("%Y-%m-%d %H:%M:%S"), event.kind, event.title) for event in events]


def day_sections(response) -> dict[str, str]:
    """The calendar page's days: local date (ISO) -> that day's HTML."""
    html = response.content.decode()
    pattern = r'<section class="calendar-day[^"]*" aria-labelledby="day-([\d-]+)">(.*?)</section>'
    return dict(re.findall(pattern, html, re.S))


def rows(section: str) -> list[tuple[str, str, str]]:
    """(local time, link, title) of each entry of a day."""
    pattern = r'<td class="calendar-time">(.*?)</td>.*?<a href="(.*?)">(.*?)</a>'
    return re.findall(pattern, section, re.S)


def clock_change_night():
    """One change of every kind around the night the clocks go back in London."""
    sponsor = SponsorFactory(name="Reelhouse")
    article = ArticleFactory(
        headline="Sound-on creative",
        status=Article.Status.SCHEDULED,
        published_at=at("2026-10-24 23:30"),  # 00:30 BST on Sunday 25
    )
    sponsorship = SponsorshipFactory(
        sponsor=sponsor,
        article=article,
        starts_at=at("2026-10-25 00:30"),  # 01:30 BST, the first 01:30 of the night
        ends_at=at("2026-10-25 01:30"),  # 01:30 GMT, the second
    )
    campaign = CampaignFactory(
        sponsor=sponsor,
        name="Awards 2026",
        starts_at=at("2026-10-23 23:30"),  # 00:30 BST on Saturday 24 (still the 23rd in UTC)
        ends_at=at("2026-10-26 23:59:59"),  # 23:59:59 GMT on Monday 26
    )
    countdown = countdown_with_phases(
        ("Early bird", at("2026-10-24 22:59:59")),  # 23:59:59 BST on Saturday 24
        ("Deadline", at("2026-10-25 23:59:59")),  # 23:59:59 GMT on Sunday 25
        ("Final deadline", at("2026-11-01 23:59:59")),
        title="The Lantern Awards",
    )
    return {
        "article": article,
        "sponsorship": sponsorship,
        "campaign": campaign,
        "countdown": countdown,
    }


# --- The service ---------------------------------------------------------------------------


def test_every_kind_of_change_is_listed_in_time_order():
    clock_change_night()
    user = staff(*EVERYTHING)
    events = calendar_events(user=user, **window("2026-10-23", 10))
    assert summary(events) == [
        ("2026-10-23 23:30:00", Kind.CAMPAIGN_STARTS, "Campaign “Awards 2026” starts"),
        ("2026-10-24 22:59:59", Kind.PHASE_ENDS, "The Lantern Awards: “Early bird” ends"),
        ("2026-10-24 23:30:00", Kind.ARTICLE_LIVE, "“Sound-on creative” goes live"),
        (
            "2026-10-25 00:30:00",
            Kind.SPONSORSHIP_STARTS,
            "Reelhouse sponsorship of “Sound-on creative” starts",
        ),
        (
            "2026-10-25 01:30:00",
            Kind.SPONSORSHIP_ENDS,
            "Reelhouse sponsorship of “Sound-on creative” ends",
        ),
        ("2026-10-25 23:59:59", Kind.PHASE_ENDS, "The Lantern Awards: “Deadline” ends"),
        ("2026-10-26 23:59:59", Kind.CAMPAIGN_ENDS, "Campaign “Awards 2026” ends"),
        ("2026-11-01 23:59:59", Kind.COUNTDOWN_CLOSES, "The Lantern Awards closes"),
    ]
    assert all(event.when.tzinfo is UTC for event in events)
    by_title = {event.title: event for event in events}
    assert by_title["The Lantern Awards: “Early bird” ends"].detail == "Then “Deadline” shows"
    assert by_title["The Lantern Awards closes"].detail == (
        "After “Final deadline” it shows “Entries closed”"
    )
    assert by_title["Campaign “Awards 2026” ends"].detail == "Reelhouse, Standard tier"


def test_the_window_is_half_open():
    CampaignFactory(name="At the start", starts_at=at("2026-11-02 00:00"), ends_at=None)
    CampaignFactory(name="At the end", starts_at=at("2026-11-03 00:00"), ends_at=None)
    events = calendar_events(user=staff(*CAMPAIGNS), **window("2026-11-02", 1))
    assert [event.title for event in events] == ["Campaign “At the start” starts"]


def test_only_articles_going_public_are_listed():
    moment = at("2026-10-28 08:00")
    for status in Article.Status:
        ArticleFactory(headline=f"An article {status.label}", status=status, published_at=moment)
    events = calendar_events(user=staff(*ARTICLES), **window("2026-10-28", 1))
    assert sorted(event.title for event in events) == [
        "“An article Published” goes live",
        "“An article Scheduled” goes live",
    ]


def test_changes_that_will_show_nothing_say_why():
    CampaignFactory(name="Paused one", starts_at=at("2026-10-28 08:00"), is_active=False)
    SponsorshipFactory(
        sponsor=SponsorFactory(name="Gone", is_active=False),
        article=None,
        topic=TopicFactory(name="TikTok"),
        starts_at=at("2026-10-28 09:00"),
        ends_at=at("2027-01-01 00:00"),
    )
    events = calendar_events(user=staff(*EVERYTHING), **window("2026-10-28", 1))
    assert [(event.title, event.warning) for event in events] == [
        ("Campaign “Paused one” starts", "Paused: it serves nothing until resumed."),
        ("Gone sponsorship of the topic TikTok starts", "The sponsor is inactive: nothing shows."),
    ]


def test_an_extended_phase_shows_as_extended_and_keeps_its_key():
    countdown = countdown_with_phases(
        ("Deadline", at("2026-10-28 23:59:59")), ("Final deadline", at("2026-11-10 23:59:59"))
    )
    phase = countdown.phases.get(label="Deadline")
    user = staff(*COUNTDOWNS)
    before = calendar_events(user=user, **window("2026-10-28", 7))
    phase.deadline = at("2026-10-30 23:59:59")
    phase.save()
    after = calendar_events(user=user, **window("2026-10-28", 7))
    assert [event.title for event in after] == [f"{countdown.title}: “Extended deadline” ends"]
    assert after[0].when == at("2026-10-30 23:59:59")
    assert after[0].key == before[0].key == f"deadlinephase-{phase.pk}-deadline"


def test_the_last_phase_closes_the_countdown_even_when_alone_in_the_window():
    countdown_with_phases(
        ("Early bird", at("2026-09-01 12:00")), ("Deadline", at("2026-10-28 12:00")), title="X"
    )
    events = calendar_events(user=staff(*COUNTDOWNS), **window("2026-10-28", 1))
    assert [(event.kind, event.detail) for event in events] == [
        (Kind.COUNTDOWN_CLOSES, "After “Deadline” it shows “Entries closed”")
    ]


def test_filter_by_kind():
    clock_change_night()
    kinds = frozenset({Kind.CAMPAIGN_ENDS, Kind.COUNTDOWN_CLOSES})
    events = calendar_events(
        user=staff(*EVERYTHING), filters=CalendarFilters(kinds=kinds), **window("2026-10-23", 10)
    )
    assert [event.kind for event in events] == [Kind.CAMPAIGN_ENDS, Kind.COUNTDOWN_CLOSES]


def test_filter_by_sponsor_keeps_its_campaigns_sponsorships_articles_and_countdowns():
    mine = SponsorFactory(name="Mine")
    theirs = SponsorFactory(name="Theirs")
    moment = at("2026-10-28 08:00")
    for sponsor in (mine, theirs):
        name = sponsor.name
        CampaignFactory(sponsor=sponsor, name=f"{name} campaign", starts_at=moment, ends_at=None)
        article = ArticleFactory(
            headline=f"{name} story", status=Article.Status.SCHEDULED, published_at=moment
        )
        SponsorshipFactory(sponsor=sponsor, article=article, starts_at=moment)
        countdown = countdown_with_phases(("Deadline", moment), title=f"{name} awards")
        CreativeFactory(campaign=CampaignFactory(sponsor=sponsor), countdown=countdown)
    ArticleFactory(headline="Unsponsored", status=Article.Status.SCHEDULED, published_at=moment)
    events = calendar_events(
        user=staff(*EVERYTHING),
        filters=CalendarFilters(sponsor=mine.slug),
        **window("2026-10-28", 1),
    )
    assert sorted(event.title for event in events) == [
        "Campaign “Mine campaign” starts",
        "Mine awards closes",
        "Mine sponsorship of “Mine story” starts",
        "“Mine story” goes live",
    ]


@pytest.mark.parametrize(
    ("perms", "kinds"),
    [
        (ARTICLES, {Kind.ARTICLE_LIVE}),
        (SPONSORSHIPS, {Kind.SPONSORSHIP_STARTS, Kind.SPONSORSHIP_ENDS}),
        (CAMPAIGNS, {Kind.CAMPAIGN_STARTS, Kind.CAMPAIGN_ENDS}),
        (COUNTDOWNS, {Kind.PHASE_ENDS, Kind.COUNTDOWN_CLOSES}),
        (["sponsors.change_campaign"], {Kind.CAMPAIGN_STARTS, Kind.CAMPAIGN_ENDS}),
        (SPONSORS, set()),
    ],
)
def test_each_person_sees_the_changes_their_permissions_allow(perms, kinds):
    clock_change_night()
    events = calendar_events(user=staff(*perms), **window("2026-10-23", 10))
    assert {event.kind for event in events} == kinds


@pytest.mark.parametrize("fields", [{"is_staff": False}, {"is_active": False}])
def test_nothing_shows_to_someone_inactive_or_not_staff(fields):
    clock_change_night()
    user = staff(*EVERYTHING, **fields)
    assert calendar_events(user=user, **window("2026-10-23", 10)) == []


def test_a_superuser_sees_everything():
    clock_change_night()
    user = User.objects.create_superuser("boss", password="a-long-password")
    assert len(calendar_events(user=user, **window("2026-10-23", 10))) == 8


@pytest.mark.parametrize(
    "bounds",
    [
        {"start": at("2026-10-20 00:00"), "end": at("2026-10-20 00:00")},
        {"start": at("2026-10-21 00:00"), "end": at("2026-10-20 00:00")},
        {"start": dt.datetime(2026, 10, 20), "end": at("2026-10-21 00:00")},
    ],
)
def test_a_window_must_be_aware_and_move_forward(bounds):
    with pytest.raises(ValueError, match="window"):
        calendar_events(user=staff(*EVERYTHING), **bounds)


# --- The admin page ------------------------------------------------------------------------


def test_changes_fall_on_their_local_day_when_the_clocks_go_back(client):
    objects = clock_change_night()
    client.force_login(staff(*EVERYTHING))
    response = client.get(CALENDAR, {"start": "2026-10-19", "weeks": 2})
    assert response.status_code == 200
    days = day_sections(response)
    assert list(days) == ["2026-10-24", "2026-10-25", "2026-10-26", "2026-11-01"]
    campaign_url = reverse("admin:sponsors_campaign_change", args=[objects["campaign"].pk])
    countdown_url = reverse("admin:sponsors_countdown_change", args=[objects["countdown"].pk])
    article_url = reverse("admin:cms_article_change", args=[objects["article"].pk])
    sponsorship_url = reverse("admin:sponsors_sponsorship_change", args=[objects["sponsorship"].pk])
    assert rows(days["2026-10-24"]) == [
        ("00:30 BST", campaign_url, "Campaign “Awards 2026” starts"),
        ("23:59 BST", countdown_url, "The Lantern Awards: “Early bird” ends"),
    ]
    assert rows(days["2026-10-25"]) == [
        ("00:30 BST", article_url, "“Sound-on creative” goes live"),
        ("01:30 BST", sponsorship_url, "Reelhouse sponsorship of “Sound-on creative” starts"),
        ("01:30 GMT", sponsorship_url, "Reelhouse sponsorship of “Sound-on creative” ends"),
        ("23:59 GMT", countdown_url, "The Lantern Awards: “Deadline” ends"),
    ]
    assert "Clocks go back: a 25-hour day" in days["2026-10-25"]
    assert rows(days["2026-10-26"]) == [("23:59 GMT", campaign_url, "Campaign “Awards 2026” ends")]
    assert rows(days["2026-11-01"]) == [("23:59 GMT", countdown_url, "The Lantern Awards closes")]
    html = response.content.decode()
    assert "8 changes</strong> from Monday 19 October 2026 to Sunday 1 November 2026" in html
    assert "Times in Europe/London." in html


def test_days_end_at_local_midnight_when_the_clocks_go_forward(client):
    # The week of Monday 23 March 2026 ends at 00:00 BST on the 30th: 23:00 UTC on the 29th.
    CampaignFactory(name="Sunday night", starts_at=at("2026-03-29 22:59:59"), ends_at=None)
    CampaignFactory(name="Monday morning", starts_at=at("2026-03-29 23:00"), ends_at=None)
    CampaignFactory(name="Saturday night", starts_at=at("2026-03-28 23:30"), ends_at=None)
    client.force_login(staff(*CAMPAIGNS))
    days = day_sections(client.get(CALENDAR, {"start": "2026-03-23", "weeks": 1}))
    assert list(days) == ["2026-03-28", "2026-03-29"]
    assert [(time, title) for time, _, title in rows(days["2026-03-28"])] == [
        ("23:30 GMT", "Campaign “Saturday night” starts")
    ]
    assert [(time, title) for time, _, title in rows(days["2026-03-29"])] == [
        ("23:59 BST", "Campaign “Sunday night” starts")
    ]
    assert "Clocks go forward: a 23-hour day" in days["2026-03-29"]
    next_week = day_sections(client.get(CALENDAR, {"start": "2026-03-30", "weeks": 1}))
    assert [title for _, _, title in rows(next_week["2026-03-30"])] == [
        "Campaign “Monday morning” starts"
    ]


def test_the_page_shows_four_weeks_from_today_by_default(client):
    CampaignFactory(name="Today", starts_at=at("2026-10-20 06:00"), ends_at=None)
    CampaignFactory(name="Last day", starts_at=at("2026-11-16 23:59"), ends_at=None)
    CampaignFactory(name="Too late", starts_at=at("2026-11-17 00:00"), ends_at=None)
    CampaignFactory(name="Yesterday", starts_at=at("2026-10-19 22:59"), ends_at=None)
    client.force_login(staff(*CAMPAIGNS))
    response = client.get(CALENDAR)
    days = day_sections(response)
    assert list(days) == ["2026-10-20", "2026-11-16"]
    assert "today</span>" in days["2026-10-20"]
    html = response.content.decode()
    assert "from Tuesday 20 October 2026 to Monday 16 November 2026" in html


def test_navigation_moves_by_week_and_month_and_keeps_the_filters(client):
    client.force_login(staff(*EVERYTHING))
    response = client.get(
        CALENDAR, {"start": "2026-01-31", "weeks": 2, "kind": ["campaign_ends", "phase_ends"]}
    )
    nav = response.context["nav"]
    keep = "weeks=2&kind=campaign_ends&kind=phase_ends"
    assert nav["next_week"] == f"?start=2026-02-07&{keep}"
    assert nav["previous_week"] == f"?start=2026-01-24&{keep}"
    assert nav["next_month"] == f"?start=2026-02-28&{keep}"  # February is shorter
    assert nav["previous_month"] == f"?start=2025-12-31&{keep}"
    assert nav["today"] == f"?start=2026-10-20&{keep}"
    html = response.content.decode()
    assert f'href="{nav["next_month"].replace("&", "&amp;")}"' in html


def test_filters_on_the_page(client):
    clock_change_night()
    other = CampaignFactory(name="Other sponsor", starts_at=at("2026-10-25 12:00"), ends_at=None)
    client.force_login(staff(*EVERYTHING))
    response = client.get(
        CALENDAR,
        {"start": "2026-10-19", "weeks": 2, "kind": ["campaign_starts"], "sponsor": "reelhouse"},
    )
    titles = [title for day in day_sections(response).values() for _, _, title in rows(day)]
    assert titles == ["Campaign “Awards 2026” starts"]
    response = client.get(CALENDAR, {"start": "2026-10-19", "kind": ["campaign_starts"]})
    titles = [title for day in day_sections(response).values() for _, _, title in rows(day)]
    assert titles == ["Campaign “Awards 2026” starts", f"Campaign “{other.name}” starts"]


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"start": "2026-02-30"}, "start", "Enter a valid date."),
        ({"start": "1899-01-01"}, "start", "Choose a date from 2000 to 2099."),
        ({"weeks": "52"}, "weeks", "Select a valid choice. 52 is not one of the available"),
        ({"kind": "article_archived"}, "kind", "Select a valid choice. article_archived is not"),
        ({"sponsor": "nobody"}, "sponsor", "Select a valid choice. That choice is not one of"),
    ],
)
def test_bad_filters_get_a_form_error(client, query, field, message):
    client.force_login(staff(*EVERYTHING))
    response = client.get(CALENDAR, query)
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    html = response.content.decode()
    assert "Please correct the errors below." in html
    assert message in html
    assert day_sections(response) == {}


def test_kinds_someone_may_not_see_are_not_offered_and_cannot_be_asked_for(client):
    clock_change_night()
    client.force_login(staff(*CAMPAIGNS))
    response = client.get(CALENDAR, {"start": "2026-10-19", "weeks": 2})
    offered = [value for value, _ in response.context["form"].fields["kind"].choices]
    assert offered == [Kind.CAMPAIGN_STARTS, Kind.CAMPAIGN_ENDS]
    assert "sponsor" not in response.context["form"].fields  # no view on sponsors
    titles = [title for day in day_sections(response).values() for _, _, title in rows(day)]
    assert titles == ["Campaign “Awards 2026” starts", "Campaign “Awards 2026” ends"]
    assert client.get(CALENDAR, {"kind": "article_live"}).status_code == 400


def test_staff_who_may_see_nothing_get_403_and_no_calendar_entry(client):
    client.force_login(staff(*SPONSORS))
    assert client.get(CALENDAR).status_code == 403
    assert client.get(FEED_PAGE).status_code == 403
    index = client.get("/admin/sponsors/").content.decode()
    assert CALENDAR not in index
    assert FEED_PAGE not in index


def test_the_calendar_and_the_feed_are_linked_from_the_admin_app_list(client):
    client.force_login(staff(*CAMPAIGNS))
    index = client.get("/admin/sponsors/").content.decode()
    assert f'<a href="{CALENDAR}">Calendar</a>' in index
    assert f'<a href="{FEED_PAGE}">Calendar feeds</a>' in index
    assert reverse("admin:sponsors_calendar") == CALENDAR
    assert FEED_PAGE in client.get(CALENDAR).content.decode()


def test_signed_out_visitors_are_sent_to_the_login_page(client):
    for url in (CALENDAR, FEED_PAGE):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")


def test_the_calendar_has_no_add_change_or_delete_pages(client):
    client.force_login(User.objects.create_superuser("boss", password="a-long-password"))
    for page in (CALENDAR, FEED_PAGE):
        for path in ("add/", "1/change/", "1/delete/", "1/history/"):
            assert client.get(page + path).status_code == 404, page + path


def many_changes(n: int) -> None:
    for i in range(n):
        sponsor = SponsorFactory()
        moment = at("2026-10-21 08:00") + dt.timedelta(days=i % 20, hours=i)
        article = ArticleFactory(status=Article.Status.SCHEDULED, published_at=moment)
        SponsorshipFactory(sponsor=sponsor, article=article, starts_at=moment, ends_at=None)
        CampaignFactory(sponsor=sponsor, starts_at=moment, ends_at=moment + dt.timedelta(days=2))
        countdown_with_phases(("Early", moment), ("Late", moment + dt.timedelta(days=1)))


@pytest.mark.parametrize("n", [1, 8])
def test_page_query_count_does_not_grow_with_the_number_of_changes(
    client, django_assert_num_queries, n
):
    many_changes(n)
    user = staff(*EVERYTHING)
    client.force_login(user)
    # session, user, the user's permissions, their groups' permissions; sponsors (the
    # filter's choices); articles, sponsorships (with sponsor, label, article, topic),
    # campaigns (with sponsor), the phases of the countdowns concerned (with countdown)
    with django_assert_num_queries(9):
        response = client.get(CALENDAR)
    assert response.context["count"] == 6 * n


# --- The feed ------------------------------------------------------------------------------


def feed_path(token: str) -> str:
    return reverse("calendar-feed", args=[token])


def test_a_staff_member_creates_their_feed_and_sees_its_addresses(client):
    user = staff(*CAMPAIGNS)
    client.force_login(user)
    page = client.get(FEED_PAGE).content.decode()
    assert "You have no calendar feed." in page
    response = client.post(FEED_PAGE, {"action": "create"}, follow=True)
    feed = CalendarFeed.objects.get(user=user)
    assert len(feed.token) >= 43
    page = response.content.decode()
    assert "Your calendar feed is ready" in page
    assert f'value="http://testserver/calendar/{feed.token}.ics"' in page
    assert f'value="webcal://testserver/calendar/{feed.token}.ics"' in page
    assert "campaign starts, campaign ends" in page
    client.post(FEED_PAGE, {"action": "create"})
    assert CalendarFeed.objects.get(user=user).token == feed.token  # creating again keeps it


def test_https_addresses_behind_https(client):
    user = staff(*CAMPAIGNS)
    feed = calendar_feed_create(user=user)
    client.force_login(user)
    page = client.get(FEED_PAGE, secure=True).content.decode()
    assert f'value="https://testserver/calendar/{feed.token}.ics"' in page
    assert f'value="webcal://testserver/calendar/{feed.token}.ics"' in page


def test_the_feed_answers_icalendar_with_the_owners_changes(client):
    objects = clock_change_night()
    user = staff(*CAMPAIGNS, *COUNTDOWNS)
    feed = calendar_feed_create(user=user)
    response = client.get(feed_path(feed.token))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Cache-Control"] == "private, max-age=300"
    body = response.content
    calendar = icalendar.Calendar.from_ical(body)
    assert str(calendar["VERSION"]) == "2.0"
    assert calendar["PRODID"]
    events = calendar.walk("VEVENT")
    assert [str(event["SUMMARY"]) for event in events] == [
        "Campaign “Awards 2026” starts",
        "The Lantern Awards: “Early bird” ends",
        "The Lantern Awards: “Deadline” ends",
        "Campaign “Awards 2026” ends",
        "The Lantern Awards closes",
    ]
    first = events[0]
    assert first["DTSTART"].dt == at("2026-10-23 23:30")
    assert first["DTSTAMP"].dt == NOW
    campaign_pk = objects["campaign"].pk
    assert str(first["UID"]) == f"campaign-{campaign_pk}-start@testserver"
    assert str(first["URL"]) == f"http://testserver/admin/sponsors/campaign/{campaign_pk}/change/"
    assert "Reelhouse, Standard tier" in str(first["DESCRIPTION"])
    # RFC 5545: UTC times, CRLF line ends, lines folded at 75 octets.
    text = body.decode()
    assert "DTSTART:20261023T233000Z\r\n" in text
    assert body.endswith(b"\r\n")
    assert b"\n" not in body.replace(b"\r\n", b"")
    assert all(len(line) <= 75 for line in body.split(b"\r\n"))


def test_a_feed_shows_only_what_its_owner_may_see(client):
    clock_change_night()
    editor = staff(*ARTICLES)
    events = icalendar.Calendar.from_ical(
        client.get(feed_path(calendar_feed_create(user=editor).token)).content
    ).walk("VEVENT")
    assert [str(event["SUMMARY"]) for event in events] == ["“Sound-on creative” goes live"]


def test_uids_stay_the_same_when_a_change_moves(client, frozen):
    campaign = CampaignFactory(starts_at=at("2026-10-28 08:00"), ends_at=at("2026-11-28 08:00"))
    feed = calendar_feed_create(user=staff(*CAMPAIGNS))

    def read() -> dict[str, dt.datetime]:
        calendar = icalendar.Calendar.from_ical(client.get(feed_path(feed.token)).content)
        return {str(event["UID"]): event["DTSTART"].dt for event in calendar.walk("VEVENT")}

    before = read()
    campaign.ends_at = at("2026-12-05 08:00")
    campaign.save()
    frozen.shift(dt.timedelta(hours=1))
    after = read()
    end_uid = f"campaign-{campaign.pk}-end@testserver"
    assert set(before) == set(after) == {f"campaign-{campaign.pk}-start@testserver", end_uid}
    assert after[end_uid] == at("2026-12-05 08:00")


def test_the_feed_covers_the_last_month_and_the_next_six(client):
    CampaignFactory(name="Long ago", starts_at=NOW - dt.timedelta(days=32), ends_at=None)
    CampaignFactory(name="Last month", starts_at=NOW - dt.timedelta(days=30), ends_at=None)
    CampaignFactory(name="In five months", starts_at=NOW + dt.timedelta(days=150), ends_at=None)
    CampaignFactory(name="Next year", starts_at=NOW + dt.timedelta(days=200), ends_at=None)
    feed = calendar_feed_create(user=staff(*CAMPAIGNS))
    calendar = icalendar.Calendar.from_ical(client.get(feed_path(feed.token)).content)
    assert [str(event["SUMMARY"]) for event in calendar.walk("VEVENT")] == [
        "Campaign “Last month” starts",
        "Campaign “In five months” starts",
    ]


def test_the_feed_needs_no_session_and_records_when_it_was_read(client):
    feed = calendar_feed_create(user=staff(*CAMPAIGNS))
    response = client.get(feed_path(feed.token))
    assert response.status_code == 200
    assert "sessionid" not in response.cookies
    feed.refresh_from_db()
    assert feed.last_fetched_at == NOW


def test_rotating_gives_a_new_address_and_the_old_one_stops_answering(client):
    user = staff(*CAMPAIGNS)
    old = calendar_feed_create(user=user)
    client.force_login(user)
    response = client.post(FEED_PAGE, {"action": "rotate"}, follow=True)
    assert "the old one has stopped working" in response.content.decode()
    new = CalendarFeed.objects.active().get(user=user)
    assert new.token != old.token
    old.refresh_from_db()
    assert old.revoked_at == NOW
    client.logout()
    assert client.get(feed_path(old.token)).status_code == 404
    assert client.get(feed_path(new.token)).status_code == 200


def test_revoking_stops_the_feed(client):
    user = staff(*CAMPAIGNS)
    feed = calendar_feed_create(user=user)
    client.force_login(user)
    response = client.post(FEED_PAGE, {"action": "revoke"}, follow=True)
    page = response.content.decode()
    assert "Your feed is revoked" in page
    assert "You have no calendar feed." in page
    assert feed.token not in page
    assert client.get(feed_path(feed.token)).status_code == 404
    response = client.post(FEED_PAGE, {"action": "revoke"}, follow=True)
    assert "You had no calendar feed." in response.content.decode()


def test_an_unknown_action_is_refused_with_a_message(client):
    user = staff(*CAMPAIGNS)
    client.force_login(user)
    response = client.post(FEED_PAGE, {"action": "share"}, follow=True)
    assert "Choose to create, rotate or revoke your feed." in response.content.decode()
    assert not CalendarFeed.objects.exists()


def test_unknown_and_revoked_addresses_get_the_same_404(client):
    user = staff(*CAMPAIGNS)
    revoked = calendar_feed_rotate(user=user)
    calendar_feed_rotate(user=user)
    answers = [
        client.get(path)
        for path in (
            feed_path(revoked.token),
            feed_path("x" * 43),
            feed_path("not a token"),
            "/calendar/.ics",
        )
    ]
    assert [answer.status_code for answer in answers] == [404, 404, 404, 404]
    assert answers[0].content == answers[1].content == answers[2].content
    assert answers[0]["Content-Type"] == answers[1]["Content-Type"]
    assert answers[0]["Cache-Control"] == "no-store"


@pytest.mark.parametrize("fields", [{"is_staff": False}, {"is_active": False}])
def test_someone_no_longer_staff_or_deactivated_gets_404(client, fields):
    user = staff(*CAMPAIGNS)
    feed = calendar_feed_create(user=user)
    User.objects.filter(pk=user.pk).update(**fields)
    assert client.get(feed_path(feed.token)).status_code == 404


def test_one_persons_page_never_shows_or_changes_another_persons_feed(client):
    alice, bob = staff(*CAMPAIGNS), staff(*CAMPAIGNS)
    alices = calendar_feed_create(user=alice)
    client.force_login(bob)
    page = client.get(FEED_PAGE).content.decode()
    assert alices.token not in page
    assert "You have no calendar feed." in page
    client.post(FEED_PAGE, {"action": "revoke"})
    client.post(FEED_PAGE, {"action": "rotate"})
    alices.refresh_from_db()
    assert alices.is_active
    assert client.get(feed_path(alices.token)).status_code == 200
    assert CalendarFeed.objects.active().get(user=bob).token != alices.token
    assert client.get(f"{FEED_PAGE}{alices.pk}/change/").status_code == 404


def test_the_feed_answers_only_get_and_head(client):
    feed = calendar_feed_create(user=staff(*CAMPAIGNS))
    assert client.head(feed_path(feed.token)).status_code == 200
    assert client.post(feed_path(feed.token)).status_code == 405


@pytest.mark.parametrize("n", [1, 8])
def test_feed_query_count_does_not_grow_with_the_number_of_changes(
    client, django_assert_num_queries, n
):
    many_changes(n)
    feed = calendar_feed_create(user=staff(*EVERYTHING))
    # the feed with its owner; last read (update); the owner's permissions, their groups'
    # permissions; articles, sponsorships, campaigns, countdown phases
    with django_assert_num_queries(8):
        response = client.get(feed_path(feed.token))
    assert len(icalendar.Calendar.from_ical(response.content).walk("VEVENT")) == 6 * n


def test_one_active_feed_per_person_is_held_by_the_database():
    user = staff(*CAMPAIGNS)
    calendar_feed_create(user=user)
    with pytest.raises(IntegrityError), transaction.atomic():
        CalendarFeed.objects.create(user=user)


def test_a_superuser_can_still_delete_a_person_who_has_a_feed(client):
    person = staff(*CAMPAIGNS)
    calendar_feed_create(user=person)
    client.force_login(User.objects.create_superuser("boss", password="a-long-password"))
    confirm = client.get(f"/admin/auth/user/{person.pk}/delete/")
    assert "permission to delete" not in confirm.content.decode()
    response = client.post(f"/admin/auth/user/{person.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not CalendarFeed.objects.exists()
