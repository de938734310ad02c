"""The editorial read API as front ends use it."""

import datetime as dt

import pytest
from django.core.management import call_command

from cms.models import Article, ArticleBlock
from tests.cms.factories import ArticleFactory, AuthorFactory, BlockFactory, TopicFactory

pytestmark = pytest.mark.django_db

ERROR_KEYS = {"status", "code", "detail", "errors"}


def slugs(response):
    return [item["slug"] for item in response.json()["results"]]


def test_list_is_newest_first_and_only_live(api_client):
    now = dt.datetime.now(dt.UTC)
    old = ArticleFactory(published_at=now - dt.timedelta(days=2))
    new = ArticleFactory(published_at=now - dt.timedelta(hours=1))
    ArticleFactory(status=Article.Status.DRAFT, published_at=None)
    ArticleFactory(status=Article.Status.SCHEDULED, published_at=now + dt.timedelta(hours=1))
    ArticleFactory(status=Article.Status.ARCHIVED)
    response = api_client.get("/api/v1/articles/")
    assert response.status_code == 200
    assert slugs(response) == [new.slug, old.slug]
    assert response.json()["count"] == 2
    assert "public" in response["Cache-Control"]


def test_list_item_shape(api_client):
    microsoft, tiktok = TopicFactory(name="Microsoft"), TopicFactory(name="TikTok")
    author = AuthorFactory(name="Shawn Lim", role="Reporter", region="Asia Pacific")
    ArticleFactory(headline="TikTok rejects Microsoft", author=author, topics=[microsoft, tiktok])
    item = api_client.get("/api/v1/articles/").json()["results"][0]
    assert item["author"]["name"] == "Shawn Lim"
    assert item["author"]["role"] == "Reporter"
    assert item["author"]["region"] == "Asia Pacific"
    assert [t["name"] for t in item["topics"]] == ["Microsoft", "TikTok"]
    assert item["topics"][0]["articles_url"].endswith("/api/v1/topics/microsoft/articles/")
    assert item["reading_minutes"] == 1
    assert item["hero"] is None


@pytest.mark.parametrize("status", ["draft", "scheduled", "archived"])
def test_non_live_article_is_a_404(api_client, status):
    future = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    article = ArticleFactory(status=status, published_at=None if status == "draft" else future)
    response = api_client.get(f"/api/v1/articles/{article.slug}/")
    assert response.status_code == 404
    assert set(response.json()) == ERROR_KEYS


def test_detail_has_body_blocks_in_order_and_more_from_the_main_topic(api_client):
    microsoft, tiktok = TopicFactory(name="Microsoft"), TopicFactory(name="TikTok")
    article = ArticleFactory(topics=[microsoft, tiktok])
    BlockFactory(article=article, position=2, kind=ArticleBlock.Kind.LIST, text="One\n• Two\n")
    BlockFactory(
        article=article, position=1, kind=ArticleBlock.Kind.QUOTE, text="Said", attribution="A"
    )
    BlockFactory(article=article, position=0, text="First <em>words</em>")
    other = ArticleFactory(topics=[microsoft])
    ArticleFactory(topics=[tiktok])  # same secondary topic only: not "more from Microsoft"
    ArticleFactory(topics=[microsoft], status=Article.Status.DRAFT, published_at=None)

    body = api_client.get(f"/api/v1/articles/{article.slug}/").json()
    assert body["body"] == [
        {"type": "paragraph", "html": "First <em>words</em>"},
        {"type": "quote", "html": "Said", "attribution": "A"},
        {"type": "list", "items": ["One", "Two"]},
    ]
    assert body["more_from"]["topic"]["name"] == "Microsoft"
    assert [a["slug"] for a in body["more_from"]["articles"]] == [other.slug]


def test_detail_without_topics_has_no_more_from(api_client):
    article = ArticleFactory()
    assert api_client.get(f"/api/v1/articles/{article.slug}/").json()["more_from"] is None


