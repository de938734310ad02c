"""Editorial operations shared by the admin, the API and management commands.

Other apps add their own rules to publishing through :func:`register_publication_check`
(the sponsors app: partner content needs a live sponsorship of its own), so the editorial
app never imports the commercial one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from cms.models import Article

# Takes the articles about to go live and the moment they do; returns the error that stops
# them (nothing is published then), or None.
PublicationCheck = Callable[[QuerySet[Article], datetime], ValidationError | None]
_publication_checks: list[PublicationCheck] = []


def register_publication_check(check: PublicationCheck) -> None:
    """Add a rule that every "publish now" must pass (called from an ``AppConfig.ready()``)."""
    if check not in _publication_checks:
        _publication_checks.append(check)


@transaction.atomic
def articles_publish_now(*, articles: QuerySet[Article], at: datetime | None = None) -> int:
    """Make the given articles live at ``at`` (default now); return how many changed.

    Articles already live keep their original publication time; archived ones come back.
    Raises ValidationError, changing nothing, if a registered publication check refuses
    the articles that would go live (for example a partner article without a live
    sponsorship of its own: see ``sponsors.sponsorships``).
    """
    at = at or timezone.now()
    going_live = articles.exclude(Article.objects.live_q(at))
    for check in _publication_checks:
        error = check(going_live, at)
        if error is not None:
            raise error
    changed = 0
    for article in going_live.select_for_update(of=("self",)):
        article.status = Article.Status.PUBLISHED
        article.published_at = at
        article.save()
        changed += 1
    return changed


@transaction.atomic
def articles_archive(*, articles: QuerySet[Article]) -> int:
    """Take the given articles off the site; return how many changed.

    Saved one by one, not with ``update()``: the saves' signals drop the cached payloads
    that show them.
    """
    changed = 0
    for article in articles.exclude(status=Article.Status.ARCHIVED).select_for_update(of=("self",)):
        article.status = Article.Status.ARCHIVED
        article.save(update_fields=["status", "updated_at"])
        changed += 1
    return changed
