"""A sponsor's own report, for its partner logins (``/partners/report/``).

For a range of local days (the display time zone's, ``sponsors.reports.display_zone()``, the
days the daily rollups are counted by):
its campaigns' billable impressions, clicks and CTR by day, per campaign and in total,
with the chart series and a CSV of the same figures; and the reads of the articles it
sponsors, by article and day.

What a partner sees, and what it never sees
    Everything here is scoped by the sponsor, never by an id from the request: a campaign
    chosen by the partner must be one of ``sponsor_campaigns(sponsor)`` (the page's form
    offers only those), and every query filters by the sponsor as well.

    Billable figures only. Events counted apart (bots, replays, expired or tampered tokens,
    previews...) are left out: they are ad-ops' data, tampered tokens name no campaign at
    all, and telling a sponsor which of its traffic was filtered, and why, would help
    anyone tune traffic past the filters.

    Reads are those of articles with a sponsorship of their own by this sponsor, in the UTC
    hours that sponsorship was open (an hour counts when the window overlaps it). Topic
    sponsorships are not counted: their block labels a section whose articles may carry
    another sponsor's block, so those reads are not the sponsor's content's.

The totals and the chart are the staff delivery report's own (``delivery_report`` filtered
by the sponsor), so a partner and ad-ops read the same numbers; the split by campaign and
day is one grouped query over the daily rollups of the same counters. A page costs a fixed
number of queries whatever the number of campaigns, articles or days.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import (
    DateTimeField,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Q,
    Sum,
)
from django.db.models.functions import TruncDate
from django.utils import timezone

from cms.models import Article
from sponsors.models import (
    ArticleReadCounter,
    Campaign,
    DailyDeliveryCounter,
    Partner,
    Sponsor,
    Sponsorship,
)
from sponsors.models.inventory import State
from sponsors.reports import (
    MAX_REPORT_DAYS,
    ChartSeries,
    ReportFilters,
    chart_series,
    delivery_report,
    display_zone,
    local_range,
    spreadsheet_safe,
)
from sponsors.sponsorships import partner_for

DEFAULT_DAYS = 30
MAX_DAYS = MAX_REPORT_DAYS
# Dates a report may ask for: older counts do not exist, and a far future date would only
# overflow the day arithmetic.
FIRST_DATE = dt.date(2000, 1, 1)
MAX_DAYS_AHEAD = 366
HOUR = dt.timedelta(hours=1)


def report_partner(user: Any) -> Partner | None:
    """The partner account of ``user`` (its sponsor loaded) if it may see its sponsor's
    report: an active login of an active sponsor. Else None (staff included)."""
    partner = partner_for(user)
    if partner is None or not user.is_active or not partner.sponsor.is_active:
        return None
    return partner


def today(*, now: dt.datetime | None = None) -> dt.date:
    """Today in the display time zone."""
    return timezone.localtime(now or timezone.now(), display_zone()).date()


def default_range(*, now: dt.datetime | None = None) -> tuple[dt.date, dt.date]:
    """The last ``DEFAULT_DAYS`` local days, today included."""
    last = today(now=now)
    return last - dt.timedelta(days=DEFAULT_DAYS - 1), last


def _long(day: dt.date) -> str:
    return f"{day.day} {day:%B %Y}"


def check_range(start: dt.date, end: dt.date, *, now: dt.datetime | None = None) -> None:
    """Raise ``ValidationError`` (coded, per field) unless ``start``..``end`` may be reported."""
    latest = today(now=now) + dt.timedelta(days=MAX_DAYS_AHEAD)
    errors: dict[str, ValidationError] = {}
    for name, day in (("start", start), ("end", end)):
        if not FIRST_DATE <= day <= latest:
            errors[name] = ValidationError(
                "Choose a date from %(first)s to %(latest)s.",
                code="date_out_of_bounds",
                params={"first": _long(FIRST_DATE), "latest": _long(latest)},
            )
    if errors:
        raise ValidationError(errors)
    if end < start:
        raise ValidationError(
            {"end": ValidationError("The end date is before the start date.", code="end_first")}
        )
    days = (end - start).days + 1
    if days > MAX_DAYS:
        raise ValidationError(
            {
                "end": ValidationError(
                    "Choose at most %(max)s days (this range has %(days)s).",
                    code="range_too_long",
                    params={"max": MAX_DAYS, "days": days},
                )
            }
        )


def sponsor_campaigns(sponsor: Sponsor) -> list[Campaign]:
    """Every campaign of ``sponsor``, the most recently started first (one query)."""
    return list(Campaign.objects.filter(sponsor=sponsor).order_by("-starts_at", "-pk"))


@dataclass(frozen=True, slots=True)
class Figures:
    """Billable impressions and clicks; CTR is clicks per impression."""

    impressions: int
    clicks: int

    @property
    def ctr(self) -> float:
        return self.clicks / self.impressions if self.impressions else 0.0

    @property
    def ctr_percent(self) -> str:
        return f"{self.ctr * 100:.2f}%"


@dataclass(frozen=True, slots=True)
class DayFigures(Figures):
    day: dt.date


@dataclass(frozen=True, slots=True)
class CampaignFigures:
    campaign: Campaign
    state: State
    totals: Figures
    days: list[DayFigures]  # every day of the range


@dataclass(frozen=True, slots=True)
class Delivery:
    """The campaigns part of the report."""

    start: dt.date
    end: dt.date
    time_zone: str
    chosen: Campaign | None  # the one campaign asked for, or None: all of them
    campaigns: list[CampaignFigures]  # those that ran in the range or delivered in it
    days: list[DayFigures]  # totals of the campaigns shown, every day of the range
    totals: Figures
    chart: ChartSeries
    has_campaigns: bool  # whether the sponsor has any campaign at all


@dataclass(frozen=True, slots=True)
class DayReads:
    day: dt.date
    reads: int


@dataclass(frozen=True, slots=True)
class ArticleReads:
    headline: str
    published_at: dt.datetime | None
    reads: int
    days: list[DayReads]  # every day of the range


@dataclass(frozen=True, slots=True)
class Reads:
    """The sponsored-articles part of the report."""

    start: dt.date
    end: dt.date
    time_zone: str
    articles: list[ArticleReads]  # sponsored during the range, most read first
    days: list[DayReads]  # every day of the range
    total: int


@dataclass(frozen=True, slots=True)
class PartnerReport:
    sponsor: Sponsor
    delivery: Delivery
    reads: Reads

    @property
    def days(self) -> int:
        return (self.delivery.end - self.delivery.start).days + 1


def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]


def _open_during_q(first: dt.datetime, after: dt.datetime, prefix: str = "") -> Q:
    """A ``starts_at``/``ends_at`` window (either empty: open on that side) open at some
    moment of [first, after)."""
    return (Q(**{f"{prefix}starts_at__isnull": True}) | Q(**{f"{prefix}starts_at__lt": after})) & (
        Q(**{f"{prefix}ends_at__isnull": True}) | Q(**{f"{prefix}ends_at__gt": first})
    )


def campaign_delivery(
    *,
    sponsor: Sponsor,
    start: dt.date,
    end: dt.date,
    campaigns: Sequence[Campaign] | None = None,
    campaign: Campaign | None = None,
    now: dt.datetime | None = None,
) -> Delivery:
    """``sponsor``'s billable delivery from ``start`` to ``end`` (the display zone's days,
    inclusive): per campaign and in total, by day, and the chart series of the total.

    ``campaigns``: ``sponsor_campaigns(sponsor)`` if the caller already has it (saves its
    query). ``campaign``: report that one only; it must be the sponsor's (``ValueError``).
    Four queries (five without ``campaigns``), whatever the range or the campaigns: the staff
    report's three and the split by campaign and day, read from the daily rollups (written
    with the hourly counters, by the same days).
    """
    zone = display_zone()
    now = now or timezone.now()
    own = list(campaigns) if campaigns is not None else sponsor_campaigns(sponsor)
    if any(c.sponsor_id != sponsor.pk for c in own):
        raise ValueError("campaigns must be the sponsor's own")
    if campaign is not None and campaign.pk not in {c.pk for c in own}:
        raise ValueError("campaign must be one of the sponsor's own")
    first, after = local_range(start, end, zone)
    report = delivery_report(
        start=start,
        end=end,
        group_by="day",
        filters=ReportFilters(sponsor=sponsor.slug, campaign=campaign.pk if campaign else None),
        zone=zone,
    )
    counters = DailyDeliveryCounter.objects.filter(
        day__gte=start, day__lte=end, creative__campaign__sponsor=sponsor
    )
    if campaign is not None:
        counters = counters.filter(creative__campaign=campaign)
    by_campaign_day: dict[int, dict[dt.date, Figures]] = defaultdict(dict)
    rows = (
        counters.values("creative__campaign_id", "day")
        .annotate(n_impressions=Sum("impressions"), n_clicks=Sum("clicks"))
        .order_by()
    )
    for row in rows:
        by_campaign_day[row["creative__campaign_id"]][row["day"]] = Figures(
            row["n_impressions"] or 0, row["n_clicks"] or 0
        )

    days = _days(start, end)
    shown = [campaign] if campaign is not None else own
    figures = []
    for item in shown:
        counted = by_campaign_day.get(item.pk, {})
        ran = item.starts_at < after and (item.ends_at is None or item.ends_at > first)
        if not (counted or ran or item == campaign):
            continue
        per_day = [
            DayFigures(counted[day].impressions, counted[day].clicks, day)
            if day in counted
            else DayFigures(0, 0, day)
            for day in days
        ]
        figures.append(
            CampaignFigures(
                campaign=item,
                state=item.state(now),
                totals=_sum(per_day),
                days=per_day,
            )
        )
    report_days = {row["day"]: row for row in report["rows"]}
    total_days = [
        DayFigures(report_days[day]["impressions"], report_days[day]["clicks"], day)
        if day in report_days
        else DayFigures(0, 0, day)
        for day in days
    ]
    totals = report["totals"]
    return Delivery(
        start=start,
        end=end,
        time_zone=zone.key,
        chosen=campaign,
        campaigns=figures,
        days=total_days,
        totals=Figures(totals["impressions"], totals["clicks"]),
        chart=chart_series(report),
        has_campaigns=bool(own),
    )


def _sum(rows: Iterable[Figures]) -> Figures:
    impressions = clicks = 0
    for row in rows:
        impressions += row.impressions
        clicks += row.clicks
    return Figures(impressions, clicks)


def article_reads(*, sponsor: Sponsor, start: dt.date, end: dt.date) -> Reads:
    """Reads of the articles ``sponsor`` sponsors (a sponsorship of the article itself), in
    the hours that sponsorship was open, from ``start`` to ``end`` (local days, inclusive),
    by article and day (the display zone's days). Two queries, whatever the articles or the
    range."""
    zone = display_zone()
    first, after = local_range(start, end, zone)
    sponsorships = Sponsorship.objects.filter(sponsor=sponsor, article__isnull=False)
    open_in_hour = sponsorships.filter(
        Q(starts_at__isnull=True)
        | Q(starts_at__lt=ExpressionWrapper(OuterRef("hour") + HOUR, output_field=DateTimeField()))
    ).filter(Q(ends_at__isnull=True) | Q(ends_at__gt=OuterRef("hour")), article=OuterRef("article"))
    rows = (
        ArticleReadCounter.objects.filter(hour__gte=first, hour__lt=after)
        .filter(Exists(open_in_hour))
        .annotate(local_day=TruncDate("hour", tzinfo=zone))
        .values("article_id", "local_day")
        .annotate(reads=Sum("reads"))
        .order_by()
    )
    by_article_day: dict[int, dict[dt.date, int]] = defaultdict(dict)
    for row in rows:
        by_article_day[row["article_id"]][row["local_day"]] = row["reads"] or 0

    articles = (
        Article.objects.filter(
            Q(sponsorships__sponsor=sponsor) & _open_during_q(first, after, "sponsorships__")
        )
        .distinct()
        .values_list("pk", "headline", "published_at")
    )
    days = _days(start, end)
    found = []
    for pk, headline, published_at in articles:
        counted = by_article_day.get(pk, {})
        per_day = [DayReads(day, counted.get(day, 0)) for day in days]
        found.append(ArticleReads(headline, published_at, sum(counted.values()), per_day))
    # Most read first, then the newest.
    found.sort(
        key=lambda a: (a.reads, a.published_at or dt.datetime.min.replace(tzinfo=dt.UTC)),
        reverse=True,
    )
    totals = [DayReads(day, sum(a.days[n].reads for a in found)) for n, day in enumerate(days)]
    return Reads(
        start=start,
        end=end,
        time_zone=zone.key,
        articles=found,
        days=totals,
        total=sum(a.reads for a in found),
    )


def partner_report(
    *,
    sponsor: Sponsor,
    start: dt.date,
    end: dt.date,
    campaigns: Sequence[Campaign] | None = None,
    campaign: Campaign | None = None,
    now: dt.datetime | None = None,
) -> PartnerReport:
    """The whole report: ``campaign_delivery`` and ``article_reads`` for the same days."""
    return PartnerReport(
        sponsor=sponsor,
        delivery=campaign_delivery(
            sponsor=sponsor,
            start=start,
            end=end,
            campaigns=campaigns,
            campaign=campaign,
            now=now,
        ),
        reads=article_reads(sponsor=sponsor, start=start, end=end),
    )


# ---------------------------------------------------------------------------------------------
# CSV: the page's figures, one row per day and campaign (or article).


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([spreadsheet_safe(value) for value in row])
    return out.getvalue()


def delivery_csv(delivery: Delivery) -> str:
    """One row per local day and campaign shown: day, campaign, impressions, clicks, CTR
    (a fraction, to 6 places, as the staff report's)."""
    rows = (
        (
            day.day.isoformat(),
            item.campaign.name,
            day.impressions,
            day.clicks,
            f"{day.ctr:.6f}",
        )
        for item in delivery.campaigns
        for day in item.days
    )
    return _csv(("day", "campaign", "impressions", "clicks", "ctr"), rows)


def reads_csv(reads: Reads) -> str:
    """One row per local day and sponsored article: day, article headline, reads."""
    rows = (
        (day.day.isoformat(), article.headline, day.reads)
        for article in reads.articles
        for day in article.days
    )
    return _csv(("day", "article", "reads"), rows)
