import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_schema_documents_the_new_endpoints_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    schema = out.read_text()
    for path in (
        "/api/v1/sponsors/{slug}/articles/",
        "/api/v1/insights/",
        "/api/v1/submissions/{id}/",
        "'429':",
        "multipart/form-data",
        "/api/v1/ad-ops/sponsors/{id}/",
        "/api/v1/ad-ops/labels/{id}/",
        "/api/v1/ad-ops/sponsorships/{id}/",
        "/api/v1/ad-ops/countdowns/{id}/extend/",
        "/api/v1/ad-ops/countdowns/{id}/extensions/",
    ):
        assert path in schema
