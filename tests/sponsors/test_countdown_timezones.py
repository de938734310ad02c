"""Times entered in the countdown's zone: spring-forward gaps refused, autumn folds chosen."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from sponsors.countdowns import (
    countdown_snapshot,
    countdown_state,
    format_local,
    local_parts,
    zoned_datetime,
)
from sponsors.models import Countdown
from tests.sponsors.factories_countdowns import countdown_with_phases

UTC = dt.UTC
SECOND = dt.timedelta(seconds=1)


def message(error: ValidationError) -> str:
    return " ".join(error.messages)


@pytest.mark.parametrize(
    ("zone", "local", "text"),
    [
        (
            "Europe/London",
            dt.datetime(2025, 3, 30, 1, 30),
            "30 Mar 2025 01:30:00 does not exist in Europe/London: that night the clocks go "
            "forward from 01:00 GMT to 02:00 BST. Choose a time before 01:00 or from 02:00.",
        ),
        (
            "America/New_York",
            dt.datetime(2025, 3, 9, 2, 30),
            "09 Mar 2025 02:30:00 does not exist in America/New_York: that night the clocks go "
            "forward from 02:00 EST to 03:00 EDT. Choose a time before 02:00 or from 03:00.",
        ),
    ],
)
def test_a_time_in_the_spring_forward_gap_is_refused_with_a_message(zone, local, text):
    with pytest.raises(ValidationError) as caught:
        zoned_datetime(local, zone=zone)
    assert caught.value.code == "nonexistent_time"
    assert message(caught.value) == text
    # Choosing an occurrence does not make a missing time exist.
    with pytest.raises(ValidationError):
        zoned_datetime(local, zone=zone, occurrence="second")


@pytest.mark.parametrize(
    ("zone", "last_before", "first_after", "gap_start"),
    [
        (
            "Europe/London",
            dt.datetime(2025, 3, 30, 0, 59, 59),
            dt.datetime(2025, 3, 30, 2, 0, 0),
            dt.datetime(2025, 3, 30, 1, 0, 0),
        ),
        (
            "America/New_York",
            dt.datetime(2025, 3, 9, 1, 59, 59),
            dt.datetime(2025, 3, 9, 3, 0, 0),
            dt.datetime(2025, 3, 9, 2, 0, 0),
        ),
    ],
)
def test_the_seconds_around_the_gap_exist_and_are_one_second_apart(
    zone, last_before, first_after, gap_start
):
    before = zoned_datetime(last_before, zone=zone)
    after = zoned_datetime(first_after, zone=zone)
    assert after - before == SECOND
    with pytest.raises(ValidationError):
        zoned_datetime(gap_start, zone=zone)


@pytest.mark.parametrize(
    ("zone", "local", "first_utc", "second_utc", "names"),
    [
        (
            "Europe/London",
            dt.datetime(2025, 10, 26, 1, 30),
            dt.datetime(2025, 10, 26, 0, 30, tzinfo=UTC),
            dt.datetime(2025, 10, 26, 1, 30, tzinfo=UTC),
            ("BST, UTC+01:00", "GMT, UTC+00:00"),
        ),
        (
            "America/New_York",
            dt.datetime(2025, 11, 2, 1, 30),
            dt.datetime(2025, 11, 2, 5, 30, tzinfo=UTC),
            dt.datetime(2025, 11, 2, 6, 30, tzinfo=UTC),
            ("EDT, UTC-04:00", "EST, UTC-05:00"),
        ),
    ],
)
def test_a_time_in_the_autumn_fold_makes_staff_choose(zone, local, first_utc, second_utc, names):
    with pytest.raises(ValidationError) as caught:
        zoned_datetime(local, zone=zone)
    assert caught.value.code == "ambiguous_time"
    text = message(caught.value)
    assert "happens twice" in text
    assert f"the first occurrence ({names[0]}) or the second ({names[1]})" in text
    assert zoned_datetime(local, zone=zone, occurrence="first") == first_utc
    assert zoned_datetime(local, zone=zone, occurrence="second") == second_utc
    # A form shows the stored instant back with the right choice selected.
    assert local_parts(first_utc, zone=zone) == (local, "first")
    assert local_parts(second_utc, zone=zone) == (local, "second")


def test_an_ordinary_time_needs_no_choice_and_ignores_one():
    local = dt.datetime(2025, 7, 1, 23, 59, 59)
    expected = dt.datetime(2025, 7, 1, 22, 59, 59, tzinfo=UTC)
    assert zoned_datetime(local, zone="Europe/London") == expected
    assert zoned_datetime(local, zone="Europe/London", occurrence="second") == expected
    assert local_parts(expected, zone="Europe/London") == (local, "")


def test_format_local_names_the_zone_and_offset():
    moment = dt.datetime(2025, 10, 26, 0, 30, tzinfo=UTC)
    assert format_local(moment, "Europe/London") == "26 Oct 2025 01:30:00 BST (UTC+01:00)"
    assert (
        format_local(moment + dt.timedelta(hours=1), "Europe/London")
        == "26 Oct 2025 01:30:00 GMT (UTC+00:00)"
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("zone", "deadlines", "iso"),
    [
        (
            "Europe/London",
            [
                (dt.datetime(2025, 3, 30, 0, 59, 59), None),  # last second before the gap
                (dt.datetime(2025, 10, 26, 1, 30), "first"),  # the fold, first time round
                (dt.datetime(2025, 10, 26, 1, 30), "second"),  # ... and second time round
            ],
            [
                "2025-03-30T00:59:59+00:00",
                "2025-10-26T01:30:00+01:00",
                "2025-10-26T01:30:00+00:00",
            ],
        ),
        (
            "America/New_York",
            [
                (dt.datetime(2025, 3, 9, 3, 0, 0), None),  # first second after the gap
                (dt.datetime(2025, 11, 2, 1, 30), "first"),
                (dt.datetime(2025, 11, 2, 1, 30), "second"),
            ],
            [
                "2025-03-09T03:00:00-04:00",
                "2025-11-02T01:30:00-04:00",
                "2025-11-02T01:30:00-05:00",
            ],
        ),
    ],
)
def test_the_exact_second_before_and_after_each_deadline_near_dst(zone, deadlines, iso):
    phases = [
        (f"Phase {i}", zoned_datetime(local, zone=zone, occurrence=occurrence))
        for i, (local, occurrence) in enumerate(deadlines)
    ]
    countdown = countdown_with_phases(*phases, time_zone=zone)
    snapshot = countdown_snapshot(Countdown.objects.prefetch_related("phases").get(pk=countdown.pk))
    for index, (label, deadline) in enumerate(phases):
        before = countdown_state(snapshot, now=deadline - SECOND)
        assert before.label == label
        assert before.seconds_remaining == 1
        assert before.deadline.isoformat() == iso[index]
        after = countdown_state(snapshot, now=deadline)
        if index + 1 < len(phases):
            assert after.label == phases[index + 1][0]
        else:
            assert after.state == "closed"
    # Both occurrences of the folded time are an hour apart, as the clocks say.
    assert phases[2][1] - phases[1][1] == dt.timedelta(hours=1)
