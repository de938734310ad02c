"""Inventory models: state querysets, validation layers, invalidation on every save."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from sponsors import versions
from sponsors.decision import CreativeEntry, SlotEntry, misfit_reason
from sponsors.models import Campaign, Creative, Slot, State
from tests.sponsors.factories_ads import (
    CampaignFactory,
    CreativeFactory,
    ImageCreativeFactory,
    SlotFactory,
)

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def campaigns():
    return {
        "live": CampaignFactory(name="live"),
        "scheduled": CampaignFactory(
            name="scheduled",
            starts_at=NOW + dt.timedelta(hours=1),
            ends_at=NOW + dt.timedelta(days=2),
        ),
        "ended": CampaignFactory(name="ended", starts_at=NOW - dt.timedelta(days=3), ends_at=NOW),
        "paused": CampaignFactory(name="paused", is_active=False),
        "open-ended": CampaignFactory(name="open-ended", ends_at=None),
    }


def names(queryset) -> set[str]:
    return {item.name for item in queryset}


def test_campaign_states_are_exclusive_and_decided_by_the_clock(campaigns):
    assert names(Campaign.objects.live()) == {"live", "open-ended"}
    assert names(Campaign.objects.scheduled()) == {"scheduled"}
    assert names(Campaign.objects.ended()) == {"ended"}  # ends_at == now: ended
    assert names(Campaign.objects.paused()) == {"paused"}
    for campaign in campaigns.values():
        expected = State.LIVE if campaign.name == "open-ended" else State(campaign.name)
        assert campaign.state() == expected
    later = NOW + dt.timedelta(hours=1)
    assert names(Campaign.objects.live(at=later)) == {"live", "open-ended", "scheduled"}


def test_creative_states_combine_its_switch_with_its_campaign(campaigns):
    for name, campaign in campaigns.items():
        CreativeFactory(campaign=campaign, name=f"{name} creative")
    CreativeFactory(campaign=campaigns["live"], name="own pause", is_active=False)
    assert names(Creative.objects.live()) == {"live creative", "open-ended creative"}
    assert names(Creative.objects.scheduled()) == {"scheduled creative"}
    assert names(Creative.objects.ended()) == {"ended creative"}
    assert names(Creative.objects.paused()) == {"paused creative", "own pause"}
    assert Creative.objects.get(name="own pause").state() == State.PAUSED


def test_slot_lookup_by_key():
    SlotFactory(key="leaderboard")
    assert Slot.objects.for_key("leaderboard").key == "leaderboard"
    with pytest.raises(Slot.DoesNotExist):
        Slot.objects.for_key("nope")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"ends_at": NOW - dt.timedelta(days=2)}, "ends_at"),
        ({"pacing": Campaign.Pacing.EVEN, "impression_goal": None}, "impression_goal"),
        ({"pacing": Campaign.Pacing.EVEN, "impression_goal": 10, "ends_at": None}, "ends_at"),
        ({"frequency_cap": 0}, "frequency_cap"),
    ],
)
def test_campaign_validation_names_the_field(fields, field):
    campaign = CampaignFactory.build(sponsor=CampaignFactory().sponsor, **fields)
    with pytest.raises(ValidationError) as error:
        campaign.full_clean()
    assert field in error.value.message_dict


@pytest.mark.parametrize(
    "fields",
    [
        {"ends_at": NOW - dt.timedelta(days=2)},
        {"pacing": Campaign.Pacing.EVEN, "impression_goal": None},
        {"impression_goal": 0},
    ],
)
def test_database_refuses_inconsistent_campaigns_too(fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        CampaignFactory(**fields)


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "ftp://files.example.com/x", "data:text/html,hi", "//evil.example"],
)
def test_click_urls_must_be_http_or_https(url):
    creative = CreativeFactory.build(campaign=CampaignFactory(), click_url=url)
    with pytest.raises(ValidationError) as error:
        creative.full_clean()
    assert "click_url" in error.value.message_dict
    with pytest.raises(IntegrityError), transaction.atomic():
        CreativeFactory(click_url=url)


def test_creative_kind_needs_its_fields():
    text = CreativeFactory.build(campaign=CampaignFactory(), headline="", cta_label="")
    with pytest.raises(ValidationError) as error:
        text.full_clean()
    assert {"headline", "cta_label"} <= set(error.value.message_dict)
    image = CreativeFactory.build(campaign=CampaignFactory(), kind="image", alt_text="")
    with pytest.raises(ValidationError) as error:
        image.full_clean()
    assert {"image", "alt_text"} <= set(error.value.message_dict)


def test_house_creative_must_fit_its_slot():
    house = ImageCreativeFactory(size=(728, 90))
    slot = Slot(key="sidebar", name="Sidebar", width=300, height=250, house_creative=house)
    with pytest.raises(ValidationError) as error:
        slot.full_clean()
    assert "does not fit sidebar" in str(error.value.message_dict["house_creative"])


def test_slot_needs_both_dimensions_or_none():
    with pytest.raises(ValidationError):
        Slot(key="half", name="Half", width=300).full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        Slot.objects.create(key="none", name="None", accepts_image=False, accepts_text=False)


@pytest.mark.parametrize("model", ["slot", "campaign", "creative"])
def test_every_save_and_delete_bumps_the_inventory_version(model):
    objects = {"slot": SlotFactory, "campaign": CampaignFactory, "creative": CreativeFactory}
    obj = objects[model]()
    before = versions.read(versions.INVENTORY)
    obj.save()
    after_save = versions.read(versions.INVENTORY)
    assert after_save != before
    obj.delete()
    assert versions.read(versions.INVENTORY) != after_save


def test_image_dimensions_are_recorded_and_renditions_made():
    creative = ImageCreativeFactory(size=(300, 250))
    assert (creative.image_width, creative.image_height) == (300, 250)
    assert creative.image_renditions["original"]["width"] == 300
    assert timezone.now() == NOW


@pytest.mark.parametrize(
    ("slot", "kind", "size"),
    [
        ({"width": 300, "height": 250, "accepts_text": False}, "text", (None, None)),
        ({"width": 300, "height": 250}, "image", (None, None)),
        ({"width": 300, "height": 250}, "image", (301, 250)),
        ({"width": 300, "height": 250}, "image", (300, 251)),
        ({"width": 300, "height": 250}, "image", (300, 250)),
        ({"width": None, "height": None}, "image", (4000, 100)),
        ({"width": 300, "height": 250, "accepts_image": False}, "image", (10, 10)),
    ],
)
def test_the_model_and_the_decision_give_the_same_slot_fit_reason(slot, kind, size):
    """Validation (``Slot.misfit_reason``) and the preview (``decision.misfit_reason``) agree."""
    model = Slot(key="box", name="Box", **{"accepts_image": True, "accepts_text": True, **slot})
    shell = SlotEntry(
        id=1,
        key="box",
        name="Box",
        width=model.width,
        height=model.height,
        kinds=frozenset(model.accepted_kinds),
        is_active=True,
        house=None,
        pools=(),
    )
    entry = CreativeEntry(
        **{
            "id": 1,
            "name": "c",
            "campaign_id": 1,
            "campaign_name": "c",
            "tier": 20,
            "tier_label": "Standard",
            "weight": 1,
            "kind": kind,
            "width": size[0],
            "height": size[1],
            "starts": 0.0,
            "ends": None,
            "include": frozenset(),
            "exclude": frozenset(),
            "goal": None,
            "even_pacing": False,
            "cap": None,
            "cap_period": "day",
            "click_url": "https://example.com/",
            "payload": {},
        }
    )
    assert model.misfit_reason(kind, *size) == misfit_reason(shell, entry)
