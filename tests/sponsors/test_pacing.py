"""Pacing against a straight line from a campaign's start to its end."""

import datetime as dt

import pytest
from django.utils import timezone

from sponsors import pacing
from sponsors.models import Campaign
from tests.sponsors.factories_ads import CampaignFactory, CreativeFactory, SlotFactory
from tests.sponsors.reporting import count

START = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
END = START + dt.timedelta(days=10)


def at(days: float) -> dt.datetime:
    return START + dt.timedelta(days=days)


def paced(delivered: int, now: dt.datetime, *, goal: int = 1000, ends=END) -> pacing.Pacing:
    return pacing.pace(goal=goal, delivered=delivered, starts=START, ends=ends, now=now)


def test_halfway_on_schedule_is_on_track_and_projects_the_goal():
    result = paced(500, at(5))
    assert result.expected == 500
    assert result.percent_of_pace == 100.0
    assert result.projected == 1000
    assert result.status == pacing.ON_TRACK
    assert result.label == "on track"


def test_behind_and_ahead_outside_the_band():
    assert paced(400, at(5)).status == pacing.BEHIND
    assert paced(400, at(5)).percent_of_pace == 80.0
    assert paced(400, at(5)).projected == 800
    assert paced(451, at(5)).status == pacing.ON_TRACK  # 90.2 %: inside the band
    assert paced(449, at(5)).status == pacing.BEHIND
    assert paced(600, at(5)).status == pacing.AHEAD


def test_before_the_start_nothing_is_due():
    result = paced(0, START - dt.timedelta(seconds=1))
    assert (result.expected, result.status) == (0, pacing.NOT_STARTED)


def test_at_the_very_start_nothing_is_due_yet():
    result = paced(0, START)
    assert result.expected == 0
    assert result.status == pacing.ON_TRACK
    assert result.percent_of_pace is None


def test_goal_reached_wins_over_the_dates():
    assert paced(1000, at(2)).status == pacing.GOAL_REACHED
    assert paced(1200, at(12)).status == pacing.GOAL_REACHED


def test_ended_under_goal():
    result = paced(700, END)
    assert result.status == pacing.UNDER_DELIVERED
    assert (result.expected, result.projected, result.percent_of_pace) == (1000, 700, 70.0)


def test_open_ended_campaigns_have_no_schedule():
    result = paced(10, at(3), ends=None)
    assert result.status == pacing.NO_END_DATE
    assert result.expected is None and result.projected is None


@pytest.mark.django_db
def test_delivered_comes_from_the_counters_in_one_query(django_assert_num_queries):
    slot = SlotFactory()
    behind = CampaignFactory(name="Behind", starts_at=at(0), ends_at=END, impression_goal=1000)
    ahead = CampaignFactory(name="Ahead", starts_at=at(0), ends_at=END, impression_goal=1000)
    CampaignFactory(name="No goal", starts_at=at(0), ends_at=END)
    for campaign, impressions in ((behind, 100), (ahead, 900)):
        creative = CreativeFactory(campaign=campaign, slots=[slot])
        for hour in (1, 2):
            count(at(0) + dt.timedelta(hours=hour), creative, slot, impressions // 2)
    with django_assert_num_queries(1):
        found = pacing.pacing_by_campaign(
            pacing.with_delivered(Campaign.objects.order_by("pk")), now=at(5)
        )
    assert {pk: p.status for pk, p in found.items()} == {
        behind.pk: pacing.BEHIND,
        ahead.pk: pacing.AHEAD,
    }
    assert found[behind.pk].delivered == 100
    with django_assert_num_queries(1):
        listed = pacing.behind_pace(now=at(5))
    assert [(c.name, p.delivered) for c, p in listed] == [("Behind", 100)]
    assert timezone.is_aware(at(5))
