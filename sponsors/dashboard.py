"""The admin's home page for staff: what ad-ops and editors keep an eye on all day.

:func:`build_dashboard` gathers the sections a user may see (by model view permission) as
plain dataclasses; the admin view only renders them. Each section costs a fixed number of
queries whatever the number of rows, and lists stop at :data:`ROWS` lines with a link to
the full list.

- live now, per slot (``sponsors.view_slot``): the slots (1) and the decision's snapshot
  (0 queries when this process holds the current one, 8 to build it);
- campaigns starting and ending soon (``sponsors.view_campaign``): 2;
- campaigns behind pace (``sponsors.view_campaign``): 1 (``pacing.behind_pace``);
- countdowns (``sponsors.view_countdown``): 2 (the countdowns, their phases);
- submissions waiting for review (``cms.view_submission``): 1, with their count;
- articles going live soon (``cms.view_article``): 1, with their count;
- when the counters were last flushed (``sponsors.view_deliverycounter``): 1 and one Redis
  call with Redis, nothing without.

**Share** of a live creative in a slot: its weight over the total weight of the live
creatives of the slot's winning tier (the highest tier with a live creative), i.e. the share
of decisions it would get if targeting, frequency caps, goals and pacing let every one of
them serve. "Live" is the decision's own rule (``sponsors.decision``): an active creative of
an active campaign within its dates, fitting the slot, whose countdown (if it stops with it)
has not closed. It is read from the snapshot the decision serves from.

**Flush.** With Redis, events wait in Redis until ``ads_flush`` writes them to the database
(a ``FlushedBatch`` per flush that moved something). The counters are **stale** when
counts are waiting in Redis and the last flush is older than ``ADS_FLUSH_STALE_AFTER``
seconds (a setting from the environment, default 60: six intervals of the
``ads_flush --every 10`` the README runs). With nothing waiting an old flush is no warning
(no traffic, nothing to flush); after such a quiet spell the first counts warn until the
next flush takes them, one flush interval at most. Without Redis every event is written to
the database as it happens ("counted directly"): there is nothing to flush.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol, TypeVar
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, F, Max, Min, Model, Prefetch, Q, QuerySet, Window

from cms.models import Article, Submission
from sponsors import decision
from sponsors.countdowns import countdown_snapshot, countdown_state
from sponsors.counters import PENDING_KEY, RedisCounters, get_counters
from sponsors.decision import CreativeEntry, SlotEntry
from sponsors.inventory_cache import get_inventory
from sponsors.models import Campaign, Countdown, DeadlinePhase, FlushedBatch, Slot
from sponsors.pacing import behind_pace
from sponsors.reports import display_zone
from sponsors.versions import REDIS_DOWN, breaker

# Lines shown per list (and per slot); the rest is one link away.
ROWS = 10
# "Starting or ending soon", "going live soon": this many days ahead.
UPCOMING_DAYS = 7
# Countdowns closed this recently are still listed (ad-ops may reopen them).
RECENTLY_CLOSED = dt.timedelta(days=7)

M = TypeVar("M", bound=Model)


class User(Protocol):
    """Whoever looks: a staff user (or anything that answers permission questions)."""

    def has_perm(self, perm: str) -> bool: ...


# --- Formatting -------------------------------------------------------------------------------


def format_span(seconds: float) -> str:
    """A span as the countdown widget writes it, to the minute: "3d 4h 12min".

    Every unit is always shown, as on the site's promo strip; seconds are dropped (rounded
    down), and a span under a minute reads "less than 1min" (never "0min" for an open one).
    """
    total = max(0, int(seconds))
    if total < 60:
        return "less than 1min"
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    return f"{days}d {hours}h {rest // 60}min"


# --- Sections -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveCreative:
    creative_id: int
    creative_name: str
    campaign_id: int
    campaign_name: str
    tier_label: str
    weight: int
    share: float  # 0-1: weight over the winning tier's total weight (see the module)

    @property
    def percent(self) -> float:
        return round(self.share * 100, 1)


@dataclass(frozen=True)
class SlotNow:
    """What a slot serves now: its winning tier's live creatives, else its house creative."""

    slot_id: int
    key: str
    name: str
    size: str  # "728 x 90" or "flexible"
    is_active: bool
    tier_label: str | None  # the winning tier; None when nothing paid is live
    creatives: tuple[LiveCreative, ...]  # the first ROWS of the winning tier, largest share first
    more: int  # live creatives of the winning tier not listed
    more_share: float  # their share together (0-1)
    outranked: int  # live creatives of lower tiers: they serve only if the winners cannot
    house: LiveCreative | None  # shown when nothing paid qualifies (share 1)

    @property
    def state(self) -> str:
        """``off`` (switched off), ``live``, ``house`` (only the house creative) or ``empty``."""
        if not self.is_active:
            return "off"
        if self.creatives:
            return "live"
        return "house" if self.house is not None else "empty"

    @property
    def more_percent(self) -> float:
        return round(self.more_share * 100, 1)


