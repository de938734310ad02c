"""The OpenAPI schema as client generators and the Swagger page read it: every operation in
one audience's tag, named by an id that reads as a call, with a request type per media type."""

import re

import pytest

from tests.contract import openapi_schema

AUDIENCES = ["public", "partner", "ad-ops"]
READABLE_ID = re.compile(r"[a-z]+(_[a-z]+)+")


def operations():
    for path, item in openapi_schema()["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                yield path, method, operation


def test_every_operation_has_one_audience_tag_and_a_readable_unique_id():
    ids = []
    for path, method, operation in operations():
        where = f"{method.upper()} {path}"
        assert len(operation.get("tags", [])) == 1, where
        assert operation["tags"][0] in AUDIENCES, where
        assert READABLE_ID.fullmatch(operation["operationId"]), (where, operation["operationId"])
        assert not operation["operationId"].startswith("v1_"), where
        ids.append(operation["operationId"])
    assert len(ids) > 90
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_the_three_audiences_are_described_in_this_order():
    tags = openapi_schema()["tags"]
    assert [tag["name"] for tag in tags] == AUDIENCES
    assert all(tag["description"] for tag in tags)


@pytest.mark.parametrize(
    "method, path, operation_id, tag",
    [
        ("get", "/api/v1/articles/", "list_articles", "public"),
        ("get", "/api/v1/articles/{slug}/", "get_article", "public"),
        ("head", "/api/v1/articles/{slug}/", "get_article_head", "public"),
        ("get", "/api/v1/topics/{slug}/articles/", "list_topic_articles", "public"),
        ("get", "/api/v1/countdowns/{slug}/", "get_countdown", "public"),
        ("get", "/api/v1/pages/articles/{slug}/", "get_article_page", "public"),
        ("get", "/api/v1/ads/", "get_page_decision", "public"),
        ("options", "/api/v1/ads/", "get_page_decision_options", "public"),
        ("get", "/api/v1/ads/impression/{token}/", "send_impression", "public"),
        ("post", "/api/v1/ads/impression/{token}/", "send_impression_beacon", "public"),
        ("get", "/api/v1/ads/click/{token}/", "follow_click", "public"),
        ("get", "/api/v1/reads/{token}/", "send_read", "public"),
        ("get", "/api/v1/trending/", "list_trending", "public"),
        ("post", "/api/v1/submissions/", "create_submission", "partner"),
        ("patch", "/api/v1/submissions/{id}/", "update_submission", "partner"),
        ("delete", "/api/v1/submissions/{id}/", "delete_submission", "partner"),
        ("post", "/api/v1/ad-ops/creatives/", "create_creative", "ad-ops"),
        ("put", "/api/v1/ad-ops/creatives/{id}/", "replace_creative", "ad-ops"),
        ("post", "/api/v1/ad-ops/campaigns/{id}/pause/", "pause_campaign", "ad-ops"),
        ("post", "/api/v1/ad-ops/campaigns/{id}/duplicate/", "duplicate_campaign", "ad-ops"),
        ("get", "/api/v1/ad-ops/sponsors/", "list_staff_sponsors", "ad-ops"),
        ("post", "/api/v1/ad-ops/countdowns/{id}/extend/", "extend_staff_countdown", "ad-ops"),
        (
            "get",
            "/api/v1/ad-ops/countdowns/{id}/extensions/",
            "list_staff_countdown_extensions",
            "ad-ops",
        ),
        ("get", "/api/v1/ad-ops/reports/delivery/", "get_delivery_report", "ad-ops"),
    ],
)
def test_operations_are_named_and_tagged_as_their_callers_say_them(method, path, operation_id, tag):
    operation = openapi_schema()["paths"][path][method]
    assert operation["operationId"] == operation_id
    assert operation["tags"] == [tag]


def test_anonymous_operations_ask_for_no_token_and_the_others_for_one():
    for path, method, operation in operations():
        if operation["tags"] == ["public"]:
            # Generators read any `security`, even `[{}]`, as "needs a token".
            assert "security" not in operation, f"{method.upper()} {path}"
        else:
            assert {"tokenAuth": []} in operation["security"], f"{method.upper()} {path}"
            assert {} not in operation["security"], f"{method.upper()} {path}"


def _component(ref: str) -> dict:
    return openapi_schema()["components"]["schemas"][ref.rsplit("/", 1)[-1]]


def test_each_media_type_of_a_request_has_its_own_component():
    """With one component shared by JSON and multipart, a generated client cannot tell the
    two apart and always sends multipart."""
    both = 0
    for path, method, operation in operations():
        content = operation.get("requestBody", {}).get("content", {})
        refs = [media["schema"]["$ref"] for media in content.values()]
        assert len(refs) == len(set(refs)), f"{method.upper()} {path}"
        if "multipart/form-data" in content:
            both += 1
            assert content["multipart/form-data"]["schema"]["$ref"].endswith("MultipartRequest")
    assert both == 8  # creatives and staff sponsors (POST, PUT, PATCH); submissions (POST, PATCH)


@pytest.mark.parametrize(
    "method, path", [("post", "/submissions/"), ("patch", "/submissions/{id}/")]
)
def test_a_submission_body_is_the_same_blocks_in_json_and_in_multipart(method, path):
    """In a form an array of objects is one part per item, each JSON (OpenAPI's default
    encoding), which is what generated clients send and the API reads."""
    content = openapi_schema()["paths"][f"/api/v1{path}"][method]["requestBody"]["content"]
    as_json = _component(content["application/json"]["schema"]["$ref"])["properties"]
    as_form = _component(content["multipart/form-data"]["schema"]["$ref"])["properties"]
    for body in (as_json["body"], as_form["body"]):
        assert body["type"] == "array"
        assert body["items"]["$ref"].endswith("/SubmissionBlockRequest")
        assert body["maxItems"] == 100
    assert as_form["hero_image"]["format"] == "binary"


def test_no_field_of_a_multipart_request_is_nullable():
    """A form part is text; an empty one clears a field that allows null."""
    for name, component in openapi_schema()["components"]["schemas"].items():
        if name.endswith("MultipartRequest"):
            for field, spec in component["properties"].items():
                assert "nullable" not in spec, f"{name}.{field}"
