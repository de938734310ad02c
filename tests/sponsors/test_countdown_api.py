"""GET /api/v1/countdowns/{slug}/: fields, 404s, cache headers near a deadline, queries."""

import datetime as dt
import json
from typing import Any

import jsonschema
import pytest
import time_machine
from django.core.cache import cache
from django.core.management import call_command
from drf_spectacular.generators import SchemaGenerator

from sponsors import versions
from sponsors.api.countdowns import CountdownSerializer, countdown_payload
from sponsors.countdowns import (
    countdown_extend,
    countdown_snapshot,
    countdown_snapshot_for_slug,
    countdown_state,
)
from sponsors.models import Countdown, DeadlinePhase
from tests.sponsors.factories_countdowns import countdown_with_phases

pytestmark = pytest.mark.django_db

UTC = dt.UTC
EARLY = dt.datetime(2025, 11, 1, 23, 59, 59, tzinfo=UTC)
DEADLINE = dt.datetime(2025, 11, 30, 23, 59, 59, tzinfo=UTC)
FINAL = dt.datetime(2025, 12, 14, 23, 59, 59, tzinfo=UTC)
NOW = dt.datetime(2025, 11, 20, 12, 0, 0, 250000, tzinfo=UTC)
SECOND = dt.timedelta(seconds=1)


@pytest.fixture
def awards():
    return countdown_with_phases(
        ("Early bird", EARLY),
        ("Deadline", DEADLINE),
        ("Final deadline", FINAL),
        title="The Lantern Awards for Marketing",
        slug="lantern-awards",
        closed_message="Entries closed",
        closed_link_url="https://example.com/shortlist",
        closed_link_label="See the shortlist",
    )


def get(api_client, slug="lantern-awards", at=NOW):
    with time_machine.travel(at, tick=False):
        return api_client.get(f"/api/v1/countdowns/{slug}/")


def test_countdown_detail_shows_the_current_phase_and_the_servers_time(api_client, awards):
    response = get(api_client)
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "slug": "lantern-awards",
        "title": "The Lantern Awards for Marketing",
        "time_zone": "Europe/London",
        "state": "open",
        "label": "Deadline",
        "deadline": "2025-11-30T23:59:59+00:00",
        "original_deadline": "2025-11-30T23:59:59+00:00",
        "extended": False,
        "seconds_remaining": 907199,  # 10 days 11:59:58.75, rounded up
        "server_time": "2025-11-20T12:00:00.250Z",
        "closes_at": "2025-12-14T23:59:59+00:00",
        "closed_message": "Entries closed",
        "closed_link": {"url": "https://example.com/shortlist", "label": "See the shortlist"},
        "phases": [
            {
                "label": "Early bird",
                "deadline": "2025-11-01T23:59:59+00:00",
                "original_deadline": "2025-11-01T23:59:59+00:00",
                "extended": False,
                "passed": True,
                "current": False,
            },
            {
                "label": "Deadline",
                "deadline": "2025-11-30T23:59:59+00:00",
                "original_deadline": "2025-11-30T23:59:59+00:00",
                "extended": False,
                "passed": False,
                "current": True,
            },
            {
                "label": "Final deadline",
                "deadline": "2025-12-14T23:59:59+00:00",
                "original_deadline": "2025-12-14T23:59:59+00:00",
                "extended": False,
                "passed": False,
                "current": False,
            },
        ],
    }


def test_an_extended_deadline_shows_as_extended_with_its_original_time(api_client, awards):
    countdown_extend(
        phase=awards.phases.get(label="Deadline"),
        new_deadline=dt.datetime(2025, 12, 5, 23, 59, 59, tzinfo=UTC),
        reason="More time",
        now=NOW,
    )
    body = get(api_client).json()
    assert body["label"] == "Extended deadline"
    assert body["deadline"] == "2025-12-05T23:59:59+00:00"
    assert body["original_deadline"] == "2025-11-30T23:59:59+00:00"
    assert body["extended"] is True


