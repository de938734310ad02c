"""The ad decision: which creative each slot of a page shows. The only home of these rules.

The API, the admin's slot preview and the benchmark all call :func:`decide` (and the
preview :func:`explain_slot`). Everything the decision depends on is passed in: the
inventory snapshot, the page context, ``now``, a counter reader and a ``random.Random``.
Nothing here touches the database; with a warm snapshot a decision makes no SQL query.

Rules, per slot in the order the page lists them:

1. candidates are the active creatives of active campaigns assigned to the slot whose kind
   the slot accepts and whose image fits it (decided when the snapshot is built);
2. the campaign must be within its dates at ``now``;
3. targeting is data: a creative with include topics serves only on pages with one of
   them; a creative with exclude topics never serves on pages with any of them;
4. a campaign that reached its impression goal stops; with even pacing it is skipped while
   ahead of schedule (delivered >= goal x elapsed fraction of its dates);
5. a campaign whose frequency cap the viewer has reached (impressions this hour/day, plus
   the ads of this campaign already chosen for the page) is skipped;
6. a creative already chosen for another slot of the page is skipped;
7. the highest tier with a candidate left wins, then weighted random within that tier;
8. else the slot's house creative (any active one of a campaign within its dates, ignoring
   targeting, caps and pacing), else nothing.

Choosing is sublinear in the number of creatives: each tier of a slot keeps cumulative
weights per targeting list, a weighted draw is a binary search, and drawn creatives that
fail a rule are rejected and drawn again (rejection sampling keeps the exact distribution
"weighted random among the eligible"). Counters are read only for drawn creatives, in one
round trip for all slots of the page. When many draws fail, the tier is scanned in full, so
the result is the same as a scan, only faster.
"""

from __future__ import annotations

import base64
import bisect
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from random import Random
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # for the type checker only: the decision imports nothing of Django's
    from sponsors.countdowns import CountdownSnapshot

# Draws whose counters are read together, per slot and tier, the first time a tier is
# tried (the first draw usually qualifies); then draws per later round, and rounds before
# a full scan of a tier.
FIRST_DRAWS = 2
DRAW_BATCH = 8
DRAW_ROUNDS = 4

HOUR = "hour"
DAY = "day"
PERIOD_SECONDS = {HOUR: 3600, DAY: 86400}

# Creative kinds (the models' choices take their values and labels from here).
IMAGE = "image"
TEXT = "text"
KIND_LABELS = {IMAGE: "Image banner", TEXT: "Text promo strip"}

# Where a campaign stands by its dates (the models add "paused" for a switched-off one).
SCHEDULED = "scheduled"
LIVE = "live"
ENDED = "ended"


# ---------------------------------------------------------------------------------------------
# The inventory snapshot: plain, picklable data built from the database by inventory_cache.


@dataclass(frozen=True, slots=True)
class CreativeEntry:
    """What the decision and the API need of one creative (with its campaign)."""

    id: int
    name: str
    campaign_id: int
    campaign_name: str
    tier: int
    tier_label: str
    weight: int
    kind: str
    width: int | None
    height: int | None
    starts: float  # campaign start, POSIX seconds
    ends: float | None  # when the creative stops serving (campaign end), POSIX seconds
    include: frozenset[str]  # topic slugs
    exclude: frozenset[str]
    goal: int | None
    even_pacing: bool
    cap: int | None
    cap_period: str  # HOUR or DAY
    click_url: str
    payload: dict[str, Any]  # the API's creative fields that do not depend on the request
    is_active: bool = True
    campaign_is_active: bool = True
    countdown: CountdownSnapshot | None = None  # shown with the ad
    closes: float | None = None  # when its countdown closes, if the strip stops then

    @property
    def needs_delivered(self) -> bool:
        return self.goal is not None

    def __reduce__(self) -> tuple[type[CreativeEntry], tuple[Any, ...]]:
        # Unpickled by one call with the fields in order: four times faster than the
        # dataclass's own __setstate__, which looks up the fields again for every entry.
        return (CreativeEntry, tuple([getattr(self, name) for name in _ENTRY_FIELDS]))


_ENTRY_FIELDS = tuple(f.name for f in fields(CreativeEntry))


