"""Failed API token authentication is limited per client address: past the limit within the
window, a client's every token is answered 429 (the error format, Retry-After), a right one
too, until the window ends; other clients and requests without a token are not concerned."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.models import Group
from rest_framework.authtoken.models import Token

from tests.sponsors.factories import PartnerFactory, UserFactory

pytestmark = pytest.mark.django_db

STAFF_API = "/api/v1/ad-ops/slots/"
SUBMISSIONS = "/api/v1/submissions/"
GUESSER = "203.0.113.66"
NEIGHBOUR = "198.51.100.7"
# One minute into a window of TOKEN_AUTH_FAILURE_WINDOW (300 s): 240 s of it left.
NOW = dt.datetime(2026, 12, 2, 9, 1, tzinfo=dt.UTC)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def staff_token():
    user = UserFactory(username="adops", is_staff=True)
    user.groups.add(Group.objects.get(name="Ad ops"))
    return Token.objects.create(user=user).key


def call(client, path, token, address=GUESSER, **extra):
    return client.get(path, HTTP_AUTHORIZATION=f"Token {token}", REMOTE_ADDR=address, **extra)


def guess(client, times, path=STAFF_API, address=GUESSER):
    for attempt in range(times):
        response = call(client, path, f"{attempt:040x}", address=address)
        assert response.status_code == 401, response.content
        assert response.json()["code"] == "authentication_failed"


def test_after_the_limit_even_the_right_token_is_answered_429(
    api_client, staff_token, clock, settings
):
    assert settings.TOKEN_AUTH_FAILURE_LIMIT == 20
    guess(api_client, 20)
    response = call(api_client, STAFF_API, staff_token)
    assert response.status_code == 429
    assert response["Retry-After"] == "240"
    body = response.json()
    assert body["status"] == 429 and body["code"] == "throttled"
    assert body["detail"] == (
        "Too many failed token authentications from this address. "
        "Expected available in 240 seconds."
    )
    assert body["errors"] == {}
    # A wrong token now is a 429 as well: the guesser learns nothing more.
    assert call(api_client, STAFF_API, "f" * 40).status_code == 429


def test_the_window_passing_lets_the_client_in_again(api_client, staff_token, clock):
    guess(api_client, 20)
    clock.shift(dt.timedelta(seconds=239))
    assert call(api_client, STAFF_API, staff_token).status_code == 429
    clock.shift(dt.timedelta(seconds=2))
    assert call(api_client, STAFF_API, staff_token).status_code == 200


def test_below_the_limit_a_right_token_works_and_successes_count_nothing(
    api_client, staff_token, clock
):
    guess(api_client, 19)
    for _ in range(30):
        assert call(api_client, STAFF_API, staff_token).status_code == 200
    guess(api_client, 1)
    assert call(api_client, STAFF_API, staff_token).status_code == 429


def test_other_clients_and_requests_without_a_token_are_not_concerned(
    api_client, staff_token, clock
):
    guess(api_client, 20)
    assert call(api_client, STAFF_API, staff_token).status_code == 429
    assert call(api_client, STAFF_API, staff_token, address=NEIGHBOUR).status_code == 200
    anonymous = api_client.get("/api/v1/articles/", REMOTE_ADDR=GUESSER)
    assert anonymous.status_code == 200
    assert api_client.get(STAFF_API, REMOTE_ADDR=GUESSER).status_code == 401  # asks for one


def test_partner_tokens_are_limited_the_same_way(api_client, clock):
    partner = PartnerFactory()
    token = Token.objects.get_or_create(user=partner.user)[0].key
    guess(api_client, 20, path=SUBMISSIONS)
    response = call(api_client, SUBMISSIONS, token)
    assert response.status_code == 429 and response.json()["code"] == "throttled"
    assert call(api_client, SUBMISSIONS, token, address=NEIGHBOUR).status_code == 200


def test_failures_on_one_endpoint_count_for_all(api_client, staff_token, clock):
    guess(api_client, 10, path=SUBMISSIONS)
    guess(api_client, 10, path=STAFF_API)
    assert call(api_client, STAFF_API, staff_token).status_code == 429
    page = api_client.get(
        "/api/v1/pages/articles/any/?at=2030-01-01T00:00:00Z",
        HTTP_AUTHORIZATION=f"Token {staff_token}",
        REMOTE_ADDR=GUESSER,
    )
    assert page.status_code == 429  # the page's staff `at` reads a token too


def test_behind_a_trusted_proxy_clients_are_counted_by_their_own_address(
    api_client, staff_token, clock, settings
):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    proxy = "10.0.0.2"
    for attempt in range(20):
        response = call(
            api_client,
            STAFF_API,
            f"{attempt:040x}",
            address=proxy,
            HTTP_X_FORWARDED_FOR=f"192.0.2.1, {GUESSER}",  # the first hop is the client's word
        )
        assert response.status_code == 401
    guessed = call(api_client, STAFF_API, staff_token, address=proxy, HTTP_X_FORWARDED_FOR=GUESSER)
    assert guessed.status_code == 429
    other = call(api_client, STAFF_API, staff_token, address=proxy, HTTP_X_FORWARDED_FOR=NEIGHBOUR)
    assert other.status_code == 200


def test_without_a_trusted_proxy_a_forwarded_address_changes_nothing(
    api_client, staff_token, clock
):
    for attempt in range(20):
        call(api_client, STAFF_API, f"{attempt:040x}", HTTP_X_FORWARDED_FOR=f"192.0.2.{attempt}")
    response = call(api_client, STAFF_API, staff_token, HTTP_X_FORWARDED_FOR="192.0.2.200")
    assert response.status_code == 429


def test_every_operation_that_takes_a_token_documents_the_429(client):
    schema = client.get("/api/schema/?format=json").json()
    missing = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            schemes = {name for entry in operation.get("security", []) for name in entry}
            takes_token = "tokenAuth" in schemes or path == "/api/v1/pages/articles/{slug}/"
            if method != "options" and takes_token and "429" not in operation["responses"]:
                missing.append(f"{method.upper()} {path}")
    assert missing == []
    submit = schema["paths"]["/api/v1/submissions/"]["post"]["responses"]["429"]
    assert "Too many failed token authentications" in submit["description"]


def test_a_malformed_token_is_a_failure_like_any_other(api_client, clock):
    for key in ["a\x00b", "f" * 41, "ünïcode"]:
        response = api_client.get(STAFF_API, HTTP_AUTHORIZATION=f"Token {key}", REMOTE_ADDR=GUESSER)
        assert response.status_code == 401, key
        assert response.json()["code"] == "authentication_failed"
