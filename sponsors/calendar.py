"""The calendar of changes: everything that changes state in a window of time, for the admin
page and the iCalendar feed, and the personal feeds' secret addresses.

A change is a moment when what readers or the ad decision see changes by the clock alone:
an article goes live, a sponsorship window opens or closes, a campaign starts or ends, a
countdown's deadline phase ends or the countdown closes. Nothing is stored: the events are
read from the rows each time (articles have no archive time, so archiving is not one).

Who sees what: a kind of change shows to whoever may view (or change) the objects it links
to, as the admin decides; nothing shows to someone inactive or not staff.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import urljoin

import icalendar
from django.contrib.auth import get_permission_codename
from django.contrib.auth.models import User
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from cms.models import Article
from sponsors.models import CalendarFeed, Campaign, Countdown, DeadlinePhase, Sponsorship


class Kind(models.TextChoices):
    """The kinds of change, in the order they are listed when they fall at the same moment."""

    ARTICLE_LIVE = "article_live", "Article goes live"
    SPONSORSHIP_STARTS = "sponsorship_starts", "Sponsorship starts"
    SPONSORSHIP_ENDS = "sponsorship_ends", "Sponsorship ends"
    CAMPAIGN_STARTS = "campaign_starts", "Campaign starts"
    CAMPAIGN_ENDS = "campaign_ends", "Campaign ends"
    PHASE_ENDS = "phase_ends", "Deadline phase ends"
    COUNTDOWN_CLOSES = "countdown_closes", "Countdown closes"


# Whose permissions a kind needs: view (or change) of the model its entries link to.
KIND_MODELS: dict[str, type[models.Model]] = {
    Kind.ARTICLE_LIVE: Article,
    Kind.SPONSORSHIP_STARTS: Sponsorship,
    Kind.SPONSORSHIP_ENDS: Sponsorship,
    Kind.CAMPAIGN_STARTS: Campaign,
    Kind.CAMPAIGN_ENDS: Campaign,
    Kind.PHASE_ENDS: Countdown,
    Kind.COUNTDOWN_CLOSES: Countdown,
}
_ORDER = {kind: position for position, kind in enumerate(Kind.values)}


@dataclass(frozen=True)
class CalendarEvent:
    """One change of state: when, what kind, what it is, and the object that says more."""

    when: dt.datetime  # aware, in UTC
    kind: str  # a Kind value
    title: str  # the change in one line ("Campaign “Awards 2026” ends")
    detail: str  # its context: sponsor, tier, the next phase...
    obj: models.Model  # the object whose admin page the entry links to
    admin_url: str  # that page's path
    key: str  # stable for one object and one change ("campaign-12-end"): the feed's UID
    warning: str = ""  # why the change will show nothing (a paused campaign...), if it will not

    @property
    def kind_label(self) -> str:
        return str(Kind(self.kind).label)


@dataclass(frozen=True)
class CalendarFilters:
    kinds: frozenset[str] | None = None  # Kind values; None: every kind
    sponsor: str | None = None  # sponsor slug: its campaigns, sponsorships, sponsored
    # articles and the countdowns its creatives carry


def may_view(user: User, model: type[models.Model]) -> bool:
    """Whether the admin would let ``user`` see ``model``'s rows (view or change permission)."""
    opts = model._meta
    return any(
        user.has_perm(f"{opts.app_label}.{get_permission_codename(action, opts)}")
        for action in ("view", "change")
    )


def visible_kinds(user: User) -> frozenset[str]:
    """The kinds of change ``user`` may see: none unless active staff."""
    if not (user.is_active and user.is_staff):
        return frozenset()
    allowed = {model for model in set(KIND_MODELS.values()) if may_view(user, model)}
    return frozenset(kind for kind, model in KIND_MODELS.items() if model in allowed)


def calendar_events(
    *,
    start: dt.datetime,
    end: dt.datetime,
    user: User,
    filters: CalendarFilters | None = None,
) -> list[CalendarEvent]:
    """Every change in ``[start, end)`` that ``user`` may see, in time order.

    At most one query per kind of object (articles, sponsorships, campaigns, countdown
    phases: four), whatever the number of events; none for the kinds the user may not see
    or the filters leave out (plus the user's permissions, if not loaded yet). Raises
    ``ValueError`` for naive times or a window that does not move forward.
    """
    if timezone.is_naive(start) or timezone.is_naive(end):
        raise ValueError("The calendar's window needs aware datetimes.")
    if end <= start:
        raise ValueError("The calendar's window must end after it starts.")
    filters = filters or CalendarFilters()
    kinds = visible_kinds(user)
    if filters.kinds is not None:
        kinds &= filters.kinds
    events: list[CalendarEvent] = []
    if Kind.ARTICLE_LIVE in kinds:
        events.extend(_article_events(start, end, filters.sponsor))
    if kinds & {Kind.SPONSORSHIP_STARTS, Kind.SPONSORSHIP_ENDS}:
        events.extend(_sponsorship_events(start, end, filters.sponsor, kinds))
    if kinds & {Kind.CAMPAIGN_STARTS, Kind.CAMPAIGN_ENDS}:
        events.extend(_campaign_events(start, end, filters.sponsor, kinds))
    if kinds & {Kind.PHASE_ENDS, Kind.COUNTDOWN_CLOSES}:
        events.extend(_countdown_events(start, end, filters.sponsor, kinds))
    events.sort(key=lambda event: (event.when, _ORDER[event.kind], event.title, event.key))
    return events


