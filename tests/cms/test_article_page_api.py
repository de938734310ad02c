"""GET /api/v1/pages/articles/<slug>/: everything the article page shows in one answer, its
pinned queries, what each answer has of its own, the staff `at` preview and ads failing."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlparse

import pytest
import time_machine
from rest_framework.authtoken.models import Token

from cms.api import pages, payloads
from cms.models import Article
from sponsors.models import ArticleReadCounter, DisclosureLabel
from tests.cms.factories import ArticleFactory, BlockFactory, TopicFactory
from tests.contract import assert_matches_schema, openapi_schema
from tests.sponsors.counting import apart, totals
from tests.sponsors.factories import (
    PartnerFactory,
    SponsorFactory,
    SponsorshipFactory,
    UserFactory,
)
from tests.sponsors.factories_ads import CampaignFactory, CreativeFactory, SlotFactory
from tests.sponsors.factories_countdowns import countdown_with_phases

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 27, 9, 30, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Safari/605.1.15"
SLOTS = ("sitewide-strip", "leaderboard", "article-sidebar")


@pytest.fixture(autouse=True)
def clock():
    """A frozen clock (a frequency cap counts per UTC day: all in one day); tests move it."""
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def iso(moment: dt.datetime) -> str:
    """``moment`` as a query string value (``Z``: a ``+`` would read as a space)."""
    return moment.isoformat().replace("+00:00", "Z")


def url(article, query: str = "") -> str:
    return f"/api/v1/pages/articles/{article.slug}/" + (f"?{query}" if query else "")


def other_process():
    """What another app server sees: nothing of this process's payloads."""
    payloads.forget_memo()


@pytest.fixture
def page():
    """A partner article on TikTok with a sponsor block, a neighbour on TikTok, two more
    partner articles, a creative for every page slot targeted at TikTok and one at Retail,
    and reads for Trending."""
    DisclosureLabel.objects.get_or_create(  # made by a migration; gone in real-commit tests
        slug="content-created-with", defaults={"text": "Content created with"}
    )
    tiktok, retail = TopicFactory(name="TikTok"), TopicFactory(name="Retail")
    article = ArticleFactory(
        topics=[tiktok], headline="Feature", kind=Article.Kind.PARTNER, published_at=NOW - HOUR
    )
    BlockFactory(article=article, text="Feature words.")
    sponsorship = SponsorshipFactory(article=article, sponsor=SponsorFactory(name="TikTok Inc"))
    neighbour = ArticleFactory(topics=[tiktok], headline="Neighbour", published_at=NOW - 2 * HOUR)
    older = ArticleFactory(kind=Article.Kind.PARTNER, headline="Older", published_at=NOW - 5 * HOUR)
    newer = ArticleFactory(kind=Article.Kind.PARTNER, headline="Newer", published_at=NOW - 3 * HOUR)
    slots = {key: SlotFactory(key=key) for key in SLOTS}
    targeted = {
        key: CreativeFactory(name=f"TikTok {key}", slots=[slot], include=[tiktok])
        for key, slot in slots.items()
    }
    elsewhere = CreativeFactory(name="Retail", slots=list(slots.values()), include=[retail])
    hour = NOW.replace(minute=0)
    for read, n in ((article, 50), (neighbour, 20), (older, 5)):
        ArticleReadCounter.objects.create(article=read, hour=hour, reads=n)
    return {
        "article": article,
        "topic": tiktok,
        "sponsorship": sponsorship,
        "neighbour": neighbour,
        "older": older,
        "newer": newer,
        "slots": slots,
        "targeted": targeted,
        "elsewhere": elsewhere,
    }


def creatives(body) -> dict[str, int | None]:
    return {key: ad and ad["creative_id"] for key, ad in body["ads"]["slots"].items()}


def paths(body, key: str = "sitewide-strip") -> tuple[str, str]:
    ad = body["ads"]["slots"][key]
    return urlparse(ad["impression_url"]).path, urlparse(ad["click_url"]).path


def staff_client(api_client, *, token: bool = False):
    user = UserFactory(username="editor", is_staff=True)
    if token:
        key, _ = Token.objects.get_or_create(user=user)
        api_client.credentials(HTTP_AUTHORIZATION=f"Token {key.key}")
    else:
        api_client.force_login(user)
    return api_client


