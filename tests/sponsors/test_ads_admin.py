"""The ad-ops admin: lists with states and previews, actions, validation, the slot preview."""

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.models import Permission, User

from sponsors.models import Campaign, Creative, DeliveryCounter, Slot
from tests.cms.factories import ArticleFactory, TopicFactory
from tests.images import image_bytes, upload
from tests.sponsors.factories_ads import (
    CampaignFactory,
    CreativeFactory,
    ImageCreativeFactory,
    SlotFactory,
)
from tests.sponsors.reporting import count

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def frozen():
    # States (live, scheduled, ended) and the preview's "now" are read from the clock.
    with time_machine.travel(NOW, tick=False):
        yield


def make_rows(n: int) -> None:
    topic = TopicFactory(name="TikTok")
    for i in range(n):
        slot = SlotFactory(key=f"slot-{i}")
        campaign = CampaignFactory(frequency_cap=3)
        creative = CreativeFactory(campaign=campaign, slots=[slot], include=[topic], exclude=[])
        slot.house_creative = creative
        slot.save()
        DeliveryCounter.objects.create(
            hour=NOW, creative=creative, slot=slot, impressions=10, clicks=1
        )


# Every changelist: session, user, then the list's own queries. Pinned for 1 and 12 rows.
CHANGELISTS = {
    # session, user; count (filtered), count (total); slots joined to their house creative
    # with the live-creative count annotated
    "/admin/sponsors/slot/": 5,
    # session, user; sponsors (filter); count x2; campaigns joined to sponsors with delivered
    # and creative counts annotated; date hierarchy (min/max, days)
    "/admin/sponsors/campaign/": 8,
    # session, user; slots (filter); count x2; creatives joined to campaign and sponsor;
    # prefetch slots, include topics, exclude topics
    "/admin/sponsors/creative/": 9,
    # session, user; slots (filter); count x2; counters joined to creative, campaign and
    # slot; date hierarchy (min/max, days)
    "/admin/sponsors/deliverycounter/": 8,
}


@pytest.mark.parametrize("url", list(CHANGELISTS))
@pytest.mark.parametrize("rows", [1, 12])
def test_changelist_query_count_does_not_grow_with_rows(
    admin_client, django_assert_num_queries, url, rows
):
    make_rows(rows)
    with django_assert_num_queries(CHANGELISTS[url]):
        response = admin_client.get(url)
    assert response.status_code == 200


def test_campaign_list_shows_state_delivery_and_cap(admin_client):
    campaign = CampaignFactory(name="Cloud launch", impression_goal=1000, frequency_cap=3)
    creative = CreativeFactory(campaign=campaign)
    slot = SlotFactory(key="sidebar")
    count(NOW, creative, slot, 250)
    html = admin_client.get("/admin/sponsors/campaign/").content.decode()
    assert "Cloud launch" in html
    assert "Live" in html
    assert '<td class="field-delivered_count">250</td>' in html
    assert '<td class="field-goal">1,000</td>' in html
    assert "3 per day" in html


@pytest.mark.parametrize(
    ("state", "expected"),
    [("live", "Live one"), ("scheduled", "Later"), ("ended", "Over"), ("paused", "Stopped")],
)
def test_state_filters(admin_client, state, expected):
    CampaignFactory(name="Live one")
    CampaignFactory(name="Later", starts_at=NOW + dt.timedelta(days=1))
    CampaignFactory(
        name="Over", starts_at=NOW - dt.timedelta(days=5), ends_at=NOW - dt.timedelta(days=1)
    )
    CampaignFactory(name="Stopped", is_active=False)
    response = admin_client.get(f"/admin/sponsors/campaign/?state={state}")
    names = [c.name for c in response.context["cl"].result_list]
    assert names == [expected]
    creative_names = {
        c.campaign.name
        for c in admin_client.get(f"/admin/sponsors/creative/?state={state}")
        .context["cl"]
        .result_list
    }
    assert creative_names <= {expected}


def test_creative_list_shows_image_previews_and_targeting(admin_client):
    slot = SlotFactory(key="leaderboard", width=728, height=90)
    tiktok = TopicFactory(name="TikTok")
    ImageCreativeFactory(name="Banner", slots=[slot], include=[tiktok])
    html = admin_client.get("/admin/sponsors/creative/").content.decode()
    assert '<img src="/media/renditions/' in html
    assert "only TikTok" in html
    assert "leaderboard" in html


