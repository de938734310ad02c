"""Trending: the most-read live articles of recent days, recent reads weighing more.

Score of an article at ``at``: the sum over its hourly read counts (``ArticleReadCounter``)
in the window (hours starting within ``TRENDING_DAYS`` days before ``at``, default 7) of

    reads x 0.5 ** (age_hours / TRENDING_HALF_LIFE_HOURS)      (default half-life: 24 hours)

where ``age_hours`` is the time from the start of the counted hour to ``at``: a read a day
old weighs half of one this hour, one two days old a quarter. Only live articles rank
(``Article.objects.live(at)``: no drafts, archived or scheduled ones); ties go to the most
reads, then the newest article.

Answers are computed at most once per cache key per ``TRENDING_CACHE_SECONDS`` (default
120, at most 300) and kept in the shared cache and in each process until that same
instant, so a warm answer makes no SQL query and no cache round trip. An article archived
meanwhile may stay listed until then: that is the bound.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar, cast

from django.conf import settings
from django.core.cache import cache

from cms.models import Article
from sponsors.models import ArticleReadCounter

MAX_ITEMS = 20
MAX_CACHE_SECONDS = 300
LOCK_SECONDS = 10  # a computation taking longer lets another worker start one too
_WAIT_STEP = 0.05

T = TypeVar("T")


def trending_days() -> int:
    return int(getattr(settings, "TRENDING_DAYS", 7))


def half_life_hours() -> float:
    return float(getattr(settings, "TRENDING_HALF_LIFE_HOURS", 24))


def cache_seconds() -> int:
    """How long an answer is kept (``TRENDING_CACHE_SECONDS``, 1 to 300 seconds)."""
    return max(1, min(MAX_CACHE_SECONDS, int(getattr(settings, "TRENDING_CACHE_SECONDS", 120))))


@dataclass(frozen=True, slots=True)
class TrendingEntry:
    article_id: int
    reads: int  # in the window
    score: float


def rank(*, at: datetime, topic: str | None = None, limit: int = MAX_ITEMS) -> list[TrendingEntry]:
    """The ``limit`` live articles (of ``topic``, a slug, if given) with the highest scores
    at ``at``, best first. One query (the window's hourly counts of live articles)."""
    live = Article.objects.live(at)
    if topic:
        live = live.tagged(topic)
    rows = ArticleReadCounter.objects.filter(
        hour__gte=at - timedelta(days=trending_days()),
        hour__lte=at,
        article__in=live.values("pk"),
        reads__gt=0,
    ).values_list("article_id", "hour", "reads")
    half_life = half_life_hours() * 3600
    reads: defaultdict[int, int] = defaultdict(int)
    scores: defaultdict[int, float] = defaultdict(float)
    for article_id, hour, n in rows.order_by():
        reads[article_id] += n
        scores[article_id] += n * 0.5 ** ((at - hour).total_seconds() / half_life)
    # Ties: more reads first, then the newer article (higher id).
    best = sorted(scores, key=lambda a: (scores[a], reads[a], a), reverse=True)[:limit]
    return [TrendingEntry(article_id=a, reads=reads[a], score=scores[a]) for a in best]


# Answers held in this process until the instant they expire in the shared cache too.
_memo: dict[str, tuple[float, object]] = {}
_memo_lock = threading.Lock()


def forget_memo() -> None:
    """Drop the answers this process holds (tests; the shared cache is not touched)."""
    _memo.clear()


def _fresh(found: tuple[float, object] | None, now: float) -> tuple[float, object] | None:
    # The expiry stored with the answer decides (the cache's own TTL is only its upper bound).
    return found if found is not None and found[0] > now else None


def cached(key: str, build: Callable[[], T]) -> tuple[T, float]:
    """``build()``'s answer for ``key`` and the POSIX time it expires, computed at most once
    per expiry across processes (a short ``cache.add`` lock: the others wait for it).

    An exception from ``build`` (an unknown topic) is raised and nothing is kept.
    """
    now = time.time()
    held = _memo.get(key)
    if held is not None and held[0] > now:
        return cast(T, held[1]), held[0]  # stored by this function for key
    found = _fresh(cache.get(key), now)
    lock = f"{key}:lock"
    if found is None:
        # Counted steps, not the clock: the clock may be frozen (tests) or jump.
        for _ in range(int(LOCK_SECONDS / _WAIT_STEP)):
            if cache.add(lock, 1, LOCK_SECONDS):
                break
            time.sleep(_WAIT_STEP)  # another worker is computing it: wait for its answer
            found = _fresh(cache.get(key), now)
            if found is not None:
                break
    if found is None:
        try:
            expires = time.time() + cache_seconds()
            found = (expires, build())
            cache.set(key, found, cache_seconds())
        finally:
            cache.delete(lock)
    expires, value = found
    with _memo_lock:
        if len(_memo) > 1000:  # keys are per topic and host: bounded, but never unbounded
            _memo.clear()
        _memo[key] = (expires, value)
    return cast(T, value), expires  # built by ``build`` for this key
