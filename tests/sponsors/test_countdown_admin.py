"""Countdown admin: phases in the countdown's zone, the Extend page, read-only history."""

import datetime as dt
from html.parser import HTMLParser

import pytest
import time_machine
from django.contrib.auth.models import Permission, User

from sponsors.countdowns import countdown_extend
from sponsors.models import Countdown, DeadlineExtension, DeadlinePhase
from tests.sponsors.factories_countdowns import countdown_with_phases

pytestmark = pytest.mark.django_db

UTC = dt.UTC
EARLY = dt.datetime(2025, 11, 1, 23, 59, 59, tzinfo=UTC)
DEADLINE = dt.datetime(2025, 11, 30, 23, 59, 59, tzinfo=UTC)
FINAL = dt.datetime(2025, 12, 14, 23, 59, 59, tzinfo=UTC)
NOW = dt.datetime(2025, 11, 20, 12, 0, tzinfo=UTC)


class FormFields(HTMLParser):
    """The values a browser would post from the page's main form."""

    def __init__(self):
        super().__init__()
        self.data: dict[str, str] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "input" and name and "disabled" not in attrs:
            kind = attrs.get("type", "text")
            if kind in ("submit", "button") or "__prefix__" in name:
                return
            if kind == "checkbox" and "checked" not in attrs:
                return
            self.data[name] = attrs.get("value", "on" if kind == "checkbox" else "")
        elif tag == "select" and name and "__prefix__" not in name and "disabled" not in attrs:
            self._select = name
            self.data.setdefault(name, "")
        elif tag == "option" and self._select and "selected" in attrs:
            self.data[self._select] = attrs.get("value", "")
        elif tag == "textarea" and name and "__prefix__" not in name:
            self._textarea = name
            self.data[name] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        if tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea] += data.lstrip("\n")


def form_data(response) -> dict[str, str]:
    parser = FormFields()
    parser.feed(response.content.decode())
    return parser.data


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("boss", password="x"))
    return client


@pytest.fixture
def awards():
    return countdown_with_phases(
        ("Early bird", EARLY),
        ("Deadline", DEADLINE),
        ("Final deadline", FINAL),
        title="The Lantern Awards for Marketing",
        slug="lantern-awards",
    )


def staff_with(*codenames):
    user = User.objects.create_user(f"staff-{'-'.join(codenames) or 'none'}", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="sponsors", codename__in=codenames)
    )
    return user


def change_url(countdown):
    return f"/admin/sponsors/countdown/{countdown.pk}/change/"


def extend_url(countdown):
    return f"/admin/sponsors/countdown/{countdown.pk}/extend/"


# --- list -----------------------------------------------------------------------------------


def test_changelist_shows_state_phase_and_deadline(admin_client, awards):
    with time_machine.travel(NOW, tick=False):
        page = admin_client.get("/admin/sponsors/countdown/").content.decode()
    assert "The Lantern Awards for Marketing" in page
    assert "Open" in page
    assert "30 Nov 2025 23:59:59 GMT (UTC+00:00)" in page


@pytest.mark.parametrize("rows", [1, 15])
def test_changelist_query_count_does_not_grow_with_rows(
    admin_client, rows, django_assert_num_queries
):
    for i in range(rows):
        countdown_with_phases(("Deadline", DEADLINE), ("Final", FINAL), title=f"Awards {i}")
    # session, user, count (filtered), count (all), the page of countdowns, their phases,
    # the time zones for the filter
    with django_assert_num_queries(7):
        assert admin_client.get("/admin/sponsors/countdown/").status_code == 200


def test_state_filter_lists_open_and_closed(admin_client, awards):
    countdown_with_phases(("Deadline", EARLY), title="Old awards")
    with time_machine.travel(NOW, tick=False):
        open_page = admin_client.get("/admin/sponsors/countdown/?state=open").content.decode()
        closed_page = admin_client.get("/admin/sponsors/countdown/?state=closed").content.decode()
    assert "Lantern" in open_page and "Old awards" not in open_page
    assert "Old awards" in closed_page and "Lantern" not in closed_page