@dataclass(slots=True)
class WeightedList:
    """Creatives with cumulative weights, for weighted draws by binary search."""

    entries: tuple[CreativeEntry, ...]
    cumulative: tuple[int, ...]
    total: int

    @classmethod
    def of(cls, entries: Iterable[CreativeEntry]) -> WeightedList:
        items = tuple(entries)
        running, cumulative = 0, []
        for entry in items:
            running += entry.weight
            cumulative.append(running)
        return cls(items, tuple(cumulative), running)

    def draw(self, point: int) -> CreativeEntry:
        return self.entries[bisect.bisect_right(self.cumulative, point)]


@dataclass(slots=True)
class TierPool:
    """The creatives of one tier in one slot, indexed by targeting."""

    tier: int
    everywhere: WeightedList  # no include topics: may serve on any page
    by_topic: dict[str, WeightedList]  # include topic slug -> creatives that include it

    @classmethod
    def of(cls, tier: int, entries: Sequence[CreativeEntry]) -> TierPool:
        by_topic: dict[str, list[CreativeEntry]] = {}
        for entry in entries:
            for slug in sorted(entry.include):
                by_topic.setdefault(slug, []).append(entry)
        return cls(
            tier=tier,
            everywhere=WeightedList.of(e for e in entries if not e.include),
            by_topic={slug: WeightedList.of(items) for slug, items in by_topic.items()},
        )


@dataclass(slots=True)
class SlotEntry:
    id: int
    key: str
    name: str
    width: int | None
    height: int | None
    kinds: frozenset[str]
    is_active: bool
    house: CreativeEntry | None
    pools: tuple[TierPool, ...]  # highest tier first
    # Only in preview snapshots: every creative assigned to the slot, with why it cannot
    # serve here when that is already known when the snapshot is built (paused, misfit).
    assigned: tuple[tuple[CreativeEntry, str | None], ...] = ()


@dataclass(slots=True)
class Inventory:
    slots: dict[str, SlotEntry]
    creatives: dict[int, CreativeEntry]  # every creative in any pool or as a house creative
    built_at: float = 0.0


# ---------------------------------------------------------------------------------------------
# Input and output


@dataclass(frozen=True, slots=True)
class PageContext:
    topics: tuple[str, ...] = ()  # topic slugs, in the page's order
    article: str = ""  # article slug (reported; targeting is by topic)
    viewer: str | None = None  # anonymous viewer id from the front end


@dataclass(slots=True)  # not frozen: a frozen dataclass costs three times more to create
class Placement:
    """A creative chosen for a slot, with the id its beacon and click URLs carry."""

    slot: SlotEntry
    creative: CreativeEntry
    placement_id: str
    house: bool = False


@dataclass(slots=True)
class PageDecision:
    placements: dict[str, Placement | None]  # requested known slot key -> choice or None
    unknown_slots: list[str]


class CounterReader(Protocol):
    """Reads the tracking counters the rules need, in one round trip per call."""

    def read(
        self,
        *,
        campaigns: set[int],
        caps: set[tuple[int, str]],
        viewer: str | None,
        now: datetime,
    ) -> tuple[dict[int, int], dict[tuple[int, str], int]]:
        """Return (billable impressions per campaign, the viewer's impressions per
        (campaign, period) in the current period)."""
        ...


class NoCounters:
    """A reader for when nothing has been delivered yet (tests, previews without counters)."""

    def read(
        self,
        *,
        campaigns: set[int],
        caps: set[tuple[int, str]],
        viewer: str | None,
        now: datetime,
    ) -> tuple[dict[int, int], dict[tuple[int, str], int]]:
        return {c: 0 for c in campaigns}, {k: 0 for k in caps}


class CounterView:
    """Counter values fetched lazily for one decision and remembered for it."""

    def __init__(self, reader: CounterReader, viewer: str | None, now: datetime) -> None:
        self.reader = reader
        self.viewer = viewer
        self.now = now
        self.delivered: dict[int, int] = {}
        self.seen: dict[tuple[int, str], int] = {}

    def prefetch(self, entries: Iterable[CreativeEntry]) -> None:
        campaigns: set[int] = set()
        caps: set[tuple[int, str]] = set()
        for entry in entries:
            if entry.goal is not None and entry.campaign_id not in self.delivered:
                campaigns.add(entry.campaign_id)
            if entry.cap is not None and self.viewer:
                key = (entry.campaign_id, entry.cap_period)
                if key not in self.seen:
                    caps.add(key)
        if not campaigns and not caps:
            return
        delivered, seen = self.reader.read(
            campaigns=campaigns, caps=caps, viewer=self.viewer, now=self.now
        )
        for campaign in campaigns:
            self.delivered[campaign] = delivered.get(campaign, 0)
        for key in caps:
            self.seen[key] = seen.get(key, 0)