@dataclass(frozen=True)
class CampaignDate:
    """A campaign starting or ending at ``at`` (in the display time zone)."""

    campaign_id: int
    name: str
    sponsor_name: str
    tier_label: str
    at: dt.datetime
    state: str  # State label: Live, Scheduled, Ended or Paused
    is_active: bool


@dataclass(frozen=True)
class Upcoming:
    days: int
    starting: tuple[CampaignDate, ...]
    ending: tuple[CampaignDate, ...]
    more_starting: bool
    more_ending: bool


@dataclass(frozen=True)
class BehindPace:
    campaign_id: int
    name: str
    sponsor_name: str
    delivered: int
    goal: int
    expected: int
    percent_of_pace: float
    projected: int | None  # at the end, at the rate so far
    ends_at: dt.datetime  # display time zone

    @property
    def projected_percent_of_goal(self) -> float | None:
        if self.projected is None:
            return None
        return round(self.projected * 100 / self.goal, 1)


@dataclass(frozen=True)
class Behind:
    campaigns: tuple[BehindPace, ...]  # furthest behind first
    more: int


@dataclass(frozen=True)
class CountdownNow:
    countdown_id: int
    title: str
    is_open: bool
    phase_label: str | None  # the current phase ("Extended deadline"); None when closed
    deadline: dt.datetime | None  # the current phase's end, display time zone
    extended: bool
    time_left: str  # "3d 4h 12min"; "" when closed
    seconds_left: int
    closed_at: dt.datetime | None  # display time zone, when closed


@dataclass(frozen=True)
class Countdowns:
    countdowns: tuple[CountdownNow, ...]  # open ones first, the soonest deadline first
    more: bool


@dataclass(frozen=True)
class PendingSubmission:
    submission_id: int
    headline: str
    sponsor_name: str
    submitted_at: dt.datetime  # display time zone
    waiting: str  # "2d 3h 5min"


@dataclass(frozen=True)
class Submissions:
    submissions: tuple[PendingSubmission, ...]  # oldest first
    total: int


@dataclass(frozen=True)
class ArticleGoingLive:
    article_id: int
    headline: str
    kind: str
    author_name: str
    published_at: dt.datetime  # display time zone


@dataclass(frozen=True)
class GoingLive:
    days: int
    articles: tuple[ArticleGoingLive, ...]  # soonest first
    total: int


@dataclass(frozen=True)
class FlushStatus:
    counted_directly: bool  # no Redis: every event is written to the database at once
    redis_down: bool  # Redis configured but not answering (counting in the database meanwhile)
    last_flushed_at: dt.datetime | None  # display time zone
    last_events: int | None  # events the last flush moved
    ago: str  # "0d 0h 3min" since the last flush; "" without one
    pending: int | None  # counts waiting in Redis (hash fields); None when not known
    stale_after: int  # seconds
    stale: bool


@dataclass(frozen=True)
class Dashboard:
    """The sections a user may see; None for the others."""

    now: dt.datetime  # display time zone
    time_zone: str
    slots: tuple[SlotNow, ...] | None
    upcoming: Upcoming | None
    behind: Behind | None
    countdowns: Countdowns | None
    submissions: Submissions | None
    going_live: GoingLive | None
    flush: FlushStatus | None

    @property
    def is_empty(self) -> bool:
        """True when the user may see none of the sections."""
        sections = (self.slots, self.upcoming, self.behind, self.countdowns)
        more = (self.submissions, self.going_live, self.flush)
        return all(section is None for section in (*sections, *more))


