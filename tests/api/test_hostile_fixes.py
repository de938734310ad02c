"""What the hostile-input suite found, each pinned with the answer a client now gets.

Text no database can hold (a NUL byte: PostgreSQL refuses it; a lone surrogate: no UTF-8
at all) is refused by the API's parsers in every body field, before any serializer or
validator could send it to the database; slug lookups query only slugs; a JSON document
nested past Python's decoder, a time zone name the zone database cannot even look up and
a countdown slug longer than any are 400s and 404s, not 500s.
"""

import json

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from rest_framework.authtoken.models import Token

from cms.api.parsers import NUL, SURROGATE
from sponsors.models import Campaign, Countdown, Creative, DisclosureLabel
from tests.cms.factories import TopicFactory
from tests.conftest import ContractAPIClient
from tests.sponsors.factories import PartnerFactory, SponsorFactory, UserFactory
from tests.sponsors.factories_ads import CampaignFactory, SlotFactory

pytestmark = pytest.mark.django_db

ADS = "/api/v1/ad-ops/"
TOO_MANY = "Too many query parameters or form fields (at most 1,000)."


@pytest.fixture
def staff():
    user = UserFactory(username="adops", is_staff=True)
    user.groups.add(Group.objects.get(name="Ad ops"))
    client = ContractAPIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def sent_to_the_database():
    """Every parameter of every query sent while the test runs."""
    params: list = []

    def watch(execute, sql, values, many, context):
        params.extend(values or ())
        return execute(sql, values, many, context)

    with connection.execute_wrapper(watch):
        yield params


def post_json(client, path, body: bytes | dict):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.generic("POST", path, data, content_type="application/json")


def test_a_nul_in_a_related_slug_is_the_fields_400_and_never_reaches_the_database(
    staff, sent_to_the_database
):
    SponsorFactory(slug="tiktok")
    body = {
        "sponsor": "tik\x00tok",
        "name": "Awards",
        "starts_at": "2026-11-01T00:00:00Z",
        "tier": "standard",
    }
    response = post_json(staff, ADS + "campaigns/", body)
    assert response.status_code == 400
    assert response.json()["errors"] == {"sponsor": [NUL]}
    assert not [p for p in sent_to_the_database if isinstance(p, str) and "\x00" in p]
    assert not Campaign.objects.exists()


@pytest.mark.parametrize("field", ["slots", "include_topics", "exclude_topics"])
def test_a_nul_in_a_list_of_slugs_is_the_fields_400(staff, field, sent_to_the_database):
    campaign = CampaignFactory()
    body = {
        "campaign": campaign.pk,
        "name": "Strip",
        "kind": "text",
        "headline": "Enter",
        "click_url": "https://advertiser.example.com/",
        field: ["ok", "a\x00"],
    }
    response = post_json(staff, ADS + "creatives/", body)
    assert response.status_code == 400
    assert response.json()["errors"] == {field: [NUL]}
    assert not [p for p in sent_to_the_database if isinstance(p, str) and "\x00" in p]
    assert not Creative.objects.exists()


def test_a_nul_in_a_multipart_field_is_the_fields_400(staff):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.images import image_bytes

    campaign = CampaignFactory()
    SlotFactory(key="leaderboard")
    response = staff.post(
        ADS + "creatives/",
        {
            "campaign": str(campaign.pk),
            "name": "Banner\x00",
            "kind": "image",
            "alt_text": "A banner",
            "click_url": "https://advertiser.example.com/",
            "slots": ["leaderboard"],
            # (Django drops a file name's non-printable characters itself.)
            "image": SimpleUploadedFile("a\x00.png", image_bytes(), "image/png"),
        },
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {"name": [NUL]}
    assert not Creative.objects.exists()


def test_a_lone_surrogate_is_the_fields_400_not_an_encoding_error(staff):
    # "\ud800" is valid JSON and no text: neither PostgreSQL nor SQLite can store it.
    labels = DisclosureLabel.objects.count()
    response = post_json(staff, ADS + "labels/", b'{"text": "Paid \\ud800 post"}')
    assert response.status_code == 400
    assert response.json()["errors"] == {"text": [SURROGATE]}
    assert DisclosureLabel.objects.count() == labels


def test_a_lone_surrogate_deep_in_a_body_names_its_top_level_field():
    partner = PartnerFactory()
    client = ContractAPIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {partner.user.auth_token.key}")
    body = b'{"headline": "Sound on", "body": [{"type": "paragraph", "text": "\\udfff"}]}'
    response = post_json(client, "/api/v1/submissions/", body)
    assert response.status_code == 400
    assert response.json()["errors"] == {"body": [SURROGATE]}


def test_a_json_document_nested_past_the_decoder_is_a_parse_error(staff):
    response = post_json(staff, ADS + "labels/", b"[" * 100_000 + b"]" * 100_000)
    assert response.status_code == 400
    assert response.json() == {
        "status": 400,
        "code": "parse_error",
        "detail": "JSON parse error - nested too deeply.",
        "errors": {},
    }


def test_a_json_object_is_no_list_of_slugs(staff):
    TopicFactory(name="TikTok")
    campaign = CampaignFactory()
    body = {
        "campaign": campaign.pk,
        "name": "Strip",
        "kind": "text",
        "headline": "Enter",
        "click_url": "https://advertiser.example.com/",
        "include_topics": {"tiktok": 1},  # DRF's own field took its keys: ["tiktok"]
    }
    response = post_json(staff, ADS + "creatives/", body)
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "include_topics": ['Expected a list of items but got type "dict".']
    }


