"""Demo reads: a week of article reads per hour, so "Trending" has something to rank.

Deterministic (seeded) and safe to run again: the demo week's rows are replaced, not added to.
"""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from cms.models import Article
from sponsors.models import ArticleReadCounter

DAYS = 7


def load(*, admin_password: str) -> list[str]:
    now = timezone.now()
    first = (now - dt.timedelta(days=DAYS)).replace(minute=0, second=0, microsecond=0)
    articles = list(Article.objects.live(now).order_by("-published_at", "pk")[:12])
    rng = random.Random(2026)
    ArticleReadCounter.objects.filter(article__in=articles, hour__gte=first).delete()
    rows = []
    for rank, article in enumerate(articles):
        popularity = 40 / (rank + 1)  # a few articles read a lot, most a little
        published = article.published_at or first  # live articles have one
        hour = max(first, published.replace(minute=0, second=0, microsecond=0))
        while hour <= now:
            reads = int(rng.expovariate(1 / popularity))
            if reads:
                rows.append(ArticleReadCounter(hour=hour, article=article, reads=reads))
            hour += dt.timedelta(hours=1)
    ArticleReadCounter.objects.bulk_create(rows, batch_size=500)
    total = sum(row.reads for row in rows)
    return [f"{total:,} demo article reads over the last {DAYS} days (/api/v1/trending/)."]