# ---------------------------------------------------------------------------------------------
# The rules, one function each, shared by the decision and the explanations.


def _ts(moment: datetime) -> float:
    return moment.timestamp()


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def date_state(starts: float, ends: float | None, now: float) -> str:
    """``SCHEDULED``, ``LIVE`` or ``ENDED``: live from the start (inclusive) to the end
    (exclusive); no end means open-ended. POSIX seconds.

    The one home of the rule in Python (``Campaign.state`` asks it); the querysets'
    ``campaign_*_q`` say the same in SQL, and ``_Page.static_ok`` keeps a fast inline copy,
    both held equal to this on every boundary by ``tests/sponsors/test_campaign_dates.py``.
    """
    if starts > now:
        return SCHEDULED
    if ends is not None and ends <= now:
        return ENDED
    return LIVE


def schedule_reason(entry: CreativeEntry, now_ts: float) -> str | None:
    state = date_state(entry.starts, entry.ends, now_ts)
    if state == SCHEDULED:
        return f"scheduled: the campaign starts {_when(entry.starts)}"
    if state == ENDED and entry.ends is not None:
        return f"ended {_when(entry.ends)}"
    if entry.closes is not None and entry.closes <= now_ts:
        return f"its countdown closed {_when(entry.closes)}"
    return None


def targeting_reason(entry: CreativeEntry, topics: frozenset[str]) -> str | None:
    if entry.include and not (entry.include & topics):
        return "targeted at " + ", ".join(sorted(entry.include)) + "; the page has none of them"
    blocked = entry.exclude & topics
    if blocked:
        return "excluded on pages about " + ", ".join(sorted(blocked))
    return None


def pacing_allowance(entry: CreativeEntry, now_ts: float) -> float:
    """Impressions the campaign may have delivered by ``now`` to stay on schedule."""
    if entry.goal is None:
        return float("inf")
    if not entry.even_pacing or entry.ends is None:
        return float(entry.goal)
    span = entry.ends - entry.starts
    fraction = min(1.0, max(0.0, (now_ts - entry.starts) / span)) if span > 0 else 1.0
    return entry.goal * fraction


def delivery_reason(entry: CreativeEntry, delivered: int, now_ts: float) -> str | None:
    if entry.goal is None:
        return None
    if delivered >= entry.goal:
        return f"impression goal reached ({delivered:,} of {entry.goal:,})"
    allowance = pacing_allowance(entry, now_ts)
    if delivered >= allowance:
        return (
            f"ahead of even pacing: {delivered:,} delivered, {allowance:,.0f} due by now "
            f"(goal {entry.goal:,})"
        )
    return None


def cap_reason(entry: CreativeEntry, seen: int) -> str | None:
    if entry.cap is not None and seen >= entry.cap:
        return f"frequency cap reached: the viewer saw it {seen} times this {entry.cap_period}"
    return None


def fit_reason(
    *,
    slot_key: str,
    kinds: Iterable[str],
    slot_width: int | None,
    slot_height: int | None,
    kind: str,
    width: int | None,
    height: int | None,
) -> str | None:
    """Why a creative of ``kind`` and size cannot show in a slot, or None when it fits.

    The one home of the rule: the model's validation (``Slot.misfit_reason``), the snapshot
    build and the preview all ask it. A slot without a width is flexible (any image size).
    """
    if kind not in kinds:
        return f"{slot_key} does not accept {KIND_LABELS.get(kind, kind).lower()}s"
    if kind == IMAGE and slot_width is not None:
        size = f"{slot_width} x {slot_height}"
        if width is None or height is None:
            return f"{slot_key} needs an image of at most {size} px"
        if width > slot_width or height > (slot_height or 0):
            return f"{width} x {height} px image does not fit {slot_key} ({size} px)"
    return None


