"""The reader's read path in the benchmark: articles, lists, insights, a countdown and the
feature article's page (``/api/v1/pages/articles/<slug>/``).

Imported by ``bench/run.py`` only after it has chosen the database (``setup_django()``).
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import time

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bench.inventory import TOPICS
from cms.api import payloads
from cms.models import Article
from sponsors.models import Countdown, DeadlinePhase, DisclosureLabel, Sponsor, Sponsorship

COUNTDOWN = "bench-awards"
HOST = "127.0.0.1"
PAGE_VIEWERS = 4096  # distinct anonymous viewers asking for the feature article's page


def feature_article(articles: list[Article]) -> Article:
    """The benchmark's feature article: the first, partner content with a sponsor block
    (``load_reader_content``), on 1-2 benchmark topics (so its page's ads are targeted),
    with neighbours on its topic (more-from), reads (Trending) and other partner content
    (insights)."""
    return articles[0]


def page_paths(article: Article, viewers: int = PAGE_VIEWERS) -> list[str]:
    """The article page as readers ask for it: each with their own viewer id (for the ads'
    frequency caps); all are one stored payload, each answer its own decision and tokens."""
    rng = random.Random(9)
    path = f"/api/v1/pages/articles/{article.slug}/"
    return [f"{path}?viewer=v{rng.randrange(100_000)}" for _ in range(viewers)]


def load_reader_content(articles: list[Article]) -> None:
    """A countdown with phases ahead, and every third benchmark article partner content with
    its own sponsorship (so Industry insights lists something)."""
    Countdown.objects.filter(slug=COUNTDOWN).delete()
    countdown = Countdown.objects.create(slug=COUNTDOWN, title="Bench Awards", time_zone="UTC")
    now = timezone.now()
    for days, label in ((10, "Deadline"), (20, "Final deadline")):
        DeadlinePhase.objects.create(
            countdown=countdown, label=label, deadline=now + dt.timedelta(days=days)
        )
    sponsor, _ = Sponsor.objects.get_or_create(slug="bench-sponsor", defaults={"name": "Bench"})
    disclosure = DisclosureLabel.objects.order_by("pk")[0]  # made by a migration
    for article in articles[::3]:
        Article.objects.filter(pk=article.pk).update(kind=Article.Kind.PARTNER)
        Sponsorship.objects.get_or_create(
            article=article, defaults={"sponsor": sponsor, "label": disclosure, "starts_at": now}
        )


def reader_paths(articles: list[Article]) -> dict[str, list[str]]:
    """Paths of each reader endpoint, as front ends ask for them."""
    return {
        "article": [f"/api/v1/articles/{a.slug}/" for a in articles],
        "list": [
            "/api/v1/articles/",
            "/api/v1/articles/?page=2",
            "/api/v1/articles/?page_size=10",
            f"/api/v1/articles/?topic={TOPICS[0]}",
        ],
        "topic": [f"/api/v1/topics/{slug}/articles/" for slug in TOPICS],
        "insights": ["/api/v1/insights/", "/api/v1/insights/?page_size=5"],
        "countdown": [f"/api/v1/countdowns/{COUNTDOWN}/"],
    }


def not_modified_line(path: str) -> str:
    """A paths-file line for a conditional GET of ``path``: the path, a tab, its ETag."""
    response = Client(HTTP_HOST=HOST).get(path)
    assert response.status_code == 200, path
    return f"{path}\t{response['ETag']}"


def warm_queries(paths: list[str]) -> int:
    """SQL queries of warm answers of ``paths``, in-process (each asked once cold first)."""
    client = Client(HTTP_HOST=HOST)
    for path in paths:
        assert client.get(path).status_code == 200, path
    with CaptureQueriesContext(connection) as queries:
        for path in paths:
            assert client.get(path).status_code == 200, path
    return len(queries)


def article_cold_times(article: Article, samples: int = 30) -> dict[str, float]:
    """Milliseconds (medians, in-process) of the article detail: the first request after a
    save (cold: built and stored), built every time (no payload: DRF's work alone, as before
    the payloads existed; ``?format=json`` skips them), and warm."""
    client = Client(HTTP_HOST=HOST)
    path = f"/api/v1/articles/{article.slug}/"
    cold, uncached, warm = [], [], []
    for _ in range(samples):
        Article.objects.get(pk=article.pk).save()  # a save: its payloads must be rebuilt
        payloads.forget_memo()
        start = time.perf_counter()
        assert client.get(path).status_code == 200
        cold.append(time.perf_counter() - start)
        start = time.perf_counter()
        assert client.get(path).status_code == 200
        warm.append(time.perf_counter() - start)
        start = time.perf_counter()
        assert client.get(path + "?format=json").status_code == 200
        uncached.append(time.perf_counter() - start)
    return {
        "cold_ms": statistics.median(cold) * 1000,
        "uncached_ms": statistics.median(uncached) * 1000,
        "warm_ms": statistics.median(warm) * 1000,
    }
