"""The snapshot built from plain rows equals, entry for entry, the one built the old way
from model instances (``tests/sponsors/inventory_oracle.py``), for serving and preview
snapshots of a varied inventory; and what repeats is shared rather than copied."""

import datetime as dt
import pickle

import pytest
import time_machine

from sponsors.inventory_cache import build_inventory
from sponsors.models import Campaign, Creative
from tests.cms.factories import TopicFactory
from tests.sponsors.factories_ads import (
    CampaignFactory,
    CreativeFactory,
    ImageCreativeFactory,
    SlotFactory,
)
from tests.sponsors.factories_countdowns import countdown_with_phases
from tests.sponsors.inventory_oracle import build_inventory_the_old_way

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


@pytest.fixture
def inventory():
    """Image banners and text strips, in and out of their slots' sizes; targeting; countdowns
    that stop or keep serving (one shared, one extended, one without phases); house
    creatives; paused, ended and scheduled campaigns; every tier, goals, pacing, caps."""
    with time_machine.travel(NOW, tick=False):
        tiktok, microsoft, google = (TopicFactory(slug=s) for s in ("tiktok", "ms", "google"))
        strip = SlotFactory(key="sitewide-strip", accepts_image=False)
        leaderboard = SlotFactory(key="leaderboard", width=728, height=90, accepts_text=False)
        sidebar = SlotFactory(key="article-sidebar", width=300, height=250)
        SlotFactory(key="retired", is_active=False)

        sponsorship = CampaignFactory(tier=Campaign.Tier.SPONSORSHIP, frequency_cap=3)
        paced = CampaignFactory(
            impression_goal=10_000,
            pacing=Campaign.Pacing.EVEN,
            frequency_cap=2,
            frequency_period=Campaign.CapPeriod.DAY,
        )
        house = CampaignFactory(tier=Campaign.Tier.HOUSE, ends_at=None, name="House")
        paused = CampaignFactory(is_active=False)
        ended = CampaignFactory(starts_at=NOW - 9 * DAY, ends_at=NOW - DAY)
        scheduled = CampaignFactory(starts_at=NOW + DAY, ends_at=NOW + 9 * DAY)

        awards = countdown_with_phases(
            ("Deadline", NOW + 3 * DAY), ("Final deadline", NOW + 9 * DAY), title="Awards"
        )
        extended = countdown_with_phases(("Deadline", NOW + DAY))
        phase = extended.phases.get()
        phase.deadline = NOW + 2 * DAY
        phase.save()
        bare = countdown_with_phases()

        CreativeFactory(campaign=sponsorship, slots=[strip, sidebar], include=[tiktok, google])
        CreativeFactory(campaign=sponsorship, slots=[strip], exclude=[microsoft], weight=3)
        CreativeFactory(campaign=paced, slots=[strip], countdown=awards)
        CreativeFactory(
            campaign=paced,
            slots=[strip, sidebar],
            countdown=awards,
            when_countdown_closes=Creative.WhenCountdownCloses.CLOSED_MESSAGE,
        )
        CreativeFactory(campaign=paced, slots=[sidebar], countdown=extended, include=[microsoft])
        CreativeFactory(campaign=sponsorship, slots=[strip], countdown=bare)
        ImageCreativeFactory(campaign=sponsorship, slots=[leaderboard], include=[tiktok])
        ImageCreativeFactory(campaign=paced, slots=[leaderboard, sidebar], exclude=[google])
        ImageCreativeFactory(campaign=paced, slots=[sidebar], size=(300, 250), alt_text="Box")
        ImageCreativeFactory(campaign=paced, slots=[leaderboard], size=(300, 250))  # misfit
        CreativeFactory(campaign=paused, slots=[strip, sidebar])
        CreativeFactory(campaign=ended, slots=[strip])
        CreativeFactory(campaign=scheduled, slots=[strip], include=[google])
        CreativeFactory(campaign=sponsorship, slots=[strip], is_active=False)
        CreativeFactory(campaign=paced)  # in no slot
        strip.house_creative = sidebar.house_creative = CreativeFactory(
            campaign=house, headline="Get the daily briefing"
        )
        strip.save()
        sidebar.save()
        leaderboard.house_creative = ImageCreativeFactory(campaign=house)
        leaderboard.save()


def assert_same(built, oracle):
    assert built.creatives == oracle.creatives
    assert built.slots == oracle.slots
    assert pickle.loads(pickle.dumps(built)).slots == oracle.slots


@pytest.mark.parametrize("at", [NOW, NOW - 2 * DAY, NOW + 4 * DAY], ids=["now", "before", "after"])
def test_serving_snapshot_equals_the_one_built_from_model_instances(inventory, at):
    built = build_inventory(at=at)
    assert len(built.creatives) > 10
    assert_same(built, build_inventory_the_old_way(at=at))


@pytest.mark.parametrize(
    "slot_keys", [None, ["leaderboard"], ["sitewide-strip", "article-sidebar"], ["retired"]]
)
def test_preview_snapshot_equals_the_one_built_from_model_instances(inventory, slot_keys):
    built = build_inventory(at=NOW, preview=True, slot_keys=slot_keys)
    assert_same(built, build_inventory_the_old_way(at=NOW, preview=True, slot_keys=slot_keys))
    for key, slot in built.slots.items():
        assert (
            slot.assigned
            == build_inventory_the_old_way(at=NOW, preview=True, slot_keys=[key])
            .slots[key]
            .assigned
        )


def test_what_repeats_is_shared_between_entries(inventory):
    entries = list(build_inventory(at=NOW).creatives.values())
    strips = [e for e in entries if e.countdown is not None and e.countdown.title == "Awards"]
    assert len(strips) == 2 and strips[0].countdown is strips[1].countdown
    paced = [e for e in entries if e.campaign_name == entries[2].campaign_name]
    assert len({id(e.campaign_name) for e in paced}) == 1
    assert len({id(e.include) for e in entries if not e.include}) == 1
    banners = [e for e in entries if e.kind == "image" and e.width == 728]
    assert {id(e.kind) for e in entries if e.kind == "image"} == {id(banners[0].kind)}
    text = [e for e in entries if e.kind == "text"]
    assert len({id(e.payload["text"]["cta_label"]) for e in text}) == 1


def test_one_rendition_list_per_distinct_image(inventory):
    banner = Creative.objects.filter(kind="image", image_width=728).first()
    twin = ImageCreativeFactory.build(campaign=banner.campaign, name="Twin")
    twin.image = banner.image.name
    twin.image_width, twin.image_height = banner.image_width, banner.image_height
    twin.image_renditions = banner.image_renditions
    twin.save()  # same file: the renditions are not made again
    entries = build_inventory(at=NOW).creatives
    first = entries[banner.pk].payload["image"]["renditions"]
    assert first and entries[twin.pk].payload["image"]["renditions"] is first


def test_build_takes_eight_queries_whatever_the_size(inventory, django_assert_num_queries):
    # slots / creatives / their campaigns / countdowns / their phases / slot links /
    # include topics / exclude topics
    with django_assert_num_queries(8):
        build_inventory(at=NOW)
    CreativeFactory.create_batch(20, campaign=Campaign.objects.first())
    with django_assert_num_queries(8):
        build_inventory(at=NOW)