# --- adding phases in the countdown's zone --------------------------------------------------


def add_form(admin_client, **fields):
    data = form_data(admin_client.get("/admin/sponsors/countdown/add/"))
    data.update(
        {
            "title": "Lantern Awards",
            "slug": "lantern",
            "time_zone": "Europe/London",
            "closed_message": "Entries closed",
            "phases-TOTAL_FORMS": "1",
            "phases-0-label": "Deadline",
        }
    )
    data.update(fields)
    return data


def test_staff_enter_deadlines_in_the_countdowns_zone(admin_client):
    data = add_form(
        admin_client,
        time_zone="America/New_York",
        **{"phases-0-deadline_local_0": "2025-07-04", "phases-0-deadline_local_1": "23:59:59"},
    )
    response = admin_client.post("/admin/sponsors/countdown/add/", data)
    assert response.status_code == 302, response.context["errors"]
    phase = DeadlinePhase.objects.get()
    assert phase.deadline == dt.datetime(2025, 7, 5, 3, 59, 59, tzinfo=UTC)  # EDT is UTC-4
    assert phase.original_deadline == phase.deadline


@pytest.mark.parametrize(
    ("zone", "date", "time", "text"),
    [
        (
            "Europe/London",
            "2025-03-30",
            "01:30:00",
            "clocks go forward from 01:00 GMT to 02:00 BST",
        ),
        (
            "America/New_York",
            "2025-03-09",
            "02:15:00",
            "clocks go forward from 02:00 EST to 03:00 EDT",
        ),
    ],
)
def test_a_deadline_in_the_spring_forward_gap_is_refused(admin_client, zone, date, time, text):
    data = add_form(
        admin_client,
        time_zone=zone,
        **{"phases-0-deadline_local_0": date, "phases-0-deadline_local_1": time},
    )
    response = admin_client.post("/admin/sponsors/countdown/add/", data)
    assert response.status_code == 200
    assert "does not exist in " + zone in response.content.decode()
    assert text in response.content.decode()
    assert not Countdown.objects.exists()


@pytest.mark.parametrize(
    ("zone", "date", "first", "second"),
    [
        (
            "Europe/London",
            "2025-10-26",
            dt.datetime(2025, 10, 26, 0, 30, tzinfo=UTC),
            dt.datetime(2025, 10, 26, 1, 30, tzinfo=UTC),
        ),
        (
            "America/New_York",
            "2025-11-02",
            dt.datetime(2025, 11, 2, 5, 30, tzinfo=UTC),
            dt.datetime(2025, 11, 2, 6, 30, tzinfo=UTC),
        ),
    ],
)
def test_a_deadline_in_the_autumn_fold_makes_staff_choose(admin_client, zone, date, first, second):
    fields = {"phases-0-deadline_local_0": date, "phases-0-deadline_local_1": "01:30:00"}
    response = admin_client.post(
        "/admin/sponsors/countdown/add/", add_form(admin_client, time_zone=zone, **fields)
    )
    assert response.status_code == 200
    assert "happens twice in " + zone in response.content.decode()
    for occurrence, expected in [("second", second), ("first", first)]:
        Countdown.objects.all().delete()
        data = add_form(
            admin_client, time_zone=zone, **fields, **{"phases-0-occurrence": occurrence}
        )
        assert admin_client.post("/admin/sponsors/countdown/add/", data).status_code == 302
        assert DeadlinePhase.objects.get().deadline == expected


def test_two_phases_with_the_same_time_are_refused(admin_client):
    data = add_form(
        admin_client,
        **{
            "phases-TOTAL_FORMS": "2",
            "phases-0-deadline_local_0": "2025-11-30",
            "phases-0-deadline_local_1": "23:59:59",
            "phases-1-label": "Final deadline",
            "phases-1-deadline_local_0": "2025-11-30",
            "phases-1-deadline_local_1": "23:59:59",
        },
    )
    response = admin_client.post("/admin/sponsors/countdown/add/", data)
    assert response.status_code == 200
    assert "have the same deadline" in response.content.decode()


