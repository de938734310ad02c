"""Demo campaigns of the demo partner's sponsor (Reelhouse), so its report at
/partners/report/ has something to show.

A live campaign (a sidebar and a leaderboard banner aimed at the TikTok topic), whose
delivery ``sponsors.demo_counts`` writes as it does for every live demo campaign (so this
loader runs before it), and one that ended three weeks ago, whose hourly impressions and
clicks are written here, with their daily rollups. Deterministic (seeded) and safe to run
again: the ended campaign's counters are replaced, not added to.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Iterator

from django.db import transaction
from django.utils import timezone

from sponsors.counters import hour_of, upsert_delivery
from sponsors.demo_ads import _campaign, _creative
from sponsors.models import (
    Campaign,
    Creative,
    DailyDeliveryCounter,
    DeliveryCounter,
    Slot,
    Sponsor,
)

SPONSOR_SLUG = "reelhouse"  # sponsors.demo: the demo partner login's sponsor


def _hourly(
    rng: random.Random, *, start: dt.datetime, end: dt.datetime, per_hour: float, ctr: float
) -> Iterator[tuple[dt.datetime, int, int]]:
    """(hour, impressions, clicks) for every UTC hour from ``start`` to ``end``: busier by
    day than by night, quieter at weekends."""
    hour = start.replace(minute=0, second=0, microsecond=0)
    while hour < end:
        daylight = 0.35 + 0.65 * max(0.0, math.sin(math.pi * (hour.hour - 5) / 16))
        weekend = 0.7 if hour.weekday() >= 5 else 1.0
        impressions = int(per_hour * daylight * weekend * rng.uniform(0.75, 1.25))
        clicks = round(impressions * ctr * rng.uniform(0.5, 1.5))
        if impressions:
            yield hour, impressions, clicks
        hour += dt.timedelta(hours=1)


@transaction.atomic
def load(*, admin_password: str) -> list[str]:
    """Create or refresh the demo partner's campaigns and their delivery counts."""
    sponsor = Sponsor.objects.filter(slug=SPONSOR_SLUG).first()
    if sponsor is None:  # sponsors.demo did not run
        return []
    now = timezone.now()
    slots = {
        slot.key: slot for slot in Slot.objects.filter(key__in=["leaderboard", "article-sidebar"])
    }
    live = _campaign(
        "Reelhouse: sound-on stories",
        sponsor,
        starts_at=now - dt.timedelta(days=18),
        ends_at=now + dt.timedelta(days=12),
        tier=Campaign.Tier.STANDARD,
    )
    ended = _campaign(
        "Reelhouse: creator week",
        sponsor,
        starts_at=now - dt.timedelta(days=40),
        ends_at=now - dt.timedelta(days=21),
        tier=Campaign.Tier.STANDARD,
    )
    _creative(
        live,
        "Sidebar: sound-on stories",
        kind=Creative.Kind.IMAGE,
        image=("Reelhouse: sound on", (300, 250), ((255, 0, 80), (0, 180, 190))),
        alt_text="Reelhouse for Business: stories made for sound on",
        click_url="https://business.reelhouse.example/sound-on?utm_source=sidebar",
        include=("tiktok",),
        slots=[slots["article-sidebar"]],
    )
    _creative(
        live,
        "Leaderboard: made for sound-on",
        kind=Creative.Kind.IMAGE,
        image=("Reelhouse for Business", (728, 90), ((20, 20, 20), (255, 0, 80))),
        alt_text="Reelhouse for Business: reach people who watch with the sound on",
        click_url="https://business.reelhouse.example/?utm_source=leaderboard",
        include=("tiktok",),
        slots=[slots["leaderboard"]],
    )
    sidebar = slots["article-sidebar"]
    creative = _creative(
        ended,
        "Sidebar: creator week",
        kind=Creative.Kind.TEXT,
        headline="Creator week on Reelhouse",
        body="Seven days of live workshops for brands.",
        cta_label="Join in",
        click_url="https://business.reelhouse.example/creator-week",
        slots=[sidebar],
    )
    DeliveryCounter.objects.filter(creative=creative).delete()
    DailyDeliveryCounter.objects.filter(creative=creative).delete()
    rng = random.Random(2026)
    counts = {
        (hour_of(hour), creative.pk, sidebar.pk): (impressions, clicks)
        for hour, impressions, clicks in _hourly(
            rng, start=ended.starts_at, end=ended.ends_at or now, per_hour=150, ctr=0.009
        )
    }
    upsert_delivery(counts)  # hourly rows and their daily rollups
    impressions = sum(i for i, _ in counts.values())
    return [
        f"{sponsor.name}'s campaigns (its partner login's report: "
        f"http://127.0.0.1:8000/partners/report/), {impressions:,} impressions for the ended one."
    ]