def test_an_extension_is_served_on_the_very_next_request(api_client, awards):
    assert get(api_client).json()["deadline"] == "2025-11-30T23:59:59+00:00"  # now cached
    countdown_extend(
        phase=awards.phases.get(label="Deadline"),
        new_deadline=dt.datetime(2025, 12, 5, 23, 59, 59, tzinfo=UTC),
        reason="More time",
        now=NOW,
    )
    assert get(api_client).json()["deadline"] == "2025-12-05T23:59:59+00:00"


def test_a_renamed_phase_is_served_on_the_next_request(api_client, awards):
    get(api_client)
    phase = awards.phases.get(label="Deadline")
    phase.label = "Main deadline"
    phase.save()
    assert get(api_client).json()["label"] == "Main deadline"


def test_the_api_rolls_to_the_next_phase_at_the_exact_second(api_client, awards):
    before = get(api_client, at=DEADLINE - SECOND).json()
    assert (before["label"], before["seconds_remaining"]) == ("Deadline", 1)
    after = get(api_client, at=DEADLINE).json()
    assert (after["label"], after["deadline"]) == ("Final deadline", "2025-12-14T23:59:59+00:00")


def test_a_closed_countdown_shows_its_message_and_link(api_client, awards):
    body = get(api_client, at=FINAL).json()
    assert body["state"] == "closed"
    assert body["label"] is None and body["deadline"] is None and body["original_deadline"] is None
    assert body["seconds_remaining"] == 0
    assert body["closed_message"] == "Entries closed"
    assert body["closed_link"] == {
        "url": "https://example.com/shortlist",
        "label": "See the shortlist",
    }


def test_deadlines_carry_the_offset_of_the_countdowns_zone(api_client):
    countdown_with_phases(
        ("Deadline", dt.datetime(2025, 7, 1, 3, 59, 59, tzinfo=UTC)),
        slug="new-york-awards",
        time_zone="America/New_York",
    )
    body = get(api_client, slug="new-york-awards", at=dt.datetime(2025, 6, 1, tzinfo=UTC)).json()
    assert body["deadline"] == "2025-06-30T23:59:59-04:00"
    assert body["server_time"] == "2025-06-01T00:00:00.000Z"


def test_unknown_countdown_is_a_404_in_the_error_format(api_client):
    response = api_client.get("/api/v1/countdowns/no-such-countdown/")
    assert response.status_code == 404
    assert response.json() == {
        "status": 404,
        "code": "not_found",
        "detail": "Not found.",
        "errors": {},
    }


# --- cache headers near a deadline ----------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "header"),
    [
        (DEADLINE - dt.timedelta(days=2), "public, max-age=60"),
        (DEADLINE - dt.timedelta(seconds=60), "public, max-age=60"),
        (DEADLINE - dt.timedelta(seconds=30, milliseconds=500), "public, max-age=30"),
        (DEADLINE - dt.timedelta(seconds=2), "public, max-age=2"),
        (DEADLINE - SECOND, "public, max-age=1"),
        (DEADLINE - dt.timedelta(milliseconds=400), "no-store"),
        (DEADLINE, "public, max-age=60"),  # the next phase has two weeks to go
        (FINAL - dt.timedelta(milliseconds=1), "no-store"),
        (FINAL, "public, max-age=300"),  # closed
    ],
)
def test_cache_control_never_outlives_the_current_phase(api_client, awards, at, header):
    response = get(api_client, at=at)
    assert response["Cache-Control"] == header


def test_404s_are_not_marked_cacheable(api_client):
    response = api_client.get("/api/v1/countdowns/nope/")
    assert "public" not in response.get("Cache-Control", "")


# --- queries --------------------------------------------------------------------------------


def test_the_detail_reads_two_queries_cold_and_none_warm(
    api_client, awards, django_assert_num_queries
):
    # cold: the countdown by slug, its phases (prefetched)
    with django_assert_num_queries(2):
        assert get(api_client).status_code == 200
    # warm: the snapshot comes from the cache
    with django_assert_num_queries(0):
        assert get(api_client).status_code == 200