# --- The answer's parts ---------------------------------------------------------------------


def test_one_answer_holds_every_part_of_the_page(api_client, page):
    article = page["article"]
    response = api_client.get(url(article))  # the client checks it against the schema
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert not response.has_header("ETag")
    body = response.json()
    shown = body["article"]
    assert (shown["slug"], shown["headline"]) == (article.slug, "Feature")
    assert shown["body"] == [{"type": "paragraph", "html": "Feature words."}]
    assert shown["sponsorship"]["label"] == "Content created with"
    assert shown["sponsorship"]["sponsor"]["name"] == "TikTok Inc"
    assert shown["more_from"]["topic"]["slug"] == page["topic"].slug
    assert [a["slug"] for a in shown["more_from"]["articles"]] == [page["neighbour"].slug]
    assert shown["read_url"].startswith("http://testserver/api/v1/reads/")
    # Every page slot, each served the creative targeted at the article's own topic.
    assert creatives(body) == {key: page["targeted"][key].pk for key in SLOTS}
    assert body["ads"]["available"] is True
    assert body["ads"]["unknown_slots"] == []
    assert body["promo_slot"] == "sitewide-strip"
    # Trending, the article itself (the most read) left out.
    assert [(a["slug"], a["reads"]) for a in body["trending"]] == [
        (page["neighbour"].slug, 20),
        (page["older"].slug, 5),
    ]
    # Industry insights: partner content, newest first, this article left out.
    insights = body["insights"]
    assert [a["slug"] for a in insights["results"]] == [page["newer"].slug, page["older"].slug]
    assert insights["url"] == "http://testserver/api/v1/insights/"
    assert insights["page_url"] == "http://testserver/insights/"
    assert body["add_content"] == {
        "label": "Add your own content",
        "url": "http://testserver/partners/submit/",
    }
    assert body["server_time"] == "2026-11-27T09:30:00.000Z"
    assert body["at"] is None


def test_a_creative_targeted_at_another_topic_never_serves_and_clients_send_no_keywords(
    api_client, page
):
    for query in ("", "viewer=v1", "topics=retail"):  # a keyword sent is not looked at
        for _ in range(5):
            body = api_client.get(url(page["article"], query)).json()
            assert page["elsewhere"].pk not in creatives(body).values()
            assert creatives(body) == {key: page["targeted"][key].pk for key in SLOTS}


def test_an_article_on_another_topic_gets_the_creative_targeted_there(api_client, page):
    other = ArticleFactory(topics=[TopicFactory(name="Retail")])
    body = api_client.get(url(other)).json()
    # One creative serves one slot of a page: the other slots have nothing for Retail.
    assert sorted(creatives(body).values(), key=str) == [page["elsewhere"].pk, None, None]


def test_a_missing_or_scheduled_article_is_404(api_client, page):
    assert api_client.get("/api/v1/pages/articles/no-such-article/").status_code == 404
    scheduled = ArticleFactory(status=Article.Status.SCHEDULED, published_at=NOW + HOUR)
    response = api_client.get(url(scheduled))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


# --- Pinned queries -------------------------------------------------------------------------


def test_cold_build_and_warm_answers_pin_their_queries(api_client, page, django_assert_num_queries):
    # Cold, everything built from the database (the same on SQLite and PostgreSQL):
    #  5  the article, its topics and blocks, its sponsor block (its own, its topics')
    #  4  more from its topic: the articles, their topics, their sponsor blocks (2)
    #  3  insights: the articles, their topics, their sponsor blocks (they have no topic: 1)
    #  2  the next scheduled change (articles going live, sponsorship windows)
    #  7  the ads' inventory snapshot: slots, campaigns, countdowns, the creatives' slot,
    #     include and exclude links, the creatives (caps and totals are in the cache)
    #  5  Trending: the ranking, the cards, their topics, their sponsor blocks (2)
    with django_assert_num_queries(26):
        cold = api_client.get(url(page["article"]))
    assert cold.status_code == 200
    with django_assert_num_queries(0):
        warm = api_client.get(url(page["article"], "viewer=reader-1"))
    assert warm.status_code == 200
    assert warm.json()["article"]["headline"] == "Feature"
    other_process()
    api_client.get(url(page["article"]))  # another process takes it from the shared cache
    with django_assert_num_queries(0):
        assert api_client.get(url(page["article"])).status_code == 200
        assert api_client.head(url(page["article"])).status_code == 200