def test_filters(api_client):
    microsoft = TopicFactory(name="Microsoft")
    shawn = AuthorFactory(name="Shawn")
    a = ArticleFactory(topics=[microsoft], author=shawn, headline="Cloud deal talk", kind="opinion")
    b = ArticleFactory(published_at=dt.datetime(2020, 9, 14, 8, tzinfo=dt.UTC))
    assert slugs(api_client.get("/api/v1/articles/?topic=microsoft")) == [a.slug]
    assert slugs(api_client.get(f"/api/v1/articles/?author={shawn.slug}")) == [a.slug]
    assert slugs(api_client.get("/api/v1/articles/?kind=opinion")) == [a.slug]
    assert slugs(api_client.get("/api/v1/articles/?search=cloud%20TALK")) == [a.slug]
    assert slugs(api_client.get("/api/v1/articles/?published_before=2020-09-14")) == [b.slug]
    assert slugs(api_client.get("/api/v1/articles/?published_after=2020-09-15")) == [a.slug]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page=abc", "page"),
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page_size=lots", "page_size"),
        ("published_after=2020-13-45", "published_after"),
        ("published_before=yesterday", "published_before"),
        ("topic=", "topic"),
        ("author=", "author"),
        ("kind=advertorial", "kind"),
        ("kind=", "kind"),
        ("published_after=", "published_after"),
        ("page_size=101", "page_size"),
        ("search=" + "x" * 300, "search"),
    ],
)
def test_malformed_parameters_are_400_with_field_errors(api_client, query, field):
    ArticleFactory()
    response = api_client.get(f"/api/v1/articles/?{query}")
    assert response.status_code == 400
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["status"] == 400
    assert field in body["errors"]


def test_page_past_the_end_is_404_and_a_page_size_past_the_maximum_is_400(api_client):
    ArticleFactory()
    past = api_client.get("/api/v1/articles/?page=99999999999999999999")
    assert past.status_code == 404
    assert past.json()["detail"] == "Invalid page."
    assert "page_size" in api_client.get("/api/v1/articles/?page_size=1000000").json()["errors"]
    assert len(api_client.get("/api/v1/articles/?page_size=100").json()["results"]) == 1


@pytest.mark.parametrize("query", ["topic=no-such-topic", "author=nobody"])
def test_a_filter_naming_no_such_topic_or_author_is_404(api_client, query):
    ArticleFactory()
    response = api_client.get(f"/api/v1/articles/?{query}")
    assert response.status_code == 404
    assert set(response.json()) == ERROR_KEYS


def test_unknown_filter_names_are_ignored(api_client):
    ArticleFactory()
    assert api_client.get("/api/v1/articles/?colour=blue").status_code == 200


@pytest.mark.parametrize("rows", [1, 30])
def test_list_query_count_does_not_grow_with_rows(api_client, django_assert_num_queries, rows):
    topics = [TopicFactory(), TopicFactory()]
    for _ in range(rows):
        ArticleFactory(topics=topics)
    # count, the page of articles joined to authors, their topics (one prefetch), the live
    # sponsorships of those topics and of the articles themselves (sponsor block, one each),
    # the next scheduled change (go-live, sponsorship window: two)
    with django_assert_num_queries(7):
        response = api_client.get("/api/v1/articles/?page_size=50")
    assert len(response.json()["results"]) == rows
    with django_assert_num_queries(0):  # warm: the stored payload
        assert api_client.get("/api/v1/articles/?page_size=50").json() == response.json()


@pytest.mark.parametrize("rows", [1, 30])
def test_topic_articles_query_count(api_client, django_assert_num_queries, rows):
    topic = TopicFactory(name="Microsoft")
    for _ in range(rows):
        ArticleFactory(topics=[topic])
    # the topic, count, the page of articles with authors, their topics, the topics' and the
    # articles' live sponsorships, the next scheduled change (two)
    with django_assert_num_queries(8):
        response = api_client.get("/api/v1/topics/microsoft/articles/?page_size=50")
    assert response.json()["count"] == rows
    with django_assert_num_queries(0):
        assert api_client.get("/api/v1/topics/microsoft/articles/?page_size=50").json() == (
            response.json()
        )


