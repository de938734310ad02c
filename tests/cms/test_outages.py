"""What an error answers: the database not answering is a 503 with Retry-After (the API's
error format under /api/, the site's page elsewhere), with DEBUG on as well; any other
error a 500, in the API's error format under /api/. The real outage is in
tests/cms/test_database_restart.py; here views of this module raise what a view would."""

import pytest
from django.db import OperationalError
from django.test import Client
from django.urls import path

from cms.urls import handler404, handler500  # noqa: F401 - the urlconf's error handlers
from cms.urls import urlpatterns as product_urlpatterns


def database_gone(request):
    raise OperationalError("connection to server at 127.0.0.1, port 5432 failed")


def bug(request):
    raise RuntimeError("a bug")


urlpatterns = [
    path("api/v1/gone/", database_gone),
    path("gone/", database_gone),
    path("api/v1/bug/", bug),
    path("bug/", bug),
    *product_urlpatterns,  # the pages' links
]


@pytest.fixture
def client(settings):
    settings.ROOT_URLCONF = __name__
    return Client(raise_request_exception=False)


@pytest.mark.parametrize("debug", [False, True])
def test_the_database_not_answering_under_api_is_a_503_in_the_error_format(client, settings, debug):
    settings.DEBUG = debug
    response = client.get("/api/v1/gone/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "status": 503,
        "code": "unavailable",
        "detail": "A service this needs is not answering; try again shortly.",
        "errors": {},
    }


@pytest.mark.parametrize("debug", [False, True])
def test_the_database_not_answering_on_a_page_is_a_readable_503_page(client, settings, debug):
    settings.DEBUG = debug
    response = client.get("/gone/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "This page is unavailable right now" in page
    assert "Please try again in a moment." in page
    assert "OperationalError" not in page and "5432" not in page


def test_any_other_error_under_api_is_a_500_in_the_error_format(client):
    response = client.get("/api/v1/bug/")
    assert response.status_code == 500
    assert response.json() == {
        "status": 500,
        "code": "error",
        "detail": "A server error occurred.",
        "errors": {},
    }
    assert "Retry-After" not in response


def test_any_other_error_on_a_page_is_the_sites_500_page(client):
    response = client.get("/bug/")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
    assert "Something went wrong" in response.content.decode()
