"""Phases, rolling and closing: countdown_state is pure and exact to the second."""

import datetime as dt
import pickle

import pytest
import time_machine
from django.utils import timezone

from sponsors.countdowns import (
    CLOSED_MAX_AGE,
    OPEN_MAX_AGE,
    countdown_max_age,
    countdown_snapshot,
    countdown_state,
)
from sponsors.models import Countdown
from tests.sponsors.factories_countdowns import countdown_with_phases

pytestmark = pytest.mark.django_db

UTC = dt.UTC
EARLY = dt.datetime(2025, 11, 1, 23, 59, 59, tzinfo=UTC)
DEADLINE = dt.datetime(2025, 11, 30, 23, 59, 59, tzinfo=UTC)
FINAL = dt.datetime(2025, 12, 7, 23, 59, 59, tzinfo=UTC)
SECOND = dt.timedelta(seconds=1)


@pytest.fixture
def awards():
    countdown = countdown_with_phases(
        ("Final deadline", FINAL),  # created out of order: phases are ordered by time
        ("Early bird", EARLY),
        ("Deadline", DEADLINE),
        closed_message="Entries closed — see the shortlist",
        closed_link_url="https://example.com/shortlist",
        closed_link_label="See the shortlist",
    )
    return Countdown.objects.prefetch_related("phases").get(pk=countdown.pk)


def state_at(countdown, now):
    return countdown_state(countdown_snapshot(countdown), now=now)


def test_countdown_shows_the_next_phase_still_ahead(awards):
    state = state_at(awards, dt.datetime(2025, 10, 20, tzinfo=UTC))
    assert state.state == "open"
    assert state.label == "Early bird"
    assert state.deadline == EARLY
    assert [p.label for p in state.phases] == ["Early bird", "Deadline", "Final deadline"]
    assert [p.current for p in state.phases] == [True, False, False]


@pytest.mark.parametrize(
    ("deadline", "label_before", "label_after"),
    [(EARLY, "Early bird", "Deadline"), (DEADLINE, "Deadline", "Final deadline")],
)
def test_countdown_rolls_to_next_phase_at_the_exact_second(
    awards, deadline, label_before, label_after
):
    before = state_at(awards, deadline - SECOND)
    assert (before.label, before.seconds_remaining) == (label_before, 1)
    at = state_at(awards, deadline)
    assert at.label == label_after
    assert at.phases[[p.label for p in at.phases].index(label_before)].passed is True


def test_countdown_closes_at_the_last_deadline_with_its_message_and_link(awards):
    before = state_at(awards, FINAL - SECOND)
    assert (before.state, before.label, before.seconds_remaining) == ("open", "Final deadline", 1)
    closed = state_at(awards, FINAL)
    assert closed.state == "closed"
    assert closed.label is None and closed.deadline is None
    assert closed.seconds_remaining == 0
    assert closed.closed_message == "Entries closed — see the shortlist"
    assert closed.closed_link.url == "https://example.com/shortlist"
    assert closed.closed_link.label == "See the shortlist"
    assert all(p.passed for p in closed.phases)


def test_seconds_remaining_rounds_up_so_an_open_countdown_never_shows_zero(awards):
    assert state_at(awards, DEADLINE - dt.timedelta(milliseconds=250)).seconds_remaining == 1
    assert (
        state_at(awards, DEADLINE - dt.timedelta(seconds=90, milliseconds=1)).seconds_remaining
        == 91
    )


def test_a_countdown_without_phases_is_closed():
    countdown = countdown_with_phases()
    assert state_at(countdown, DEADLINE).state == "closed"


def test_state_is_computed_without_any_query(awards, django_assert_num_queries):
    snapshot = countdown_snapshot(awards)  # phases prefetched by the fixture
    with django_assert_num_queries(0):
        for minute in range(0, 60 * 24 * 40, 7):
            countdown_state(snapshot, now=EARLY + dt.timedelta(minutes=minute))


def test_snapshot_survives_pickling_for_a_shared_cache(awards):
    snapshot = countdown_snapshot(awards)
    copy = pickle.loads(pickle.dumps(snapshot))
    assert copy == snapshot
    assert countdown_state(copy, now=DEADLINE) == countdown_state(snapshot, now=DEADLINE)


def test_state_refuses_a_naive_now(awards):
    with pytest.raises(ValueError, match="aware"):
        state_at(awards, dt.datetime(2025, 11, 1))


def test_times_come_back_in_the_countdowns_zone():
    summer = dt.datetime(2025, 7, 1, 22, 59, 59, tzinfo=UTC)
    countdown = countdown_with_phases(("Deadline", summer), time_zone="Europe/London")
    state = state_at(countdown, summer - dt.timedelta(days=1))
    assert state.deadline.isoformat() == "2025-07-01T23:59:59+01:00"
    assert state.server_time.tzinfo == UTC


@pytest.mark.parametrize(
    ("left", "max_age"),
    [
        (dt.timedelta(days=3), OPEN_MAX_AGE),
        (dt.timedelta(seconds=61), OPEN_MAX_AGE),
        (dt.timedelta(seconds=30, milliseconds=500), 30),
        (dt.timedelta(seconds=1), 1),
        (dt.timedelta(milliseconds=999), 0),
        (dt.timedelta(milliseconds=1), 0),
    ],
)
def test_cache_age_never_reaches_past_the_current_phase(awards, left, max_age):
    state = state_at(awards, DEADLINE - left)
    assert countdown_max_age(state) == max_age
    assert state.server_time + dt.timedelta(seconds=max_age) <= DEADLINE


def test_a_closed_countdown_may_be_cached_longer(awards):
    assert countdown_max_age(state_at(awards, FINAL)) == CLOSED_MAX_AGE


def test_phases_roll_by_the_clock_with_no_job(awards):
    """Reading at different frozen times is all it takes: nothing is stored at a deadline."""
    snapshot = countdown_snapshot(awards)
    with time_machine.travel(DEADLINE - SECOND, tick=False):
        assert countdown_state(snapshot, now=timezone.now()).label == "Deadline"
    with time_machine.travel(DEADLINE, tick=False):
        assert countdown_state(snapshot, now=timezone.now()).label == "Final deadline"
