"""Demo campaigns of the demo partner's sponsor (Reelhouse) and what they delivered, so its
report at /partners/report/ has something to show.

A live campaign (a sidebar and a leaderboard banner aimed at the TikTok topic) and one that
ended three weeks ago, with hourly impressions and clicks since each started. Deterministic
(seeded) and safe to run again: these creatives' counters are replaced, not added to.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Iterator

from django.db import transaction
from django.utils import timezone

from sponsors.demo_ads import _campaign, _creative
from sponsors.models import Campaign, Creative, DeliveryCounter, Slot, Sponsor

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
    creatives: list[tuple[Creative, float, float]] = [
        (
            _creative(
                live,
                "Sidebar: sound-on stories",
                kind=Creative.Kind.IMAGE,
                image=("Reelhouse: sound on", (300, 250), ((255, 0, 80), (0, 180, 190))),
                alt_text="Reelhouse for Business: stories made for sound on",
                click_url="https://business.reelhouse.example/sound-on?utm_source=sidebar",
                include=("tiktok",),
                slots=[slots["article-sidebar"]],
            ),
            380.0,
            0.012,
        ),
        (
            _creative(
                live,
                "Leaderboard: made for sound-on",
                kind=Creative.Kind.IMAGE,
                image=("Reelhouse for Business", (728, 90), ((20, 20, 20), (255, 0, 80))),
                alt_text="Reelhouse for Business: reach people who watch with the sound on",
                click_url="https://business.reelhouse.example/?utm_source=leaderboard",
                include=("tiktok",),
                slots=[slots["leaderboard"]],
            ),
            600.0,
            0.004,
        ),
        (
            _creative(
                ended,
                "Sidebar: creator week",
                kind=Creative.Kind.TEXT,
                headline="Creator week on Reelhouse",
                body="Seven days of live workshops for brands.",
                cta_label="Join in",
                click_url="https://business.reelhouse.example/creator-week",
                slots=[slots["article-sidebar"]],
            ),
            250.0,
            0.009,
        ),
    ]
    rng = random.Random(2026)
    DeliveryCounter.objects.filter(creative__in=[creative for creative, _, _ in creatives]).delete()
    rows = []
    for creative, per_hour, ctr in creatives:
        campaign = creative.campaign
        end = min(now, campaign.ends_at or now)
        slot = creative.slots.get()
        for hour, impressions, clicks in _hourly(
            rng, start=campaign.starts_at, end=end, per_hour=per_hour, ctr=ctr
        ):
            rows.append(
                DeliveryCounter(
                    hour=hour, creative=creative, slot=slot, impressions=impressions, clicks=clicks
                )
            )
    DeliveryCounter.objects.bulk_create(rows, batch_size=500)
    impressions = sum(row.impressions for row in rows)
    return [
        f"{impressions:,} demo impressions for {sponsor.name}'s campaigns: its partner login "
        "sees them at http://127.0.0.1:8000/partners/report/."
    ]
