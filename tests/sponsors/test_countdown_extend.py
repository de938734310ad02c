"""Extensions: the rules, the label, and a history that cannot be changed."""

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db.models import ProtectedError

from sponsors.countdowns import countdown_extend, countdown_snapshot, countdown_state
from sponsors.models import Countdown, DeadlineExtension, DeadlinePhase
from sponsors.models.countdowns import ImmutableRowError, extended_label_for
from tests.sponsors.factories_countdowns import countdown_with_phases

pytestmark = pytest.mark.django_db

UTC = dt.UTC
EARLY = dt.datetime(2025, 11, 1, 23, 59, 59, tzinfo=UTC)
DEADLINE = dt.datetime(2025, 11, 30, 23, 59, 59, tzinfo=UTC)
FINAL = dt.datetime(2025, 12, 14, 23, 59, 59, tzinfo=UTC)
NOW = dt.datetime(2025, 11, 20, 12, 0, tzinfo=UTC)
LATER = dt.datetime(2025, 12, 5, 23, 59, 59, tzinfo=UTC)


@pytest.fixture
def awards():
    return countdown_with_phases(
        ("Early bird", EARLY), ("Deadline", DEADLINE), ("Final deadline", FINAL)
    )


@pytest.fixture
def staff():
    return User.objects.create_user("adops", is_staff=True)


def phase(countdown, label):
    return countdown.phases.get(label=label)


def state(countdown, now):
    countdown = Countdown.objects.prefetch_related("phases").get(pk=countdown.pk)
    return countdown_state(countdown_snapshot(countdown), now=now)


def test_extending_a_deadline_records_who_when_old_new_and_why(awards, staff):
    extension = countdown_extend(
        phase=phase(awards, "Deadline"),
        new_deadline=LATER,
        reason="Agencies asked for more time.",
        by=staff,
        now=NOW,
    )
    row = DeadlineExtension.objects.get()
    assert row == extension
    assert (row.changed_by, row.changed_by_name, row.created_at) == (staff, "adops", NOW)
    assert (row.old_deadline, row.new_deadline) == (DEADLINE, LATER)
    assert (row.phase_label, row.reason) == ("Deadline", "Agencies asked for more time.")
    assert row.countdown == awards


def test_an_extended_phase_reads_extended_and_keeps_its_original_time(awards, staff):
    countdown_extend(
        phase=phase(awards, "Deadline"), new_deadline=LATER, reason="More time", by=staff, now=NOW
    )
    extended = phase(awards, "Deadline")
    assert extended.deadline == LATER
    assert extended.original_deadline == DEADLINE
    assert extended.extended is True
    assert extended.display_label == "Extended deadline"
    shown = state(awards, NOW)
    assert (shown.label, shown.deadline, shown.original_deadline, shown.extended) == (
        "Extended deadline",
        LATER,
        DEADLINE,
        True,
    )


def test_a_second_extension_keeps_the_first_original_and_adds_a_row(awards, staff):
    deadline = phase(awards, "Deadline")
    countdown_extend(phase=deadline, new_deadline=LATER, reason="One", by=staff, now=NOW)
    even_later = LATER + dt.timedelta(days=2)
    countdown_extend(phase=deadline, new_deadline=even_later, reason="Two", by=staff, now=NOW)
    assert phase(awards, "Deadline").original_deadline == DEADLINE
    rows = list(
        DeadlineExtension.objects.order_by("pk").values_list("old_deadline", "new_deadline")
    )
    assert rows == [(DEADLINE, LATER), (LATER, even_later)]


def test_staff_can_name_the_extended_phase_otherwise(awards, staff):
    countdown_extend(
        phase=phase(awards, "Deadline"),
        new_deadline=LATER,
        reason="More time",
        by=staff,
        extended_label="Late entries",
        now=NOW,
    )
    assert phase(awards, "Deadline").display_label == "Late entries"
    assert state(awards, NOW).label == "Late entries"


def test_a_label_set_on_the_phase_beforehand_is_kept(awards, staff):
    DeadlinePhase.objects.filter(label="Deadline").update(extended_label="Last call")
    countdown_extend(phase=phase(awards, "Deadline"), new_deadline=LATER, reason="x", now=NOW)
    assert phase(awards, "Deadline").display_label == "Last call"


@pytest.mark.parametrize(
    ("label", "extended"),
    [
        ("Deadline", "Extended deadline"),
        ("Early bird", "Extended early bird"),
        ("Final deadline", "Extended final deadline"),
        ("NYC deadline", "Extended NYC deadline"),
        ("Extended deadline", "Extended deadline"),
        ("entry deadline", "Extended entry deadline"),
    ],
)
def test_the_automatic_extended_label(label, extended):
    assert extended_label_for(label) == extended


def test_moving_a_deadline_back_earlier_is_a_recorded_correction_not_an_extension(awards, staff):
    deadline = phase(awards, "Deadline")
    countdown_extend(phase=deadline, new_deadline=LATER, reason="Oops", by=staff, now=NOW)
    countdown_extend(phase=deadline, new_deadline=DEADLINE, reason="Undo", by=staff, now=NOW)
    corrected = phase(awards, "Deadline")
    assert corrected.extended is False
    assert corrected.display_label == "Deadline"
    assert DeadlineExtension.objects.count() == 2