def misfit_reason(slot: SlotEntry, entry: CreativeEntry) -> str | None:
    """Kind and size: decided when the snapshot is built, asked again for previews."""
    return fit_reason(
        slot_key=slot.key,
        kinds=slot.kinds,
        slot_width=slot.width,
        slot_height=slot.height,
        kind=entry.kind,
        width=entry.width,
        height=entry.height,
    )


# ---------------------------------------------------------------------------------------------
# Choosing


class _Page:
    """State of one page's decision: topics, counters, what is already chosen."""

    def __init__(self, context: PageContext, now: datetime, counters: CounterView) -> None:
        self.topics = frozenset(context.topics)
        self.topic_order = tuple(dict.fromkeys(context.topics))
        self.viewer = context.viewer
        self.now_ts = _ts(now)
        self.counters = counters
        self.used: set[int] = set()
        self.campaign_picks: dict[int, int] = {}

    def static_ok(self, entry: CreativeEntry) -> bool:
        """Dates and targeting: what needs no counter.

        The same rules as ``date_state``, ``schedule_reason`` and ``targeting_reason`` (which
        word them for the preview), inline and without messages: this runs for every draw.
        """
        now = self.now_ts
        if entry.starts > now or (entry.ends is not None and entry.ends <= now):
            return False
        if entry.closes is not None and entry.closes <= now:
            return False
        topics = self.topics
        if entry.include and entry.include.isdisjoint(topics):
            return False
        return not (entry.exclude and not entry.exclude.isdisjoint(topics))

    def counters_ok(self, entry: CreativeEntry) -> bool:
        """Not on the page yet, goal and pacing, the viewer's cap (counters prefetched)."""
        if entry.id in self.used:
            return False
        if entry.goal is not None:
            delivered = self.counters.delivered.get(entry.campaign_id, 0)
            if delivery_reason(entry, delivered, self.now_ts) is not None:
                return False
        if entry.cap is not None and self.viewer:
            seen = self.counters.seen.get((entry.campaign_id, entry.cap_period), 0)
            if cap_reason(entry, seen + self.campaign_picks.get(entry.campaign_id, 0)):
                return False
        return True

    def choose(self, entry: CreativeEntry) -> None:
        self.used.add(entry.id)
        self.campaign_picks[entry.campaign_id] = self.campaign_picks.get(entry.campaign_id, 0) + 1


class _TierDraws:
    """Weighted draws from one tier's lists that apply to the page, without duplicates.

    The page's lists are "everywhere" plus one per page topic the tier targets. A creative
    included on several of the page's topics is in several lists; a draw counts only from
    the first of them in page order, so every creative's chance stays proportional to its
    weight. Draws failing a rule are dropped (rejection sampling), and the survivors wait in
    ``pending``, in draw order, until their counters are known.
    """

    def __init__(self, pool: TierPool, page: _Page, rng: Random) -> None:
        self.page = page
        self.rng = rng
        self.lists: list[tuple[int, WeightedList]] = []
        if pool.everywhere.total:
            self.lists.append((-1, pool.everywhere))
        for index, slug in enumerate(page.topic_order):
            weighted = pool.by_topic.get(slug)
            if weighted is not None and weighted.total:
                self.lists.append((index, weighted))
        self.total = sum(w.total for _, w in self.lists)
        self.pending: list[CreativeEntry] = []
        self.rounds = 0

    def _one(self) -> CreativeEntry | None:
        point = self.rng.random() * self.total
        for topic_index, weighted in self.lists:
            if point < weighted.total:
                entry = weighted.draw(int(point))
                if topic_index > 0 and any(
                    slug in entry.include for slug in self.page.topic_order[:topic_index]
                ):
                    return None  # counted from an earlier list of the page
                return entry
            point -= weighted.total
        return None  # float rounding at the very end of the range: draw again

    def draw(self, size: int) -> list[CreativeEntry]:
        """Draw ``size`` times; keep (in ``pending``) the draws that pass the static rules."""
        self.rounds += 1
        static_ok = self.page.static_ok
        for _ in range(size):
            entry = self._one()
            if entry is not None and static_ok(entry):
                self.pending.append(entry)
        return self.pending

    def take(self) -> CreativeEntry | None:
        """The first pending draw that passes every rule (counters must be prefetched)."""
        counters_ok = self.page.counters_ok
        for entry in self.pending:
            if counters_ok(entry):
                return entry
        self.pending = []
        return None

    def all_entries(self) -> list[CreativeEntry]:
        seen: set[int] = set()
        out = []
        for _, weighted in self.lists:
            for entry in weighted.entries:
                if entry.id not in seen:
                    seen.add(entry.id)
                    out.append(entry)
        return out


