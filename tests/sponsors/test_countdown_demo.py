"""The demo awards countdown: an extended deadline with its history, loaded once."""

import pytest
from django.core.management import call_command

from sponsors.models import Countdown, DeadlineExtension

pytestmark = pytest.mark.django_db


def test_demo_has_an_awards_countdown_with_an_extended_deadline(api_client):
    call_command("load_demo_data", admin_password="demo-pass-123")
    countdown = Countdown.objects.get(slug="lantern-awards-for-marketing")
    assert countdown.title == "The Lantern Awards for Marketing"
    row = DeadlineExtension.objects.get()
    assert row.changed_by_name == "admin"
    assert row.new_deadline > row.old_deadline
    body = api_client.get(f"/api/v1/countdowns/{countdown.slug}/").json()
    assert body["state"] == "open"
    assert body["label"] == "Extended deadline"
    assert body["extended"] is True
    assert body["original_deadline"] != body["deadline"]
    assert body["original_deadline"].endswith(("+00:00", "+01:00"))
    assert [p["label"] for p in body["phases"]] == [
        "Early bird",
        "Extended deadline",
        "Final deadline",
    ]


def test_loading_the_demo_twice_changes_nothing(capsys):
    call_command("load_demo_data", admin_password="demo-pass-123")
    first = list(Countdown.objects.values_list("pk", "updated_at"))
    call_command("load_demo_data", admin_password="demo-pass-123")
    assert list(Countdown.objects.values_list("pk", "updated_at")) == first
    assert DeadlineExtension.objects.count() == 1
    assert "Extended deadline" in capsys.readouterr().out
