"""Demo counts: a week of article reads per hour, so "Trending" has something to rank, and
the delivery of every live demo campaign since it started (30 days at most), hour by hour,
with bots and replays counted apart, so the dashboard, reports, charts and pacing show
something real: Contoso Cloud runs behind its pace and Fabrikam Studio ahead of it.

Deterministic (seeded) and safe to run again: the demo rows are replaced, not added to.
"""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from cms.models import Article
from sponsors.counters import rebuild_daily
from sponsors.models import (
    ArticleReadCounter,
    Campaign,
    Creative,
    DeliveryCounter,
    Event,
    Reason,
    UncountedCounter,
)

DAYS = 7
DELIVERY_DAYS = 30
# Share of the straight-line pace each demo campaign with a goal has delivered by now.
PACE = {"Contoso Cloud: media platforms": 0.6, "Fabrikam Studio: creators": 1.2}
HOURLY = 120  # impressions per hour of a live demo creative without a goal


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
    delivered = _delivery(now, rng)
    return [
        f"{total:,} demo article reads over the last {DAYS} days (/api/v1/trending/).",
        f"{delivered:,} demo impressions since the demo campaigns started "
        "(Ad ops: the dashboard and the delivery report).",
    ]


def _delivery(now: dt.datetime, rng: random.Random) -> int:
    """Hourly delivery counters of the live demo creatives, then the daily rollups."""
    creatives = list(
        Creative.objects.live(now).select_related("campaign").prefetch_related("slots")
    )
    DeliveryCounter.objects.filter(creative__in=creatives).delete()
    UncountedCounter.objects.filter(creative_id__in=[c.pk for c in creatives]).delete()
    by_campaign: dict[Campaign, list[Creative]] = {}
    for creative in creatives:
        if creative.slots.all():
            by_campaign.setdefault(creative.campaign, []).append(creative)
    rows, apart, total = [], [], 0
    earliest = now - dt.timedelta(days=DELIVERY_DAYS)
    for campaign, members in by_campaign.items():
        first = max(campaign.starts_at, earliest).replace(minute=0, second=0, microsecond=0)
        hours = max(1, int((now - first).total_seconds() // 3600))
        goal, ends = campaign.impression_goal, campaign.ends_at
        if goal and ends and campaign.name in PACE:
            due = goal * (now - campaign.starts_at) / (ends - campaign.starts_at)
            per_hour = PACE[campaign.name] * due / hours
        else:
            per_hour = HOURLY * len(members)
        for n in range(hours):
            hour = first + dt.timedelta(hours=n)
            for creative in members:
                slot = creative.slots.all()[0]
                impressions = int(rng.uniform(0.5, 1.5) * per_hour / len(members))
                clicks = sum(1 for _ in range(impressions // 50) if rng.random() < 0.4)
                rows.append(
                    DeliveryCounter(
                        hour=hour,
                        creative=creative,
                        slot=slot,
                        impressions=impressions,
                        clicks=clicks,
                    )
                )
                total += impressions
                for event, reason, share in (
                    (Event.IMPRESSION, Reason.BOT, 0.03),
                    (Event.CLICK, Reason.REPLAYED, 0.002),
                ):
                    count = int(impressions * share)
                    if count:
                        apart.append(
                            UncountedCounter(
                                hour=hour,
                                event=event,
                                reason=reason,
                                creative_id=creative.pk,
                                slot_id=slot.pk,
                                count=count,
                            )
                        )
    DeliveryCounter.objects.bulk_create(rows, batch_size=1000)
    UncountedCounter.objects.bulk_create(apart, batch_size=1000)
    rebuild_daily()
    return total
