"""Every method on the ad-serving hot path, and unmatched /api/ addresses, answer as the rest
of the API does: JSON in the error format, never a 5xx, never Django's HTML pages."""

import json
from urllib.parse import urlparse

import pytest
from django.db.models import Sum
from django.test import Client, RequestFactory
from django.urls import resolve
from rest_framework.views import APIView

from sponsors.counters import get_counters, uses_redis
from sponsors.models import Creative, DeliveryCounter
from tests.sponsors.factories_ads import CreativeFactory, SlotFactory

pytestmark = pytest.mark.django_db

ERROR_KEYS = {"status", "code", "detail", "errors"}
BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Safari/605.1.15"
DESTINATION = "https://advertiser.example.com/landing?utm_source=news"
DECISION = "/api/v1/ads/?slots=sidebar&viewer=v1"
ALLOW = {
    "decision": "GET, HEAD, OPTIONS",
    "beacon": "GET, POST, HEAD, OPTIONS",
    "click": "GET, HEAD, OPTIONS",
}


def assert_error(response, status: int, code: str) -> dict:
    """The API's error format, as a client sees it."""
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    assert set(body) == ERROR_KEYS
    assert (body["status"], body["code"]) == (status, code)
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def counted() -> dict[str, int]:
    """Impressions and clicks as the database holds them (after a flush with Redis)."""
    get_counters().flush(recover_after=0)
    sums = DeliveryCounter.objects.aggregate(impressions=Sum("impressions"), clicks=Sum("clicks"))
    return {key: value or 0 for key, value in sums.items()}


@pytest.fixture
def urls() -> dict[str, str]:
    """The three hot-path URLs, with real tokens of a served ad."""
    CreativeFactory(name="Ad", click_url=DESTINATION, slots=[SlotFactory(key="sidebar")])
    ad = Client().get(DECISION).json()["slots"]["sidebar"]
    return {
        "decision": DECISION,
        "beacon": urlparse(ad["impression_url"]).path,
        "click": urlparse(ad["click_url"]).path,
    }


BAD_TOKEN_URLS = {
    "decision": "/api/v1/ads/?slots=Not%20a%20key",
    "beacon": "/api/v1/ads/impression/not-a-token/",
    "click": "/api/v1/ads/click/not-a-token/",
}


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
    # A real client's POST carries no CSRF token: still the API's 404, not Django's 403 page.
    response = getattr(Client(enforce_csrf_checks=True), method)("/api/v1/nope/")
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


# ---------------------------------------------------------------------------------------------
# OPTIONS


@pytest.mark.parametrize("name", list(ALLOW))
def test_options_answers_200_with_allow_and_a_description(api_client, urls, name):
    for url in (urls[name], BAD_TOKEN_URLS[name]):  # OPTIONS describes; it checks no token
        response = api_client.options(url)  # and it matches the schema
        assert response.status_code == 200
        assert response["Allow"] == ALLOW[name]
        assert response["Content-Type"] == "application/json"
        assert response["Cache-Control"] == "no-store, private"
        body = response.json()
        assert set(body) == {"name", "description", "renders", "parses"}
        assert body["renders"] == ["application/json"]
    assert counted() == {"impressions": 0, "clicks": 0}