# --- What each answer has of its own --------------------------------------------------------


def test_two_answers_differ_in_their_tokens_and_server_time(api_client, page, clock):
    first = api_client.get(url(page["article"])).json()
    clock.shift(dt.timedelta(seconds=2))
    second = api_client.get(url(page["article"])).json()
    assert first["article"]["read_url"] != second["article"]["read_url"]
    for key in SLOTS:
        one, two = first["ads"]["slots"][key], second["ads"]["slots"][key]
        assert one["impression_url"] != two["impression_url"]
        assert one["click_url"] != two["click_url"]
    assert (first["server_time"], second["server_time"]) == (
        "2026-11-27T09:30:00.000Z",
        "2026-11-27T09:30:02.000Z",
    )
    assert second["ads"]["server_time"] == "2026-11-27T09:30:02Z"
    # The rest is the stored payload's.
    for part in ("insights", "add_content", "promo_slot", "trending"):
        assert first[part] == second[part]
    # Each token counts: the read and the impression (a browser's).
    assert api_client.get(second["article"]["read_url"], HTTP_USER_AGENT=BROWSER).status_code == 204
    beacon, _ = paths(second)
    assert api_client.get(beacon, HTTP_USER_AGENT=BROWSER).status_code == 204
    assert totals()["impressions"] == 1


@pytest.mark.parametrize("process", ["this", "another"])
def test_an_edit_of_the_article_is_served_on_the_next_request(api_client, page, process):
    api_client.get(url(page["article"]))
    api_client.get(url(page["article"]))  # warm
    article = page["article"]
    article.headline = "Feature, edited"
    article.save()
    if process == "another":
        other_process()
    assert api_client.get(url(article)).json()["article"]["headline"] == "Feature, edited"


def test_the_viewer_reaches_the_frequency_cap(api_client, page):
    capped = CreativeFactory(
        name="Capped",
        campaign=CampaignFactory(frequency_cap=1),
        slots=[page["slots"]["leaderboard"]],
        include=[page["topic"]],
    )
    page["targeted"]["leaderboard"].delete()  # the capped creative is the slot's only one
    first = api_client.get(url(page["article"], "viewer=reader-1")).json()
    assert creatives(first)["leaderboard"] == capped.pk
    beacon, _ = paths(first, "leaderboard")
    assert api_client.get(beacon, HTTP_USER_AGENT=BROWSER).status_code == 204  # counted
    again = api_client.get(url(page["article"], "viewer=reader-1")).json()
    assert again["ads"]["slots"]["leaderboard"] is None
    assert creatives(again)["sitewide-strip"] == page["targeted"]["sitewide-strip"].pk
    other = api_client.get(url(page["article"], "viewer=reader-2")).json()
    assert creatives(other)["leaderboard"] == capped.pk


@pytest.mark.parametrize(
    "query", ["viewer=bad%20viewer", "viewer=" + "v" * 65, "viewer=%00", "viewer=abc%0A"]
)
def test_an_invalid_viewer_is_400_with_field_errors(api_client, page, query):
    response = api_client.get(url(page["article"], query))
    assert response.status_code == 400
    body = response.json()
    assert (body["status"], body["code"]) == (400, "invalid")
    assert list(body["errors"]) == ["viewer"]


# --- Staff `at` -----------------------------------------------------------------------------


AT = "2026-11-28T12:00:00Z"


@pytest.mark.parametrize("caller", ["anonymous", "non_staff_session", "partner_token"])
def test_only_staff_may_ask_for_another_time(api_client, page, caller):
    if caller == "non_staff_session":
        api_client.force_login(UserFactory(username="reader"))
    elif caller == "partner_token":
        partner = PartnerFactory()
        api_client.credentials(HTTP_AUTHORIZATION=f"Token {partner.user.auth_token.key}")
    response = api_client.get(url(page["article"], f"at={AT}"))
    assert response.status_code == 403
    body = response.json()
    assert (body["status"], body["code"], body["errors"]) == (403, "permission_denied", {})
    assert api_client.get(url(page["article"])).status_code == 200  # the page now: theirs


