import pytest
from django.core.management import call_command

from cms.demo import FEATURE_SLUG
from cms.models import Article, Author, Topic

pytestmark = pytest.mark.django_db


def load():
    call_command("load_demo_data", admin_password="pw", stdout=open("/dev/null", "w"))  # noqa: SIM115


def test_demo_data_is_shaped_like_the_seed_page_and_loads_twice_without_change(api_client):
    load()
    counts = (Article.objects.count(), Topic.objects.count(), Author.objects.count())
    load()
    assert (Article.objects.count(), Topic.objects.count(), Author.objects.count()) == counts
    assert Article.objects.live().count() >= 13

    feature = api_client.get(f"/api/v1/articles/{FEATURE_SLUG}/").json()
    assert feature["reading_minutes"] == 4
    assert feature["author"]["role"] == "Reporter"
    assert feature["author"]["region"] == "Asia Pacific"
    assert [t["name"] for t in feature["topics"]] == ["Microsoft", "TikTok", "Technology"]
    kinds = [block["type"] for block in feature["body"]]
    assert {"paragraph", "quote", "image", "heading", "list"} <= set(kinds)
    image = next(block for block in feature["body"] if block["type"] == "image")
    assert image["image"]["caption"]
    assert {r["name"] for r in feature["hero"]["renditions"]} >= {"thumbnail", "large"}
    assert feature["more_from"]["topic"]["name"] == "Microsoft"
    assert len(feature["more_from"]["articles"]) == 4