def test_the_query_count_does_not_grow_with_the_number_of_phases(
    api_client, django_assert_num_queries
):
    phases = [(f"Phase {i}", EARLY + dt.timedelta(days=i)) for i in range(30)]
    countdown_with_phases(*phases, slug="many-phases")
    # the countdown by slug, its phases (prefetched)
    with django_assert_num_queries(2):
        body = get(api_client, slug="many-phases").json()
    assert len(body["phases"]) == 30


# --- the same object for embedding, and the schema ------------------------------------------


def test_the_serializer_gives_the_ads_api_the_same_object(api_client, awards):
    snapshot = countdown_snapshot(Countdown.objects.prefetch_related("phases").get(pk=awards.pk))
    state = countdown_state(snapshot, now=NOW)
    assert CountdownSerializer(state).data == get(api_client).json()
    assert countdown_payload(state) == get(api_client).json()


@pytest.mark.parametrize("at", [NOW, DEADLINE, FINAL])
def test_the_fast_payload_equals_the_declared_fields_rendered_by_drf(awards, at):
    snapshot = countdown_snapshot(Countdown.objects.prefetch_related("phases").get(pk=awards.pk))
    state = countdown_state(snapshot, now=at)
    declared = CountdownSerializer().field_by_field(state)
    assert json.loads(json.dumps(declared)) == countdown_payload(state)


def _json_schema(node: Any, components: dict) -> Any:
    """OpenAPI 3.0 schema -> JSON Schema, strict: refs inlined, nullable, no extra keys."""
    if isinstance(node, list):
        return [_json_schema(item, components) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return _json_schema(components[node["$ref"].rsplit("/", 1)[1]], components)
    out = {k: _json_schema(v, components) for k, v in node.items() if k != "nullable"}
    if out.get("type") == "object" and "properties" in out:
        out["additionalProperties"] = False
    if node.get("nullable"):
        out = {"anyOf": [out, {"type": "null"}]}
    return out


@pytest.mark.parametrize("at", [NOW, FINAL])
def test_responses_match_the_declared_openapi_shape_exactly(api_client, awards, at):
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    operation = schema["paths"]["/api/v1/countdowns/{slug}/"]["get"]
    for status, slug in [("200", "lantern-awards"), ("404", "nope")]:
        declared = operation["responses"][status]["content"]["application/json"]["schema"]
        response = get(api_client, slug=slug, at=at)
        assert str(response.status_code) == status
        jsonschema.validate(response.json(), _json_schema(declared, components))


def test_the_schema_generates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yml"))


def test_phases_are_listed_in_time_order_whatever_order_they_were_made_in(api_client):
    countdown = countdown_with_phases(("Final", FINAL), ("Early", EARLY), slug="unordered")
    DeadlinePhase.objects.create(countdown=countdown, label="Middle", deadline=DEADLINE)
    labels = [p["label"] for p in get(api_client, slug="unordered").json()["phases"]]
    assert labels == ["Early", "Middle", "Final"]


def test_unknown_slugs_leave_nothing_in_the_cache(api_client):
    cache.clear()
    for n in range(5):
        assert api_client.get(f"/api/v1/countdowns/made-up-{n}/").status_code == 404
    assert all(versions.read(versions.countdown(f"made-up-{n}")) is None for n in range(5))


def test_a_reader_that_raced_an_extension_does_not_cache_old_data(api_client, awards, monkeypatch):
    """A reader that found no token, read the database, then saw a writer's token appear."""
    cache.clear()
    original = versions.create_if_missing

    def create_after_a_writer(name, *, timeout=None):
        # The writer commits and replaces the token between our read and our create.
        countdown_extend(
            phase=awards.phases.get(label="Deadline"),
            new_deadline=dt.datetime(2025, 12, 5, 23, 59, 59, tzinfo=UTC),
            reason="More time",
            now=NOW,
        )
        return original(name, timeout=timeout)

    monkeypatch.setattr(versions, "create_if_missing", create_after_a_writer)
    stale = countdown_snapshot_for_slug("lantern-awards")
    monkeypatch.undo()
    assert stale.phases[1].deadline == DEADLINE  # what it read before the extension
    # ... but it did not cache that: the next request sees the extension.
    assert get(api_client).json()["deadline"] == "2025-12-05T23:59:59+00:00"