def test_pause_and_resume_actions_report_counts(admin_client):
    campaigns = [CampaignFactory(), CampaignFactory(is_active=False)]
    ids = [str(c.pk) for c in campaigns]
    response = admin_client.post(
        "/admin/sponsors/campaign/",
        {"action": "pause", "_selected_action": ids},
        follow=True,
    )
    assert "1 campaign(s) paused." in response.content.decode()
    assert not Campaign.objects.filter(is_active=True).exists()
    response = admin_client.post(
        "/admin/sponsors/campaign/",
        {"action": "resume", "_selected_action": ids},
        follow=True,
    )
    assert "2 campaign(s) resumed." in response.content.decode()
    creative = CreativeFactory()
    response = admin_client.post(
        "/admin/sponsors/creative/",
        {"action": "pause", "_selected_action": [creative.pk]},
        follow=True,
    )
    assert "1 creative(s) paused." in response.content.decode()
    creative.refresh_from_db()
    assert not creative.is_active


def test_duplicate_campaign_copies_creatives_paused_with_their_own_files(admin_client):
    slot = SlotFactory(key="leaderboard", width=728, height=90)
    tiktok = TopicFactory(name="TikTok")
    campaign = CampaignFactory(name="Spring", frequency_cap=2, impression_goal=500)
    original = ImageCreativeFactory(
        campaign=campaign, name="Banner", slots=[slot], include=[tiktok]
    )
    response = admin_client.post(
        "/admin/sponsors/campaign/",
        {"action": "duplicate", "_selected_action": [campaign.pk]},
        follow=True,
    )
    assert "1 campaign(s) duplicated, paused: Copy of Spring" in response.content.decode()
    copy = Campaign.objects.get(name="Copy of Spring")
    assert (copy.is_active, copy.frequency_cap, copy.impression_goal) == (False, 2, 500)
    clone = copy.creatives.get()
    assert clone.name == "Banner"
    assert list(clone.slots.all()) == [slot]
    assert list(clone.include_topics.all()) == [tiktok]
    assert clone.image.name != original.image.name
    assert (
        clone.image_renditions["thumbnail"]["path"]
        != original.image_renditions["thumbnail"]["path"]
    )


def creative_form(campaign, slot, **extra):
    data = {
        "campaign": campaign.pk,
        "name": "New banner",
        "kind": "image",
        "is_active": "on",
        "weight": 1,
        "click_url": "https://advertiser.example.com/",
        "alt_text": "A banner",
        "headline": "",
        "body": "",
        "cta_label": "",
        "when_countdown_closes": "stop",
        "slots": [slot.pk],
    }
    data.update(extra)
    return data


