"""Trending: the most-read live articles of recent days, recent reads weighing more."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from cms.models import Article
from sponsors.counters import hour_of, hour_start, uses_redis
from sponsors.models import ArticleReadCounter
from tests.cms.factories import ArticleFactory, TopicFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 27, 9, 30, tzinfo=dt.UTC)
URL = "/api/v1/trending/"


def read(article, n: int, *, hours_ago: float = 0) -> None:
    """``n`` reads of ``article`` counted in the UTC hour ``hours_ago`` before NOW."""
    hour = hour_start(hour_of(NOW - dt.timedelta(hours=hours_ago)))
    row, _ = ArticleReadCounter.objects.get_or_create(hour=hour, article=article)
    row.reads += n
    row.save()


def live(**kwargs):
    return ArticleFactory(published_at=NOW - dt.timedelta(days=10), **kwargs)


def slugs(response) -> list[str]:
    return [item["slug"] for item in response.json()["results"]]


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def test_more_reads_rank_higher_and_items_are_article_cards(api_client):
    topic = TopicFactory(name="TikTok")
    few, many, unread = live(topics=[topic]), live(), live()
    read(few, 3)
    read(many, 10)
    response = api_client.get(URL)  # the client checks the answer against the schema
    assert response.status_code == 200
    assert slugs(response) == [many.slug, few.slug]  # never read: not trending
    item = response.json()["results"][1]
    assert (item["reads"], item["score"]) == (3, round(3 * 0.5 ** (0.5 / 24), 3))  # 09:00-09:30
    assert item["url"].startswith("http://testserver/")
    assert item["topics"][0]["slug"] == topic.slug
    assert item["reading_minutes"] == few.reading_minutes
    body = response.json()
    assert (body["topic"], body["window_days"], body["half_life_hours"]) == (None, 7, 24.0)
    assert unread.slug not in slugs(response)


def test_recent_reads_weigh_more_than_old_ones(api_client):
    old, recent = live(), live()
    read(old, 10, hours_ago=72)  # 3 half-lives: weighs 10 / 8
    read(recent, 2)
    results = api_client.get(URL).json()["results"]
    assert [item["slug"] for item in results] == [recent.slug, old.slug]
    assert results[0]["score"] == round(2 * 0.5 ** (0.5 / 24), 3)
    # Age from the start of the counted hour (09:00) to 09:30, plus 72 hours.
    assert results[1]["score"] == round(10 * 0.5 ** (72.5 / 24), 3)
    assert results[1]["reads"] == 10


def test_the_window_leaves_out_reads_older_than_its_days(api_client, settings):
    inside, outside = live(), live()
    read(inside, 1, hours_ago=6 * 24 + 20)
    read(outside, 100, hours_ago=7 * 24 + 1)
    assert slugs(api_client.get(URL)) == [inside.slug]
    settings.TRENDING_DAYS = 10
    settings.TRENDING_HALF_LIFE_HOURS = 12
    with time_machine.travel(NOW + dt.timedelta(minutes=5), tick=False):  # past the cache
        response = api_client.get(URL)
    assert slugs(response) == [outside.slug, inside.slug]
    assert response.json()["half_life_hours"] == 12.0


def test_topic_filter_and_unknown_topic(api_client):
    tiktok, other = TopicFactory(name="TikTok"), TopicFactory(name="Other")
    tagged, untagged = live(topics=[tiktok]), live(topics=[other])
    read(tagged, 1)
    read(untagged, 5)
    response = api_client.get(f"{URL}?topic={tiktok.slug}")
    assert slugs(response) == [tagged.slug]
    assert response.json()["topic"] == tiktok.slug
    assert slugs(api_client.get(URL)) == [untagged.slug, tagged.slug]
    missing = api_client.get(f"{URL}?topic=no-such-topic")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"


def test_drafts_archived_and_scheduled_articles_never_appear(api_client):
    shown = live()
    draft = ArticleFactory(status=Article.Status.DRAFT, published_at=None)
    archived = ArticleFactory(
        status=Article.Status.ARCHIVED, published_at=NOW - dt.timedelta(days=2)
    )
    scheduled = ArticleFactory(
        status=Article.Status.SCHEDULED, published_at=NOW + dt.timedelta(hours=2)
    )
    for article in (shown, draft, archived, scheduled):
        read(article, 5)
    assert slugs(api_client.get(URL)) == [shown.slug]


def test_limit(api_client):
    articles = [live() for _ in range(25)]
    for n, article in enumerate(articles):
        read(article, n + 1)
    assert len(slugs(api_client.get(URL))) == 10
    assert slugs(api_client.get(f"{URL}?limit=3")) == [a.slug for a in articles[::-1][:3]]
    assert len(slugs(api_client.get(f"{URL}?limit=20"))) == 20
    for bad in ("0", "21", "x", "-1"):
        response = api_client.get(f"{URL}?limit={bad}")
        assert response.status_code == 400
        assert "limit" in response.json()["errors"]


def test_warm_answers_make_no_query_and_are_cached_publicly(api_client, settings):
    settings.TRENDING_CACHE_SECONDS = 120
    article = live()
    read(article, 1)
    first = api_client.get(URL)
    assert first["Cache-Control"] == "public, max-age=120"
    read(article, 10)  # counted after the computation: not seen until it expires
    with CaptureQueriesContext(connection) as queries:
        for limit in (10, 1, 5):
            warm = api_client.get(f"{URL}?limit={limit}")
            assert warm.json()["results"][0]["reads"] == 1
    assert len(queries) == 0
    with time_machine.travel(NOW + dt.timedelta(seconds=50), tick=False):
        assert api_client.get(URL)["Cache-Control"] == "public, max-age=70"
    with time_machine.travel(NOW + dt.timedelta(seconds=121), tick=False):
        assert api_client.get(URL).json()["results"][0]["reads"] == 11  # recomputed


def test_warm_with_zero_queries_pinned(api_client, django_assert_num_queries):
    read(live(), 1)
    api_client.get(URL)
    api_client.get(f"{URL}?topic=")
    with django_assert_num_queries(0):
        assert api_client.get(URL).status_code == 200
        assert api_client.head(URL).status_code == 200


def test_the_cache_ttl_is_at_most_five_minutes(api_client, settings):
    settings.TRENDING_CACHE_SECONDS = 3600
    read(live(), 1)
    assert api_client.get(URL)["Cache-Control"] == "public, max-age=300"


def test_options_and_other_methods(api_client):
    response = api_client.options(URL)
    assert (response.status_code, response["Allow"]) == (200, "GET, HEAD, OPTIONS")
    response = Client().post(URL)
    assert (response.status_code, response["Allow"]) == (405, "GET, HEAD, OPTIONS")


@pytest.mark.skipif(not uses_redis(), reason="needs Redis (set REDIS_URL)")
def test_trending_answers_200_while_redis_is_down(api_client, redis_down):
    """Reads that need no Redis keep answering: computed from the database, not cached."""
    hot = live(headline="Hot")
    read(hot, 10)
    with redis_down():
        response = api_client.get("/api/v1/trending/")
        assert response.status_code == 200
        assert slugs(response) == [hot.slug]