def test_a_bad_token_with_at_is_403_and_never_a_500(api_client, page):
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    response = api_client.get(url(page["article"], f"at={AT}"))
    assert response.status_code == 403
    assert response.json()["code"] == "authentication_failed"
    assert api_client.get(url(page["article"])).status_code == 200  # a reader's never looks


@pytest.mark.parametrize("token", [False, True], ids=["session", "token"])
def test_staff_see_the_page_at_another_time(api_client, page, token):
    staff = staff_client(api_client, token=token)
    response = staff.get(url(page["article"], f"at={AT}"))
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store, private"
    assert not response.has_header("ETag")
    body = response.json()
    assert body["at"] == "2026-11-28T12:00:00.000Z"
    assert body["article"]["read_url"] is None  # a preview is not a read
    assert creatives(body) == {key: page["targeted"][key].pk for key in SLOTS}
    assert body["ads"]["server_time"] == "2026-11-28T12:00:00Z"
    assert body["server_time"] == "2026-11-27T09:30:00.000Z"  # the server's own clock


def test_a_scheduled_article_is_404_now_and_shown_at_its_go_live(api_client, page):
    go_live = NOW + DAY
    scheduled = ArticleFactory(
        topics=[page["topic"]],
        headline="Tomorrow",
        status=Article.Status.SCHEDULED,
        published_at=go_live,
    )
    staff = staff_client(api_client)
    assert staff.get(url(scheduled)).status_code == 404
    before = staff.get(url(scheduled, "at=" + iso(go_live - HOUR)))
    assert before.status_code == 404
    body = staff.get(url(scheduled, "at=" + iso(go_live + HOUR))).json()
    assert body["article"]["headline"] == "Tomorrow"
    # Live then, it shows in the "more from" of its neighbours too.
    at_page = staff.get(url(page["article"], "at=" + iso(go_live + HOUR))).json()
    assert at_page["article"]["more_from"]["articles"][0]["slug"] == scheduled.slug
    now_page = staff.get(url(page["article"])).json()
    assert scheduled.slug not in str(now_page)


def test_the_promo_countdown_shows_the_phase_of_at(api_client, page):
    countdown = countdown_with_phases(
        ("Early bird", NOW + DAY), ("Final deadline", NOW + 3 * DAY), slug="awards"
    )
    strip = page["targeted"]["sitewide-strip"]
    strip.countdown = countdown
    strip.save()
    staff = staff_client(api_client)
    now = staff.get(url(page["article"])).json()["ads"]["slots"]["sitewide-strip"]["countdown"]
    assert (now["label"], now["seconds_remaining"]) == ("Early bird", 86400)
    at = iso(NOW + 2 * DAY)
    later = staff.get(url(page["article"], f"at={at}")).json()
    countdown_then = later["ads"]["slots"][later["promo_slot"]]["countdown"]
    assert (countdown_then["label"], countdown_then["seconds_remaining"]) == (
        "Final deadline",
        86400,
    )
    # Once its countdown has closed, the strip no longer serves (as it would then).
    closed = staff.get(url(page["article"], f"at={iso(NOW + 4 * DAY)}")).json()
    assert closed["ads"]["slots"]["sitewide-strip"] is None


def test_a_campaign_starting_later_serves_in_the_at_answer_and_not_now(api_client, page):
    sidebar = page["slots"]["article-sidebar"]
    page["targeted"]["article-sidebar"].delete()
    later = CreativeFactory(
        name="Later",
        campaign=CampaignFactory(starts_at=NOW + DAY, ends_at=NOW + 5 * DAY),
        slots=[sidebar],
        include=[page["topic"]],
    )
    staff = staff_client(api_client)
    assert staff.get(url(page["article"])).json()["ads"]["slots"]["article-sidebar"] is None
    at = iso(NOW + 2 * DAY)
    assert creatives(staff.get(url(page["article"], f"at={at}")).json())["article-sidebar"] == (
        later.pk
    )


