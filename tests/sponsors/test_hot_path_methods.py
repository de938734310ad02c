"""Every method on the ad-serving hot path, and unmatched /api/ addresses, answer as the rest
of the API does: JSON in the error format, never a 5xx, never Django's HTML pages."""

import json

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

ERROR_KEYS = {"status", "code", "detail", "errors"}


def assert_error(response, status: int, code: str) -> dict:
    """The API's error format, as a client sees it."""
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    assert set(body) == ERROR_KEYS
    assert (body["status"], body["code"]) == (status, code)
    assert isinstance(body["detail"], str) and body["detail"]
    return body


# ---------------------------------------------------------------------------------------------
# Unmatched addresses under /api/


UNMATCHED = [
    "/api/v1/ad-ops/slots/5.4e-128/",
    "/api/v1/articles/a/b/c/",
    "/api/v1/nope/",
    "/api/v1/ads/impression/",
    "/api/v1/ads/click/a/b/",
    "/api/nope/",
    "/api/v1/nope",  # no slash, and no route with one: no redirect, a 404
]


@pytest.mark.parametrize("debug", [True, False], ids=["DEBUG on", "DEBUG off"])
@pytest.mark.parametrize("path", UNMATCHED)
def test_unmatched_api_addresses_answer_404_in_the_error_format(settings, debug, path):
    # With DEBUG on, Django never calls handler404: it shows its HTML technical page.
    settings.DEBUG = debug
    response = Client().get(path)
    body = assert_error(response, 404, "not_found")
    assert body == {"status": 404, "code": "not_found", "detail": "Not found.", "errors": {}}


@pytest.mark.parametrize("debug", [True, False], ids=["DEBUG on", "DEBUG off"])
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete", "options", "head"])
def test_unmatched_api_addresses_answer_404_to_every_method(settings, debug, method):
    settings.DEBUG = debug
    response = getattr(Client(), method)("/api/v1/nope/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    if method != "head":
        assert_error(response, 404, "not_found")


@pytest.mark.parametrize("debug", [True, False], ids=["DEBUG on", "DEBUG off"])
def test_a_missing_slash_still_redirects_to_the_route_with_one(settings, debug):
    settings.DEBUG = debug
    response = Client().get("/api/v1/ads?slots=sidebar&viewer=v1")
    assert response.status_code == 301
    assert response["Location"] == "/api/v1/ads/?slots=sidebar&viewer=v1"
    # Every method, DEBUG on or off (Django's own redirect raises a 500 for POST with DEBUG).
    assert Client().post("/api/v1/ads/impression/x").status_code == 301


def test_addresses_outside_the_api_keep_djangos_404_page(settings):
    settings.DEBUG = False
    response = Client().get("/nope/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