def test_cors_preflight_from_an_allowed_origin_is_answered(urls, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://www.example.com"]
    for name, url in urls.items():
        method = "POST" if name == "beacon" else "GET"
        response = Client().options(
            url, HTTP_ORIGIN="https://www.example.com", HTTP_ACCESS_CONTROL_REQUEST_METHOD=method
        )
        assert response.status_code == 200, name
        assert response["Access-Control-Allow-Origin"] == "https://www.example.com"
        assert method in response["Access-Control-Allow-Methods"]
        # An origin not in the list gets no permission.
        response = Client().options(
            url, HTTP_ORIGIN="https://evil.example", HTTP_ACCESS_CONTROL_REQUEST_METHOD=method
        )
        assert not response.has_header("Access-Control-Allow-Origin")
    # And the requests that follow carry the header.
    response = Client().get(urls["decision"], HTTP_ORIGIN="https://www.example.com")
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "https://www.example.com"
    response = Client().post(urls["beacon"], HTTP_ORIGIN="https://www.example.com")
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "https://www.example.com"


# ---------------------------------------------------------------------------------------------
# HEAD


def test_head_on_the_decision_answers_gets_status_and_headers_without_a_body(api_client, urls):
    get = api_client.get(urls["decision"])
    head = api_client.head(urls["decision"])
    assert (head.status_code, get.status_code) == (200, 200)
    for header in ("Content-Type", "Cache-Control"):
        assert head[header] == get[header]
    assert int(head["Content-Length"]) > 0  # the length GET's body would have
    assert head.content == b""
    bad = api_client.head(BAD_TOKEN_URLS["decision"])
    assert (bad.status_code, bad["Content-Type"], bad.content) == (400, "application/json", b"")


@pytest.mark.parametrize("name", list(ALLOW))
def test_the_view_itself_sends_no_body_to_head(urls, name):
    # The test client drops HEAD bodies itself, as some servers do and others do not: call
    # the view as the server would.
    for url in (urls[name], BAD_TOKEN_URLS[name]):
        response = resolve(urlparse(url).path).func(RequestFactory().head(url), **_kwargs(url))
        assert response.content == b""
        assert response.status_code in (200, 204, 302, 400)


def _kwargs(url: str) -> dict[str, str]:
    return resolve(urlparse(url).path).kwargs


def test_head_on_the_beacon_checks_the_token_and_counts_nothing(api_client, urls):
    for _ in range(3):
        response = api_client.head(urls["beacon"], HTTP_USER_AGENT=BROWSER)
        assert response.status_code == 204
        assert response["Cache-Control"] == "no-store, private"
    assert counted() == {"impressions": 0, "clicks": 0}
    # The HEADs did not use the ad's one count up: the real beacon counts.
    assert Client().get(urls["beacon"], HTTP_USER_AGENT=BROWSER).status_code == 204
    assert counted() == {"impressions": 1, "clicks": 0}
    bad = api_client.head(BAD_TOKEN_URLS["beacon"], HTTP_USER_AGENT=BROWSER)
    assert (bad.status_code, bad["Content-Type"]) == (400, "application/json")


def test_head_on_the_click_redirects_as_get_does_and_counts_nothing(api_client, urls):
    for _ in range(3):  # a link previewer's HEADs
        response = api_client.head(urls["click"], HTTP_USER_AGENT=BROWSER)
        assert (response.status_code, response["Location"]) == (302, DESTINATION)
        assert response["Cache-Control"] == "no-store, private"
        assert response["Referrer-Policy"] == "no-referrer-when-downgrade"
    assert counted() == {"impressions": 0, "clicks": 0}
    get = Client().get(urls["click"], HTTP_USER_AGENT=BROWSER)
    get_headers = {k: get[k] for k in ("Location", "Cache-Control", "Referrer-Policy")}
    assert get_headers == {k: response[k] for k in get_headers}
    assert counted() == {"impressions": 0, "clicks": 1}
    bad = api_client.head(BAD_TOKEN_URLS["click"], HTTP_USER_AGENT=BROWSER)
    assert bad.status_code == 400
    assert not bad.has_header("Location")


def test_head_on_the_click_of_a_deleted_creative_is_404(api_client, urls):
    Creative.objects.get().delete()
    response = api_client.head(urls["click"], HTTP_USER_AGENT=BROWSER)
    assert (response.status_code, response["Content-Type"]) == (404, "application/json")
    assert not response.has_header("Location")


# ---------------------------------------------------------------------------------------------
# Methods the hot path does not serve


UNSERVED = [
    ("decision", "post"),
    ("decision", "put"),
    ("decision", "patch"),
    ("decision", "delete"),
    ("beacon", "put"),
    ("beacon", "patch"),
    ("beacon", "delete"),
    ("click", "post"),
    ("click", "put"),
    ("click", "patch"),
    ("click", "delete"),
]


@pytest.mark.parametrize("name, method", UNSERVED)
def test_unserved_methods_answer_405_in_the_error_format_with_allow(urls, name, method):
    response = getattr(Client(), method)(urls[name], HTTP_USER_AGENT=BROWSER)
    body = assert_error(response, 405, "method_not_allowed")
    assert body["detail"] == f'Method "{method.upper()}" not allowed.'
    assert body["errors"] == {}
    assert response["Allow"] == ALLOW[name]
    assert counted() == {"impressions": 0, "clicks": 0}


@pytest.mark.parametrize("debug", [True, False], ids=["DEBUG on", "DEBUG off"])
def test_no_method_on_the_hot_path_answers_a_server_error(urls, settings, debug):
    settings.DEBUG = debug
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "PURGE"]
    for url in (*urls.values(), *BAD_TOKEN_URLS.values()):
        for method in methods:
            response = Client().generic(method, url, HTTP_USER_AGENT=BROWSER)
            assert response.status_code < 500, (method, url)
            assert response["Cache-Control"] == "no-store, private", (method, url)
            if response.status_code >= 400:
                assert response["Content-Type"] == "application/json", (method, url)
            if response.status_code == 405:
                assert response.has_header("Allow")


