"""The inventory snapshot built the old way, from model instances: the oracle that the fast
builder (``sponsors.inventory_cache.build_inventory``, plain rows) must equal exactly.

This is the builder as it was before it read plain rows, kept word for word where it can be:
one model instance per creative with its campaign, countdown, slots and topics prefetched,
and a fresh payload and countdown snapshot per creative.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from django.db.models import Q
from django.utils import timezone

from cms.images import rendition_urls
from sponsors.countdowns import countdown_snapshot
from sponsors.decision import CreativeEntry, Inventory, SlotEntry, TierPool, misfit_reason
from sponsors.models import Campaign, Creative, Slot


def _creative_payload(creative: Creative) -> dict[str, Any]:
    image = None
    text = None
    if creative.kind == Creative.Kind.IMAGE:
        image = {
            "alt": creative.alt_text,
            "renditions": [
                (item["name"], item["url"], item["width"], item["height"])
                for item in rendition_urls(creative.image_renditions)
            ],
        }
    else:
        text = {
            "headline": creative.headline,
            "body": creative.body,
            "cta_label": creative.cta_label,
        }
    return {
        "creative_id": creative.pk,
        "campaign_id": creative.campaign_id,
        "kind": creative.kind,
        "width": creative.image_width if image else None,
        "height": creative.image_height if image else None,
        "image": image,
        "text": text,
    }


def creative_entry(creative: Creative) -> CreativeEntry:
    """Snapshot entry of a creative whose campaign and topics are loaded."""
    campaign = creative.campaign
    countdown = countdown_snapshot(creative.countdown) if creative.countdown_id else None
    stops = creative.when_countdown_closes == Creative.WhenCountdownCloses.STOP
    closes = None
    if stops and countdown is not None and countdown.closes_at is not None:
        closes = countdown.closes_at.timestamp()
    return CreativeEntry(
        id=creative.pk,
        name=creative.name,
        campaign_id=campaign.pk,
        campaign_name=campaign.name,
        tier=campaign.tier,
        tier_label=Campaign.Tier(campaign.tier).label,
        weight=creative.weight,
        kind=creative.kind,
        width=creative.image_width,
        height=creative.image_height,
        starts=campaign.starts_at.timestamp(),
        ends=campaign.ends_at.timestamp() if campaign.ends_at else None,
        include=frozenset(t.slug for t in creative.include_topics.all()),
        exclude=frozenset(t.slug for t in creative.exclude_topics.all()),
        goal=campaign.impression_goal,
        even_pacing=campaign.pacing == Campaign.Pacing.EVEN,
        cap=campaign.frequency_cap,
        cap_period=campaign.frequency_period,
        click_url=creative.click_url,
        payload=_creative_payload(creative),
        is_active=creative.is_active,
        campaign_is_active=campaign.is_active,
        countdown=countdown,
        closes=closes,
    )


def build_inventory_the_old_way(
    *, at: datetime | None = None, preview: bool = False, slot_keys: list[str] | None = None
) -> Inventory:
    at = at or timezone.now()
    slots = Slot.objects.all()
    if slot_keys is not None:
        slots = slots.filter(key__in=slot_keys)
    slots = list(slots)
    creatives = Creative.objects.select_related("campaign", "countdown").prefetch_related(
        "slots", "include_topics", "exclude_topics", "countdown__phases"
    )
    if preview:
        house_ids = [s.house_creative_id for s in slots if s.house_creative_id]
        creatives = creatives.filter(Q(slots__in=slots) | Q(pk__in=house_ids)).distinct()
    else:
        creatives = creatives.servable(at)
    entries: dict[int, CreativeEntry] = {}
    slot_creatives: dict[int, list[CreativeEntry]] = {slot.pk: [] for slot in slots}
    for creative in creatives:
        entry = creative_entry(creative)
        entries[entry.id] = entry
        for slot in creative.slots.all():
            if slot.pk in slot_creatives:
                slot_creatives[slot.pk].append(entry)

    result: dict[str, SlotEntry] = {}
    for slot in slots:
        shell = SlotEntry(
            id=slot.pk,
            key=slot.key,
            name=slot.name,
            width=slot.width,
            height=slot.height,
            kinds=frozenset(slot.accepted_kinds),
            is_active=slot.is_active,
            house=entries.get(slot.house_creative_id) if slot.house_creative_id else None,
            pools=(),
        )
        assigned = sorted(slot_creatives[slot.pk], key=lambda e: (-e.tier, e.id))
        servable = [
            e
            for e in assigned
            if e.is_active and e.campaign_is_active and misfit_reason(shell, e) is None
        ]
        tiers = sorted({e.tier for e in servable}, reverse=True)
        shell.pools = tuple(
            TierPool.of(tier, [e for e in servable if e.tier == tier]) for tier in tiers
        )
        if preview:
            shell.assigned = tuple((e, None) for e in assigned)
        result[slot.key] = shell
    return Inventory(slots=result, creatives=entries, built_at=time.time())
