"""Articles: reading time, slugs and who can see them when."""

import datetime as dt

import pytest
import time_machine
from django.db import IntegrityError
from django.utils import timezone

from cms.models import Article, ArticleBlock, reading_minutes_for
from tests.cms.factories import ArticleFactory, BlockFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 9, 14, 9, 0, tzinfo=dt.UTC)


def words(n: int) -> str:
    return " ".join(["word"] * n)


@pytest.mark.parametrize(
    ("count", "minutes"), [(0, 1), (1, 1), (200, 1), (201, 2), (700, 4), (800, 4), (801, 5)]
)
def test_reading_minutes_round_up_and_are_at_least_one(count, minutes):
    assert reading_minutes_for(count) == minutes


def test_reading_time_follows_the_body_on_every_save():
    article = ArticleFactory(headline="Short", standfirst="")
    assert article.reading_minutes == 1
    block = BlockFactory(article=article, text=words(450))
    article.refresh_from_db()
    assert article.reading_minutes == 3  # 451 words incl. the headline
    BlockFactory(article=article, kind=ArticleBlock.Kind.LIST, text=words(300))
    article.refresh_from_db()
    assert article.reading_minutes == 4
    block.delete()
    article.refresh_from_db()
    assert article.reading_minutes == 2


def test_markup_does_not_count_as_words():
    article = ArticleFactory(headline="A", standfirst="")
    BlockFactory(article=article, text='<a href="https://example.com/a/b/c">' + words(199) + "</a>")
    article.refresh_from_db()
    assert article.reading_minutes == 1


def test_slug_is_made_from_the_headline_and_kept_unique():
    first = ArticleFactory(headline="TikTok rejects Microsoft offer")
    second = ArticleFactory(headline="TikTok rejects Microsoft offer")
    assert first.slug == "tiktok-rejects-microsoft-offer"
    assert second.slug == "tiktok-rejects-microsoft-offer-2"


def test_slug_stays_when_the_headline_changes():
    article = ArticleFactory(headline="First headline")
    article.headline = "A better headline"
    article.save()
    article.refresh_from_db()
    assert article.slug == "first-headline"


def test_database_refuses_a_published_article_without_a_time():
    with pytest.raises(IntegrityError):
        Article.objects.filter(pk=ArticleFactory().pk).update(published_at=None)


@time_machine.travel(NOW, tick=False)
def test_visibility_by_status_and_time():
    live = ArticleFactory(published_at=NOW - dt.timedelta(seconds=1))
    due_now = ArticleFactory(status=Article.Status.SCHEDULED, published_at=NOW)
    later = ArticleFactory(
        status=Article.Status.SCHEDULED, published_at=NOW + dt.timedelta(seconds=1)
    )
    draft = ArticleFactory(status=Article.Status.DRAFT, published_at=None)
    archived = ArticleFactory(status=Article.Status.ARCHIVED)

    assert set(Article.objects.live()) == {live, due_now}
    assert set(Article.objects.scheduled()) == {later}
    assert set(Article.objects.not_live()) == {later, draft, archived}
    assert not later.is_live()


def test_scheduled_article_goes_live_at_its_time_with_no_job():
    article = ArticleFactory(
        status=Article.Status.SCHEDULED, published_at=NOW + dt.timedelta(minutes=30)
    )
    with time_machine.travel(NOW + dt.timedelta(minutes=29, seconds=59), tick=False):
        assert not Article.objects.live().filter(pk=article.pk).exists()
    with time_machine.travel(NOW + dt.timedelta(minutes=30), tick=False):
        assert Article.objects.live().filter(pk=article.pk).exists()


def test_publishing_without_a_time_uses_now():
    with time_machine.travel(NOW, tick=False):
        article = ArticleFactory(status=Article.Status.PUBLISHED, published_at=None)
    assert article.published_at == NOW
    assert article.published_at.tzinfo is not None
    assert timezone.is_aware(article.published_at)


def test_submitted_body_text_is_cleaned():
    block = BlockFactory(text='Hello <script>alert(1)</script><b onclick="x()">bold</b>')
    assert block.text == "Hello <b>bold</b>"


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("Q&A with the CEO", "Q&A with the CEO"),
        ("Tom &amp; Jerry", "Tom & Jerry"),
        ("<b>Bold</b> claims", "Bold claims"),
        ("&lt;script&gt;alert(1)&lt;/script&gt;Hi", "Hi"),
        ("&amp;lt;img src=x onerror=alert(1)&amp;gt;", ""),
    ],
)
def test_plain_text_is_stored_as_text_without_markup(given, stored):
    assert ArticleFactory(standfirst=given).standfirst == stored
