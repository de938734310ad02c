"""The decision's cached snapshot of the inventory: building it and serving from it.

Warm path, per request: one read of the inventory version (``sponsors.versions``); when it
equals the version this process already holds in memory, the snapshot is used as is (no
unpickling, no SQL). When it differs, the snapshot of that version is taken from the shared
cache, or built from the database (eight queries, plain rows) and stored there for the
other processes. The page decision reads the version in the same Redis round trip as its
counters (:func:`serve_page`), and the click in the same round trip as its count.

Any save or delete of a slot, campaign, creative, countdown or topic bumps the version
(``versions.bump(versions.INVENTORY)``: the models' ``save()``/``delete()``, the services
that bulk-update, and the receivers of ``sponsors.apps`` for editorial saves), so the next
decision anywhere serves the change.

**One build per version, and no request waits for another process's save.** The process
that commits a change builds the new version's snapshot right after the commit, having taken
its build lock before announcing the version (:class:`SaverBuilds`), so serving processes
normally only fetch it. Beyond that (a save made elsewhere, a failed build), a process
that finds the version moved and holds a snapshot keeps deciding from it, and one thread
(beside the requests, in a thread of its own) fetches the new one from the shared cache, or
builds it if it is not there and this process gets the version's build lock (``cache.add``:
Redis ``SET NX``, expiring after :data:`BUILD_LOCK_TTL`), then stores it for the others.
While another process holds the lock, this one looks again at most every
:data:`RECHECK_SECONDS`. A process that made the change itself (``versions.inventory_bumps``
moved since its snapshot was asked for) loads it on the request instead, so a save followed
by a request serves the change on that request; so does a process that holds no snapshot at
all (just started), which waits for the builder's snapshot, polling, for
:data:`BUILD_WAIT_SECONDS` at most, then builds its own. Only one thread per process fetches
or builds at a time.

So a change (a paused campaign, say) is served everywhere once one build is done: the build
(about 0.5 s for 10,000 creatives), a re-check of at most 50 ms, and each process's fetch and
unpickling of the snapshot (about 0.2 s). If the builder dies mid-build, its lock expires
and the next request's look builds: at most :data:`BUILD_LOCK_TTL` plus one build. A build
that outlasts the lock lets one more start.

While Redis is down (``versions.breaker``) the version is a local one: the snapshot is built
from the database and kept in this process only, rebuilt after each of its saves and at
each retry of Redis (one thread builds; the others keep serving what the process holds);
the decision fills slots from it.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import datetime
from random import Random
from typing import Any, NamedTuple

from django.core.cache import cache
from django.db import connections
from django.db.models import Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from cms.images import rendition_urls
from sponsors import versions
from sponsors.countdowns import CountdownSnapshot, countdown_snapshot
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
from sponsors.models import Campaign, Countdown, Creative, Slot

SNAPSHOT_KEY = "ads:inventory:snapshot:{version}"
SNAPSHOT_TTL = 24 * 3600
BUILD_LOCK_KEY = "ads:inventory:building:{version}"
# How long a build lock holds: longer than any build, short enough to bound how long a dead
# builder's version goes unbuilt (a live builder's lock simply expires: it is never deleted,
# so that no one who looked for the snapshot just before it was stored builds it again).
BUILD_LOCK_TTL = 10
# How often one thread per process looks for a snapshot another process is building.
RECHECK_SECONDS = 0.05
# How long a process holding no snapshot waits for another's build before building its own.
BUILD_WAIT_SECONDS = 5.0
# Seconds between GIL hand-overs while a snapshot is built or unpickled (Python's default: 5 ms).
LOAD_SWITCH_INTERVAL = 0.0005

_memo: tuple[str, Inventory] | None = None
_memo_bumps = 0  # versions.inventory_bumps when the snapshot held was asked for
_UNSET: Any = object()
log = logging.getLogger(__name__)
# One thread per process fetches or builds a snapshot; the others serve the one held.
_loading = threading.Lock()
# (version, monotonic time): not before then does this process look for that version again.
_next_look: tuple[str, float] = ("", 0.0)


def get_inventory(version: str | None = None) -> Inventory:
    """The snapshot the decision serves from (one cache GET when warm).

    ``version``: the current version when the caller has just read it. While that version's
    snapshot is being built or loaded, the snapshot this process holds is returned, unless
    this process made the change itself (then the request waits for it).
    """
    bumps = versions.inventory_bumps  # read first: a save from now on is not in the snapshot
    version = version or versions.current(versions.INVENTORY)
    memo = _memo
    if memo is not None and memo[0] == version:
        return memo[1]
    if memo is not None:
        looked, not_before = _next_look
        if looked == version and time.monotonic() < not_before:
            return memo[1]
        if not _loading.acquire(blocking=False):  # another thread is at it
            return memo[1]
        if bumps == _memo_bumps and not versions.is_local(version):
            # Another process's change: fetched or built beside the requests, not in one.
            loader = threading.Thread(
                target=_load_in_background, args=(version, memo[1], bumps), daemon=True
            )
            try:
                loader.start()
            except BaseException:
                _loading.release()
                raise
            return memo[1]
    else:
        _loading.acquire()
    try:
        memo = _memo
        if memo is not None and memo[0] == version:  # loaded meanwhile
            return memo[1]
        return _load(version, memo[1] if memo is not None else None, bumps)
    finally:
        _loading.release()


def _load_in_background(version: str, held: Inventory, bumps: int) -> None:
    try:
        _load(version, held, bumps)
    except Exception:  # the held snapshot is served meanwhile; the next request tries again
        log.exception("Could not load the inventory snapshot of version %s", version)
    finally:
        _loading.release()
        connections.close_all()  # this thread's own


@contextlib.contextmanager
def _beside_requests() -> Iterator[None]:
    """Build or unpickle a snapshot with the least harm to the requests of other threads.

    Both make some 100,000 objects and no garbage: the cyclic collector, which would run many
    times meanwhile and scan the whole process each time with the GIL held, is paused
    (measured: stalls of up to 100 ms of the other threads, and a build a third slower). And
    the GIL is handed over every 0.5 ms instead of 5: a request thread back from Redis waits
    that long for it (measured beside a build: twice the decisions, p99 4 ms instead of 10).
    """
    interval = sys.getswitchinterval()
    collecting = gc.isenabled()
    gc.disable()
    sys.setswitchinterval(min(interval, LOAD_SWITCH_INTERVAL))
    try:
        yield
    finally:
        sys.setswitchinterval(interval)
        if collecting:
            gc.enable()


def _keep(version: str, inventory: Inventory, bumps: int) -> Inventory:
    global _memo, _memo_bumps
    _memo, _memo_bumps = (version, inventory), bumps
    return inventory


def _load(version: str, held: Inventory | None, bumps: int) -> Inventory:
    """The snapshot of ``version`` from the cache or built here, or ``held`` while another
    process builds it (with ``_loading`` held)."""
    global _next_look
    if versions.is_local(version):  # Redis is down: built here, for this process only
        with _beside_requests():
            return _keep(version, build_inventory(), bumps)
    key = SNAPSHOT_KEY.format(version=version)
    lock = BUILD_LOCK_KEY.format(version=version)
    try:
        with _beside_requests():
            cached: Inventory | None = cache.get(key)
        if cached is not None:
            return _keep(version, cached, bumps)
        if lock in _reserved or cache.add(lock, 1, BUILD_LOCK_TTL):
            return _build_and_store(version, key, lock, bumps)
        if held is not None:  # being built elsewhere: serve what this process holds
            _next_look = (version, time.monotonic() + RECHECK_SECONDS)
            return held
        deadline = time.monotonic() + BUILD_WAIT_SECONDS
        while time.monotonic() < deadline:  # nothing to serve meanwhile: wait for it
            time.sleep(RECHECK_SECONDS)
            with _beside_requests():
                cached = cache.get(key)
            if cached is not None:
                return _keep(version, cached, bumps)
            if cache.add(lock, 1, BUILD_LOCK_TTL):  # the builder died (its lock expired)
                return _build_and_store(version, key, lock, bumps)
    except versions.REDIS_DOWN as exc:
        versions.breaker.trip(exc)
        return _load(versions.local_version(), held, bumps)
    return _build_and_store(version, key, None, bumps)  # waited long enough: build it too


def _build_and_store(version: str, key: str, lock: str | None, bumps: int) -> Inventory:
    try:
        with _beside_requests():
            inventory = build_inventory()
    except BaseException:
        if lock is not None:  # let the next request try at once
            try:
                cache.delete(lock)
            except versions.REDIS_DOWN as exc:
                versions.breaker.trip(exc)
        raise
    try:
        cache.set(key, inventory, SNAPSHOT_TTL)
    except versions.REDIS_DOWN as exc:  # served; the next process builds its own
        versions.breaker.trip(exc)
    return _keep(version, inventory, bumps)


class SaverBuilds:
    """The snapshot of a committed change is built by the process that made it, right after
    its commit (``versions.after_inventory_commit``): it takes the new version's build lock
    before the version is announced, so no serving process builds it; they only fetch it,
    beside their requests. The saving request pays for the build."""

    def reserve(self, version: str) -> bool:
        if versions.uses_redis() and versions.breaker.down():
            return False  # Redis down: each process builds its own when it decides
        lock = BUILD_LOCK_KEY.format(version=version)
        try:
            if not cache.add(lock, 1, BUILD_LOCK_TTL):
                return False
        except versions.REDIS_DOWN as exc:
            versions.breaker.trip(exc)
            return False
        _reserved.append(lock)  # this process may still build it (its own save's version)
        del _reserved[:-RESERVED_KEPT]
        return True

    def build(self, version: str) -> None:
        lock = BUILD_LOCK_KEY.format(version=version)
        with _loading:
            _build_and_store(
                version, SNAPSHOT_KEY.format(version=version), lock, versions.inventory_bumps
            )


saver_builds = SaverBuilds()
# Build locks this process took for its own saves' versions (the newest few).
_reserved: list[str] = []
RESERVED_KEPT = 16


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
    again with the new snapshot (unless it is still being built: then the first decision
    stands). Nothing is written, so a discarded decision leaves no trace.
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
        newer = get_inventory(seen)
        if newer is inventory:  # the new version's snapshot is not built yet
            return decision
        inventory = newer
    else:
        inventory = get_inventory()
    return decide(inventory, slot_keys, context, now=now, counters=store, rng=rng)


def forget_memo() -> None:
    """Drop this process's in-memory snapshot (tests, benchmarks)."""
    global _memo, _next_look
    _memo = None
    _next_look = ("", 0.0)


