"""Promo strips that carry a deadline countdown follow it: no job, to the second."""

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.models import User

from sponsors.countdowns import countdown_extend
from sponsors.models import Creative
from tests.sponsors.factories_ads import CampaignFactory, CreativeFactory, SlotFactory
from tests.sponsors.factories_countdowns import countdown_with_phases

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)
DEADLINE = dt.datetime(2026, 11, 30, 23, 59, 59, tzinfo=dt.UTC)
FINAL = dt.datetime(2026, 12, 11, 23, 59, 59, tzinfo=dt.UTC)
ONE_SECOND = dt.timedelta(seconds=1)


@pytest.fixture
def strip():
    with time_machine.travel(START, tick=False):
        countdown = countdown_with_phases(
            ("Deadline", DEADLINE), ("Final deadline", FINAL), title="Lantern Awards"
        )
        campaign = CampaignFactory(starts_at=START, ends_at=FINAL + dt.timedelta(days=30))
        return CreativeFactory(
            campaign=campaign,
            headline="The Lantern Awards for Marketing",
            countdown=countdown,
            slots=[SlotFactory(key="sitewide-strip")],
        )


def served(api_client, at):
    with time_machine.travel(at, tick=False):
        return api_client.get("/api/v1/ads/?slots=sitewide-strip").json()["slots"]["sitewide-strip"]


def test_strip_carries_its_countdown_as_the_countdown_api_shows_it(api_client, strip):
    at = DEADLINE - dt.timedelta(days=3, hours=4, minutes=12, seconds=9)
    ad = served(api_client, at)
    with time_machine.travel(at, tick=False):
        direct = api_client.get(f"/api/v1/countdowns/{strip.countdown.slug}/").json()
    assert ad["countdown"]["label"] == "Deadline"
    assert ad["countdown"]["seconds_remaining"] == 3 * 86400 + 4 * 3600 + 12 * 60 + 9
    assert {k: v for k, v in ad["countdown"].items() if k != "server_time"} == {
        k: v for k, v in direct.items() if k != "server_time"
    }


def test_strip_rolls_to_the_next_phase_at_the_deadline(api_client, strip):
    assert served(api_client, DEADLINE - ONE_SECOND)["countdown"]["label"] == "Deadline"
    assert served(api_client, DEADLINE)["countdown"]["label"] == "Final deadline"


def test_strip_stops_serving_the_second_its_countdown_closes(api_client, strip):
    assert served(api_client, FINAL - ONE_SECOND)["countdown"]["seconds_remaining"] == 1
    assert served(api_client, FINAL) is None


def test_strip_can_keep_serving_with_the_closed_message(api_client, strip):
    strip.when_countdown_closes = Creative.WhenCountdownCloses.CLOSED_MESSAGE
    strip.save()  # through the model, as the admin does: the inventory is rebuilt
    ad = served(api_client, FINAL)
    assert ad["countdown"]["state"] == "closed"
    assert ad["countdown"]["closed_message"] == "Entries closed"


def test_extending_the_last_deadline_serves_the_strip_again_on_the_next_request(api_client, strip):
    assert served(api_client, FINAL + ONE_SECOND) is None
    final_phase = strip.countdown.phases.get(label="Final deadline")
    with time_machine.travel(FINAL + ONE_SECOND, tick=False):
        countdown_extend(
            phase=final_phase,
            new_deadline=FINAL + dt.timedelta(days=2),
            reason="Late entries from partners",
            by=User.objects.create_user("adops"),
        )
    ad = served(api_client, FINAL + dt.timedelta(seconds=2))
    assert ad["countdown"]["label"] == "Extended final deadline"
    assert ad["countdown"]["extended"] is True


def test_warm_decision_with_a_countdown_makes_no_query(
    api_client, strip, django_assert_num_queries
):
    served(api_client, DEADLINE - ONE_SECOND)  # warms the snapshot
    with time_machine.travel(DEADLINE - ONE_SECOND, tick=False), django_assert_num_queries(0):
        api_client.get("/api/v1/ads/?slots=sitewide-strip")


def test_only_text_strips_may_carry_a_countdown(strip):
    from django.core.exceptions import ValidationError

    strip.kind = Creative.Kind.IMAGE
    with pytest.raises(ValidationError) as error:
        strip.clean()
    assert "Only a text promo strip can carry a countdown." in error.value.messages
