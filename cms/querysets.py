"""State-named querysets for editorial content.

They are defined before the models they serve (the models name them as managers), so they
reach the models' choices and related models through ``self.model``, never by importing
``cms.models`` back.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models import Prefetch, Q
from django.utils import timezone

if TYPE_CHECKING:  # for the type checker only: the models import these querysets
    from cms.models import Article, Topic  # noqa: F401  # named in the base classes


def _now(at: datetime | None) -> datetime:
    return at or timezone.now()


class ArticleQuerySet(models.QuerySet["Article"]):
    def _related(self, name: str) -> Any:
        """The model at the other end of relation ``name`` (an ordered link, a block)."""
        return self.model._meta.get_field(name).related_model

    def _public_states(self) -> list[str]:
        status = self.model.Status
        return [status.SCHEDULED, status.PUBLISHED]

    def live_q(self, at: datetime | None = None) -> Q:
        """Condition for an article readers can see at ``at`` (default: now).

        Scheduled and published articles both go live once ``published_at`` has come, so
        scheduling needs no job: the query decides by the clock.
        """
        return Q(status__in=self._public_states(), published_at__lte=_now(at))

    def live(self, at: datetime | None = None) -> ArticleQuerySet:
        """Articles readers can see now (or at ``at``)."""
        return self.filter(self.live_q(at))

    def not_live(self, at: datetime | None = None) -> ArticleQuerySet:
        """Articles readers cannot see: drafts, archived, or not yet at their time."""
        return self.exclude(self.live_q(at))

    def scheduled(self, at: datetime | None = None) -> ArticleQuerySet:
        """Articles approved for publication whose time is still ahead."""
        return self.filter(status__in=self._public_states(), published_at__gt=_now(at))

    def drafts(self) -> ArticleQuerySet:
        return self.filter(status=self.model.Status.DRAFT)

    def archived(self) -> ArticleQuerySet:
        return self.filter(status=self.model.Status.ARCHIVED)

    def newest_first(self) -> ArticleQuerySet:
        return self.order_by("-published_at", "-pk")

    def for_listing(self) -> ArticleQuerySet:
        """Join what article cards show: the author (joined), ordered topics (one query).

        The sponsor block is the sponsors app's: the API composes it on top
        (``sponsors.sponsorships.with_sponsor_block``, two more queries for any page).
        """
        links = self._related("article_topics").objects.select_related("topic")
        return self.select_related("author").prefetch_related(
            Prefetch("article_topics", queryset=links.order_by("position", "pk"))
        )

    def for_detail(self) -> ArticleQuerySet:
        """``for_listing`` plus the ordered body blocks."""
        blocks = self._related("blocks").objects.order_by("position", "pk")
        return self.for_listing().prefetch_related(Prefetch("blocks", queryset=blocks))

    def tagged(self, topic_slug: str) -> ArticleQuerySet:
        return self.filter(topics__slug=topic_slug)


class TopicQuerySet(models.QuerySet["Topic"]):
    def for_slug(self, slug: str) -> Topic:
        return self.get(slug=slug)