def test_detail_query_count(api_client, django_assert_num_queries):
    topic = TopicFactory()
    article = ArticleFactory(topics=[topic])
    for _ in range(5):
        BlockFactory(article=article)
        ArticleFactory(topics=[topic])
    # article+author, its topics, its topics' and its own live sponsorships, its blocks,
    # more-from articles+authors, their topics, their topics' and their own live
    # sponsorships, the next scheduled change (two)
    with django_assert_num_queries(11):
        cold = api_client.get(f"/api/v1/articles/{article.slug}/").json()
    with django_assert_num_queries(0):
        warm = api_client.get(f"/api/v1/articles/{article.slug}/").json()
    assert warm["read_url"] != cold["read_url"]  # each answer its own page view
    assert {**warm, "read_url": None} == {**cold, "read_url": None}


def test_topics_and_authors(api_client):
    topic = TopicFactory(name="TikTok")
    author = AuthorFactory(name="Shawn Lim")
    article = ArticleFactory(topics=[topic], author=author)
    ArticleFactory(topics=[topic], status=Article.Status.DRAFT, published_at=None)
    assert [t["slug"] for t in api_client.get("/api/v1/topics/").json()["results"]] == ["tiktok"]
    assert api_client.get("/api/v1/topics/tiktok/").json()["name"] == "TikTok"
    assert slugs(api_client.get("/api/v1/topics/tiktok/articles/")) == [article.slug]
    assert slugs(api_client.get(f"/api/v1/authors/{author.slug}/articles/")) == [article.slug]
    assert api_client.get("/api/v1/topics/nope/").status_code == 404
    assert api_client.get("/api/v1/authors/nope/articles/").status_code == 404


def test_schema_generates_without_warnings(tmp_path):
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    schema = out.read_text()
    assert "/api/v1/articles/{slug}/" in schema
    assert "BodyBlock" in schema


def test_docs_page_is_served(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()


@pytest.mark.parametrize("rows", [1, 30])
@pytest.mark.parametrize(
    ("url", "factory"), [("/api/v1/topics/", TopicFactory), ("/api/v1/authors/", AuthorFactory)]
)
def test_topic_and_author_lists_query_count(
    api_client, django_assert_num_queries, rows, url, factory
):
    factory.create_batch(rows)
    # count, the page
    with django_assert_num_queries(2):
        assert api_client.get(url + "?page_size=50").json()["count"] == rows
    with django_assert_num_queries(0):
        assert api_client.get(url + "?page_size=50").json()["count"] == rows


def test_unknown_api_address_answers_in_the_error_format(api_client, client):
    response = api_client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert client.get("/no-such-page/").status_code == 404


@pytest.mark.parametrize("group", ["topics", "authors"])
def test_a_topic_or_authors_articles_are_live_newest_first_paginated_and_cacheable(
    api_client, group
):
    topic, author = TopicFactory(name="TikTok"), AuthorFactory(name="Shawn Lim")
    now = dt.datetime.now(dt.UTC)
    older, newer = (
        ArticleFactory(topics=[topic], author=author, published_at=now - dt.timedelta(days=days))
        for days in (2, 1)
    )
    ArticleFactory(topics=[topic], author=author, status=Article.Status.DRAFT, published_at=None)
    slug = topic.slug if group == "topics" else author.slug
    response = api_client.get(f"/api/v1/{group}/{slug}/articles/?page_size=1")
    assert (response.json()["count"], slugs(response)) == (2, [newer.slug])
    assert slugs(api_client.get(response.json()["next"])) == [older.slug]
    assert "public" in response["Cache-Control"]
    assert api_client.get(f"/api/v1/{group}/nope/articles/").status_code == 404
