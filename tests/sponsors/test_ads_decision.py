"""The ad decision's rules, one by one, with frozen time and a seeded random source."""

import datetime as dt
from collections import Counter
from random import Random

import pytest
import time_machine
from django.utils import timezone

from sponsors.counters import IMPRESSION, TrackedEvent, get_counters
from sponsors.decision import NoCounters, PageContext, decide
from sponsors.inventory_cache import get_inventory
from sponsors.models import Campaign, Reason
from tests.cms.factories import TopicFactory
from tests.sponsors.factories_ads import (
    CampaignFactory,
    CreativeFactory,
    ImageCreativeFactory,
    SlotFactory,
)

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def serve(keys, *, topics=(), viewer=None, at=None, rng=None, counters=None):
    decision = decide(
        get_inventory(),
        keys,
        PageContext(topics=tuple(topics), viewer=viewer),
        now=at or timezone.now(),
        counters=counters or get_counters(),
        rng=rng or Random(7),
    )
    return decision


def served_name(key, **kwargs):
    placement = serve([key], **kwargs).placements[key]
    return placement.creative.name if placement else None


def impression(creative, slot, *, viewer=None, placement=None, at=None, bot=False):
    return get_counters().record(
        TrackedEvent(
            kind=IMPRESSION,
            receipt_id=placement
            or f"p{creative.pk}x{timezone.now().timestamp()}{Random().random()}",
            creative_id=creative.pk,
            slot_id=slot.pk,
            campaign_id=creative.campaign_id,
            cap_period=creative.campaign.frequency_period
            if creative.campaign.frequency_cap
            else "",
            viewer=viewer,
            reason=Reason.BOT if bot else None,
            at=at or timezone.now(),
        )
    )


# --- dates ---------------------------------------------------------------------------------


def test_creative_serves_only_between_its_campaign_dates():
    slot = SlotFactory(key="leaderboard")
    campaign = CampaignFactory(
        starts_at=NOW + dt.timedelta(hours=1), ends_at=NOW + dt.timedelta(hours=2)
    )
    CreativeFactory(campaign=campaign, name="Launch", slots=[slot])

    assert served_name("leaderboard") is None  # scheduled
    assert (
        served_name("leaderboard", at=NOW + dt.timedelta(hours=1)) == "Launch"
    )  # the start second
    assert (
        served_name("leaderboard", at=NOW + dt.timedelta(hours=2) - dt.timedelta(seconds=1))
        == "Launch"
    )
    assert served_name("leaderboard", at=NOW + dt.timedelta(hours=2)) is None  # ended


def test_scheduled_campaign_goes_live_by_the_clock_without_rebuilding_the_snapshot(frozen):
    slot = SlotFactory(key="leaderboard")
    CreativeFactory(
        campaign=CampaignFactory(starts_at=NOW + dt.timedelta(minutes=5)), name="Soon", slots=[slot]
    )
    assert served_name("leaderboard") is None
    version_snapshot = get_inventory()
    frozen.move_to(NOW + dt.timedelta(minutes=5))
    assert get_inventory() is version_snapshot
    assert served_name("leaderboard") == "Soon"


def test_paused_creatives_and_paused_campaigns_do_not_serve():
    slot = SlotFactory(key="leaderboard")
    CreativeFactory(name="Paused creative", is_active=False, slots=[slot])
    CreativeFactory(campaign=CampaignFactory(is_active=False), name="Paused campaign", slots=[slot])
    assert served_name("leaderboard") is None


# --- slot fit ------------------------------------------------------------------------------


def test_slot_serves_only_kinds_it_accepts_and_images_that_fit():
    slot = SlotFactory(key="leaderboard", width=728, height=90, accepts_text=False)
    CreativeFactory(name="Text", slots=[slot])
    ImageCreativeFactory(name="Too tall", size=(728, 250), slots=[slot])
    ImageCreativeFactory(name="Fits", size=(728, 90), slots=[slot])
    assert {served_name("leaderboard", rng=Random(seed)) for seed in range(30)} == {"Fits"}


