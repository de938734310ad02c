"""Editorial operations shared by the admin, the API and management commands."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from cms.models import Article


@transaction.atomic
def articles_publish_now(*, articles: QuerySet[Article], at: datetime | None = None) -> int:
    """Make the given articles live at ``at`` (default now); return how many changed.

    Articles already live keep their original publication time; archived ones come back.
    Raises ValidationError, changing nothing, if any partner article among them has no live
    sponsorship of its own (see ``sponsors.sponsorships``).
    """
    from sponsors.sponsorships import partner_articles_without_sponsorship

    at = at or timezone.now()
    blocked = partner_articles_without_sponsorship(
        articles=articles.exclude(Article.objects.live_q(at)), at=at
    )
    headlines = list(blocked.values_list("headline", flat=True)[:5])
    if headlines:
        raise ValidationError(
            "Nothing was published: partner content cannot be published without a live "
            "sponsorship (%(headlines)s). Add a sponsorship of each article (sponsor and "
            "disclosure label), then publish.",
            code="partner_needs_sponsorship",
            params={"headlines": ", ".join(f"“{h}”" for h in headlines)},
        )
    changed = 0
    for article in articles.select_for_update(of=("self",)).exclude(Article.objects.live_q(at)):
        article.status = Article.Status.PUBLISHED
        article.published_at = at
        article.save()
        changed += 1
    return changed


def articles_archive(*, articles: QuerySet[Article]) -> int:
    """Take the given articles off the site; return how many changed."""
    return articles.exclude(status=Article.Status.ARCHIVED).update(
        status=Article.Status.ARCHIVED, updated_at=timezone.now()
    )