def build_dashboard(*, user: User, now: dt.datetime) -> Dashboard:
    """The dashboard of ``user`` at ``now``: only the sections their permissions open."""
    zone = display_zone()

    def may(perm: str) -> bool:
        return user.has_perm(perm)

    campaigns = may("sponsors.view_campaign")
    return Dashboard(
        now=now.astimezone(zone),
        time_zone=str(zone),
        slots=live_by_slot(now=now) if may("sponsors.view_slot") else None,
        upcoming=upcoming_campaigns(now=now, zone=zone) if campaigns else None,
        behind=campaigns_behind_pace(now=now, zone=zone) if campaigns else None,
        countdowns=countdowns_now(now=now, zone=zone) if may("sponsors.view_countdown") else None,
        submissions=submissions_waiting(now=now, zone=zone) if may("cms.view_submission") else None,
        going_live=articles_going_live(now=now, zone=zone) if may("cms.view_article") else None,
        flush=flush_status(now=now, zone=zone) if may("sponsors.view_deliverycounter") else None,
    )


# --- Live now ---------------------------------------------------------------------------------


def _live(entry: CreativeEntry, now_ts: float) -> bool:
    """Live by the decision's rule: within its campaign's dates, its countdown not closed."""
    return decision.schedule_reason(entry, now_ts) is None


def _line(entry: CreativeEntry, share: float) -> LiveCreative:
    return LiveCreative(
        creative_id=entry.id,
        creative_name=entry.name,
        campaign_id=entry.campaign_id,
        campaign_name=entry.campaign_name,
        tier_label=entry.tier_label,
        weight=entry.weight,
        share=share,
    )


def _pool_live(pool: decision.TierPool, now_ts: float) -> list[CreativeEntry]:
    """The live creatives of a tier, once each (a creative included on several topics is in
    several of the pool's lists)."""
    seen: dict[int, CreativeEntry] = {}
    for weighted in (pool.everywhere, *pool.by_topic.values()):
        for entry in weighted.entries:
            if entry.id not in seen and _live(entry, now_ts):
                seen[entry.id] = entry
    return list(seen.values())


def slot_now(slot: Slot, entry: SlotEntry | None, now_ts: float) -> SlotNow:
    """What ``slot`` serves at ``now_ts`` by its snapshot ``entry`` (None: not in it yet)."""
    tiers = [_pool_live(pool, now_ts) for pool in (entry.pools if entry else ())]
    tiers = [live for live in tiers if live]  # highest tier first
    winners = sorted(tiers[0], key=lambda e: (-e.weight, e.name, e.id)) if tiers else []
    total = sum(e.weight for e in winners)
    shown, rest = winners[:ROWS], winners[ROWS:]
    house = entry.house if entry is not None else None
    house_ok = (
        house is not None
        and house.is_active
        and house.campaign_is_active
        and _live(house, now_ts)
        and entry is not None
        and decision.misfit_reason(entry, house) is None
    )
    return SlotNow(
        slot_id=slot.pk,
        key=slot.key,
        name=slot.name,
        size=slot.size_label,
        is_active=slot.is_active,
        tier_label=winners[0].tier_label if winners else None,
        creatives=tuple(_line(e, e.weight / total) for e in shown),
        more=len(rest),
        more_share=sum(e.weight for e in rest) / total if rest else 0.0,
        outranked=sum(len(live) for live in tiers[1:]),
        house=_line(house, 1.0) if house_ok and house is not None else None,
    )


def live_by_slot(*, now: dt.datetime) -> tuple[SlotNow, ...]:
    """Every slot with what is live in it now (1 query plus the decision's snapshot)."""
    inventory = get_inventory()
    now_ts = now.timestamp()
    return tuple(
        slot_now(slot, inventory.slots.get(slot.key), now_ts) for slot in Slot.objects.all()
    )