# --- tiers and weights ---------------------------------------------------------------------


def test_highest_tier_wins_over_any_weight():
    slot = SlotFactory(key="sidebar")
    CreativeFactory(
        campaign=CampaignFactory(tier=Campaign.Tier.STANDARD),
        name="Standard",
        weight=1000,
        slots=[slot],
    )
    CreativeFactory(
        campaign=CampaignFactory(tier=Campaign.Tier.SPONSORSHIP),
        name="Sponsor",
        weight=1,
        slots=[slot],
    )
    CreativeFactory(
        campaign=CampaignFactory(tier=Campaign.Tier.HOUSE),
        name="House tier",
        weight=1000,
        slots=[slot],
    )
    assert {served_name("sidebar", rng=Random(seed)) for seed in range(50)} == {"Sponsor"}


def test_lower_tier_serves_when_the_higher_tier_has_nothing_eligible():
    slot = SlotFactory(key="sidebar")
    tiktok = TopicFactory(name="TikTok")
    CreativeFactory(
        campaign=CampaignFactory(tier=Campaign.Tier.SPONSORSHIP),
        name="Sponsor",
        include=[tiktok],
        slots=[slot],
    )
    CreativeFactory(
        campaign=CampaignFactory(tier=Campaign.Tier.STANDARD), name="Standard", slots=[slot]
    )
    assert served_name("sidebar", topics=["tiktok"]) == "Sponsor"
    assert served_name("sidebar", topics=["microsoft"]) == "Standard"


def shares(names: Counter, total: int) -> dict:
    return {name: count / total for name, count in names.items()}


def test_weighted_random_within_a_tier_matches_the_weights_within_5_percent():
    slot = SlotFactory(key="sidebar")
    for name, weight in (("A", 1), ("B", 2), ("C", 7)):
        CreativeFactory(name=name, weight=weight, slots=[slot])
    rng = Random(20260310)
    draws = Counter(served_name("sidebar", rng=rng) for _ in range(10_000))
    observed = shares(draws, 10_000)
    for name, expected in (("A", 0.1), ("B", 0.2), ("C", 0.7)):
        assert observed[name] == pytest.approx(expected, rel=0.05), (name, observed)


def test_weights_hold_when_creatives_are_targeted_at_several_of_the_page_topics():
    # "Both" is in two of the page's targeting lists; it must not get twice its weight.
    slot = SlotFactory(key="sidebar")
    microsoft, tiktok = TopicFactory(name="Microsoft"), TopicFactory(name="TikTok")
    CreativeFactory(name="Everywhere", weight=2, slots=[slot])
    CreativeFactory(name="Both", weight=3, include=[microsoft, tiktok], slots=[slot])
    CreativeFactory(name="TikTok only", weight=5, include=[tiktok], slots=[slot])
    rng = Random(99)
    draws = Counter(
        served_name("sidebar", topics=["microsoft", "tiktok"], rng=rng) for _ in range(10_000)
    )
    observed = shares(draws, 10_000)
    for name, expected in (("Everywhere", 0.2), ("Both", 0.3), ("TikTok only", 0.5)):
        assert observed[name] == pytest.approx(expected, rel=0.05), (name, observed)


def test_a_seeded_random_source_makes_the_decision_repeatable():
    slot = SlotFactory(key="sidebar")
    for n in range(5):
        CreativeFactory(name=f"C{n}", slots=[slot])
    first = [served_name("sidebar", rng=Random(3)) for _ in range(5)]
    assert first == [served_name("sidebar", rng=Random(3)) for _ in range(5)]


# --- targeting -----------------------------------------------------------------------------