def _weighted_choice(entries: Sequence[CreativeEntry], rng: Random) -> CreativeEntry:
    return WeightedList.of(entries).draw(int(rng.random() * sum(e.weight for e in entries)))


def _choose_in_tier(draws: _TierDraws, rng: Random) -> CreativeEntry | None:
    """Weighted random among the tier's creatives that pass every rule, or None."""
    if not draws.total:
        return None
    page = draws.page
    while True:
        chosen = draws.take()
        if chosen is not None:
            return chosen
        if draws.rounds >= DRAW_ROUNDS:
            break
        page.counters.prefetch(draws.draw(DRAW_BATCH))
    # Most draws failed: scan the whole tier so a rare eligible creative is still found.
    eligible = [e for e in draws.all_entries() if page.static_ok(e)]
    page.counters.prefetch(eligible)
    eligible = [e for e in eligible if page.counters_ok(e)]
    return _weighted_choice(eligible, rng) if eligible else None


def _house_ok(slot: SlotEntry, page: _Page) -> bool:
    house = slot.house
    return (
        house is not None
        and house.is_active
        and house.campaign_is_active
        and house.id not in page.used
        and schedule_reason(house, page.now_ts) is None
        and misfit_reason(slot, house) is None
    )


# Placement ids only need to be unique (tokens are signed, so guessing one gains nothing): a
# per-process generator seeded from the OS, reseeded in every forked worker, avoids a system
# call per id.
_ids = Random()
os.register_at_fork(after_in_child=_ids.seed)


def new_placement_id() -> str:
    """16 URL-safe characters (96 random bits)."""
    return base64.urlsafe_b64encode(_ids.getrandbits(96).to_bytes(12, "big")).decode()


def decide(
    inventory: Inventory,
    slot_keys: Sequence[str],
    context: PageContext,
    *,
    now: datetime,
    counters: CounterReader,
    rng: Random,
) -> PageDecision:
    """Choose a creative (or nothing) for every slot of a page. See the module docstring."""
    view = CounterView(counters, context.viewer, now)
    page = _Page(context, now, view)
    keys = list(dict.fromkeys(slot_keys))
    unknown = [key for key in keys if key not in inventory.slots]
    slots = [inventory.slots[key] for key in keys if key in inventory.slots]

    # A first few draws in the top tier of every slot, and the counters of all of them in
    # one round trip: most pages need no other. Lower tiers are drawn from only when needed.
    first: dict[int, _TierDraws] = {}
    for slot in slots:
        if slot.is_active and slot.pools:
            draws = first[slot.id] = _TierDraws(slot.pools[0], page, rng)
            if draws.total:
                draws.draw(FIRST_DRAWS)
    view.prefetch(e for draws in first.values() for e in draws.pending)

    placements: dict[str, Placement | None] = {}
    for slot in slots:
        chosen: CreativeEntry | None = None
        house = False
        if slot.is_active:
            for index, pool in enumerate(slot.pools):
                draws = first[slot.id] if index == 0 else _TierDraws(pool, page, rng)
                if index and draws.total:
                    view.prefetch(draws.draw(FIRST_DRAWS))
                chosen = _choose_in_tier(draws, rng)
                if chosen is not None:
                    break
            if chosen is None and _house_ok(slot, page):
                chosen, house = slot.house, True
        if chosen is None:
            placements[slot.key] = None
            continue
        page.choose(chosen)
        placements[slot.key] = Placement(slot, chosen, new_placement_id(), house)
    return PageDecision(placements=placements, unknown_slots=unknown)


# ---------------------------------------------------------------------------------------------
# Explanations for the admin's slot preview


@dataclass(slots=True)
class CreativeVerdict:
    creative: CreativeEntry
    eligible: bool
    reason: str
    chance: float = 0.0  # probability of serving on this page view, 0..1
    house: bool = False