# --- Campaigns --------------------------------------------------------------------------------


def _campaign_date(campaign: Campaign, at: dt.datetime, now: dt.datetime) -> CampaignDate:
    return CampaignDate(
        campaign_id=campaign.pk,
        name=campaign.name,
        sponsor_name=campaign.sponsor.name,
        tier_label=campaign.get_tier_display(),
        at=at,
        state=campaign.state(now).label,
        is_active=campaign.is_active,
    )


def upcoming_campaigns(*, now: dt.datetime, zone: ZoneInfo) -> Upcoming:
    """Campaigns starting, and campaigns ending, in the next ``UPCOMING_DAYS`` (2 queries).

    Paused ones too (flagged): a paused campaign due to start is worth a look.
    """
    horizon = now + dt.timedelta(days=UPCOMING_DAYS)
    base = Campaign.objects.select_related("sponsor")
    starting = list(
        base.filter(starts_at__gt=now, starts_at__lte=horizon).order_by("starts_at", "pk")[
            : ROWS + 1
        ]
    )
    ending = list(
        base.filter(ends_at__gt=now, ends_at__lte=horizon).order_by("ends_at", "pk")[: ROWS + 1]
    )
    return Upcoming(
        days=UPCOMING_DAYS,
        starting=tuple(
            _campaign_date(c, c.starts_at.astimezone(zone), now) for c in starting[:ROWS]
        ),
        ending=tuple(
            _campaign_date(c, c.ends_at.astimezone(zone), now)
            for c in ending[:ROWS]
            if c.ends_at is not None  # filtered on: always set
        ),
        more_starting=len(starting) > ROWS,
        more_ending=len(ending) > ROWS,
    )


def campaigns_behind_pace(*, now: dt.datetime, zone: ZoneInfo) -> Behind:
    """Live campaigns behind pace, furthest behind first (1 query: ``pacing.behind_pace``)."""
    found = behind_pace(now)
    rows = []
    for campaign, pacing in found[:ROWS]:
        # behind_pace only reports campaigns with an end and an amount due by now
        assert campaign.ends_at is not None and pacing.expected is not None
        rows.append(
            BehindPace(
                campaign_id=campaign.pk,
                name=campaign.name,
                sponsor_name=campaign.sponsor.name,
                delivered=pacing.delivered,
                goal=pacing.goal,
                expected=pacing.expected,
                percent_of_pace=pacing.percent_of_pace or 0.0,
                projected=pacing.projected,
                ends_at=campaign.ends_at.astimezone(zone),
            )
        )
    return Behind(campaigns=tuple(rows), more=max(0, len(found) - ROWS))


# --- Countdowns -------------------------------------------------------------------------------


def countdowns_now(*, now: dt.datetime, zone: ZoneInfo) -> Countdowns:
    """Open countdowns, the soonest deadline first, then those closed in the last
    ``RECENTLY_CLOSED`` (2 queries: the countdowns, their phases)."""
    found = list(
        Countdown.objects.annotate(
            closes=Max("phases__deadline"),
            next_deadline=Min("phases__deadline", filter=Q(phases__deadline__gt=now)),
        )
        .filter(closes__gt=now - RECENTLY_CLOSED)
        .order_by(F("next_deadline").asc(nulls_last=True), "-closes", "pk")
        .prefetch_related(
            Prefetch("phases", queryset=DeadlinePhase.objects.order_by("deadline", "pk"))
        )[: ROWS + 1]
    )
    rows = []
    for countdown in found[:ROWS]:
        state = countdown_state(countdown_snapshot(countdown), now=now)
        closes = state.closes_at
        rows.append(
            CountdownNow(
                countdown_id=countdown.pk,
                title=countdown.title,
                is_open=state.is_open,
                phase_label=state.label,
                deadline=state.deadline.astimezone(zone) if state.deadline else None,
                extended=state.extended,
                time_left=format_span(state.seconds_remaining) if state.is_open else "",
                seconds_left=state.seconds_remaining,
                closed_at=closes.astimezone(zone) if state.is_closed and closes else None,
            )
        )
    return Countdowns(countdowns=tuple(rows), more=len(found) > ROWS)