def test_include_topics_serve_only_on_pages_with_one_of_them():
    slot = SlotFactory(key="sidebar")
    microsoft, tiktok = TopicFactory(name="Microsoft"), TopicFactory(name="TikTok")
    CreativeFactory(name="Targeted", include=[microsoft, tiktok], slots=[slot])
    assert served_name("sidebar", topics=["tiktok", "technology"]) == "Targeted"
    assert served_name("sidebar", topics=["advertising"]) is None
    assert served_name("sidebar") is None


def test_exclude_topics_never_serve_on_pages_with_any_of_them():
    slot = SlotFactory(key="sidebar")
    tiktok = TopicFactory(name="TikTok")
    CreativeFactory(name="Not on TikTok", exclude=[tiktok], slots=[slot])
    assert served_name("sidebar", topics=["microsoft"]) == "Not on TikTok"
    assert served_name("sidebar") == "Not on TikTok"
    assert served_name("sidebar", topics=["microsoft", "tiktok"]) is None


def test_targeting_is_data_never_code():
    slot = SlotFactory(key="sidebar")
    CreativeFactory(name="Plain", slots=[slot])
    hostile = ["__import__('os')", "1==1", "' or '1'='1", "*"]
    assert served_name("sidebar", topics=hostile) == "Plain"


def test_a_rare_eligible_creative_is_found_among_many_excluded_ones():
    slot = SlotFactory(key="sidebar")
    tiktok = TopicFactory(name="TikTok")
    campaign = CampaignFactory()
    for n in range(60):
        CreativeFactory(
            campaign=campaign, name=f"Excluded {n}", weight=100, exclude=[tiktok], slots=[slot]
        )
    CreativeFactory(name="The one", weight=1, slots=[slot])
    assert {served_name("sidebar", topics=["tiktok"], rng=Random(s)) for s in range(20)} == {
        "The one"
    }


# --- frequency caps ------------------------------------------------------------------------


def test_viewer_frequency_cap_skips_the_campaign_once_reached():
    slot = SlotFactory(key="sidebar")
    capped = CreativeFactory(
        campaign=CampaignFactory(
            tier=Campaign.Tier.SPONSORSHIP, frequency_cap=2, frequency_period="hour"
        ),
        name="Capped",
        slots=[slot],
    )
    CreativeFactory(name="Other", slots=[slot])
    assert served_name("sidebar", viewer="v1") == "Capped"
    impression(capped, slot, viewer="v1")
    assert served_name("sidebar", viewer="v1") == "Capped"
    impression(capped, slot, viewer="v1")
    assert served_name("sidebar", viewer="v1") == "Other"
    assert served_name("sidebar", viewer="v2") == "Capped"  # another viewer
    assert served_name("sidebar") == "Capped"  # no viewer id: caps cannot apply


def test_hourly_cap_resets_in_the_next_hour_and_bots_do_not_count(frozen):
    slot = SlotFactory(key="sidebar")
    capped = CreativeFactory(
        campaign=CampaignFactory(frequency_cap=1, frequency_period="hour"),
        name="Capped",
        slots=[slot],
    )
    impression(capped, slot, viewer="v1", bot=True)
    assert served_name("sidebar", viewer="v1") == "Capped"
    impression(capped, slot, viewer="v1")
    assert served_name("sidebar", viewer="v1") is None
    frozen.move_to(NOW.replace(minute=0) + dt.timedelta(hours=1))
    assert served_name("sidebar", viewer="v1") == "Capped"


def test_daily_cap_counts_across_hours(frozen):
    slot = SlotFactory(key="sidebar")
    capped = CreativeFactory(
        campaign=CampaignFactory(frequency_cap=2, frequency_period="day"),
        name="Capped",
        slots=[slot],
    )
    impression(capped, slot, viewer="v1")
    frozen.move_to(NOW + dt.timedelta(hours=3))
    impression(capped, slot, viewer="v1")
    assert served_name("sidebar", viewer="v1") is None
    frozen.move_to(dt.datetime(2026, 3, 11, 0, 0, tzinfo=dt.UTC))
    assert served_name("sidebar", viewer="v1") == "Capped"