def test_creative_form_refuses_an_image_that_does_not_fit_its_slots(admin_client):
    campaign = CampaignFactory()
    slot = SlotFactory(key="leaderboard", width=728, height=90)
    data = creative_form(
        campaign, slot, image=upload("big.png", image_bytes("PNG", size=(970, 250)))
    )
    response = admin_client.post("/admin/sponsors/creative/add/", data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "does not fit leaderboard" in str(errors["slots"])
    assert not Creative.objects.exists()

    data["image"] = upload("ok.png", image_bytes("PNG", size=(728, 90)))
    response = admin_client.post("/admin/sponsors/creative/add/", data)
    assert response.status_code == 302
    creative = Creative.objects.get()
    assert (creative.image_width, creative.image_height) == (728, 90)


def test_creative_form_refuses_non_http_click_urls_and_kinds_a_slot_does_not_take(admin_client):
    campaign = CampaignFactory()
    slot = SlotFactory(key="leaderboard", width=728, height=90, accepts_text=False)
    data = creative_form(
        campaign,
        slot,
        kind="text",
        headline="Hello",
        cta_label="Go",
        click_url="javascript:alert(1)",
    )
    response = admin_client.post("/admin/sponsors/creative/add/", data)
    errors = response.context["adminform"].form.errors
    assert "click_url" in errors
    data["click_url"] = "https://advertiser.example.com/"
    response = admin_client.post("/admin/sponsors/creative/add/", data)
    errors = response.context["adminform"].form.errors
    assert "does not accept text promo strips" in str(errors["slots"])


def test_slot_form_refuses_a_size_that_strands_its_creatives(admin_client):
    slot = SlotFactory(key="leaderboard", name="Leaderboard", width=728, height=90)
    ImageCreativeFactory(name="Banner", size=(728, 90), slots=[slot])
    response = admin_client.post(
        f"/admin/sponsors/slot/{slot.pk}/change/",
        {
            "key": "leaderboard",
            "name": "Leaderboard",
            "width": 468,
            "height": 60,
            "accepts_image": "on",
            "is_active": "on",
        },
    )
    assert response.status_code == 200
    assert "would no longer fit" in response.content.decode()
    slot.refresh_from_db()
    assert slot.width == 728


def test_slot_preview_explains_what_serves_and_why_the_rest_does_not(admin_client):
    tiktok, microsoft = TopicFactory(name="TikTok"), TopicFactory(name="Microsoft")
    slot = SlotFactory(key="article-sidebar", width=300, height=250)
    house = CreativeFactory(
        name="House promo", campaign=CampaignFactory(tier=Campaign.Tier.HOUSE, ends_at=None)
    )
    slot.house_creative = house
    slot.save()
    CreativeFactory(name="Targeted at TikTok", include=[tiktok], slots=[slot])
    CreativeFactory(name="Not on Microsoft pages", exclude=[microsoft], slots=[slot])
    CreativeFactory(name="Paused one", is_active=False, slots=[slot])
    CreativeFactory(
        name="Next month",
        campaign=CampaignFactory(
            starts_at=NOW + dt.timedelta(days=30), ends_at=NOW + dt.timedelta(days=60)
        ),
        slots=[slot],
    )
    ImageCreativeFactory(name="Too wide", size=(728, 90), slots=[slot])
    CreativeFactory(
        name="Lower tier", campaign=CampaignFactory(tier=Campaign.Tier.HOUSE), slots=[slot]
    )
    article = ArticleFactory(topics=[tiktok, microsoft])

    response = admin_client.get(
        "/admin/sponsors/slot/preview/", {"slot": slot.pk, "article": article.pk}
    )
    assert response.status_code == 200
    explanation = response.context["explanation"]
    reasons = {v.creative.name: v.reason for v in explanation.verdicts}
    assert reasons["Targeted at TikTok"] == "eligible: 100.0% of views (weight 1 of 1)"
    assert reasons["Not on Microsoft pages"] == "excluded on pages about microsoft"
    assert reasons["Paused one"] == "paused"
    assert reasons["Next month"].startswith("scheduled: the campaign starts")
    assert "does not fit article-sidebar" in reasons["Too wide"]
    assert reasons["Lower tier"] == "outranked: a Standard creative is eligible"
    assert reasons["House promo"] == "house creative: shown only when nothing else qualifies"
    assert explanation.sample.creative.name == "Targeted at TikTok"
    html = response.content.decode()
    assert "One decision now served" in html

    # Another page and time: nothing targeted qualifies, the house creative serves.
    later = NOW + dt.timedelta(days=40)
    response = admin_client.get(
        "/admin/sponsors/slot/preview/",
        {
            "slot": slot.pk,
            "topics": [microsoft.pk],
            "at_0": later.strftime("%Y-%m-%d"),
            "at_1": later.strftime("%H:%M"),
        },
    )
    explanation = response.context["explanation"]
    reasons = {v.creative.name: v.reason for v in explanation.verdicts}
    assert reasons["Targeted at TikTok"].startswith("ended ")
    assert reasons["Next month"] == "eligible: 100.0% of views (weight 1 of 1)"
    assert explanation.sample.creative.name == "Next month"


def test_slot_preview_reports_bad_input_as_form_errors(admin_client):
    SlotFactory(key="sidebar")
    response = admin_client.get(
        "/admin/sponsors/slot/preview/",
        {"slot": "999", "at_0": "2026-12-01", "at_1": "not a time", "viewer": "a b"},
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) == {"slot", "at", "viewer"}
    assert response.context["explanation"] is None


def test_slot_preview_needs_view_permission(client):
    user = User.objects.create_user("adops", password="pw", is_staff=True)
    client.force_login(user)
    assert client.get("/admin/sponsors/slot/preview/").status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="view_slot"))
    assert client.get("/admin/sponsors/slot/preview/").status_code == 200


