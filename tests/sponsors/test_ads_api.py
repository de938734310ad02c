"""The front-end ads API: one request for a page, its shape, its errors, its query count."""

import datetime as dt
from urllib.parse import parse_qsl, urlparse

import pytest
from django.core.management import call_command

from sponsors import ad_ops
from sponsors.api.ads import query_params
from sponsors.inventory_cache import forget_memo
from sponsors.models import Campaign, Creative
from tests.cms.factories import TopicFactory
from tests.sponsors.factories_ads import (
    CampaignFactory,
    CreativeFactory,
    ImageCreativeFactory,
    SlotFactory,
)

pytestmark = pytest.mark.django_db

PAGE = "/api/v1/ads/?slots=sitewide-strip,leaderboard,article-sidebar&topics=microsoft,tiktok"


@pytest.fixture
def page_inventory():
    strip = SlotFactory(key="sitewide-strip", accepts_image=False)
    leaderboard = SlotFactory(key="leaderboard", width=728, height=90, accepts_text=False)
    sidebar = SlotFactory(key="article-sidebar", width=300, height=250)
    microsoft, tiktok = TopicFactory(name="Microsoft"), TopicFactory(name="TikTok")
    campaign = CampaignFactory(frequency_cap=3, impression_goal=1000)
    CreativeFactory(
        campaign=CampaignFactory(tier=Campaign.Tier.SPONSORSHIP),
        name="Strip",
        headline="Awards: extended deadline",
        cta_label="Enter now",
        slots=[strip],
    )
    banner = ImageCreativeFactory(
        campaign=campaign, name="Banner", size=(728, 90), include=[microsoft], slots=[leaderboard]
    )
    CreativeFactory(campaign=campaign, name="Sidebar", include=[tiktok], slots=[sidebar])
    return {"strip": strip, "leaderboard": leaderboard, "sidebar": sidebar, "banner": banner}


def test_page_request_answers_every_slot_with_its_creative(api_client, page_inventory):
    response = api_client.get(PAGE + "&viewer=reader-1&article=some-story")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store, private"
    body = response.json()
    assert set(body) == {"slots", "unknown_slots", "server_time"}
    assert list(body["slots"]) == ["sitewide-strip", "leaderboard", "article-sidebar"]
    strip = body["slots"]["sitewide-strip"]
    assert strip["kind"] == "text"
    assert strip["text"] == {
        "headline": "Awards: extended deadline",
        "body": "The deadline is near.",
        "cta_label": "Enter now",
    }
    assert strip["image"] is None
    assert strip["countdown"] is None
    banner = body["slots"]["leaderboard"]
    assert (banner["kind"], banner["width"], banner["height"]) == ("image", 728, 90)
    assert banner["image"]["alt"] == "A banner"
    renditions = {r["name"]: r for r in banner["image"]["renditions"]}
    assert renditions["original"]["width"] == 728
    assert renditions["thumbnail"]["width"] == 320
    assert renditions["thumbnail"]["url"].startswith("http://testserver/media/renditions/")
    assert body["slots"]["article-sidebar"]["text"]["headline"] == "Enter the awards"
    for ad in body["slots"].values():
        assert urlparse(ad["impression_url"]).path.startswith("/api/v1/ads/impression/")
        assert urlparse(ad["click_url"]).path.startswith("/api/v1/ads/click/")
        assert ad["house"] is False
    assert body["unknown_slots"] == []


def test_slot_with_nothing_to_serve_is_null_and_unknown_slots_are_listed(
    api_client, page_inventory
):
    response = api_client.get("/api/v1/ads/?slots=leaderboard,no-such-slot,article-sidebar")
    assert response.status_code == 200
    body = response.json()
    assert body["slots"] == {"leaderboard": None, "article-sidebar": None}  # targeted elsewhere
    assert body["unknown_slots"] == ["no-such-slot"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("", "slots"),
        ("?slots=", "slots"),
        ("?slots=,,,", "slots"),
        ("?slots=Leader%20Board", "slots"),
        ("?slots=" + ",".join(f"s{n}" for n in range(11)), "slots"),
        ("?slots=" + "a" * 51, "slots"),
        ("?slots=a&topics=%3Cscript%3E", "topics"),
        ("?slots=a&topics=" + ",".join(f"t{n}" for n in range(21)), "topics"),
        ("?slots=a&viewer=" + "v" * 65, "viewer"),
        ("?slots=a&viewer=bad%20viewer", "viewer"),
        ("?slots=a&viewer=%00", "viewer"),
        ("?slots=a&article=../../etc/passwd", "article"),
        ("?slots=a%27%20OR%201%3D1", "slots"),
        ("?slots=a&viewer=abc%0A", "viewer"),
        ("?slots=a&article=story%0A", "article"),
        ("?slots=a%0Ab", "slots"),
        ("?slots=a" + "&x=1" * 20, "non_field_errors"),
    ],
)
def test_bad_parameters_answer_400_in_the_error_format(api_client, query, field):
    response = api_client.get("/api/v1/ads/" + query)
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == 400
    assert body["code"] == "invalid"
    assert field in body["errors"]


@pytest.mark.parametrize(
    "query",
    [
        "",
        "slots=a,b&topics=tiktok&viewer=v-1",
        "slots=a&slots=b",
        "slots=&topics=x",
        "slots",
        "=x&slots=a",
        "slots=a=b",
        "slots=a&&topics=b&",
        "topics=a%2Cb&slots=c+d",
        "viewer=%E2%9C%93&slots=%",
    ],
)
def test_query_params_reads_the_query_string_as_parse_qsl_does(query):
    assert query_params(query) == dict(parse_qsl(query))


