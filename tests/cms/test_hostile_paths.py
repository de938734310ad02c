"""A slug in a path that no slug can be (a NUL byte, which PostgreSQL refuses in text, or
characters outside slugs) is the API's 404 before any query, never a 500."""

import pytest

from tests.cms.factories import ArticleFactory

SLUG_ROUTES = [
    "/api/v1/articles/{}/",
    "/api/v1/topics/{}/",
    "/api/v1/topics/{}/articles/",
    "/api/v1/authors/{}/",
    "/api/v1/authors/{}/articles/",
    "/api/v1/sponsors/{}/",
    "/api/v1/sponsors/{}/articles/",
    "/api/v1/countdowns/{}/",
    "/api/v1/pages/articles/{}/",
]


@pytest.mark.parametrize("route", SLUG_ROUTES)
@pytest.mark.parametrize("slug", ["%00", "a%00b", "caf%C3%A9", "%F0%9F%92%A5", "a" * 300 + "%00"])
def test_an_impossible_slug_is_the_apis_404(db, client, django_assert_num_queries, route, slug):
    ArticleFactory()
    with django_assert_num_queries(0):
        response = client.get(route.format(slug))
    assert response.status_code == 404
    assert response.json() == {
        "status": 404,
        "code": "not_found",
        "detail": "Not found.",
        "errors": {},
    }


def test_the_schema_declares_what_a_slug_may_be(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    for route in SLUG_ROUTES:
        path = route.replace("{}", "{slug}")
        parameters = schema["paths"][path]["get"]["parameters"]
        slug = next(p for p in parameters if p["name"] == "slug")
        assert slug["schema"]["pattern"] == "^[-a-zA-Z0-9_]+$", path
