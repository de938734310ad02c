"""Sponsorship rules shared by the admin, the API, the demo and management code.

Which sponsor block an article shows
    At most one. A live sponsorship of the article itself wins over one of its topics; among
    the article's own, the most recently started wins; among topic sponsorships, the one of
    the article's first (main) topic wins, then the next topic's, and so on. "Live" means its
    window is open now and its sponsor is active, so a sponsorship that has ended stops
    showing without any job to run.

When partner content may be published
    A partner article (``kind=partner``) may become public (published, or scheduled) only
    with a sponsorship of the article itself that is live when readers first see it. Topic
    sponsorships do not count: they label a section, not a paid post.

Partner accounts
    ``partner_create`` makes a login that belongs to one sponsor and the "Partners" group
    (which is what lets it submit: ``partner_can_submit``; the group holds no model
    permission, so the admin shows a partner nothing); ``partner_issue_token`` replaces its
    API token.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, TypeGuard

from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, Min, OuterRef, Prefetch, Q, QuerySet, TextChoices
from django.utils import timezone
from rest_framework.authtoken.models import Token

from cms.models import Article, Topic
from cms.querysets import ArticleQuerySet
from sponsors.models import DisclosureLabel, Partner, Sponsor, Sponsorship
from sponsors.models.profiles import DEFAULT_LABEL_SLUG

PARTNERS_GROUP = "Partners"
PUBLIC_STATES = (Article.Status.SCHEDULED, Article.Status.PUBLISHED)

# ---------------------------------------------------------------------------------------------
# The sponsor block


def live_sponsorships_prefetch(
    lookup: str, *, at: datetime | None = None
) -> Prefetch[str, QuerySet[Sponsorship], str]:
    """Prefetch the live sponsorships of ``lookup`` into ``live_sponsorships`` (newest first)."""
    return Prefetch(
        lookup,
        queryset=Sponsorship.objects.live(at).for_display().newest_first(),
        to_attr="live_sponsorships",
    )


def with_sponsor_block(
    articles: QuerySet[Article], *, at: datetime | None = None
) -> QuerySet[Article]:
    """``articles`` with what their sponsor block is chosen from: two queries for any page.

    The live sponsorships of each article and of each of its topics. Apply it after
    ``for_listing()`` or ``for_detail()``: it walks the ordered topic links those load.
    """
    at = at or timezone.now()
    return articles.prefetch_related(
        live_sponsorships_prefetch("sponsorships", at=at),
        live_sponsorships_prefetch("article_topics__topic__sponsorships", at=at),
    )


def _live(obj: Article | Topic, related: str, at: datetime | None) -> list[Sponsorship]:
    prefetched: list[Sponsorship] | None = getattr(obj, "live_sponsorships", None)
    if prefetched is not None:
        return prefetched
    # Not prefetched (an article loaded on its own): ask the database.
    return list(getattr(obj, related).live(at).for_display().newest_first())


def display_sponsorship(article: Article, *, at: datetime | None = None) -> Sponsorship | None:
    """The one sponsorship ``article`` shows now, or None (see the module docstring)."""
    if article.pk is None:
        return None
    own = _live(article, "sponsorships", at)
    if own:
        return own[0]
    for link in article.article_topics.all():
        topic_sponsorships = _live(link.topic, "sponsorships", at)
        if topic_sponsorships:
            return topic_sponsorships[0]
    return None


class SponsorshipState(TextChoices):
    """Where a sponsorship stands at a moment (the admin's and the staff API's "state")."""

    LIVE = "live", "Live"
    UPCOMING = "upcoming", "Upcoming"
    ENDED = "ended", "Ended"
    SPONSOR_INACTIVE = "sponsor_inactive", "Sponsor inactive"


def sponsorship_status(
    sponsorship: Sponsorship, *, now: datetime | None = None
) -> SponsorshipState:
    """Upcoming before its window opens, ended once it closed, else live unless its sponsor
    is inactive (the same conditions as ``SponsorshipQuerySet.live_q``)."""
    now = now or timezone.now()
    if sponsorship.starts_at and sponsorship.starts_at > now:
        return SponsorshipState.UPCOMING
    if sponsorship.ends_at and sponsorship.ends_at <= now:
        return SponsorshipState.ENDED
    if not sponsorship.sponsor.is_active:
        return SponsorshipState.SPONSOR_INACTIVE
    return SponsorshipState.LIVE


def next_schedule_change(now: datetime) -> datetime | None:
    """The next moment after ``now`` at which a public article payload may change by the
    clock alone: an approved article going live, or a sponsorship window opening or closing
    (two queries). None when nothing is scheduled."""
    go_live = (
        Article.objects.scheduled(now)
        .order_by("published_at")
        .values_list("published_at", flat=True)
        .first()
    )
    boundaries = Sponsorship.objects.aggregate(
        starts=Min("starts_at", filter=Q(starts_at__gt=now)),
        ends=Min("ends_at", filter=Q(ends_at__gt=now)),
    )
    moments = [m for m in (go_live, boundaries["starts"], boundaries["ends"]) if m is not None]
    return min(moments) if moments else None


def default_label() -> DisclosureLabel:
    """ "Content created with", the label of approved partner submissions."""
    label = DisclosureLabel.objects.filter(slug=DEFAULT_LABEL_SLUG).first()
    if label is None:
        label, _ = DisclosureLabel.objects.get_or_create(
            slug=DEFAULT_LABEL_SLUG, defaults={"text": "Content created with"}
        )
    return label


def sponsor_articles(sponsor: Sponsor, *, at: datetime | None = None) -> ArticleQuerySet:
    """Live articles that carry ``sponsor`` through a live sponsorship of their own."""
    own = Sponsorship.objects.live(at).filter(article=OuterRef("pk"), sponsor=sponsor)
    return Article.objects.live(at).filter(Exists(own))


# ---------------------------------------------------------------------------------------------
# Publishing partner content


def _covers(sponsorship: Sponsorship, at: datetime) -> bool:
    return sponsorship.article_id is not None and sponsorship.is_live(at)


def _goes_public_at(published_at: datetime | None, now: datetime) -> datetime:
    # Readers first see the article at its publication time, or now if that has passed.
    return max(published_at or now, now)


def partner_publication_error(
    *,
    kind: str,
    status: str,
    published_at: datetime | None,
    sponsorships: Iterable[Sponsorship],
    now: datetime | None = None,
) -> ValidationError | None:
    """The error that stops an article in this state from going public, or None."""
    if kind != Article.Kind.PARTNER or status not in PUBLIC_STATES:
        return None
    now = now or timezone.now()
    at = _goes_public_at(published_at, now)
    if any(_covers(sponsorship, at) for sponsorship in sponsorships):
        return None
    return ValidationError(
        "Partner content cannot be published without a live sponsorship: add a sponsorship "
        "of this article (sponsor and disclosure label) whose dates cover its publication "
        "time, or keep it as a draft.",
        code="partner_needs_sponsorship",
    )


def require_partner_sponsorship(
    *,
    article: Article,
    kind: str | None = None,
    status: str | None = None,
    published_at: datetime | None = None,
    now: datetime | None = None,
) -> None:
    """Raise ValidationError if ``article`` (with the given new values) may not go public.

    Reads the article's stored sponsorships; the admin form, the "publish now" action and
    any API that changes an article's state call this before saving.
    """
    sponsorships = (
        list(Sponsorship.objects.filter(article=article).select_related("sponsor"))
        if article.pk
        else []
    )
    error = partner_publication_error(
        kind=kind or article.kind,
        status=status or article.status,
        published_at=published_at if published_at is not None else article.published_at,
        sponsorships=sponsorships,
        now=now,
    )
    if error is not None:
        raise error


def partner_articles_without_sponsorship(
    *, articles: QuerySet[Article], at: datetime
) -> QuerySet[Article]:
    """The partner articles of ``articles`` that have no own sponsorship live at ``at``."""
    own = Sponsorship.objects.live(at).filter(article=OuterRef("pk"))
    return articles.filter(kind=Article.Kind.PARTNER).exclude(Exists(own))


def partner_publication_check(articles: QuerySet[Article], at: datetime) -> ValidationError | None:
    """The error that stops ``articles`` going live at ``at``, or None.

    Registered with ``cms.services`` (``SponsorsConfig.ready()``): "Publish now" refuses
    the whole selection if any partner article in it has no live sponsorship of its own.
    """
    blocked = partner_articles_without_sponsorship(articles=articles, at=at)
    headlines = list(blocked.values_list("headline", flat=True)[:5])
    if not headlines:
        return None
    return ValidationError(
        "Nothing was published: partner content cannot be published without a live "
        "sponsorship (%(headlines)s). Add a sponsorship of each article (sponsor and "
        "disclosure label), then publish.",
        code="partner_needs_sponsorship",
        params={"headlines": ", ".join(f"“{h}”" for h in headlines)},
    )


# ---------------------------------------------------------------------------------------------
# Partner accounts


def partner_for(user: Any) -> Partner | None:
    """The partner account of ``user`` (its sponsor loaded), or None.

    ``user``: any user, anonymous or None included (a request's ``user``).
    """
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        return Partner.objects.select_related("sponsor").get(user=user)
    except Partner.DoesNotExist:
        return None


def partner_can_submit(partner: Partner | None) -> TypeGuard[Partner]:
    """Whether this partner account may submit content: its login is active, its sponsor is
    active and the login is in the Partners group.

    Group membership, not a model permission: the Partners group holds none, so a partner
    login flagged staff by mistake still sees nothing in the admin.
    """
    return bool(
        partner is not None
        and partner.user.is_active
        and partner.sponsor.is_active
        and partner.user.groups.filter(name=PARTNERS_GROUP).exists()
    )


@transaction.atomic
def partner_create(
    *,
    username: str,
    sponsor: Sponsor,
    email: str = "",
    password: str = "",
    created_by: User | None = None,
) -> Partner:
    """Create a partner login for ``sponsor`` in the Partners group (never admin staff).

    Without a password the account can only use an API token (see ``partner_issue_token``).
    """
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": "That username is taken."}, code="username_taken")
    user = User(username=username, email=email, is_staff=False, is_superuser=False)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    user.groups.add(Group.objects.get(name=PARTNERS_GROUP))
    return Partner.objects.create(user=user, sponsor=sponsor, created_by=created_by)


@transaction.atomic
def partner_issue_token(*, partner: Partner) -> Token:
    """Replace the partner's API token; the old one stops working at once."""
    Token.objects.filter(user=partner.user).delete()
    return Token.objects.create(user=partner.user)