def test_the_beacons_and_clicks_of_an_at_answer_bill_nothing(api_client, page):
    staff = staff_client(api_client)
    body = staff.get(url(page["article"], f"at={AT}")).json()
    for key in SLOTS:
        beacon, click = paths(body, key)
        assert api_client.get(beacon, HTTP_USER_AGENT=BROWSER).status_code == 204
        response = api_client.get(click, HTTP_USER_AGENT=BROWSER)
        assert response.status_code == 302
        assert response["Location"] == page["targeted"][key].click_url
    assert totals() == {"impressions": 0, "clicks": 0, "bot_impressions": 0, "bot_clicks": 0}
    assert apart() == {("impression", "preview"): 3, ("click", "preview"): 3}


def test_an_at_answer_is_never_stored(api_client, page):
    scheduled = ArticleFactory(
        topics=[page["topic"]], status=Article.Status.SCHEDULED, published_at=NOW + DAY
    )
    staff = staff_client(api_client)
    at = iso(NOW + 2 * DAY)
    for _ in range(2):
        preview = staff.get(url(page["article"], f"at={at}")).json()
        assert preview["article"]["more_from"]["articles"][0]["slug"] == scheduled.slug
    api_client.logout()
    reader = api_client.get(url(page["article"])).json()
    assert reader["at"] is None
    assert reader["article"]["read_url"] is not None
    assert scheduled.slug not in str(reader)
    again = api_client.get(url(page["article"])).json()  # stored now: a reader's payload
    assert scheduled.slug not in str(again)
    assert "/impression/" in again["ads"]["slots"]["leaderboard"]["impression_url"]
    beacon, _ = paths(again, "leaderboard")
    api_client.get(beacon, HTTP_USER_AGENT=BROWSER)
    assert totals()["impressions"] == 1  # a reader's tokens bill


@pytest.mark.parametrize("value", ["tomorrow", "2026-13-01T00:00:00Z", "1"])
def test_an_invalid_at_is_400(api_client, page, value):
    staff = staff_client(api_client)
    response = staff.get(url(page["article"], f"at={value}"))
    assert response.status_code == 400
    body = response.json()
    assert (body["status"], body["code"]) == (400, "invalid")
    assert list(body["errors"]) == ["at"]


# --- Ads failing ----------------------------------------------------------------------------


def _fails(*args, **kwargs):
    raise RuntimeError("the inventory is unreadable")


@pytest.mark.parametrize("warm", [False, True], ids=["cold", "warm"])
def test_when_ads_fail_the_page_answers_with_empty_slots(api_client, page, monkeypatch, warm):
    if warm:
        api_client.get(url(page["article"]))  # stored: the failure is in the hole's filling
    monkeypatch.setattr(pages, "serve_page", _fails)
    response = api_client.get(url(page["article"]))
    assert response.status_code == 200
    body = response.json()
    assert body["ads"]["slots"] == dict.fromkeys(SLOTS)
    assert body["ads"]["available"] is False
    assert body["article"]["headline"] == "Feature"
    assert len(body["insights"]["results"]) == 2
    staff = staff_client(api_client)
    preview = staff.get(url(page["article"], f"at={AT}")).json()
    assert preview["ads"]["slots"] == dict.fromkeys(SLOTS)
    assert preview["ads"]["available"] is False


# --- The schema -----------------------------------------------------------------------------


def test_the_schema_documents_the_operation_and_the_answers_match_it(api_client, page):
    operation = openapi_schema()["paths"]["/api/v1/pages/articles/{slug}/"]["get"]
    assert {"200", "400", "403", "404"} <= set(operation["responses"])
    names = {parameter["name"] for parameter in operation["parameters"]}
    assert {"slug", "viewer", "at"} <= names
    # No ETag is sent and no 304 answered: the schema does not promise them.
    assert "304" not in operation["responses"]
    assert "ETag" not in operation["responses"]["200"].get("headers", {})
    assert "If-None-Match" not in names
    # Every answer in this module goes through api_client, which validates it against the
    # schema (tests/contract.py); here explicitly, for a reader's and a staff answer.
    path = url(page["article"])
    assert_matches_schema("GET", path, api_client.get(path))
    staff = staff_client(api_client)
    assert_matches_schema("GET", path, staff.get(path, {"at": AT}))