@dataclass(slots=True)
class SlotExplanation:
    slot: SlotEntry
    serving_tier: str | None
    verdicts: list[CreativeVerdict] = field(default_factory=list)
    sample: Placement | None = None  # one real decision for this context


def explain_slot(
    inventory: Inventory,
    key: str,
    context: PageContext,
    *,
    now: datetime,
    counters: CounterReader,
    rng: Random,
) -> SlotExplanation | None:
    """Every creative assigned to the slot, with whether it could serve and why not.

    ``inventory`` should be a preview snapshot (``build_inventory(preview=True)``) so that
    paused and misfitting creatives are listed with their reason too.
    """
    slot = inventory.slots.get(key)
    if slot is None:
        return None
    view = CounterView(counters, context.viewer, now)
    page = _Page(context, now, view)
    assigned = slot.assigned or tuple(
        (entry, None)
        for pool in slot.pools
        for entry in {e.id: e for e in _pool_entries(pool)}.values()
    )
    view.prefetch(entry for entry, _ in assigned)

    verdicts: list[CreativeVerdict] = []
    eligible_by_tier: dict[int, list[CreativeVerdict]] = {}
    for entry, known in assigned:
        reason = (
            known
            or ("paused" if not entry.is_active else None)
            or ("the campaign is paused" if not entry.campaign_is_active else None)
            or misfit_reason(slot, entry)
            or schedule_reason(entry, page.now_ts)
            or targeting_reason(entry, page.topics)
            or (
                delivery_reason(entry, view.delivered.get(entry.campaign_id, 0), page.now_ts)
                if entry.goal is not None
                else None
            )
            or (
                cap_reason(entry, view.seen.get((entry.campaign_id, entry.cap_period), 0))
                if entry.cap is not None and context.viewer
                else None
            )
        )
        verdict = CreativeVerdict(entry, reason is None, reason or "")
        verdicts.append(verdict)
        if reason is None:
            eligible_by_tier.setdefault(entry.tier, []).append(verdict)

    serving_tier = None
    if not slot.is_active:
        for verdict in verdicts:
            verdict.eligible, verdict.reason = False, "the slot is switched off"
    elif eligible_by_tier:
        top = max(eligible_by_tier)
        winners = eligible_by_tier[top]
        total = sum(v.creative.weight for v in winners)
        serving_tier = winners[0].creative.tier_label
        for tier, group in eligible_by_tier.items():
            for verdict in group:
                if tier == top:
                    verdict.chance = verdict.creative.weight / total
                    verdict.reason = (
                        f"eligible: {verdict.chance:.1%} of views "
                        f"(weight {verdict.creative.weight} of {total})"
                    )
                else:
                    verdict.eligible = False
                    verdict.reason = f"outranked: a {serving_tier} creative is eligible"

    if slot.house is not None:
        house_ok = _house_ok(slot, page)
        if not slot.is_active:
            reason = "the slot is switched off"
        elif serving_tier is not None:
            reason = "house creative: shown only when nothing else qualifies"
        elif house_ok:
            reason = "house creative: serves, nothing else qualifies"
        else:
            reason = "house creative cannot serve: " + (
                ("paused" if not slot.house.is_active else None)
                or ("the campaign is paused" if not slot.house.campaign_is_active else None)
                or misfit_reason(slot, slot.house)
                or schedule_reason(slot.house, page.now_ts)
                or "already shown"
            )
        verdicts.append(
            CreativeVerdict(
                slot.house,
                eligible=house_ok and serving_tier is None,
                reason=reason,
                chance=1.0 if house_ok and serving_tier is None and slot.is_active else 0.0,
                house=True,
            )
        )

    sample = decide(inventory, [key], context, now=now, counters=counters, rng=rng).placements.get(
        key
    )
    verdicts.sort(key=lambda v: (not v.eligible, -v.chance, -v.creative.tier, v.creative.name))
    return SlotExplanation(slot=slot, serving_tier=serving_tier, verdicts=verdicts, sample=sample)


def _pool_entries(pool: TierPool) -> list[CreativeEntry]:
    entries = list(pool.everywhere.entries)
    for weighted in pool.by_topic.values():
        entries.extend(weighted.entries)
    return entries
