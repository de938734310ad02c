"""Over-long addresses answer the API's 414, under the test client and under granian.

``MAX_URL_LENGTH`` (8,192 by default) bounds the path and query string as sent; past it
the app answers 414 in the error format under /api/ (plain text elsewhere) before anything
reads the request. Granian refuses a request line of 65,535 bytes or more itself, with an
empty 414 (its HTTP library's fixed limit), so the setting stays below that.
"""

import http.client
import json
import secrets

import pytest
from django.conf import settings

from bench.run import Server
from tests.contract import openapi_schema

LIMIT = settings.MAX_URL_LENGTH
TOO_LONG = {
    "status": 414,
    "code": "uri_too_long",
    "detail": f"The address (path and query string) is longer than {LIMIT:,} characters.",
    "errors": {},
}


def padded(path: str, length: int) -> str:
    """``path`` with a query string that makes the address exactly ``length`` long."""
    prefix = f"{path}?q="
    return prefix + "x" * (length - len(prefix))


@pytest.mark.parametrize("path", ["/api/v1/articles/", "/api/v1/ads/", "/api/v1/nope/"])
def test_an_address_past_the_limit_is_the_apis_414(client, path):
    response = client.get(padded(path, LIMIT + 1))
    assert response.status_code == 414
    assert response.json() == TOO_LONG


def test_a_long_path_is_measured_too(client):
    response = client.get("/api/v1/articles/" + "a" * LIMIT + "/")
    assert response.status_code == 414
    assert response.json() == TOO_LONG


def test_percent_encoded_bytes_count_as_sent(client):
    # 3 characters each on the wire, one in the decoded path.
    response = client.get("/api/v1/articles/" + "%C3%A9" * (LIMIT // 6 + 1) + "/")
    assert response.status_code == 414


@pytest.mark.django_db
def test_an_address_of_the_limit_is_answered(client):
    response = client.get(padded("/api/v1/articles/", LIMIT))
    assert response.status_code == 200


def test_a_page_past_the_limit_is_a_plain_414(client):
    response = client.get(padded("/", LIMIT + 1))
    assert response.status_code == 414
    assert response["Content-Type"] == "text/plain; charset=utf-8"


def test_every_operation_documents_the_414_and_the_400_of_a_malformed_request():
    for path, operations in openapi_schema()["paths"].items():
        for method, operation in operations.items():
            if method != "options":
                assert {"400", "414"} <= set(operation["responses"]), (method, path)


def test_the_limit_must_leave_the_app_every_long_address():
    from tests.cms.test_settings import manage

    result = manage("check", env={"MAX_URL_LENGTH": "70000"})
    assert result.returncode != 0
    assert "MAX_URL_LENGTH must be between 256 and 65000." in result.stderr


# -- under the production server


@pytest.fixture(scope="module")
def granian():
    """Granian as the README runs it (DEBUG=0), on a free port; stopped by its own pid."""
    env = {
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        # What is tried here reads neither the database nor Redis.
        "DATABASE_URL": "sqlite:///:memory:",
        "REDIS_URL": "",
    }
    try:
        server = Server("granian", workers=1, threads=1, env=env)
    except SystemExit as error:  # its way of saying it did not start
        pytest.fail(str(error))
    yield server
    server.stop()


def get(server, target: str) -> tuple[int, str, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.putrequest("GET", target, skip_accept_encoding=True)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type") or "", response.read()
    finally:
        connection.close()


def test_granian_hands_a_long_address_to_the_app_which_answers_its_414(granian):
    status, content_type, body = get(granian, padded("/api/v1/health/", LIMIT + 1))
    assert (status, content_type) == (414, "application/json")
    assert json.loads(body) == TOO_LONG


def test_granian_answers_an_address_of_the_limit(granian):
    status, _content_type, body = get(granian, padded("/api/v1/health/", LIMIT))
    assert (status, json.loads(body)) == (200, {"status": "ok"})


@pytest.mark.parametrize("length", [20_000, 65_000])
def test_every_long_address_granian_takes_gets_the_apis_414(granian, length):
    status, content_type, body = get(granian, padded("/api/v1/health/", length))
    assert (status, content_type, json.loads(body)) == (414, "application/json", TOO_LONG)


def test_granian_refuses_a_request_line_of_65535_bytes_itself(granian):
    """What the README says of the server's own limit: an empty 414, no app involved."""
    status, _content_type, body = get(granian, padded("/api/v1/health/", 65_535))
    assert (status, body) == (414, b"")