@pytest.mark.parametrize("value", ["x" * 1000, "caf\u00e9", "a b", "💥"])
def test_a_slug_that_cannot_be_one_names_nothing_and_is_not_looked_up(
    staff, value, sent_to_the_database
):
    campaign = CampaignFactory()
    body = {
        "campaign": campaign.pk,
        "name": "Strip",
        "kind": "text",
        "headline": "Enter",
        "click_url": "https://advertiser.example.com/",
        "slots": [value],
    }
    response = post_json(staff, ADS + "creatives/", body)
    assert response.status_code == 400
    [message] = response.json()["errors"]["slots"]
    assert message.startswith("Object with key=")
    assert len(message) < 200  # a long value is not echoed back whole
    assert value not in sent_to_the_database


@pytest.mark.parametrize("zone", ["Europe", "x" * 10_000, "../etc", ""])
def test_a_time_zone_the_zone_database_cannot_look_up_is_the_fields_400(staff, zone):
    body = {
        "title": "The awards",
        "time_zone": zone,
        "closed_message": "Closed",
        "phases": [{"label": "Deadline", "deadline": "2030-01-01T00:00:00Z"}],
    }
    response = post_json(staff, ADS + "countdowns/", body)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["time_zone"]
    assert not Countdown.objects.exists()


def test_a_countdown_slug_longer_than_any_is_the_apis_404_without_a_query(
    api_client, django_assert_num_queries
):
    with django_assert_num_queries(0):
        response = api_client.get(f"/api/v1/countdowns/{'a' * 3000}/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize(
    "path", ["/api/v1/articles/", "/api/v1/topics/x/", "/api/v1/pages/articles/x/"]
)
def test_more_query_parameters_than_django_reads_are_the_apis_400(api_client, path):
    # The article lists read the query string before DRF's error handling: this was
    # Django's HTML "Bad Request (400)" page.
    response = api_client.get(path + "?" + "a=1&" * 1001)
    assert response.status_code == 400
    assert response.json() == {
        "status": 400,
        "code": "invalid",
        "detail": "The request is not valid; see errors.",
        "errors": {"non_field_errors": [TOO_MANY]},
    }


def test_more_form_fields_than_django_reads_are_the_apis_400(staff):
    fields = {f"f{i}": "1" for i in range(1001)}
    response = staff.post(ADS + "creatives/", fields, format="multipart")
    assert response.status_code == 400
    assert response.json()["errors"] == {"non_field_errors": [TOO_MANY]}


@pytest.mark.parametrize("query", ["format=%00", "format=%FF", "format=xml"])
def test_the_schemas_errors_are_the_apis_error_format_in_json(client, query):
    response = client.get(f"/api/schema/?{query}")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "status": 404,
        "code": "not_found",
        "detail": "Not found.",
        "errors": {},
    }


def test_the_schema_is_still_yaml_and_json(client):
    assert client.get("/api/schema/")["Content-Type"].startswith("application/vnd.oai.openapi")
    assert client.get("/api/schema/?format=json").json()["openapi"].startswith("3.")
