"""The schema says what the API does, both ways (what schemathesis found, `make fuzz`).

Each test pins one finding: the answer a client gets, and the schema's declaration that
makes a generated client or a fuzzer expect exactly that answer. ``api_client`` also checks
every answer against the schema (status documented, body valid).
"""

from __future__ import annotations

import io
import re
from urllib.parse import unquote

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from rest_framework.authtoken.models import Token

from cms.api.fields import MAX_ID
from tests.cms.factories import ArticleFactory, TopicFactory
from tests.contract import openapi_schema
from tests.sponsors.factories import SponsorFactory, UserFactory
from tests.sponsors.factories_ads import CampaignFactory, CreativeFactory, SlotFactory

pytestmark = pytest.mark.django_db

ADOPS = "/api/v1/ad-ops/"


def operations():
    for path, methods in openapi_schema()["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def parameter(path: str, method: str, name: str) -> dict:
    operation = openapi_schema()["paths"][path][method]
    return next(p for p in operation["parameters"] if p["name"] == name)


@pytest.fixture
def staff(api_client):
    user = UserFactory(username="adops", is_staff=True)
    user.groups.add(Group.objects.get(name="Ad ops"))
    token, _ = Token.objects.get_or_create(user=user)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return api_client


# --- Paging ----------------------------------------------------------------------------------


def test_every_paginated_operation_declares_the_limits_and_documents_the_404():
    paginated = [(p, m, op) for p, m, op in operations() if "page" in _names(op)]
    assert len(paginated) >= 12
    for path, method, operation in paginated:
        page = parameter(path, method, "page")["schema"]
        size = parameter(path, method, "page_size")["schema"]
        assert page["minimum"] == 1, (method, path)
        assert (size["minimum"], size["maximum"]) == (1, 100), (method, path)
        not_found = operation["responses"]["404"]
        if method != "head":
            assert not_found["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Error"
            }


def _names(operation: dict) -> set[str]:
    return {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}


@pytest.mark.parametrize("query", ["page=0", "page_size=0", "page_size=101", "page=%D9%A3"])
def test_paging_outside_the_declared_limits_is_400(api_client, query):
    ArticleFactory()
    response = api_client.get(f"/api/v1/articles/?{query}")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {query.split("=")[0]}


def test_a_page_past_the_last_of_a_staff_list_is_the_documented_404(staff):
    SlotFactory()
    response = staff.get(ADOPS + "slots/?page=2")
    assert response.status_code == 404
    assert response.json() == {
        "status": 404,
        "code": "not_found",
        "detail": "Invalid page.",
        "errors": {},
    }
    assert staff.get(ADOPS + "slots/?page_size=100").status_code == 200


# --- Empty and unknown filter values ---------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("/api/v1/articles/", "kind"),
        ("/api/v1/articles/", "topic"),
        ("/api/v1/articles/", "author"),
        ("/api/v1/articles/", "published_before"),
        ("/api/v1/insights/", "sponsor"),
        ("/api/v1/trending/", "topic"),
        ("/api/v1/trending/", "limit"),
    ],
)
def test_a_filter_sent_empty_is_400_as_its_schema_allows_no_empty_value(api_client, url, name):
    response = api_client.get(f"{url}?{name}=")
    assert response.status_code == 400
    assert name in response.json()["errors"]
    schema = parameter(url, "get", name)["schema"]
    assert (
        "enum" in schema
        or "format" in schema
        or schema.get("minLength", 0) >= 1
        or (schema["type"] == "integer")
    )


@pytest.mark.parametrize(("list_", "name"), [("campaigns", "state"), ("creatives", "kind")])
def test_a_staff_filter_sent_empty_is_400(staff, list_, name):
    response = staff.get(f"{ADOPS}{list_}/?{name}=")
    assert response.status_code == 400
    assert name in response.json()["errors"]
    assert "enum" in parameter(f"{ADOPS}{list_}/", "get", name)["schema"]


def test_free_text_sent_empty_is_no_filter(api_client):
    ArticleFactory()
    assert api_client.get("/api/v1/articles/?search=").json()["count"] == 1
    assert "minLength" not in parameter("/api/v1/articles/", "get", "search")["schema"]


def test_a_creative_list_by_campaign_takes_whole_ids_only(staff):
    schema = parameter(ADOPS + "creatives/", "get", "campaign")["schema"]
    assert schema == {"type": "integer", "minimum": 1, "maximum": MAX_ID}
    for value in ("1.5", "0", str(MAX_ID + 1)):
        assert staff.get(f"{ADOPS}creatives/?campaign={value}").status_code == 400
    assert staff.get(f"{ADOPS}creatives/?campaign=1").status_code == 200


def test_the_delivery_report_refuses_empty_and_huge_values(staff):
    assert "start" in staff.get(ADOPS + "reports/delivery/?start=").json()["errors"]
    huge = staff.get(f"{ADOPS}reports/delivery/?campaign={10**30}")
    assert "campaign" in huge.json()["errors"]
    assert parameter(ADOPS + "reports/delivery/", "get", "campaign")["schema"]["maximum"] == MAX_ID


