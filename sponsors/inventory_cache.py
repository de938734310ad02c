"""The decision's cached snapshot of the inventory: building it and serving from it.

Warm path, per request: one read of the inventory version (``sponsors.versions``); when it
equals the version this process already holds in memory, the snapshot is used as is (no
unpickling, no SQL). When it differs, the snapshot of that version is taken from the shared
cache, or built from the database (a handful of queries) and stored there for the other
processes. The page decision reads the version in the same Redis round trip as its counters
(:func:`serve_page`), and the click in the same round trip as its count.

Any save or delete of a slot, campaign, creative, countdown or topic bumps the version
(``versions.bump(versions.INVENTORY)``: the models' ``save()``/``delete()``, the services
that bulk-update, and the receivers of ``sponsors.apps`` for editorial saves), so the next
decision anywhere serves the change.

While Redis is down (``versions.breaker``) the version is a local one: the snapshot is built
from the database and kept in this process only, rebuilt after each of its saves and at
each retry of Redis; the decision fills slots from it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from random import Random
from typing import Any

from django.core.cache import cache
from django.db.models import Q, QuerySet
from django.utils import timezone

from cms.images import rendition_urls
from sponsors import versions
from sponsors.countdowns import countdown_snapshot
from sponsors.counters import CounterStore, get_counters
from sponsors.decision import (
    CreativeEntry,
    Inventory,
    PageContext,
    PageDecision,
    SlotEntry,
    TierPool,
    decide,
    misfit_reason,
)
from sponsors.models import Campaign, Creative, Slot

SNAPSHOT_KEY = "ads:inventory:snapshot:{version}"
SNAPSHOT_TTL = 24 * 3600

_memo: tuple[str, Inventory] | None = None
_UNSET: Any = object()


def get_inventory(version: str | None = None) -> Inventory:
    """The snapshot the decision serves from (one cache GET when warm).

    ``version``: the current version when the caller has just read it.
    """
    global _memo
    version = version or versions.current(versions.INVENTORY)
    memo = _memo
    if memo is not None and memo[0] == version:
        return memo[1]
    if versions.is_local(version):  # Redis is down: built here, for this process only
        inventory = build_inventory()
        _memo = (version, inventory)
        return inventory
    key = SNAPSHOT_KEY.format(version=version)
    try:
        cached: Inventory | None = cache.get(key)
    except versions.REDIS_DOWN as exc:
        versions.breaker.trip(exc)
        return get_inventory(versions.local_version())
    inventory = cached or build_inventory()
    if cached is None:
        try:
            cache.set(key, inventory, SNAPSHOT_TTL)
        except versions.REDIS_DOWN as exc:  # served; the next process builds its own
            versions.breaker.trip(exc)
    _memo = (version, inventory)
    return inventory


class VersionCheckingReader:
    """A counter reader whose first round trip also reads the inventory version."""

    def __init__(self, store: CounterStore) -> None:
        self.store = store
        self.version: str | None = _UNSET  # _UNSET until the first read

    def read(
        self,
        *,
        campaigns: set[int],
        caps: set[tuple[int, str]],
        viewer: str | None,
        now: datetime,
    ) -> tuple[dict[int, int], dict[tuple[int, str], int]]:
        if self.version is _UNSET:
            delivered, seen, self.version = self.store.read_versioned(
                campaigns=campaigns, caps=caps, viewer=viewer, now=now
            )
            return delivered, seen
        return self.store.read(campaigns=campaigns, caps=caps, viewer=viewer, now=now)

    def seen_version(self) -> str | None:
        if self.version is _UNSET:
            self.version = versions.read(versions.INVENTORY)
        return self.version


def serve_page(
    slot_keys: Sequence[str], context: PageContext, *, now: datetime, rng: Random
) -> PageDecision:
    """The decision as the API serves it, in one cache round trip when warm.

    Decides optimistically with this process's snapshot while the counters it needs and the
    current version are read together; in the rare case the version moved on, decides
    again with the new snapshot. Nothing is written, so a discarded decision leaves no trace.
    """
    store = get_counters()
    memo = _memo
    if memo is not None:
        version, inventory = memo
        reader = VersionCheckingReader(store)
        decision = decide(inventory, slot_keys, context, now=now, counters=reader, rng=rng)
        seen = reader.seen_version()
        if seen == version:
            return decision
        inventory = get_inventory(seen)
    else:
        inventory = get_inventory()
    return decide(inventory, slot_keys, context, now=now, counters=store, rng=rng)


def forget_memo() -> None:
    """Drop this process's in-memory snapshot (tests, benchmarks)."""
    global _memo
    _memo = None


# ---------------------------------------------------------------------------------------------
# Building a snapshot from the database


def _creative_payload(creative: Creative) -> dict[str, Any]:
    """The API's creative fields that do not depend on the request (URLs made absolute later)."""
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
    countdown = (
        countdown_snapshot(creative.countdown)  # type: ignore[arg-type]  # countdown_id is set
        if creative.countdown_id
        else None
    )
    # A strip that stops with its countdown stops at the last deadline, by the clock.
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


def build_inventory(
    *, at: datetime | None = None, preview: bool = False, slot_keys: list[str] | None = None
) -> Inventory:
    """Read the inventory from the database into the decision's snapshot structure.

    The serving snapshot holds every creative that may serve now or later (active, of an
    active campaign that has not ended): a scheduled campaign goes live by the clock with no
    rebuild. A preview snapshot (``preview=True``) also holds paused, ended and misfitting
    creatives so the slot preview can say why they do not serve.
    """
    at = at or timezone.now()
    slots: QuerySet[Slot] | list[Slot]  # the rows, then the list of them
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