# ---------------------------------------------------------------------------------------------
# Building a snapshot from the database

# The columns the entries are made of, one row per creative and per campaign.
_CREATIVE_COLUMNS = (
    "pk",
    "name",
    "campaign_id",
    "kind",
    "weight",
    "image_width",
    "image_height",
    "renditions",  # the JSON text (the key of the memo of URL lists)
    "alt_text",
    "headline",
    "body",
    "cta_label",
    "click_url",
    "countdown_id",
    "when_countdown_closes",
    "is_active",
)
_CAMPAIGN_COLUMNS = (
    "pk",
    "name",
    "tier",
    "starts_at",
    "ends_at",
    "impression_goal",
    "pacing",
    "frequency_cap",
    "frequency_period",
    "is_active",
)


class _Campaign(NamedTuple):
    """What the entries of one campaign's creatives share (the same objects for all)."""

    name: str
    tier: int
    tier_label: str
    starts: float
    ends: float | None
    goal: int | None
    even_pacing: bool
    cap: int | None
    cap_period: str
    is_active: bool


class _Builder:
    """Turns rows into entries, sharing what repeats: one object per distinct campaign,
    countdown, rendition list, topic set and short string, instead of one per creative."""

    def __init__(
        self,
        campaigns: dict[int, _Campaign],
        countdowns: dict[int, CountdownSnapshot],
    ) -> None:
        self.campaigns = campaigns
        self.countdowns = countdowns
        self.strings: dict[str, str] = {}
        self.topic_sets: dict[tuple[str, ...], frozenset[str]] = {(): frozenset()}
        self.renditions: dict[str, list[tuple[str, str, int, int]]] = {}

    def share(self, value: str) -> str:
        return self.strings.setdefault(value, value)

    def topic_set(self, slugs: list[str] | None) -> frozenset[str]:
        key = tuple(sorted(slugs)) if slugs else ()
        found = self.topic_sets.get(key)
        if found is None:
            found = self.topic_sets[key] = frozenset(self.share(slug) for slug in key)
        return found

    def rendition_list(self, text: str | None) -> list[tuple[str, str, int, int]]:
        """The renditions' public URLs, made once per distinct JSON text (``rendition_urls``
        asks the storage for each URL)."""
        text = text or "{}"
        found = self.renditions.get(text)
        if found is None:
            found = self.renditions[text] = [
                (item["name"], item["url"], item["width"], item["height"])
                for item in rendition_urls(json.loads(text))
            ]
        return found

    def entry(
        self, row: tuple[Any, ...], include: list[str] | None, exclude: list[str] | None
    ) -> CreativeEntry:
        (
            pk,
            name,
            campaign_id,
            kind,
            weight,
            width,
            height,
            renditions,
            alt,
            headline,
            body,
            cta,
            click_url,
            countdown_id,
            when_closes,
            is_active,
        ) = row
        kind = self.share(kind)
        campaign = self.campaigns[campaign_id]
        image = text = None
        if kind == Creative.Kind.IMAGE:
            image = {"alt": self.share(alt), "renditions": self.rendition_list(renditions)}
        else:
            text = {
                "headline": self.share(headline),
                "body": self.share(body),
                "cta_label": self.share(cta),
            }
        # None too if the countdown was set between the two queries (the save bumps again).
        countdown = self.countdowns.get(countdown_id) if countdown_id else None
        # A strip that stops with its countdown stops at the last deadline, by the clock.
        closes = None
        if when_closes == Creative.WhenCountdownCloses.STOP and countdown is not None:
            closes_at = countdown.closes_at
            closes = closes_at.timestamp() if closes_at is not None else None
        return CreativeEntry(
            id=pk,
            name=name,
            campaign_id=campaign_id,
            campaign_name=campaign.name,
            tier=campaign.tier,
            tier_label=campaign.tier_label,
            weight=weight,
            kind=kind,
            width=width,
            height=height,
            starts=campaign.starts,
            ends=campaign.ends,
            include=self.topic_set(include),
            exclude=self.topic_set(exclude),
            goal=campaign.goal,
            even_pacing=campaign.even_pacing,
            cap=campaign.cap,
            cap_period=campaign.cap_period,
            click_url=click_url,
            payload={
                "creative_id": pk,
                "campaign_id": campaign_id,
                "kind": kind,
                "width": width if image else None,
                "height": height if image else None,
                "image": image,
                "text": text,
            },
            is_active=is_active,
            campaign_is_active=campaign.is_active,
            countdown=countdown,
            closes=closes,
        )


