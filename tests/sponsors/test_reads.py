"""The read beacon: one read per page view, everything else counted apart by its reason."""

import datetime as dt
from urllib.parse import urlparse

import pytest
import time_machine
from django.core import signing
from django.test import Client

from cms.models import Article
from sponsors.counters import read_max_age, uses_redis
from sponsors.models import ArticleReadCounter, UncountedCounter
from sponsors.tracking import READ_SALT, make_read_token
from tests.cms.factories import ArticleFactory
from tests.conftest import redis_back
from tests.sponsors.counting import apart, reads

pytestmark = pytest.mark.django_db

BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Safari/605.1.15"
NOW = dt.datetime(2026, 11, 27, 9, 30, tzinfo=dt.UTC)


def read_path(api_client, article) -> str:
    """The read beacon of one page view, as the article API hands it out."""
    url = api_client.get(f"/api/v1/articles/{article.slug}/").json()["read_url"]
    return urlparse(url).path


@pytest.fixture
def article():
    return ArticleFactory(headline="TikTok rejects Microsoft")


def test_read_url_is_absolute_schema_valid_and_fresh_per_answer(api_client, article):
    first = api_client.get(f"/api/v1/articles/{article.slug}/")  # the client checks the schema
    second = api_client.get(f"/api/v1/articles/{article.slug}/")
    urls = [first.json()["read_url"], second.json()["read_url"]]
    assert all(url.startswith("http://testserver/api/v1/reads/") for url in urls)
    assert urls[0] != urls[1]
    # One page view per answer: no shared cache may hand one token to many readers.
    assert first["Cache-Control"] == "private, max-age=60"
    listed = api_client.get("/api/v1/articles/").json()["results"][0]
    assert "read_url" not in listed  # only the article page is a page view of it


def test_a_page_view_counts_one_read_and_replays_count_apart(api_client, article):
    beacon = read_path(api_client, article)
    first = api_client.get(beacon, HTTP_USER_AGENT=BROWSER)
    assert (first.status_code, first["Cache-Control"]) == (204, "no-store, private")
    for _ in range(3):
        assert api_client.get(beacon, HTTP_USER_AGENT=BROWSER).status_code == 204
        assert api_client.post(beacon, HTTP_USER_AGENT=BROWSER).status_code == 204
    assert reads() == 1
    assert apart() == {("read", "replayed"): 6}
    assert ArticleReadCounter.objects.get().article_id == article.pk


def test_each_page_view_counts_and_post_beacons_count(api_client, article):
    for n in range(3):
        send = api_client.post if n % 2 else api_client.get
        assert send(read_path(api_client, article), HTTP_USER_AGENT=BROWSER).status_code == 204
    assert reads() == 3


@time_machine.travel(NOW, tick=False)
def test_reads_are_counted_per_article_per_utc_hour(api_client):
    article, other = (ArticleFactory(published_at=NOW - dt.timedelta(days=1)) for _ in "ab")
    for target in (article, article, other):
        api_client.get(read_path(api_client, target), HTTP_USER_AGENT=BROWSER)
    with time_machine.travel(NOW + dt.timedelta(hours=1), tick=False):
        api_client.get(read_path(api_client, article), HTTP_USER_AGENT=BROWSER)
    reads()  # flush
    rows = ArticleReadCounter.objects.order_by("hour", "article_id")
    assert [(row.hour.hour, row.article_id, row.reads) for row in rows] == [
        (9, article.pk, 2),
        (9, other.pk, 1),
        (10, article.pk, 1),
    ]


@pytest.mark.parametrize("user_agent", ["", "Googlebot/2.1 (+http://www.google.com/bot.html)"])
def test_bots_are_counted_apart_never_as_reads(api_client, article, user_agent):
    assert (
        api_client.get(read_path(api_client, article), HTTP_USER_AGENT=user_agent).status_code
        == 204
    )
    assert reads() == 0
    assert apart() == {("read", "bot"): 1}