def test_admin_edit_is_served_on_the_next_api_request(admin_client, api_client):
    slot = SlotFactory(key="sidebar")
    creative = CreativeFactory(name="Strip", headline="Old", slots=[slot])
    assert (
        api_client.get("/api/v1/ads/?slots=sidebar").json()["slots"]["sidebar"]["text"]["headline"]
        == "Old"
    )
    data = {
        "campaign": creative.campaign_id,
        "name": "Strip",
        "kind": "text",
        "is_active": "on",
        "weight": 1,
        "click_url": creative.click_url,
        "headline": "New",
        "body": "",
        "cta_label": "Go",
        "when_countdown_closes": "stop",
        "alt_text": "",
        "slots": [slot.pk],
    }
    response = admin_client.post(f"/admin/sponsors/creative/{creative.pk}/change/", data)
    assert response.status_code == 302
    ad = api_client.get("/api/v1/ads/?slots=sidebar").json()["slots"]["sidebar"]
    assert ad["text"]["headline"] == "New"
    assert Slot.objects.count() == 1


def test_the_admin_refuses_to_delete_what_has_delivery_counts(admin_client):
    slot = SlotFactory(key="strip")
    counted = CreativeFactory(name="Counted strip", slots=[slot])
    DeliveryCounter.objects.create(
        hour=dt.datetime(2026, 11, 2, tzinfo=dt.UTC), creative=counted, slot=slot, impressions=5
    )
    page = admin_client.get(f"/admin/sponsors/campaign/{counted.campaign_id}/delete/")
    html = page.content.decode()
    assert "Cannot delete campaign" in html
    assert "delivery count" in html
    admin_client.post(f"/admin/sponsors/creative/{counted.pk}/delete/", {"post": "yes"})
    admin_client.post(
        "/admin/sponsors/campaign/",
        {"action": "delete_selected", "_selected_action": [counted.campaign_id], "post": "yes"},
    )
    assert Creative.objects.filter(pk=counted.pk).exists()
    assert DeliveryCounter.objects.get().impressions == 5
    fresh = CreativeFactory(name="Never served")
    admin_client.post(f"/admin/sponsors/creative/{fresh.pk}/delete/", {"post": "yes"})
    assert not Creative.objects.filter(pk=fresh.pk).exists()


def test_delivery_counts_are_read_only_even_for_superusers(admin_client):
    creative, slot = CreativeFactory(name="Banner"), SlotFactory(key="strip")
    counter = DeliveryCounter.objects.create(hour=NOW, creative=creative, slot=slot, impressions=10)
    base = "/admin/sponsors/deliverycounter/"
    assert "Banner" in admin_client.get(base).content.decode()
    page = admin_client.get(f"{base}{counter.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert admin_client.post(f"{base}{counter.pk}/change/", {"impressions": 0}).status_code == 403
    assert admin_client.get(f"{base}{counter.pk}/delete/").status_code == 403
    assert admin_client.get(f"{base}add/").status_code == 403
    assert DeliveryCounter.objects.get().impressions == 10


def test_the_ad_ops_group_reads_uncounted_events_by_reason_and_cannot_change_them(client):
    from django.contrib.auth.models import Group

    from sponsors.models import UncountedCounter

    UncountedCounter.objects.create(hour=NOW, event="impression", reason="replayed", count=3)
    user = User.objects.create_user("adops", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name="Ad ops"))
    client.force_login(user)
    response = client.get("/admin/sponsors/uncountedcounter/?reason=replayed")
    assert response.status_code == 200
    assert "Replayed (already counted)" in response.content.decode()
    counter = UncountedCounter.objects.get()
    assert client.get(f"/admin/sponsors/uncountedcounter/{counter.pk}/delete/").status_code == 403
    assert client.get("/admin/sponsors/uncountedcounter/add/").status_code == 403


def test_delivery_counts_show_the_events_counted_apart_beside_each_row(admin_client):
    from sponsors.models import UncountedCounter

    creative, slot = CreativeFactory(name="Banner"), SlotFactory(key="strip")
    DeliveryCounter.objects.create(hour=NOW, creative=creative, slot=slot, impressions=10)
    for reason, n in (("replayed", 3), ("bot", 4)):
        UncountedCounter.objects.create(
            hour=NOW,
            event="impression",
            reason=reason,
            creative_id=creative.pk,
            slot_id=slot.pk,
            count=n,
        )
    UncountedCounter.objects.create(  # another hour: not beside this row
        hour=NOW - dt.timedelta(hours=1),
        event="impression",
        reason="bot",
        creative_id=creative.pk,
        slot_id=slot.pk,
        count=50,
    )
    page = admin_client.get("/admin/sponsors/deliverycounter/")
    row = page.context["cl"].result_list[0]
    assert (row.impressions, row.apart_impressions, row.apart_clicks) == (10, 7, 0)
    assert "impressions apart" in page.content.decode().lower()