def test_a_countdown_needs_at_least_one_phase(admin_client):
    data = add_form(admin_client, **{"phases-TOTAL_FORMS": "0"})
    response = admin_client.post("/admin/sponsors/countdown/add/", data)
    assert response.status_code == 200
    assert not Countdown.objects.exists()


def test_saving_the_change_form_does_not_move_deadlines(admin_client, awards):
    """Existing deadlines are read-only in the form: only Extend moves them (with history)."""
    data = form_data(admin_client.get(change_url(awards)))
    data["phases-1-deadline_local_0"] = "2026-01-01"  # ignored: the field is disabled
    data["phases-1-label"] = "Main deadline"
    response = admin_client.post(change_url(awards), data)
    assert response.status_code == 302, response.context["errors"]
    phase = awards.phases.get(label="Main deadline")
    assert phase.deadline == DEADLINE


def test_a_phase_with_history_cannot_be_deleted_from_the_form(admin_client, awards):
    countdown_extend(
        phase=awards.phases.get(label="Deadline"),
        new_deadline=DEADLINE + dt.timedelta(days=1),
        reason="More time",
        now=NOW,
    )
    data = form_data(admin_client.get(change_url(awards)))
    data["phases-1-DELETE"] = "on"
    response = admin_client.post(change_url(awards), data)
    assert response.status_code == 200
    assert "protected" in response.content.decode()
    assert awards.phases.count() == 3


# --- extending ------------------------------------------------------------------------------


def extend(
    admin_client, countdown, *, label="Deadline", date, time, reason="Agencies asked", **extra
):
    phase = countdown.phases.get(label=label)
    data = {
        "phase": phase.pk,
        "new_deadline_0": date,
        "new_deadline_1": time,
        "reason": reason,
        **extra,
    }
    with time_machine.travel(NOW, tick=False):
        return admin_client.post(extend_url(countdown), data)


def test_change_page_offers_extend_and_shows_the_history(admin_client, awards):
    countdown_extend(
        phase=awards.phases.get(label="Deadline"),
        new_deadline=dt.datetime(2025, 12, 5, 23, 59, 59, tzinfo=UTC),
        reason="Bank holiday",
        now=NOW,
    )
    page = admin_client.get(change_url(awards)).content.decode()
    assert f'href="{extend_url(awards)}"' in page
    assert "Extend a deadline" in page
    assert "Bank holiday" in page
    assert "30 Nov 2025 23:59:59 GMT (UTC+00:00)" in page  # the old time, in the history
    assert "shown as “Extended deadline”" in page
    assert 'name="extensions-0-DELETE"' not in page  # history rows have no delete box


def test_extending_in_the_admin_changes_the_api_and_adds_a_history_row(
    admin_client, api_client, awards
):
    with time_machine.travel(NOW, tick=False):
        before = api_client.get("/api/v1/countdowns/lantern-awards/").json()
    assert before["label"] == "Deadline"
    response = extend(admin_client, awards, date="2025-12-05", time="23:59:59")
    assert response.status_code == 302
    assert response["Location"] == change_url(awards)
    row = DeadlineExtension.objects.get()
    assert row.changed_by.username == "boss"
    assert (row.old_deadline, row.new_deadline) == (
        DEADLINE,
        dt.datetime(2025, 12, 5, 23, 59, 59, tzinfo=UTC),
    )
    assert row.reason == "Agencies asked"
    with time_machine.travel(NOW, tick=False):
        after = api_client.get("/api/v1/countdowns/lantern-awards/").json()
    assert after["label"] == "Extended deadline"
    assert after["deadline"] == "2025-12-05T23:59:59+00:00"
    assert after["original_deadline"] == "2025-11-30T23:59:59+00:00"
    assert after["extended"] is True


def test_the_extend_page_can_name_the_extended_phase(admin_client, awards):
    extend(admin_client, awards, date="2025-12-05", time="23:59:59", extended_label="Late entries")
    assert awards.phases.get(label="Deadline").display_label == "Late entries"


