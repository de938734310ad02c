"""The demo inventory serves the demo article's three slots, and loading it twice is safe."""

import io

import pytest
from django.core.management import call_command
from rest_framework.authtoken.models import Token

from sponsors.models import Campaign, Creative, Slot

pytestmark = pytest.mark.django_db

DEMO_PAGE = (
    "/api/v1/ads/?slots=sitewide-strip,leaderboard,article-sidebar"
    "&topics=microsoft,tiktok,technology"
    "&article=video-app-turns-down-software-giant-as-cloud-deal-talk-grows&viewer=reader-1"
)


def test_demo_serves_strip_leaderboard_and_sidebar_for_the_demo_article(api_client):
    call_command("load_demo_data", "--admin-password", "pw", stdout=io.StringIO())
    counts = (Slot.objects.count(), Campaign.objects.count(), Creative.objects.count())
    call_command("load_demo_data", "--admin-password", "pw", stdout=io.StringIO())
    assert (Slot.objects.count(), Campaign.objects.count(), Creative.objects.count()) == counts

    slots = api_client.get(DEMO_PAGE).json()["slots"]
    assert slots["sitewide-strip"]["kind"] == "text"
    strip = slots["sitewide-strip"]
    assert strip["text"]["headline"] == "The Lantern Awards for Marketing"
    # The strip counts down to the awards' extended deadline, showing the original time too.
    assert strip["countdown"]["label"] == "Extended deadline"
    assert strip["countdown"]["extended"] is True
    assert strip["countdown"]["original_deadline"] < strip["countdown"]["deadline"]
    assert (slots["leaderboard"]["kind"], slots["leaderboard"]["width"]) == ("image", 728)
    assert slots["article-sidebar"]["house"] is False
    assert all(not ad["house"] for ad in slots.values())

    # A page about something else still fills the leaderboard: its house creative.
    other = api_client.get("/api/v1/ads/?slots=leaderboard&topics=brand-strategy").json()
    assert other["slots"]["leaderboard"]["house"] is True


def test_demo_ad_ops_login_reads_the_staff_api_with_its_token(api_client):
    call_command("load_demo_data", "--admin-password", "pw", stdout=io.StringIO())
    token = Token.objects.get(user__username="adops")
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    campaigns = api_client.get("/api/v1/ad-ops/campaigns/?state=live")
    assert campaigns.status_code == 200
    assert campaigns.json()["count"] >= 3
    assert api_client.get("/api/v1/ad-ops/reports/delivery/").status_code == 200
    assert not token.user.is_superuser


def test_demo_delivery_puts_one_campaign_behind_pace_and_one_ahead_with_rollups_in_step():
    from django.db.models import Sum

    from sponsors import pacing
    from sponsors.models import DailyDeliveryCounter, DeliveryCounter

    call_command("load_demo_data", "--admin-password", "pw", stdout=io.StringIO())
    hourly = DeliveryCounter.objects.aggregate(i=Sum("impressions"), k=Sum("clicks"))
    call_command("load_demo_data", "--admin-password", "pw", stdout=io.StringIO())
    again = DeliveryCounter.objects.aggregate(i=Sum("impressions"), k=Sum("clicks"))
    assert abs(again["i"] - hourly["i"]) < hourly["i"] * 0.01  # replaced, not added to

    statuses = {
        campaign.name: pacing.campaign_pacing(campaign).status
        for campaign in pacing.with_delivered(Campaign.objects.filter(impression_goal__gt=0))
    }
    assert statuses == {
        "Contoso Cloud: media platforms": pacing.BEHIND,
        "Fabrikam Studio: creators": pacing.AHEAD,
    }
    assert [c.name for c, _ in pacing.behind_pace()] == ["Contoso Cloud: media platforms"]
    daily = DailyDeliveryCounter.objects.aggregate(i=Sum("impressions"), k=Sum("clicks"))
    assert daily == DeliveryCounter.objects.aggregate(i=Sum("impressions"), k=Sum("clicks"))