def test_expired_and_tampered_tokens_are_400_and_counted_apart(api_client, article):
    beacon = read_path(api_client, article)
    token = beacon.rstrip("/").rsplit("/", 1)[-1]
    tampered = beacon.replace(token, token[:-1] + ("A" if token[-1] != "A" else "B"))
    response = api_client.get(tampered, HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 400
    assert response.json()["errors"] == {"token": ["This read link is not valid."]}
    ad_token = "/api/v1/reads/abc.1.2.3..:1:" + "x" * 43 + "/"
    assert api_client.get(ad_token, HTTP_USER_AGENT=BROWSER).status_code == 400
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=read_max_age() + 5)
    with time_machine.travel(later, tick=False):
        response = api_client.get(beacon, HTTP_USER_AGENT=BROWSER)
        assert response.status_code == 400
        assert response.json()["errors"] == {"token": ["This read link has expired."]}
    assert reads() == 0
    assert apart() == {("read", "invalid"): 2, ("read", "expired"): 1}
    # The expired token was signed here: it still names its article.
    expired = UncountedCounter.objects.get(reason="expired")
    assert expired.article_id == article.pk


def test_an_ad_token_is_not_a_read_token(api_client, article):
    signer = signing.TimestampSigner(salt="sponsors.ads.impression")
    forged = signer.sign(f"{'a' * 16}.{article.pk}")
    assert api_client.get(f"/api/v1/reads/{forged}/", HTTP_USER_AGENT=BROWSER).status_code == 400
    assert apart() == {("read", "invalid"): 1}


def test_read_tokens_are_django_signing_tokens_with_their_own_salt(article):
    with time_machine.travel(dt.datetime.now(dt.UTC), tick=False):
        token = make_read_token(article.pk)
        signer = signing.TimestampSigner(salt=READ_SALT)
        payload = signer.unsign(token, max_age=60)
        assert token == signer.sign(payload)
        page_view, article_id = payload.split(".")
        assert (len(page_view), int(article_id)) == (16, article.pk)


def test_a_read_of_a_deleted_article_counts_apart_as_unknown(api_client, article):
    beacon = read_path(api_client, article)
    Article.objects.filter(pk=article.pk).delete()
    assert api_client.get(beacon, HTTP_USER_AGENT=BROWSER).status_code == 204
    assert reads() == 0
    assert apart() == {("read", "unknown"): 1}


def test_head_checks_the_token_and_counts_nothing(api_client, article):
    beacon = read_path(api_client, article)
    response = api_client.head(beacon, HTTP_USER_AGENT=BROWSER)
    assert (response.status_code, response.content) == (204, b"")
    assert api_client.head("/api/v1/reads/nope/").status_code == 400
    assert reads() == 0
    assert apart() == {}
    assert api_client.get(beacon, HTTP_USER_AGENT=BROWSER).status_code == 204  # still counts
    assert reads() == 1


def test_options_and_other_methods(api_client, article):
    beacon = read_path(api_client, article)
    response = api_client.options(beacon)
    assert (response.status_code, response["Allow"]) == (200, "GET, POST, HEAD, OPTIONS")
    assert response.json()["name"] == "Read beacon"
    for method in ("put", "patch", "delete"):  # not in the schema: a plain client
        response = getattr(Client(), method)(beacon)
        assert response.status_code == 405
        assert response["Allow"] == "GET, POST, HEAD, OPTIONS"
        assert response.json()["code"] == "method_not_allowed"
    assert reads() == 0


@pytest.mark.skipif(not uses_redis(), reason="needs Redis (set REDIS_URL)")
def test_when_redis_does_not_answer_the_read_is_counted_in_the_database_once(
    api_client, article, redis_down
):
    beacon = read_path(api_client, article)
    with redis_down():
        assert api_client.get(beacon, HTTP_USER_AGENT=BROWSER).status_code == 204
        assert ArticleReadCounter.objects.get().reads == 1  # in the database at once
    redis_back()
    assert api_client.get(beacon, HTTP_USER_AGENT=BROWSER).status_code == 204  # via Redis
    assert reads() == 1  # its receipt is in the database: the replay counts nothing
    assert apart() == {("read", "replayed"): 1}