def test_cap_counts_ads_of_the_campaign_already_chosen_for_the_page():
    one, two = SlotFactory(key="one"), SlotFactory(key="two")
    campaign = CampaignFactory(frequency_cap=1, frequency_period="day")
    CreativeFactory(campaign=campaign, name="A", slots=[one, two])
    CreativeFactory(campaign=campaign, name="B", slots=[one, two])
    placements = serve(["one", "two"], viewer="v1").placements
    assert [p is not None for p in placements.values()] == [True, False]


# --- pacing and goals ----------------------------------------------------------------------


def test_even_pacing_skips_the_campaign_while_ahead_of_schedule(frozen):
    slot = SlotFactory(key="sidebar")
    # 10 days, goal 100: 10 a day. At NOW, 4 days in, 40 are due.
    paced = CreativeFactory(
        campaign=CampaignFactory(
            starts_at=NOW - dt.timedelta(days=4),
            ends_at=NOW + dt.timedelta(days=6),
            impression_goal=100,
            pacing=Campaign.Pacing.EVEN,
        ),
        name="Paced",
        slots=[slot],
    )
    CreativeFactory(campaign=CampaignFactory(tier=Campaign.Tier.HOUSE), name="Filler", slots=[slot])
    for _ in range(39):
        impression(paced, slot)
    assert served_name("sidebar") == "Paced"  # 39 < 40: behind, serve
    impression(paced, slot)
    assert served_name("sidebar") == "Filler"  # 40 >= 40: ahead, skip
    frozen.move_to(NOW + dt.timedelta(hours=3))  # 41.25 due
    assert served_name("sidebar") == "Paced"


def test_asap_campaign_serves_until_its_goal_then_stops():
    slot = SlotFactory(key="sidebar")
    creative = CreativeFactory(
        campaign=CampaignFactory(impression_goal=3), name="Burst", slots=[slot]
    )
    for _ in range(2):
        impression(creative, slot)
    assert served_name("sidebar") == "Burst"
    impression(creative, slot, bot=True)  # bots never count towards a goal
    assert served_name("sidebar") == "Burst"
    impression(creative, slot)
    assert served_name("sidebar") is None


def test_replayed_impression_does_not_advance_pacing():
    slot = SlotFactory(key="sidebar")
    creative = CreativeFactory(
        campaign=CampaignFactory(impression_goal=2), name="Burst", slots=[slot]
    )
    assert impression(creative, slot, placement="same-placement-1") is True
    assert impression(creative, slot, placement="same-placement-1") is False
    assert served_name("sidebar") == "Burst"


# --- the page ------------------------------------------------------------------------------


def test_never_the_same_creative_twice_on_a_page():
    one, two = SlotFactory(key="one"), SlotFactory(key="two")
    CreativeFactory(name="Only", slots=[one, two])
    for seed in range(20):
        placements = serve(["one", "two"], rng=Random(seed)).placements
        names = [p.creative.name for p in placements.values() if p]
        assert names == ["Only"]


def test_house_creative_fills_a_slot_when_nothing_else_qualifies():
    house_campaign = CampaignFactory(tier=Campaign.Tier.HOUSE, ends_at=None)
    house = CreativeFactory(campaign=house_campaign, name="Newsletter")
    slot = SlotFactory(key="sidebar", house_creative=house)
    tiktok = TopicFactory(name="TikTok")
    CreativeFactory(name="Targeted", include=[tiktok], slots=[slot])
    assert served_name("sidebar", topics=["tiktok"]) == "Targeted"
    placement = serve(["sidebar"], topics=["microsoft"]).placements["sidebar"]
    assert (placement.creative.name, placement.house) == ("Newsletter", True)


def test_paused_house_creative_leaves_the_slot_empty():
    house = CreativeFactory(name="Newsletter", is_active=False)
    SlotFactory(key="sidebar", house_creative=house)
    assert served_name("sidebar") is None