def _campaigns(ids: QuerySet[Creative, Any]) -> dict[int, _Campaign]:
    rows = Campaign.objects.filter(pk__in=ids).order_by().values_list(*_CAMPAIGN_COLUMNS)
    periods: dict[str, str] = {}
    return {
        pk: _Campaign(
            name=name,
            tier=tier,
            tier_label=Campaign.Tier(tier).label,
            starts=starts.timestamp(),
            ends=ends.timestamp() if ends else None,
            goal=goal,
            even_pacing=pacing == Campaign.Pacing.EVEN,
            cap=cap,
            cap_period=periods.setdefault(period, period),
            is_active=is_active,
        )
        for pk, name, tier, starts, ends, goal, pacing, cap, period, is_active in rows
    }


def _links(through: Any, ids: QuerySet[Creative, Any], column: str) -> dict[int, list[Any]]:
    """``column`` of the rows of an m2m table whose creative is among ``ids`` (a subquery,
    not a list of ids), grouped by creative."""
    grouped: dict[int, list[Any]] = {}
    rows = through.objects.filter(creative_id__in=ids).values_list("creative_id", column)
    for creative_id, value in rows.order_by():
        grouped.setdefault(creative_id, []).append(value)
    return grouped


def build_inventory(
    *, at: datetime | None = None, preview: bool = False, slot_keys: list[str] | None = None
) -> Inventory:
    """Read the inventory from the database into the decision's snapshot structure.

    The serving snapshot holds every creative that may serve now or later (active, of an
    active campaign that has not ended): a scheduled campaign goes live by the clock with no
    rebuild. A preview snapshot (``preview=True``) also holds paused, ended and misfitting
    creatives so the slot preview can say why they do not serve.

    Eight queries whatever the size, of plain rows (no model instances but the slots and
    countdowns): slots; the creatives; their campaigns; their slots, include and exclude
    topics (each table filtered by a subquery, not a list of ids); their countdowns and the
    countdowns' phases (one snapshot per countdown, shared by its creatives).
    """
    at = at or timezone.now()
    slots: QuerySet[Slot] | list[Slot]  # the rows, then the list of them
    slots = Slot.objects.all()
    if slot_keys is not None:
        slots = slots.filter(key__in=slot_keys)
    slots = list(slots)
    chosen: QuerySet[Creative]
    if preview:
        house_ids = [s.house_creative_id for s in slots if s.house_creative_id]
        chosen = Creative.objects.filter(Q(slots__in=slots) | Q(pk__in=house_ids)).distinct()
    else:
        chosen = Creative.objects.servable(at)
    chosen = chosen.order_by()
    rows = chosen.annotate(renditions=Cast("image_renditions", TextField())).values_list(
        *_CREATIVE_COLUMNS
    )
    ids = chosen.values("pk")
    countdowns = Countdown.objects.filter(pk__in=chosen.values("countdown_id"))
    builder = _Builder(
        _campaigns(chosen.values("campaign_id")),
        {c.pk: countdown_snapshot(c) for c in countdowns.prefetch_related("phases")},
    )
    slot_links = _links(Creative.slots.through, ids, "slot_id")
    include = _links(Creative.include_topics.through, ids, "topic__slug")
    exclude = _links(Creative.exclude_topics.through, ids, "topic__slug")

    entries: dict[int, CreativeEntry] = {}
    slot_creatives: dict[int, list[CreativeEntry]] = {slot.pk: [] for slot in slots}
    for row in rows:
        pk = row[0]
        entry = builder.entry(row, include.get(pk), exclude.get(pk))
        entries[pk] = entry
        for slot_id in slot_links.get(pk, ()):
            if slot_id in slot_creatives:
                slot_creatives[slot_id].append(entry)

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
