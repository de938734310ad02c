"""The reference pages readers see: every part of the seed page, errors as pages, the viewer
cookie, staff previews, ads down, page URLs, and what a page costs in queries."""

from __future__ import annotations

import datetime as dt
import io
import re
from html import unescape

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.http import HttpRequest
from django.test import Client
from django.utils import timezone

from cms.demo import FEATURE_SLUG
from cms.models import Article
from tests.cms.factories import ArticleFactory, AuthorFactory, BlockFactory, TopicFactory

pytestmark = pytest.mark.django_db

ARTICLE = f"/articles/{FEATURE_SLUG}/"


@pytest.fixture
def demo():
    call_command("load_demo_data", admin_password="pw", stdout=io.StringIO())


def text(response) -> str:
    """The page's visible text, roughly: tags out, whitespace squeezed."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r"</?(a|b|strong|em|i|span|time)\b[^>]*>", "", html)  # inline: no break
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def test_the_demo_article_page_shows_every_part_of_the_seed_page(demo, client):
    response = client.get(ARTICLE)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    seen = text(response)
    feature = Article.objects.get(slug=FEATURE_SLUG)
    # Headline (the one h1), standfirst, byline, date, reading time.
    assert html.count("<h1") == 1 and feature.headline in seen
    assert feature.standfirst in seen
    author = feature.author
    assert f"By {author.name}, {author.role}, {author.region}" in seen
    assert f"{feature.reading_minutes} min read" in seen
    assert timezone.localtime(feature.published_at).strftime("%B") in seen
    # Topics above and below the article.
    assert html.count('class="topics topics--top"') == 1
    assert html.count('class="topics topics--bottom"') == 1
    assert 'href="http://testserver/topics/microsoft/"' in html
    # The sponsor block.
    assert "Content created with: Reelhouse" in seen
    assert 'alt="Reelhouse logo"' in html
    assert re.search(
        r'<a class="button" href="https://[^"]+" rel="sponsored noopener">Find out', html
    )
    # More from, Trending, Industry insights, Add your own content.
    assert "More from Microsoft" in seen and "View all" in seen
    assert "Trending" in seen and "Industry insights" in seen
    assert "Add your own content +" in seen
    assert 'href="http://testserver/partners/submit/"' in html
    # The body: a pull quote and a list, the hero's caption.
    assert "<blockquote>" in html and "<li>" in html
    assert feature.hero_caption in seen


def test_the_article_page_keeps_the_dom_contract_of_the_tracking_script(demo, client):
    html = client.get(ARTICLE).content.decode()
    # The promo strip: its text promo, its CTA through the signed click URL, its countdown.
    strip = re.search(r'<aside class="promo-strip"[^>]*>', html)
    assert strip and 'data-slot="sitewide-strip"' in strip.group(0)
    assert "/api/v1/ads/impression/" in strip.group(0)
    assert re.search(r'class="promo-strip__cta" href="http://testserver/api/v1/ads/click/', html)
    assert 'data-countdown-mount="promo-countdown-data"' in html
    assert '<script id="promo-countdown-data" type="application/json">' in html
    assert "Extended deadline" in html
    # Banner slots: the signed click URL, never the advertiser; the image's alt text.
    for key in ("leaderboard", "article-sidebar"):
        slot = re.search(
            rf'<div class="ad-slot ad-slot--{key}" data-slot="{key}" '
            r'data-impression-url="(http://testserver/api/v1/ads/impression/[^"]+)">\s*'
            r'<p class="ad-slot__label">Advertisement</p>\s*'
            r'<a class="ad-slot__link" href="(http://testserver/api/v1/ads/click/[^"]+)" '
            r'rel="sponsored noopener">\s*<img src="[^"]+"[^>]* alt="([^"]+)">',
            html,
        )
        assert slot, key
    # The read beacon on the article element; no inline script runs anywhere.
    assert re.search(
        r'<article class="article" data-read-url="http://testserver/api/v1/reads/', html
    )
    scripts = re.findall(r"<script\b([^>]*)>", html)
    assert all("src=" in attrs or 'type="application/json"' in attrs for attrs in scripts)
    assert "/static/site/reader.js" in html and "/static/sponsors/countdown.js" in html


def test_unknown_slugs_answer_an_html_404_page(db, client):
    for url in ("/articles/nope/", "/topics/nope/", "/authors/nope/", "/sponsors/nope/"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert response["Content-Type"].startswith("text/html")
        assert "Page not found" in text(response)
    draft = ArticleFactory(status=Article.Status.DRAFT, published_at=None)
    assert client.get(f"/articles/{draft.slug}/").status_code == 404


def test_a_reader_gets_a_vid_cookie_once_and_it_is_their_viewer(db, client, monkeypatch):
    article = ArticleFactory()
    first = client.get(f"/articles/{article.slug}/")
    cookie = first.cookies["vid"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{16,64}", cookie.value)
    assert cookie["samesite"] == "Lax" and cookie["httponly"]
    assert cookie["max-age"] >= 3600 * 24 * 300
    seen = []
    from cms.api import pages

    real = pages.serve_page

    def spy(slots, context, **kwargs):
        seen.append(context.viewer)
        return real(slots, context, **kwargs)

    monkeypatch.setattr(pages, "serve_page", spy)
    again = client.get(f"/articles/{article.slug}/")
    assert "vid" not in again.cookies  # kept, not replaced
    assert seen == [cookie.value]
    # A malformed cookie is replaced by a fresh id.
    client.cookies["vid"] = "not valid!"
    assert re.fullmatch(r"[A-Za-z0-9_-]+", client.get("/").cookies["vid"].value)


def test_staff_see_a_preview_banner_at_a_time_and_others_a_403_page(db, client):
    later = timezone.now() + dt.timedelta(days=3)
    scheduled = ArticleFactory(
        headline="Coming on Thursday", status=Article.Status.SCHEDULED, published_at=later
    )
    at = (later + dt.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    url = f"/articles/{scheduled.slug}/?at={at}"
    refused = client.get(url)
    assert refused.status_code == 403
    assert refused["Content-Type"].startswith("text/html")
    assert "This page is not open to you" in text(refused)
    assert "Only staff may see a page at another time" in text(refused)

    User.objects.create_user("boss", password="pw", is_staff=True)
    client.login(request=HttpRequest(), username="boss", password="pw")
    shown = client.get(url)
    assert shown.status_code == 200
    seen = text(shown)
    assert "Coming on Thursday" in seen
    assert "Preview at" in seen and "nothing is counted" in seen
    assert 'data-read-url=""' in shown.content.decode()  # a preview is not a read
    assert "UTC" in seen  # the preview's moment says its zone
    # Without `at`, the same staff member reads the page as it is now: not live yet.
    assert client.get(f"/articles/{scheduled.slug}/").status_code == 404


def test_the_page_api_takes_at_from_a_staff_session(db, client):
    article = ArticleFactory()
    url = f"/api/v1/pages/articles/{article.slug}/?at=2030-01-01T00:00:00Z"
    assert client.get(url).status_code == 403
    User.objects.create_user("boss", password="pw", is_staff=True)
    client.login(request=HttpRequest(), username="boss", password="pw")
    answer = client.get(url)
    assert answer.status_code == 200
    assert answer.json()["at"] == "2030-01-01T00:00:00.000Z"


def test_the_admin_preview_renders_a_draft_at_a_time_for_staff_only(db, client):
    draft = ArticleFactory(
        headline="A draft of mine", status=Article.Status.DRAFT, published_at=None
    )
    BlockFactory(article=draft, text="Draft <b>words</b>.")
    url = f"/preview/articles/{draft.pk}/?at=2030-01-01T09:00:00Z"
    assert client.get(url).status_code == 302  # to the admin's login
    User.objects.create_superuser("root", password="pw")
    client.login(request=HttpRequest(), username="root", password="pw")
    response = client.get(url)
    assert response.status_code == 200
    seen = text(response)
    assert "A draft of mine" in seen and "Draft words." in seen
    assert "Preview at" in seen and "January 1, 2030" in seen
    assert client.get(f"/preview/articles/{draft.pk}/?at=tomorrow").status_code == 400


def test_with_ads_down_the_page_still_reads_with_empty_slots(demo, client, monkeypatch):
    from cms.api import pages

    def broken(*args, **kwargs):
        raise RuntimeError("ad serving is down")

    monkeypatch.setattr(pages, "serve_page", broken)
    response = client.get(ARTICLE)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Content created with: Reelhouse" in text(response)
    assert "/api/v1/ads/" not in html  # no beacon, no click URL
    for key in ("leaderboard", "article-sidebar"):
        assert (
            f'<div class="ad-slot ad-slot--empty ad-slot--{key}" data-slot="{key}"></div>' in html
        )
    assert 'class="promo-strip promo-strip--empty ad-slot ad-slot--empty"' in html
    assert "More from Microsoft" in text(response)


@pytest.mark.parametrize(
    ("url", "parts"),
    [
        ("/", ["Latest", "Add your own content"]),
        ("/topics/microsoft/", ["More from Microsoft"]),
        ("/authors/mei-tan/", ["Mei Tan", "Articles by Mei Tan"]),
        ("/sponsors/reelhouse/", ["Reelhouse", "Find out more", "Content with Reelhouse"]),
        ("/insights/", ["Industry insights", "Add your own content +"]),
        ("/trending/", ["Trending", "most-read"]),
    ],
)
def test_each_listing_page_renders_its_parts(demo, client, url, parts):
    response = client.get(url)
    assert response.status_code == 200
    seen = text(response)
    for part in parts:
        assert part in seen, part
    html = response.content.decode()
    assert html.count("<h1") == 1
    assert '<aside class="promo-strip"' in html  # the site-wide strip, with its countdown
    assert 'data-countdown-mount="promo-countdown-data"' in html
    assert re.search(
        r'class="card__headline"><a href="http://testserver/articles/[-a-z0-9]+/"', html
    )


def test_pages_are_read_only(db, client):
    assert client.post("/").status_code == 405
    assert client.get("/").status_code == 200


def test_a_listing_pages_by_its_own_urls(db, client):
    topic = TopicFactory(name="Retail")
    for _ in range(14):
        ArticleFactory(topics=[topic])
    first = client.get("/topics/retail/")
    assert 'href="/topics/retail/?page=2"' in first.content.decode()
    second = client.get("/topics/retail/?page=2")
    assert second.status_code == 200 and 'href="/topics/retail/"' in second.content.decode()
    assert client.get("/topics/retail/?page=9").status_code == 404
    assert client.get("/topics/retail/?page=zz").status_code == 200  # the first page


def test_page_urls_follow_the_setting(db, client, api_client, settings):
    author = AuthorFactory(name="Ana Ruiz")
    topic = TopicFactory(name="Retail")
    article = ArticleFactory(author=author, topics=[topic])
    body = api_client.get(f"/api/v1/articles/{article.slug}/").json()
    assert body["page_url"] == f"http://testserver/articles/{article.slug}/"
    assert body["author"]["page_url"] == "http://testserver/authors/ana-ruiz/"
    assert body["topics"][0]["page_url"] == "http://testserver/topics/retail/"

    settings.SITE_PAGE_BASE_URL = "https://www.example.com/news"
    from cms.api import payloads

    payloads.forget_memo()  # a restart with the new setting; the shared cache is kept
    body = api_client.get(f"/api/v1/articles/{article.slug}/").json()
    assert body["page_url"] == f"https://www.example.com/news/articles/{article.slug}/"
    assert body["author"]["page_url"] == "https://www.example.com/news/authors/ana-ruiz/"
    assert body["url"] == f"http://testserver/api/v1/articles/{article.slug}/"  # the API's own
    topics = api_client.get("/api/v1/topics/").json()["results"]
    assert topics[0]["page_url"] == "https://www.example.com/news/topics/retail/"
    # The reference pages link where the setting says too.
    assert f'href="https://www.example.com/news/articles/{article.slug}/"' in (
        client.get("/").content.decode()
    )


def test_the_sponsor_page_url_is_in_the_sponsor_objects(demo, api_client):
    sponsor = api_client.get("/api/v1/sponsors/reelhouse/").json()
    assert sponsor["page_url"] == "http://testserver/sponsors/reelhouse/"
    block = api_client.get(f"/api/v1/articles/{FEATURE_SLUG}/").json()["sponsorship"]
    assert block["sponsor"]["page_url"] == "http://testserver/sponsors/reelhouse/"


def test_pages_cost_few_queries_and_warm_pages_next_to_none(demo, django_assert_max_num_queries):
    reader = Client()
    reader.get("/")  # the viewer cookie
    for url in ("/", "/topics/microsoft/", ARTICLE):
        reader.get(url)  # builds the stored payloads
    with django_assert_max_num_queries(0):
        assert reader.get("/").status_code == 200
    with django_assert_max_num_queries(0):
        assert reader.get("/topics/microsoft/").status_code == 200
    # The article: its stored payload, the ads' decision from the inventory snapshot. The
    # decision draws among campaigns: one it had not drawn yet reads its lifetime total
    # from the database once (then kept in the cache), so at most that one query.
    for _ in range(5):
        reader.get(ARTICLE)
    with django_assert_max_num_queries(1):
        assert reader.get(ARTICLE).status_code == 200


def test_cold_pages_have_pinned_query_counts(demo, django_assert_max_num_queries):
    """Nothing stored (payloads, ads inventory): each page builds what it shows, the ads'
    inventory snapshot included (the promo strip's decision)."""
    from django.core.cache import cache

    from cms.api import payloads
    from sponsors.inventory_cache import forget_memo

    reader = Client()
    for url, most in (("/", 15), ("/topics/microsoft/", 17), (ARTICLE, 30)):
        payloads.forget_memo()
        forget_memo()
        cache.clear()
        with django_assert_max_num_queries(most):
            assert reader.get(url).status_code == 200


def test_a_malformed_at_says_what_is_wrong_on_a_readable_page(db, client):
    article = ArticleFactory()
    User.objects.create_user("boss", password="pw", is_staff=True)
    client.login(request=HttpRequest(), username="boss", password="pw")
    refused = client.get(f"/articles/{article.slug}/?at=next+tuesday")
    assert refused.status_code == 400
    assert refused["Content-Type"].startswith("text/html")
    assert "at: Datetime has wrong format" in text(refused)