def _admin_url(obj: models.Model) -> str:
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])


def _utc(moment: dt.datetime | None) -> dt.datetime:
    assert moment is not None  # the queries keep only rows whose time falls in the window
    return moment.astimezone(dt.UTC)


def _within(field: str, start: dt.datetime, end: dt.datetime) -> Q:
    return Q(**{f"{field}__gte": start, f"{field}__lt": end})


def _article_events(
    start: dt.datetime, end: dt.datetime, sponsor: str | None
) -> Iterator[CalendarEvent]:
    # Scheduled and published articles both go live at published_at (cms.querysets.live_q).
    public = [Article.Status.SCHEDULED, Article.Status.PUBLISHED]
    articles = Article.objects.filter(_within("published_at", start, end), status__in=public)
    if sponsor is not None:
        sponsored = Sponsorship.objects.filter(sponsor__slug=sponsor, article__isnull=False)
        articles = articles.filter(pk__in=sponsored.values("article_id"))
    rows = articles.only("pk", "headline", "kind", "status", "published_at").order_by("pk")
    for article in rows:
        yield CalendarEvent(
            when=_utc(article.published_at),
            kind=Kind.ARTICLE_LIVE,
            title=f"“{article.headline}” goes live",
            detail=str(article.get_kind_display()),
            obj=article,
            admin_url=_admin_url(article),
            key=f"article-{article.pk}-live",
        )


def _sponsorship_events(
    start: dt.datetime, end: dt.datetime, sponsor: str | None, kinds: frozenset[str]
) -> Iterator[CalendarEvent]:
    rows = Sponsorship.objects.filter(
        _within("starts_at", start, end) | _within("ends_at", start, end)
    ).select_related("sponsor", "label", "article", "topic")
    if sponsor is not None:
        rows = rows.filter(sponsor__slug=sponsor)
    for row in rows.order_by("pk"):
        target = f"“{row.article.headline}”" if row.article else f"the topic {row.topic}"
        detail = f"“{row.label}” {row.sponsor}, on {target}"
        warning = "" if row.sponsor.is_active else "The sponsor is inactive: nothing shows."
        changes = [
            (Kind.SPONSORSHIP_STARTS, row.starts_at, "starts", "start"),
            (Kind.SPONSORSHIP_ENDS, row.ends_at, "ends", "end"),
        ]
        for kind, moment, verb, change in changes:
            if kind in kinds and moment is not None and start <= moment < end:
                yield CalendarEvent(
                    when=_utc(moment),
                    kind=kind,
                    title=f"{row.sponsor} sponsorship of {target} {verb}",
                    detail=detail,
                    obj=row,
                    admin_url=_admin_url(row),
                    key=f"sponsorship-{row.pk}-{change}",
                    warning=warning,
                )


def _campaign_events(
    start: dt.datetime, end: dt.datetime, sponsor: str | None, kinds: frozenset[str]
) -> Iterator[CalendarEvent]:
    rows = Campaign.objects.filter(
        _within("starts_at", start, end) | _within("ends_at", start, end)
    ).select_related("sponsor")
    if sponsor is not None:
        rows = rows.filter(sponsor__slug=sponsor)
    for campaign in rows.order_by("pk"):
        detail = f"{campaign.sponsor}, {campaign.get_tier_display()} tier"
        if campaign.impression_goal:
            detail += f", goal {campaign.impression_goal:,} impressions"
        warning = "" if campaign.is_active else "Paused: it serves nothing until resumed."
        changes = [
            (Kind.CAMPAIGN_STARTS, campaign.starts_at, "starts", "start"),
            (Kind.CAMPAIGN_ENDS, campaign.ends_at, "ends", "end"),
        ]
        for kind, moment, verb, change in changes:
            if kind in kinds and moment is not None and start <= moment < end:
                yield CalendarEvent(
                    when=_utc(moment),
                    kind=kind,
                    title=f"Campaign “{campaign.name}” {verb}",
                    detail=detail,
                    obj=campaign,
                    admin_url=_admin_url(campaign),
                    key=f"campaign-{campaign.pk}-{change}",
                    warning=warning,
                )