def test_warm_decision_makes_no_sql_query(api_client, page_inventory, django_assert_num_queries):
    url = PAGE + "&viewer=reader-1"
    api_client.get(url)  # cold: builds and caches the snapshot, reads totals once
    forget_memo()
    api_client.get(url)  # this process takes the snapshot from the shared cache
    # Warm: version key GET (cache), counters (cache/Redis); no SQL at all.
    with django_assert_num_queries(0):
        response = api_client.get(url)
    assert response.status_code == 200
    assert all(response.json()["slots"].values())


def test_warm_decision_query_count_does_not_grow_with_inventory(
    api_client, django_assert_num_queries
):
    slot = SlotFactory(key="sidebar")
    campaign = CampaignFactory(impression_goal=10_000, frequency_cap=5)
    CreativeFactory.create_batch(40, campaign=campaign, slots=[slot])
    api_client.get("/api/v1/ads/?slots=sidebar&viewer=v")
    with django_assert_num_queries(0):
        assert api_client.get("/api/v1/ads/?slots=sidebar&viewer=v").json()["slots"]["sidebar"]


def test_a_save_is_served_on_the_next_request(api_client, page_inventory):
    assert api_client.get(PAGE).json()["slots"]["sitewide-strip"]["text"]["cta_label"] == (
        "Enter now"
    )
    strip = Creative.objects.get(name="Strip")
    strip.cta_label = "Last chance"
    strip.save()
    assert api_client.get(PAGE).json()["slots"]["sitewide-strip"]["text"]["cta_label"] == (
        "Last chance"
    )


def test_bulk_pause_and_resume_are_served_on_the_next_request(api_client, page_inventory):
    ad_ops.inventory_set_active(rows=Creative.objects.filter(name="Strip"), active=False)
    assert api_client.get(PAGE).json()["slots"]["sitewide-strip"] is None
    ad_ops.inventory_set_active(rows=Campaign.objects.all(), active=False)
    assert api_client.get(PAGE).json()["slots"]["leaderboard"] is None
    ad_ops.inventory_set_active(rows=Campaign.objects.all(), active=True)
    ad_ops.inventory_set_active(rows=Creative.objects.all(), active=True)
    assert all(api_client.get(PAGE).json()["slots"].values())


def test_new_slot_assignment_and_deletion_are_served_on_the_next_request(
    api_client, page_inventory
):
    sidebar = page_inventory["sidebar"]
    extra = CreativeFactory(name="Extra", campaign=CampaignFactory(tier=Campaign.Tier.SPONSORSHIP))
    assert api_client.get(PAGE).json()["slots"]["article-sidebar"]["creative_id"] != extra.pk
    ad_ops.creative_save(creative=extra, slots=[sidebar])
    assert api_client.get(PAGE).json()["slots"]["article-sidebar"]["creative_id"] == extra.pk
    extra.delete()
    assert api_client.get(PAGE).json()["slots"]["article-sidebar"]["creative_id"] != extra.pk


def test_house_creative_is_flagged(api_client):
    house = CreativeFactory(
        name="House", campaign=CampaignFactory(tier=Campaign.Tier.HOUSE, ends_at=None)
    )
    SlotFactory(key="sidebar", house_creative=house)
    ad = api_client.get("/api/v1/ads/?slots=sidebar").json()["slots"]["sidebar"]
    assert (ad["creative_id"], ad["house"]) == (house.pk, True)


def test_campaign_end_stops_serving_without_any_change(api_client, page_inventory):
    import time_machine

    end = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    Campaign.objects.update(ends_at=end)
    ad_ops.inventory_set_active(rows=Campaign.objects.all(), active=True)  # no-op, no bump
    Creative.objects.first().save()  # bump: the new end dates are served
    with time_machine.travel(end - dt.timedelta(seconds=1), tick=False):
        assert api_client.get(PAGE).json()["slots"]["sitewide-strip"] is not None
    with time_machine.travel(end, tick=False):
        assert api_client.get(PAGE).json()["slots"]["sitewide-strip"] is None


def test_schema_describes_the_ads_endpoints_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    schema = out.read_text()
    for path in (
        "/api/v1/ads/:",
        "/api/v1/ads/impression/{token}/:",
        "/api/v1/ads/click/{token}/:",
    ):
        assert path in schema
    assert "AdDecision" in schema


def test_fast_rendering_matches_the_documented_shape(api_client, page_inventory):
    import json
    import random

    from django.utils import timezone

    from sponsors.api.ads import decision_data, render_decision
    from sponsors.decision import NoCounters, PageContext, decide
    from sponsors.inventory_cache import get_inventory

    now = timezone.now()
    decision = decide(
        get_inventory(),
        ["sitewide-strip", "leaderboard", "article-sidebar", "nope"],
        PageContext(topics=("microsoft",), viewer="v1"),
        now=now,
        counters=NoCounters(),
        rng=random.Random(1),
    )
    rendered = json.loads(render_decision(decision, "v1", "http://testserver", now))
    expected = decision_data(decision, "v1", "http://testserver", now)
    for ad in (*rendered["slots"].values(), *expected["slots"].values()):
        if ad:  # the tokens carry the signing time: compare their payloads only
            ad["impression_url"] = ad["impression_url"].rsplit(":", 2)[0]
            ad["click_url"] = ad["click_url"].rsplit(":", 2)[0]
    assert rendered == expected
    assert rendered["slots"]["article-sidebar"] is None
    assert rendered["unknown_slots"] == ["nope"]