def test_the_beacon_takes_posts_without_a_csrf_token(urls):
    client = Client(enforce_csrf_checks=True)  # sendBeacon sends no token
    assert client.post(urls["beacon"], HTTP_USER_AGENT=BROWSER).status_code == 204
    assert counted()["impressions"] == 1


def test_the_hot_path_never_runs_drfs_dispatch(urls, monkeypatch):
    """Answers, errors included, come from the views themselves: no DRF request, content
    negotiation, authentication or rerun."""

    def refuse(*args, **kwargs):
        raise AssertionError("the hot path ran DRF's dispatch")

    monkeypatch.setattr(APIView, "dispatch", refuse)
    for url in (*urls.values(), *BAD_TOKEN_URLS.values()):
        for method in ("get", "head", "options", "delete"):
            assert getattr(Client(), method)(url, HTTP_USER_AGENT=BROWSER).status_code < 500
    assert Client().post(urls["beacon"], HTTP_USER_AGENT=BROWSER).status_code == 204


@pytest.mark.skipif(not uses_redis(), reason="needs Redis (set REDIS_URL)")
def test_when_redis_does_not_answer_head_answers_as_get_does(urls, redis_down):
    with redis_down():
        head = Client().head(urls["decision"], HTTP_USER_AGENT=BROWSER)
        assert (head.status_code, head.content) == (200, b"")
        assert Client().head(urls["beacon"], HTTP_USER_AGENT=BROWSER).status_code == 204
        click = Client().head(urls["click"], HTTP_USER_AGENT=BROWSER)
        assert (click.status_code, click["Location"]) == (302, DESTINATION)
        assert not DeliveryCounter.objects.exists()  # a HEAD counts nothing
        assert Client().get(urls["beacon"], HTTP_USER_AGENT=BROWSER).status_code == 204
        assert Client().get(urls["click"], HTTP_USER_AGENT=BROWSER).status_code == 302
    assert counted() == {"impressions": 1, "clicks": 1}


# ---------------------------------------------------------------------------------------------
# The schema


PATHS = {
    "decision": "/api/v1/ads/",
    "beacon": "/api/v1/ads/impression/{token}/",
    "click": "/api/v1/ads/click/{token}/",
}


def test_the_schema_lists_exactly_the_methods_the_hot_path_answers(urls):
    response = Client().get("/api/schema/?format=json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for name, path in PATHS.items():
        allow = Client().options(urls[name])["Allow"]
        assert set(paths[path]) == {method.lower() for method in allow.split(", ")}, name
        head = paths[path]["head"]
        assert head["operationId"].endswith("_head")
        for answer in head["responses"].values():  # a HEAD answer has no body
            assert "content" not in answer
        assert set(head["responses"]) <= set(paths[path]["get"]["responses"])  # GET's answers
        options = paths[path]["options"]["responses"]
        assert set(options) == {"200"}  # described from the view itself: never a 503
        assert options["200"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/EndpointMetadata"
        }
    assert "post" not in paths[PATHS["decision"]] and "delete" not in paths[PATHS["click"]]


# ---------------------------------------------------------------------------------------------
# The health check (the benchmark's baseline) answers methods as the API does


def test_the_health_check_answers_get_head_and_options_and_405_otherwise():
    client = Client(enforce_csrf_checks=True)  # probes carry no CSRF token
    for method in ("get", "head"):
        response = getattr(client, method)("/api/v1/health/")
        assert (response.status_code, response["Content-Type"]) == (200, "application/json")
    assert client.get("/api/v1/health/").json() == {"status": "ok"}
    response = client.options("/api/v1/health/")
    assert (response.status_code, response["Allow"]) == (200, "GET, HEAD, OPTIONS")
    for method in ("post", "put", "patch", "delete"):
        response = getattr(client, method)("/api/v1/health/")
        assert_error(response, 405, "method_not_allowed")
        assert response["Allow"] == "GET, HEAD, OPTIONS"
