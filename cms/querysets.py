"""State-named querysets for editorial content."""

from __future__ import annotations

from datetime import datetime

from django.db import models
from django.db.models import Prefetch, Q
from django.utils import timezone


def _now(at: datetime | None) -> datetime:
    return at or timezone.now()


class ArticleQuerySet(models.QuerySet):
    @staticmethod
    def live_q(at: datetime | None = None) -> Q:
        """Condition for an article readers can see at ``at`` (default: now).

        Scheduled and published articles both go live once ``published_at`` has come, so
        scheduling needs no job: the query decides by the clock.
        """
        from cms.models import Article

        return Q(
            status__in=[Article.Status.SCHEDULED, Article.Status.PUBLISHED],
            published_at__lte=_now(at),
        )

    def live(self, at: datetime | None = None) -> ArticleQuerySet:
        """Articles readers can see now (or at ``at``)."""
        return self.filter(self.live_q(at))

    def not_live(self, at: datetime | None = None) -> ArticleQuerySet:
        """Articles readers cannot see: drafts, archived, or not yet at their time."""
        return self.exclude(self.live_q(at))

    def scheduled(self, at: datetime | None = None) -> ArticleQuerySet:
        """Articles approved for publication whose time is still ahead."""
        from cms.models import Article

        return self.filter(
            status__in=[Article.Status.SCHEDULED, Article.Status.PUBLISHED],
            published_at__gt=_now(at),
        )

    def drafts(self) -> ArticleQuerySet:
        from cms.models import Article

        return self.filter(status=Article.Status.DRAFT)

    def archived(self) -> ArticleQuerySet:
        from cms.models import Article

        return self.filter(status=Article.Status.ARCHIVED)

    def newest_first(self) -> ArticleQuerySet:
        return self.order_by("-published_at", "-pk")

    def for_listing(self) -> ArticleQuerySet:
        """Join what article cards show in a fixed number of queries.

        Author (joined), ordered topics (one query), and the live sponsorships the sponsor
        block is chosen from: the article's own (one query) and its topics' (one query).
        """
        from cms.models import ArticleTopic
        from sponsors.sponsorships import live_sponsorships_prefetch

        at = timezone.now()
        return self.select_related("author").prefetch_related(
            Prefetch(
                "article_topics",
                queryset=ArticleTopic.objects.select_related("topic")
                .order_by("position", "pk")
                .prefetch_related(live_sponsorships_prefetch("topic__sponsorships", at=at)),
            ),
            live_sponsorships_prefetch("sponsorships", at=at),
        )

    def for_detail(self) -> ArticleQuerySet:
        """``for_listing`` plus the ordered body blocks."""
        from cms.models import ArticleBlock

        return self.for_listing().prefetch_related(
            Prefetch("blocks", queryset=ArticleBlock.objects.order_by("position", "pk"))
        )

    def tagged(self, topic_slug: str) -> ArticleQuerySet:
        return self.filter(topics__slug=topic_slug)


class TopicQuerySet(models.QuerySet):
    def for_slug(self, slug: str):
        return self.get(slug=slug)
