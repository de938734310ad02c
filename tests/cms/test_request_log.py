"""Structured logs: one line per request with its id and who asked, and never a secret.

Real requests go through the whole middleware stack (the test client); what the process
writes is read back as JSON lines: the request line (on stderr) and every other line as the
logging configuration renders it.
"""

import io
import json
import logging
from urllib.parse import urlparse

import pytest
from django.contrib.auth.models import Group
from django.urls import path
from rest_framework.authtoken.models import Token

import cms.urls
from cms import request_log
from tests.sponsors.factories import PartnerFactory, UserFactory
from tests.sponsors.factories_ads import CreativeFactory, SlotFactory

pytestmark = pytest.mark.django_db


def boom(request):
    raise RuntimeError("the view failed while handling /api/v1/reads/secret-read-token/")


# This module is also a URLconf (the failure test): the project's routes plus one that fails.
urlpatterns = [path("boom/", boom), *cms.urls.urlpatterns]

PASSWORD = "correct-horse-battery-staple-42"


@pytest.fixture
def log_lines(settings, capsys):
    """The JSON lines written while the test runs: the request lines (stderr) and every other
    log line, as the configured formatter renders them in JSON."""
    settings.LOG_FORMAT = "json"
    request_log._request_logger.cache_clear()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(request_log.structured_formatter("json"))
    root = logging.getLogger()
    root.addHandler(handler)
    capsys.readouterr()

    def read() -> tuple[list[dict], str]:
        text = capsys.readouterr().err + stream.getvalue()
        lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
        return lines, text

    yield read
    root.removeHandler(handler)
    request_log._request_logger.cache_clear()


def requests(lines: list[dict]) -> list[dict]:
    return [line for line in lines if line.get("event") == "request"]


def test_admin_login_logs_the_user_and_a_request_id_but_never_the_password(client, log_lines):
    UserFactory(username="chief", password=PASSWORD, is_staff=True, is_superuser=True)
    client.get("/admin/login/")
    csrf = client.cookies["csrftoken"].value
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": "chief", "password": PASSWORD, "csrfmiddlewaretoken": csrf},
        HTTP_X_REQUEST_ID="lb-7f3a9c",
    )
    assert response.status_code == 302
    session = client.cookies["sessionid"].value
    client.get("/admin/")

    lines, text = log_lines()
    login_page, login, dashboard = requests(lines)
    assert login_page["user"] == "anonymous" and login_page["role"] == "anonymous"
    assert login["request_id"] == "lb-7f3a9c" == response["X-Request-ID"]
    assert login["method"] == "POST" and login["path"] == "/admin/login/?next=/admin/"
    assert login["status"] == 302 and login["duration_ms"] > 0
    assert (login["user"], login["role"]) == ("chief", "superuser")
    assert dashboard["user_id"] is not None and dashboard["status"] == 200
    assert len({line["request_id"] for line in (login_page, login, dashboard)}) == 3
    for secret in (PASSWORD, session, csrf):
        assert secret not in text


def test_an_api_call_with_a_token_logs_its_user_but_never_the_token(api_client, log_lines):
    user = UserFactory(username="adops", is_staff=True)
    user.groups.add(Group.objects.get(name="Ad ops"))
    token = Token.objects.create(user=user).key
    partner = PartnerFactory(user__username="northwind")
    partner_token = partner.user.auth_token.key

    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api_client.get("/api/v1/ad-ops/slots/").status_code == 200
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {partner_token}")
    assert api_client.get("/api/v1/submissions/").status_code == 200
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token-0123456789")
    assert api_client.get("/api/v1/ad-ops/slots/").status_code == 401

    lines, text = log_lines()
    staff, partner_line, refused = requests(lines)
    assert (staff["user"], staff["role"], staff["user_id"]) == ("adops", "staff", user.pk)
    assert (partner_line["user"], partner_line["role"]) == ("northwind", "partner")
    assert (refused["user"], refused["status"], refused["level"]) == ("anonymous", 401, "warning")
    for secret in (token, partner_token, "not-a-real-token-0123456789"):
        assert secret not in text


def test_tracking_urls_are_logged_without_their_signed_tokens(api_client, log_lines):
    slot = SlotFactory(key="sidebar")
    CreativeFactory(name="Ad", click_url="https://advertiser.example.com/", slots=[slot])
    ad = api_client.get("/api/v1/ads/?slots=sidebar&viewer=v-123456").json()["slots"]["sidebar"]
    impression, click = urlparse(ad["impression_url"]).path, urlparse(ad["click_url"]).path
    assert api_client.get(impression).status_code == 204
    assert api_client.get(click).status_code == 302

    lines, text = log_lines()
    decision, beacon, redirect = requests(lines)
    assert decision["path"] == "/api/v1/ads/?slots=sidebar&viewer=[redacted]"
    assert beacon["path"] == "/api/v1/ads/impression/[redacted]/"
    assert (redirect["path"], redirect["status"]) == ("/api/v1/ads/click/[redacted]/", 302)
    for secret in (impression.split("/")[-2], click.split("/")[-2], "v-123456"):
        assert secret not in text


def test_an_upstream_request_id_is_kept_only_when_it_is_sane(client, log_lines):
    kept = client.get("/api/v1/health/", HTTP_X_REQUEST_ID="req-42")
    forged = client.get("/api/v1/health/", HTTP_X_REQUEST_ID='x" status=200\nforged')
    none = client.get("/api/v1/health/")

    lines, _ = log_lines()
    ids = [line["request_id"] for line in requests(lines)]
    assert ids[0] == kept["X-Request-ID"] == "req-42"
    assert ids[1] == forged["X-Request-ID"] and "forged" not in ids[1]
    assert ids[2] == none["X-Request-ID"] and len(ids[2]) == 32


def test_every_other_line_is_redacted_too_and_carries_the_request_id(log_lines):
    logging.getLogger("django.request").error(
        "Internal Server Error: %s", "/api/v1/ads/click/eyJhIjoxfQ:1w2x3y:sig-abc/"
    )
    logging.getLogger("sponsors.api.ads").warning(
        "upstream said Token 9f8e7d6c5b4a and password=hunter2"
    )

    lines, text = log_lines()
    assert "/api/v1/ads/click/[redacted]/" in lines[0]["event"]
    assert "eyJhIjoxfQ" not in text and "9f8e7d6c5b4a" not in text and "hunter2" not in text


@pytest.mark.urls(__name__)
def test_a_failing_request_logs_its_line_and_its_traceback_under_one_request_id(client, log_lines):
    client.raise_request_exception = False
    response = client.get("/boom/", HTTP_X_REQUEST_ID="req-boom")
    assert response.status_code == 500 and response["X-Request-ID"] == "req-boom"

    lines, text = log_lines()
    failed = next(line for line in lines if line["event"] == "request_failed")
    (request,) = requests(lines)
    assert failed["request_id"] == request["request_id"] == "req-boom"
    assert "RuntimeError" in failed["exception"]
    assert (request["status"], request["level"]) == (500, "error")
    assert "secret-read-token" not in text