# --- Editorial --------------------------------------------------------------------------------


def _head(queryset: QuerySet[M]) -> tuple[list[M], int]:
    """The first ``ROWS`` of ``queryset`` and how many it holds, in one query (a count over
    the whole result as a window, computed before the LIMIT)."""
    rows = list(queryset.annotate(dashboard_total=Window(Count("pk")))[:ROWS])
    return rows, (getattr(rows[0], "dashboard_total", 0) if rows else 0)


def submissions_waiting(*, now: dt.datetime, zone: ZoneInfo) -> Submissions:
    """Partner submissions pending review, oldest first, and how many wait (1 query)."""
    pending = Submission.objects.filter(status=Submission.Status.PENDING)
    rows, total = _head(pending.select_related("sponsor").order_by("created_at", "pk"))
    return Submissions(
        submissions=tuple(
            PendingSubmission(
                submission_id=s.pk,
                headline=s.headline,
                sponsor_name=s.sponsor.name,
                submitted_at=s.created_at.astimezone(zone),
                waiting=format_span((now - s.created_at).total_seconds()),
            )
            for s in rows
        ),
        total=total,
    )


def articles_going_live(*, now: dt.datetime, zone: ZoneInfo) -> GoingLive:
    """Articles scheduled to go live in the next ``UPCOMING_DAYS``, soonest first (1 query)."""
    horizon = now + dt.timedelta(days=UPCOMING_DAYS)
    scheduled = Article.objects.scheduled(now).filter(published_at__lte=horizon)
    rows, total = _head(scheduled.select_related("author").order_by("published_at", "pk"))
    articles = []
    for article in rows:
        assert article.published_at is not None  # scheduled(): a time ahead
        articles.append(
            ArticleGoingLive(
                article_id=article.pk,
                headline=article.headline,
                kind=article.get_kind_display(),
                author_name=article.author.name if article.author else "",
                published_at=article.published_at.astimezone(zone),
            )
        )
    return GoingLive(days=UPCOMING_DAYS, articles=tuple(articles), total=total)


# --- Counters ---------------------------------------------------------------------------------


def stale_after() -> int:
    return int(settings.ADS_FLUSH_STALE_AFTER)


def is_stale(
    *, last: dt.datetime | None, pending: int | None, now: dt.datetime, after: int
) -> bool:
    """Counts wait in Redis (or may: ``pending`` None) and no flush came for ``after`` s."""
    if pending == 0:
        return False  # nothing to flush: an old flush only means no traffic since
    return last is None or (now - last).total_seconds() > after


def _pending(store: RedisCounters) -> int:
    """Counts waiting in Redis for the next flush: fields of the pending hash (one per
    counted event, one per hourly count of events counted apart)."""
    return int(store.client.hlen(store.key(PENDING_KEY)))


def flush_status(*, now: dt.datetime, zone: ZoneInfo) -> FlushStatus:
    """When ``ads_flush`` last moved counts to the database, and whether that is stale
    (1 query and one Redis call with Redis; nothing without)."""
    after = stale_after()
    store = get_counters()
    if not isinstance(store, RedisCounters):
        return FlushStatus(
            counted_directly=True,
            redis_down=False,
            last_flushed_at=None,
            last_events=None,
            ago="",
            pending=None,
            stale_after=after,
            stale=False,
        )
    last = FlushedBatch.objects.order_by("-flushed_at").only("flushed_at", "events").first()
    pending: int | None = None
    redis_down = breaker.down()
    if not redis_down:
        try:
            pending = _pending(store)
        except REDIS_DOWN:
            redis_down = True
    at = last.flushed_at if last is not None else None
    return FlushStatus(
        counted_directly=False,
        redis_down=redis_down,
        last_flushed_at=at.astimezone(zone) if at is not None else None,
        last_events=last.events if last is not None else None,
        ago=format_span((now - at).total_seconds()) if at is not None else "",
        pending=pending,
        stale_after=after,
        stale=is_stale(last=at, pending=pending, now=now, after=after),
    )