@pytest.mark.parametrize(
    ("label", "date", "time", "text"),
    [
        ("Deadline", "2025-11-20", "11:59:00", "is in the past"),
        ("Final deadline", "2025-11-30", "12:00:00", "must be after the previous phase “Deadline”"),
        ("Deadline", "2025-12-20", "12:00:00", "must be before the next phase “Final deadline”"),
        ("Deadline", "2025-11-30", "23:59:59", "is already the deadline"),
    ],
)
def test_the_extend_page_refuses_bad_times_with_a_clear_error(
    admin_client, awards, label, date, time, text
):
    response = extend(admin_client, awards, label=label, date=date, time=time)
    assert response.status_code == 200
    assert text in response.content.decode()
    assert not DeadlineExtension.objects.exists()


def test_the_extend_page_refuses_a_time_in_the_gap(admin_client):
    countdown = countdown_with_phases(
        ("Deadline", dt.datetime(2026, 3, 1, tzinfo=UTC)), time_zone="Europe/London"
    )
    response = extend(admin_client, countdown, date="2026-03-29", time="01:30:00")
    assert response.status_code == 200
    assert "does not exist in Europe/London" in response.content.decode()


def test_the_extend_page_asks_which_occurrence_in_the_fold(admin_client):
    countdown = countdown_with_phases(
        ("Deadline", dt.datetime(2026, 10, 1, tzinfo=UTC)), time_zone="America/New_York"
    )
    response = extend(admin_client, countdown, date="2026-11-01", time="01:30:00")
    assert "happens twice in America/New_York" in response.content.decode()
    response = extend(
        admin_client, countdown, date="2026-11-01", time="01:30:00", occurrence="second"
    )
    assert response.status_code == 302
    assert DeadlineExtension.objects.get().new_deadline == dt.datetime(
        2026, 11, 1, 6, 30, tzinfo=UTC
    )


def test_the_extend_page_requires_a_reason(admin_client, awards):
    response = extend(admin_client, awards, date="2025-12-05", time="23:59:59", reason="")
    assert response.status_code == 200
    assert "This field is required" in response.content.decode()


def test_the_extend_page_preselects_the_phase_from_the_link(admin_client, awards):
    final = awards.phases.get(label="Final deadline")
    page = admin_client.get(f"{extend_url(awards)}?phase={final.pk}").content.decode()
    assert f'<option value="{final.pk}" selected>' in page


# --- permissions ----------------------------------------------------------------------------


def test_extending_needs_change_and_extension_permissions(client, awards):
    client.force_login(staff_with("view_countdown", "change_countdown"))
    assert client.get(extend_url(awards)).status_code == 403
    assert "Extend a deadline" not in client.get(change_url(awards)).content.decode()
    client.force_login(staff_with("change_countdown", "add_deadlineextension"))
    assert client.get(extend_url(awards)).status_code == 200


def test_anonymous_visitors_are_sent_to_log_in(client, awards):
    response = client.get(extend_url(awards))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_view_only_staff_see_the_history_but_cannot_extend(client, awards):
    countdown_extend(
        phase=awards.phases.get(label="Deadline"),
        new_deadline=DEADLINE + dt.timedelta(days=1),
        reason="Bank holiday",
        now=NOW,
    )
    client.force_login(staff_with("view_countdown"))
    page = client.get(change_url(awards)).content.decode()
    assert "Bank holiday" in page
    assert "Extend a deadline" not in page


def test_the_history_log_is_read_only_even_for_superusers(admin_client, awards):
    extension = countdown_extend(
        phase=awards.phases.get(label="Deadline"),
        new_deadline=DEADLINE + dt.timedelta(days=1),
        reason="Bank holiday",
        now=NOW,
    )
    base = "/admin/sponsors/deadlineextension/"
    assert "Lantern" in admin_client.get(base).content.decode()
    page = admin_client.get(f"{base}{extension.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert admin_client.post(f"{base}{extension.pk}/change/", {"reason": "x"}).status_code == 403
    assert admin_client.get(f"{base}{extension.pk}/delete/").status_code == 403
    assert admin_client.get(f"{base}add/").status_code == 403
    assert DeadlineExtension.objects.get().reason == "Bank holiday"