def test_extending_the_last_phase_of_a_closed_countdown_reopens_it(awards, staff):
    after_close = FINAL + dt.timedelta(hours=1)
    assert state(awards, after_close).state == "closed"
    countdown_extend(
        phase=phase(awards, "Final deadline"),
        new_deadline=FINAL + dt.timedelta(days=2),
        reason="Reopened for late entries",
        by=staff,
        now=after_close,
    )
    reopened = state(awards, after_close)
    assert (reopened.state, reopened.label) == ("open", "Extended final deadline")


def test_deadlines_are_kept_to_the_second(awards):
    countdown_extend(
        phase=phase(awards, "Deadline"),
        new_deadline=LATER.replace(microsecond=654321),
        reason="x",
        now=NOW,
    )
    assert phase(awards, "Deadline").deadline == LATER


def assert_refused(
    awards, *, label="Deadline", new_deadline, reason="Because", code, field="new_deadline"
):
    with pytest.raises(ValidationError) as caught:
        countdown_extend(
            phase=phase(awards, label), new_deadline=new_deadline, reason=reason, now=NOW
        )
    errors = caught.value.error_dict[field]
    assert code in [e.code for e in errors], [e.message % e.params for e in errors]
    assert DeadlineExtension.objects.count() == 0
    assert phase(awards, label).deadline == phase(awards, label).original_deadline
    return " ".join(e.message % (e.params or {}) for e in errors)


def test_moving_a_deadline_into_the_past_is_refused(awards):
    message = assert_refused(awards, new_deadline=NOW - dt.timedelta(minutes=1), code="in_past")
    assert "is in the past" in message
    assert "20 Nov 2025 12:00:00 GMT" in message


def test_moving_a_deadline_to_this_very_second_is_refused(awards):
    assert_refused(awards, new_deadline=NOW, code="in_past")


def test_moving_a_deadline_before_the_previous_phase_is_refused(awards):
    message = assert_refused(
        awards,
        label="Final deadline",
        new_deadline=DEADLINE - dt.timedelta(hours=1),
        code="before_previous",
    )
    assert "after the previous phase “Deadline” (30 Nov 2025 23:59:59 GMT" in message


def test_moving_a_deadline_onto_the_previous_phase_is_refused(awards):
    assert_refused(awards, label="Final deadline", new_deadline=DEADLINE, code="before_previous")


def test_moving_a_deadline_after_the_next_phase_is_refused(awards):
    message = assert_refused(awards, new_deadline=FINAL + dt.timedelta(days=1), code="after_next")
    assert "before the next phase “Final deadline”" in message
    assert "extend that phase first" in message


def test_moving_a_deadline_onto_the_next_phase_is_refused(awards):
    assert_refused(awards, new_deadline=FINAL, code="after_next")


def test_an_extension_needs_a_reason(awards):
    assert_refused(awards, new_deadline=LATER, reason="   ", code="required", field="reason")


def test_an_extension_must_change_the_time(awards):
    assert_refused(awards, new_deadline=DEADLINE, code="unchanged")


def test_an_extension_refuses_a_naive_time(awards):
    with pytest.raises(ValueError, match="aware"):
        countdown_extend(
            phase=phase(awards, "Deadline"),
            new_deadline=dt.datetime(2025, 12, 1),
            reason="x",
            now=NOW,
        )


# --- history is immutable -------------------------------------------------------------------


@pytest.fixture
def extension(awards, staff):
    return countdown_extend(
        phase=phase(awards, "Deadline"), new_deadline=LATER, reason="More time", by=staff, now=NOW
    )


def test_a_history_row_cannot_be_changed(extension):
    extension.reason = "Rewritten"
    with pytest.raises(ImmutableRowError):
        extension.save()
    with pytest.raises(ImmutableRowError):
        DeadlineExtension.objects.filter(pk=extension.pk).update(reason="Rewritten")
    assert DeadlineExtension.objects.get().reason == "More time"


def test_a_history_row_cannot_be_deleted(extension):
    with pytest.raises(ImmutableRowError):
        extension.delete()
    with pytest.raises(ImmutableRowError):
        DeadlineExtension.objects.all().delete()
    assert DeadlineExtension.objects.count() == 1


def test_a_phase_or_countdown_with_history_cannot_be_deleted(extension, awards):
    with pytest.raises(ProtectedError):
        phase(awards, "Deadline").delete()
    with pytest.raises(ProtectedError):
        awards.delete()
    assert DeadlineExtension.objects.count() == 1


def test_a_phase_without_history_can_be_deleted(extension, awards):
    phase(awards, "Early bird").delete()
    assert awards.phases.count() == 2


def test_history_keeps_the_name_when_the_staff_account_is_deleted(extension, staff):
    staff.delete()
    row = DeadlineExtension.objects.get()
    assert row.changed_by is None
    assert row.changed_by_name == "adops"