def test_the_article_page_refuses_an_empty_viewer(api_client):
    article = ArticleFactory()
    response = api_client.get(f"/api/v1/pages/articles/{article.slug}/?viewer=")
    assert response.status_code == 400
    assert "viewer" in response.json()["errors"]


def test_a_slug_filter_of_nothing_that_exists_is_the_documented_404(api_client):
    TopicFactory(slug="video")
    assert api_client.get("/api/v1/articles/?topic=video").status_code == 200
    response = api_client.get("/api/v1/articles/?topic=radio")
    assert response.status_code == 404
    assert response.json()["detail"] == "No such topic."
    assert "404" in openapi_schema()["paths"]["/api/v1/articles/"]["get"]["responses"]


# --- Headers and the ad decision's parameters ------------------------------------------------


def test_if_none_match_of_any_length_is_a_plain_get(api_client):
    article = ArticleFactory()
    url = f"/api/v1/articles/{article.slug}/"
    assert api_client.get(url, HTTP_IF_NONE_MATCH='"' + "0" * 2000 + '"').status_code == 200
    assert (
        "maxLength"
        not in parameter(url.replace(article.slug, "{slug}"), "get", "If-None-Match")["schema"]
    )


@pytest.mark.parametrize(
    "query",
    [
        "slots=strip",
        "slots=strip,sidebar&topics=video,tv&article=a-b&viewer=v_1",
        "slots=strip&topics=&article=&viewer=",  # empty optional values: left out
        "slots=strip,,sidebar",
        "slots=strip,",
        "slots=%20strip",
        "slots=Strip",
        "slots=strip&topics=video,",
        "slots=strip&viewer=a%20b",
        "slots=",
    ],
)
def test_the_ad_decision_accepts_exactly_what_its_parameter_patterns_say(api_client, query):
    SlotFactory(key="strip")
    response = api_client.get(f"/api/v1/ads/?{query}")
    params = dict(pair.split("=", 1) for pair in query.split("&"))
    fits = all(
        re.fullmatch(parameter("/api/v1/ads/", "get", name)["schema"]["pattern"], unquote(v))
        for name, v in params.items()
    )
    assert response.status_code == (200 if fits else 400), query


# --- Strict JSON types in the staff API ------------------------------------------------------


def test_a_number_for_a_boolean_or_a_string_is_400(staff):
    label = staff.post(ADOPS + "labels/", {"text": "Paid for by", "is_active": 0}, format="json")
    assert label.status_code == 400
    assert "is_active" in label.json()["errors"]
    assert staff.post(ADOPS + "labels/", {"text": 5}, format="json").status_code == 400
    ok = staff.post(ADOPS + "labels/", {"text": "Paid for by", "is_active": False}, format="json")
    assert ok.status_code == 201 and ok.json()["is_active"] is False


def test_a_duplicate_named_by_a_number_is_400(staff):
    campaign = CampaignFactory()
    response = staff.post(f"{ADOPS}campaigns/{campaign.pk}/duplicate/", {"name": 0}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()["errors"]


def test_a_related_slug_is_declared_non_empty(staff):
    SponsorFactory(slug="tiktok")
    schema = openapi_schema()["components"]["schemas"]["CampaignRequest"]["properties"]
    assert schema["sponsor"]["minLength"] == 1
    response = staff.post(
        ADOPS + "campaigns/",
        {"sponsor": "", "name": "X", "starts_at": "2026-11-01T00:00:00Z"},
        format="json",
    )
    assert "sponsor" in response.json()["errors"]


@pytest.mark.parametrize("body", [b"--b\r\nNone--b--\r\n", b"--b--\r\n", b"garbage"])
def test_a_multipart_body_with_no_part_is_400_not_an_empty_change(staff, body):
    creative = CreativeFactory(name="Kept")
    response = staff.generic(
        "PATCH",
        f"{ADOPS}creatives/{creative.pk}/",
        body,
        content_type="multipart/form-data; boundary=b",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    media = openapi_schema()["paths"][ADOPS + "creatives/{id}/"]["patch"]["requestBody"]["content"]
    assert "multipart/form-data" in media


# --- The demo's tokens, for the schemathesis runs --------------------------------------------


def test_demo_tokens_prints_working_tokens_of_the_demo_logins(api_client):
    call_command("load_demo_data", admin_password="x", stdout=io.StringIO())
    out = io.StringIO()
    call_command("demo_tokens", stdout=out)
    tokens = dict(line.split("=", 1) for line in out.getvalue().split())
    assert set(tokens) == {"PARTNER_TOKEN", "ADOPS_TOKEN"}
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {tokens['ADOPS_TOKEN']}")
    assert api_client.get(ADOPS + "slots/").status_code == 200
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {tokens['PARTNER_TOKEN']}")
    assert api_client.get("/api/v1/submissions/").status_code == 200
