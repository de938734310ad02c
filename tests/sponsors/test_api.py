"""The sponsor block in the article API, the sponsors API and the Industry insights feed."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from cms.models import Article
from sponsors.models import Sponsorship
from tests.cms.factories import ArticleFactory, TopicFactory
from tests.images import image_bytes, upload
from tests.sponsors.factories import SponsorFactory, SponsorshipFactory, label, partner_article

pytestmark = pytest.mark.django_db

HOUR = dt.timedelta(hours=1)


def slugs(response):
    return [item["slug"] for item in response.json()["results"]]


def test_article_detail_carries_the_sponsor_block(api_client):
    sponsor = SponsorFactory(
        name="TikTok",
        description="Short video for <b>brands</b>.",
        website_url="https://www.tiktok.com/business/",
        logo=upload("logo.png", image_bytes("PNG", size=(400, 120))),
    )
    article = partner_article(sponsor=sponsor)
    block = api_client.get(f"/api/v1/articles/{article.slug}/").json()["sponsorship"]
    assert block["label"] == "Content created with"
    assert block["sponsor"]["name"] == "TikTok"
    assert block["sponsor"]["slug"] == "tiktok"
    assert block["sponsor"]["description"] == "Short video for <b>brands</b>."
    assert block["sponsor"]["website_url"] == "https://www.tiktok.com/business/"
    assert block["sponsor"]["url"].endswith("/api/v1/sponsors/tiktok/")
    renditions = {r["name"]: r for r in block["sponsor"]["logo"]["renditions"]}
    assert renditions["original"]["width"] == 400
    assert renditions["thumbnail"] == {
        "name": "thumbnail",
        "url": renditions["thumbnail"]["url"],
        "width": 320,
        "height": 96,
    }
    assert renditions["thumbnail"]["url"].startswith("http://testserver/media/renditions/")


def test_unsponsored_article_has_null_sponsorship_and_ended_ones_stop_showing(api_client):
    article = ArticleFactory()
    assert api_client.get(f"/api/v1/articles/{article.slug}/").json()["sponsorship"] is None
    sponsorship = SponsorshipFactory(article=article, ends_at=timezone.now() + HOUR)
    assert api_client.get("/api/v1/articles/").json()["results"][0]["sponsorship"] is not None
    assert api_client.get(f"/api/v1/articles/{article.slug}/").json()["sponsorship"] is not None
    # No save: the window closes by the clock, and no cached answer outlives it.
    with time_machine.travel(sponsorship.ends_at, tick=False):
        assert api_client.get("/api/v1/articles/").json()["results"][0]["sponsorship"] is None
        assert api_client.get(f"/api/v1/articles/{article.slug}/").json()["sponsorship"] is None


def test_one_article_shows_one_sponsor_block(api_client):
    topic = TopicFactory()
    article = ArticleFactory(topics=[topic])
    now = timezone.now()
    Sponsorship.objects.create(
        sponsor=SponsorFactory(name="Topic sponsor"),
        topic=topic,
        label=label("sponsored-by"),
        starts_at=now - HOUR,
        ends_at=now + HOUR,
    )
    SponsorshipFactory(article=article, sponsor=SponsorFactory(name="Own sponsor"))
    item = api_client.get("/api/v1/articles/").json()["results"][0]
    assert item["sponsorship"]["sponsor"]["name"] == "Own sponsor"
    other = ArticleFactory(topics=[topic])
    detail = api_client.get(f"/api/v1/articles/{other.slug}/").json()
    assert detail["sponsorship"]["label"] == "Sponsored by"
    assert detail["sponsorship"]["sponsor"]["name"] == "Topic sponsor"


@pytest.mark.parametrize("rows", [1, 30])
def test_sponsor_blocks_add_no_query_per_article(api_client, django_assert_num_queries, rows):
    topic = TopicFactory()
    now = timezone.now()
    Sponsorship.objects.create(
        sponsor=SponsorFactory(),
        topic=topic,
        label=label(),
        starts_at=now - HOUR,
        ends_at=now + HOUR,
    )
    for _ in range(rows):
        SponsorshipFactory(article=ArticleFactory(topics=[topic]))
    # count, the page of articles with authors, their topics, the topics' live sponsorships
    # (with sponsor and label), the articles' own live sponsorships (with sponsor and label),
    # the next scheduled change (two)
    with django_assert_num_queries(7):
        response = api_client.get("/api/v1/articles/?page_size=50")
    assert all(item["sponsorship"] for item in response.json()["results"])


# ---------------------------------------------------------------------------------------------
# Sponsors


def test_sponsors_list_shows_active_sponsors_only(api_client):
    SponsorFactory(name="TikTok")
    SponsorFactory(name="Gone", is_active=False)
    response = api_client.get("/api/v1/sponsors/")
    assert response.status_code == 200
    assert slugs(response) == ["tiktok"]
    assert response.json()["results"][0]["articles_url"].endswith(
        "/api/v1/sponsors/tiktok/articles/"
    )
    assert "public" in response["Cache-Control"]
    assert api_client.get("/api/v1/sponsors/gone/").status_code == 404


def test_sponsor_detail_has_its_live_content_newest_first(api_client):
    sponsor = SponsorFactory(name="TikTok")
    now = timezone.now()
    old = partner_article(sponsor=sponsor, published_at=now - 48 * HOUR)
    new = partner_article(sponsor=sponsor, published_at=now - HOUR)
    ArticleFactory(kind="partner", status="draft", published_at=None)  # not live
    ended = partner_article(sponsor=sponsor)
    Sponsorship.objects.filter(article=ended).update(ends_at=now - HOUR)
    partner_article()  # someone else's
    body = api_client.get("/api/v1/sponsors/tiktok/").json()
    assert body["name"] == "TikTok"
    assert [a["slug"] for a in body["articles"]] == [new.slug, old.slug]
    assert body["articles"][0]["sponsorship"]["sponsor"]["slug"] == "tiktok"
    all_content = api_client.get(body["articles_url"])
    assert slugs(all_content) == [new.slug, old.slug]


def test_sponsor_detail_lists_at_most_four_and_view_all_pages(api_client):
    sponsor = SponsorFactory(name="TikTok")
    for _ in range(6):
        partner_article(sponsor=sponsor)
    assert len(api_client.get("/api/v1/sponsors/tiktok/").json()["articles"]) == 4
    page = api_client.get("/api/v1/sponsors/tiktok/articles/?page_size=5").json()
    assert page["count"] == 6 and len(page["results"]) == 5


@pytest.mark.parametrize("rows", [1, 12])
def test_sponsor_detail_query_count(api_client, django_assert_num_queries, rows):
    sponsor = SponsorFactory(name="TikTok")
    topic = TopicFactory()
    for _ in range(rows):
        partner_article(sponsor=sponsor, topics=[topic])
    # the sponsor, its newest live articles with authors, their topics, the topics' live
    # sponsorships, the articles' own live sponsorships, the next scheduled change (two)
    with django_assert_num_queries(7):
        response = api_client.get("/api/v1/sponsors/tiktok/")
    assert len(response.json()["articles"]) == min(rows, 4)
    with django_assert_num_queries(0):
        assert api_client.get("/api/v1/sponsors/tiktok/").json() == response.json()


# ---------------------------------------------------------------------------------------------
# Industry insights


def test_insights_is_live_partner_content_newest_first(api_client):
    now = timezone.now()
    old = partner_article(published_at=now - 9 * HOUR)
    new = partner_article(published_at=now - HOUR)
    ArticleFactory()  # news
    ArticleFactory(kind="partner", status="draft", published_at=None)
    ArticleFactory(kind="partner", status="scheduled", published_at=now + HOUR)
    response = api_client.get("/api/v1/insights/")
    assert response.status_code == 200
    assert slugs(response) == [new.slug, old.slug]
    assert response.json()["results"][0]["kind"] == "partner"
    assert "public" in response["Cache-Control"]


def test_insights_filters_by_sponsor_and_topic(api_client):
    tiktok, other = SponsorFactory(name="TikTok"), SponsorFactory(name="Other")
    video = TopicFactory(name="Video")
    by_tiktok = partner_article(sponsor=tiktok, topics=[video])
    by_tiktok_untagged = partner_article(sponsor=tiktok)
    by_other = partner_article(sponsor=other, topics=[video])
    assert set(slugs(api_client.get("/api/v1/insights/?sponsor=tiktok"))) == {
        by_tiktok.slug,
        by_tiktok_untagged.slug,
    }
    assert set(slugs(api_client.get("/api/v1/insights/?topic=video"))) == {
        by_tiktok.slug,
        by_other.slug,
    }
    assert slugs(api_client.get("/api/v1/insights/?topic=video&sponsor=tiktok")) == [by_tiktok.slug]


@pytest.mark.parametrize(
    "query, field",
    [
        ("sponsor=", "sponsor"),
        ("topic=", "topic"),
        ("page=0", "page"),
        ("page_size=x", "page_size"),
        ("page_size=101", "page_size"),
    ],
)
def test_insights_bad_parameters_are_400(api_client, query, field):
    response = api_client.get(f"/api/v1/insights/?{query}")
    assert response.status_code == 400
    assert field in response.json()["errors"]


@pytest.mark.parametrize("query", ["sponsor=nobody", "topic=nothing"])
def test_insights_of_no_such_sponsor_or_topic_are_404(api_client, query):
    response = api_client.get(f"/api/v1/insights/?{query}")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_insights_paginates(api_client):
    for _ in range(3):
        partner_article()
    page = api_client.get("/api/v1/insights/?page_size=2").json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]
    assert api_client.get("/api/v1/insights/?page=9").status_code == 404


@pytest.mark.parametrize("rows", [1, 25])
def test_insights_query_count(api_client, django_assert_num_queries, rows):
    topics = [TopicFactory(), TopicFactory()]
    for _ in range(rows):
        partner_article(topics=topics)
    # count, the page of articles with authors, their topics, the topics' live sponsorships,
    # the articles' own live sponsorships (each with sponsor and label), the next scheduled
    # change (two)
    with django_assert_num_queries(7):
        response = api_client.get("/api/v1/insights/?page_size=50")
    assert len(response.json()["results"]) == rows
    with django_assert_num_queries(0):
        assert api_client.get("/api/v1/insights/?page_size=50").json() == response.json()
    assert Article.objects.filter(kind="partner").count() == rows


def test_an_inactive_sponsors_content_is_not_found(api_client):
    sponsor = SponsorFactory(name="Gone")
    partner_article(sponsor=sponsor)
    assert api_client.get("/api/v1/sponsors/gone/articles/").json()["count"] == 1
    sponsor.is_active = False
    sponsor.save()
    assert api_client.get("/api/v1/sponsors/gone/").status_code == 404
    assert api_client.get("/api/v1/sponsors/gone/articles/").status_code == 404