def _countdown_events(
    start: dt.datetime, end: dt.datetime, sponsor: str | None, kinds: frozenset[str]
) -> Iterator[CalendarEvent]:
    # Whether a phase is the last (its end closes the countdown) and which phase shows next
    # depend on the countdown's other phases: read every phase of the countdowns concerned.
    in_window = DeadlinePhase.objects.filter(_within("deadline", start, end))
    if sponsor is not None:
        in_window = in_window.filter(countdown__creatives__campaign__sponsor__slug=sponsor)
    phases = (
        DeadlinePhase.objects.filter(countdown_id__in=in_window.values("countdown_id"))
        .select_related("countdown")
        .order_by("countdown_id", "deadline", "pk")
    )
    by_countdown: dict[int, list[DeadlinePhase]] = defaultdict(list)
    for phase in phases:
        by_countdown[phase.countdown_id].append(phase)
    for group in by_countdown.values():
        for phase, following in zip(group, [*group[1:], None], strict=True):
            if not start <= phase.deadline < end:
                continue
            countdown = phase.countdown
            if following is None:
                kind = Kind.COUNTDOWN_CLOSES
                title = f"{countdown.title} closes"
                detail = f"After “{phase.display_label}” it shows “{countdown.closed_message}”"
            else:
                kind = Kind.PHASE_ENDS
                title = f"{countdown.title}: “{phase.display_label}” ends"
                detail = f"Then “{following.display_label}” shows"
            if kind not in kinds:
                continue
            yield CalendarEvent(
                when=_utc(phase.deadline),
                kind=kind,
                title=title,
                detail=detail,
                obj=countdown,
                admin_url=_admin_url(countdown),
                # One key per phase, whichever kind: a phase that stops being the last keeps
                # its entry in subscribers' calendars.
                key=f"deadlinephase-{phase.pk}-deadline",
            )


# ---------------------------------------------------------------------------------------------
# Personal feeds: a secret address per staff member, for calendar apps that cannot sign in.

FEED_PAST = dt.timedelta(days=31)
FEED_AHEAD = dt.timedelta(days=183)
FEED_REFRESH = dt.timedelta(hours=1)  # what the feed asks calendar apps to poll at
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{20,64}")


def feed_window(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """What a feed read at ``now`` covers: the last month and the next six."""
    return now - FEED_PAST, now + FEED_AHEAD


def calendar_feed_of(user: User) -> CalendarFeed | None:
    """``user``'s active feed, if they have one."""
    return CalendarFeed.objects.active().filter(user=user).first()


def _lock(user: User) -> None:
    # Feed changes of one person run one at a time (two rotations must not both insert).
    User.objects.select_for_update().filter(pk=user.pk).first()


def calendar_feed_create(*, user: User) -> CalendarFeed:
    """``user``'s active feed, made now if they have none (creating twice keeps the first)."""
    with transaction.atomic():
        _lock(user)
        existing = calendar_feed_of(user)
        if existing is not None:
            return existing
        try:
            with transaction.atomic():
                return CalendarFeed.objects.create(user=user)
        except IntegrityError:  # made meanwhile where rows are not locked (SQLite): keep it
            return CalendarFeed.objects.active().get(user=user)


def calendar_feed_rotate(*, user: User) -> CalendarFeed:
    """A new secret address for ``user``'s feed; the old one stops answering at once."""
    with transaction.atomic():
        _lock(user)
        now = timezone.now()
        CalendarFeed.objects.active().filter(user=user).update(revoked_at=now)
        return CalendarFeed.objects.create(user=user, created_at=now)


def calendar_feed_revoke(*, user: User) -> bool:
    """Stop ``user``'s feed answering; False if they had none."""
    revoked = CalendarFeed.objects.active().filter(user=user).update(revoked_at=timezone.now())
    return revoked > 0


def calendar_feed_owner(token: str, *, now: dt.datetime | None = None) -> User | None:
    """Who the feed with this secret token belongs to, if it answers; None otherwise.

    Unknown, revoked and rotated-away tokens, and the feeds of people deactivated or no
    longer staff, all give the same None: the answer never tells whether an address once
    existed. A feed that answers records when it was read.
    """
    if not _TOKEN_SHAPE.fullmatch(token):
        return None
    feed = CalendarFeed.objects.active().select_related("user").filter(token=token).first()
    if feed is None or not (feed.user.is_active and feed.user.is_staff):
        return None
    CalendarFeed.objects.filter(pk=feed.pk).update(last_fetched_at=now or timezone.now())
    return feed.user


def calendar_ical(
    events: Iterable[CalendarEvent], *, base_url: str, host: str, now: dt.datetime, name: str
) -> bytes:
    """The events as an RFC 5545 iCalendar (CRLF lines, folded at 75 octets).

    Each change is a moment (DTSTART in UTC, no end) that keeps its UID (``key@host``)
    across reads, so calendar apps update an entry when its time moves. ``base_url`` makes
    the admin links absolute.
    """
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Sponsored content//Calendar of changes//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("name", name)
    calendar.add("x-wr-calname", name)
    calendar.add("refresh-interval", FEED_REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT1H")
    for item in events:
        url = urljoin(base_url, item.admin_url)
        lines = [item.kind_label, item.detail, item.warning, url]
        event = icalendar.Event()
        event.add("uid", f"{item.key}@{host}")
        event.add("dtstamp", now.astimezone(dt.UTC))
        event.add("dtstart", item.when.astimezone(dt.UTC))
        event.add("summary", item.title)
        event.add("description", "\n".join(line for line in lines if line))
        event.add("url", url)
        event.add("categories", [item.kind_label])
        event.add("transp", "TRANSPARENT")  # a reminder, not busy time
        calendar.add_component(event)
    ical: bytes = calendar.to_ical()  # icalendar leaves it unannotated
    return ical