def test_switched_off_slot_serves_nothing():
    slot = SlotFactory(key="sidebar", is_active=False)
    CreativeFactory(name="Any", slots=[slot])
    assert served_name("sidebar") is None


def test_unknown_slots_are_reported_not_fatal():
    slot = SlotFactory(key="sidebar")
    CreativeFactory(name="Any", slots=[slot])
    decision = serve(["nope", "sidebar", "sidebar"])
    assert decision.unknown_slots == ["nope"]
    assert list(decision.placements) == ["sidebar"]


def test_decision_reads_counters_only_through_the_reader():
    slot = SlotFactory(key="sidebar")
    CreativeFactory(
        campaign=CampaignFactory(impression_goal=10, frequency_cap=1), name="X", slots=[slot]
    )

    class Exhausted:
        def read(self, *, campaigns, caps, viewer, now):
            return {c: 10 for c in campaigns}, {k: 0 for k in caps}

    assert served_name("sidebar", counters=NoCounters()) == "X"
    assert served_name("sidebar", counters=Exhausted()) is None


def test_fast_rule_checks_agree_with_the_worded_reasons():
    from sponsors.decision import CreativeEntry, _Page, schedule_reason, targeting_reason

    rng = Random(5)
    slugs = ["a", "b", "c", "d"]
    now = NOW.timestamp()
    for _ in range(2000):
        start = now + rng.choice([-7200, -1, 0, 1, 3600])
        end = rng.choice([None, now - 1, now, now + 1, now + 7200])
        entry = CreativeEntry(
            id=1,
            name="x",
            campaign_id=1,
            campaign_name="c",
            tier=20,
            tier_label="Standard",
            weight=1,
            kind="text",
            width=None,
            height=None,
            starts=start,
            ends=end,
            include=frozenset(rng.sample(slugs, rng.randint(0, 2))),
            exclude=frozenset(rng.sample(slugs, rng.randint(0, 2))),
            goal=None,
            even_pacing=False,
            cap=None,
            cap_period="day",
            click_url="https://x.example/",
            payload={},
        )
        page = _Page(PageContext(topics=tuple(rng.sample(slugs, rng.randint(0, 3)))), NOW, None)
        worded = (
            schedule_reason(entry, now) is None and targeting_reason(entry, page.topics) is None
        )
        assert page.static_ok(entry) == worded


@pytest.mark.django_db
def test_changing_a_topic_slug_is_served_on_the_next_request(api_client):
    from tests.cms.factories import TopicFactory
    from tests.sponsors.factories_ads import CreativeFactory, SlotFactory

    topic = TopicFactory(name="Gaming", slug="gaming")
    CreativeFactory(slots=[SlotFactory(key="side")], include=[topic])
    assert api_client.get("/api/v1/ads/?slots=side&topics=gaming").json()["slots"]["side"]
    topic.slug = "video-games"
    topic.save()
    response = api_client.get("/api/v1/ads/?slots=side&topics=video-games").json()
    assert response["slots"]["side"] is not None


@pytest.mark.django_db
def test_deleting_an_excluded_topic_is_served_on_the_next_request(api_client):
    from tests.cms.factories import TopicFactory
    from tests.sponsors.factories_ads import CreativeFactory, SlotFactory

    banned, kept = TopicFactory(name="Crypto", slug="crypto"), TopicFactory(slug="ai")
    CreativeFactory(slots=[SlotFactory(key="side")], include=[kept], exclude=[banned])
    assert (
        api_client.get("/api/v1/ads/?slots=side&topics=ai,crypto").json()["slots"]["side"] is None
    )
    banned.delete()  # the sponsors app's receiver of topic deletes bumps the inventory
    response = api_client.get("/api/v1/ads/?slots=side&topics=ai,crypto").json()
    assert response["slots"]["side"] is not None
