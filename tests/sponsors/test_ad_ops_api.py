"""Staff API for ad-ops: token + model permissions, the admin's validation, the decision
served from what the API saves, and delivery reports from the exact counters."""

import csv
import datetime as dt
import io

import pytest
import time_machine
from django.contrib.auth.models import Group, Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.authtoken.models import Token

from sponsors import versions
from sponsors.counters import uses_redis
from sponsors.models import Campaign, Creative, DeliveryCounter, Slot
from sponsors.reports import REASONS
from tests.cms.factories import TopicFactory
from tests.conftest import media_files, redis_back
from tests.contract import openapi_schema
from tests.images import image_bytes
from tests.sponsors.factories import SponsorFactory, UserFactory
from tests.sponsors.factories_ads import CampaignFactory, CreativeFactory, SlotFactory
from tests.sponsors.factories_countdowns import CountdownFactory
from tests.sponsors.reporting import apart, count

pytestmark = pytest.mark.django_db

BASE = "/api/v1/ad-ops/"
NOW = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)


def login(client, user) -> None:
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")


@pytest.fixture
def ad_ops_user():
    user = UserFactory(username="adops", is_staff=True)
    user.groups.add(Group.objects.get(name="Ad ops"))
    return user


@pytest.fixture
def staff(api_client, ad_ops_user):
    login(api_client, ad_ops_user)
    return api_client


@pytest.fixture
def sponsor():
    return SponsorFactory(slug="tiktok", name="TikTok")


def campaign_payload(**overrides) -> dict:
    return {
        "sponsor": "tiktok",
        "name": "Awards push",
        "starts_at": "2026-11-01T00:00:00Z",
        "ends_at": "2030-12-31T00:00:00Z",
        "tier": "sponsorship",
        **overrides,
    }


# -- who may call


ENDPOINTS = [
    "slots/",
    "campaigns/",
    "creatives/",
    "reports/delivery/",
]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_anonymous_callers_get_401(api_client, endpoint):
    response = api_client.get(BASE + endpoint)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_accounts_that_are_not_staff_get_403(api_client, endpoint):
    user = UserFactory(username="reader")
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="sponsors"))
    login(api_client, user)
    assert api_client.get(BASE + endpoint).status_code == 403


def test_staff_need_the_model_permission_of_what_they_do(api_client, sponsor):
    user = UserFactory(username="viewer", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_campaign"))
    login(api_client, user)
    campaign = CampaignFactory(sponsor=sponsor)
    assert api_client.get(BASE + "campaigns/").status_code == 200
    assert api_client.post(BASE + "campaigns/", campaign_payload()).status_code == 403
    assert api_client.post(f"{BASE}campaigns/{campaign.pk}/pause/").status_code == 403
    assert api_client.delete(f"{BASE}campaigns/{campaign.pk}/").status_code == 403
    assert api_client.get(BASE + "slots/").status_code == 403  # no view_slot
    assert api_client.get(BASE + "reports/delivery/").status_code == 403
    assert Campaign.objects.get().is_active


# -- slots


def test_slots_are_created_and_refused_with_the_admin_rules(staff):
    created = staff.post(
        BASE + "slots/", {"key": "leaderboard", "name": "Leaderboard", "width": 728, "height": 90}
    )
    assert created.status_code == 201
    assert created.json()["accepts_image"] is True
    half_size = staff.post(BASE + "slots/", {"key": "side", "name": "Side", "width": 300})
    assert half_size.status_code == 400
    assert "width and height" in str(half_size.json()["errors"])
    taken = staff.post(BASE + "slots/", {"key": "leaderboard", "name": "Again"})
    assert taken.status_code == 400
    assert "key" in taken.json()["errors"]
    nothing = staff.post(
        BASE + "slots/",
        {"key": "blank", "name": "Blank", "accepts_image": False, "accepts_text": False},
    )
    assert nothing.status_code == 400
    assert list(Slot.objects.values_list("key", flat=True)) == ["leaderboard"]


def test_a_slot_change_that_would_strand_its_creatives_is_refused(staff):
    slot = SlotFactory(key="strip", accepts_text=True)
    CreativeFactory(name="Awards strip", slots=[slot])
    response = staff.patch(f"{BASE}slots/{slot.pk}/", {"accepts_text": False})
    assert response.status_code == 400
    assert "Awards strip" in str(response.json()["errors"])
    slot.refresh_from_db()
    assert slot.accepts_text


# -- campaigns


@time_machine.travel(NOW, tick=False)  # the payload's dates are fixed: "live" is at NOW
def test_campaign_create_read_and_validation(staff, sponsor):
    response = staff.post(BASE + "campaigns/", campaign_payload(frequency_cap=3))
    assert response.status_code == 201
    body = response.json()
    assert (body["sponsor"], body["tier"], body["state"], body["frequency_cap"]) == (
        "tiktok",
        "sponsorship",
        "live",
        3,
    )
    assert Campaign.objects.get().tier == Campaign.Tier.SPONSORSHIP

    even = staff.post(BASE + "campaigns/", campaign_payload(pacing="even", ends_at=None))
    assert even.status_code == 400
    assert {"impression_goal", "ends_at"} <= set(even.json()["errors"])
    backwards = staff.post(BASE + "campaigns/", campaign_payload(ends_at="2026-10-01T00:00:00Z"))
    assert backwards.status_code == 400
    assert "ends_at" in backwards.json()["errors"]
    unknown = staff.post(BASE + "campaigns/", campaign_payload(sponsor="nobody", tier="gold"))
    assert unknown.status_code == 400
    assert {"sponsor", "tier"} <= set(unknown.json()["errors"])
    assert Campaign.objects.count() == 1


def test_campaign_list_filters_by_state_in_constant_queries(
    staff, sponsor, django_assert_num_queries
):
    now = dt.datetime.now(dt.UTC)
    CampaignFactory(sponsor=sponsor, name="Live")
    CampaignFactory(
        sponsor=sponsor,
        name="Later",
        starts_at=now + dt.timedelta(days=3),
        ends_at=now + dt.timedelta(days=9),
    )
    CampaignFactory(sponsor=sponsor, name="Paused", is_active=False)
    # session-less token auth: token+user, permissions (user, groups), count, rows
    with django_assert_num_queries(5):
        live = staff.get(BASE + "campaigns/?state=live").json()
    assert [c["name"] for c in live["results"]] == ["Live"]
    CampaignFactory.create_batch(20, sponsor=sponsor)
    with django_assert_num_queries(5):
        everything = staff.get(BASE + "campaigns/?page_size=50").json()
    assert everything["count"] == 23
    assert staff.get(BASE + "campaigns/?state=soon").status_code == 400


@time_machine.travel(NOW, tick=False)
def test_campaigns_show_their_pace_in_the_same_queries(staff, sponsor, django_assert_num_queries):
    slot = SlotFactory(key="strip")
    behind = CampaignFactory(
        sponsor=sponsor,
        name="Behind",
        impression_goal=1000,
        starts_at=NOW - dt.timedelta(days=5),
        ends_at=NOW + dt.timedelta(days=5),
    )
    creative = CreativeFactory(campaign=behind, slots=[slot])
    count(NOW, creative, slot, 200)
    CampaignFactory(sponsor=sponsor, name="No goal")
    # token+user, permissions (user, groups), count, rows with their delivered (a subquery)
    with django_assert_num_queries(5):
        listed = {c["name"]: c for c in staff.get(BASE + "campaigns/").json()["results"]}
    assert listed["Behind"]["pace"] == {
        "delivered": 200,
        "goal": 1000,
        "expected": 500,
        "percent_of_pace": 40.0,
        "projected": 400,
        "status": "behind",
    }
    assert listed["No goal"]["pace"] is None
    assert listed["Behind"]["pacing"] == "asap"  # the pacing mode, unchanged
    changed = staff.patch(f"{BASE}campaigns/{behind.pk}/", {"name": "Still behind"})
    assert changed.json()["pace"]["delivered"] == 200
    copied = staff.post(f"{BASE}campaigns/{behind.pk}/duplicate/", {})
    assert copied.json()["pace"]["delivered"] == 0
    paused = staff.post(f"{BASE}campaigns/{behind.pk}/pause/")
    assert paused.json()["pace"]["delivered"] == 200
    created = staff.post(BASE + "campaigns/", campaign_payload(impression_goal=50))
    assert created.json()["pace"]["delivered"] == 0


def test_pausing_a_campaign_stops_it_serving_on_the_next_decision(staff, api_client):
    slot = SlotFactory(key="strip")
    creative = CreativeFactory(slots=[slot])
    serve = "/api/v1/ads/?slots=strip"
    assert api_client.get(serve).json()["slots"]["strip"]["creative_id"] == creative.pk
    paused = staff.post(f"{BASE}campaigns/{creative.campaign_id}/pause/")
    assert (paused.status_code, paused.json()["state"]) == (200, "paused")
    assert api_client.get(serve).json()["slots"]["strip"] is None
    resumed = staff.post(f"{BASE}campaigns/{creative.campaign_id}/resume/")
    assert resumed.json()["state"] == "live"
    assert api_client.get(serve).json()["slots"]["strip"]["creative_id"] == creative.pk


def test_duplicate_copies_a_campaign_with_its_creatives_paused(staff):
    slot = SlotFactory(key="strip")
    original = CreativeFactory(name="Strip A", slots=[slot]).campaign
    response = staff.post(
        f"{BASE}campaigns/{original.pk}/duplicate/", {"name": "Spring re-run"}, format="json"
    )
    assert response.status_code == 201
    copy = Campaign.objects.get(pk=response.json()["id"])
    assert (copy.name, copy.is_active, response.json()["state"]) == (
        "Spring re-run",
        False,
        "paused",
    )
    assert [(c.name, [s.key for s in c.slots.all()]) for c in copy.creatives.all()] == [
        ("Strip A", ["strip"])
    ]
    bad = staff.post(f"{BASE}campaigns/{original.pk}/duplicate/", {"starts_at": "soon"})
    assert bad.status_code == 400


@pytest.mark.parametrize(
    ("starts_at", "message"),
    [
        ("9999-12-31T00:00:00Z", "Too late: the copy would end past the year 9999."),
        ("2999-12-31T00:00:00Z", "Give a time between the years 2000 and 2999."),  # its end
        ("0001-01-01T00:00:00Z", "Give a time between the years 2000 and 2999."),
    ],
)
def test_a_duplicate_at_an_impossible_time_is_refused_with_field_errors(staff, starts_at, message):
    original = CreativeFactory(slots=[SlotFactory(key="strip")]).campaign
    before = Campaign.objects.count(), Creative.objects.count()
    response = staff.post(
        f"{BASE}campaigns/{original.pk}/duplicate/", {"starts_at": starts_at}, format="json"
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert message in " ".join(errors.get("starts_at", []) + errors.get("ends_at", [])), errors
    assert (Campaign.objects.count(), Creative.objects.count()) == before, "nothing half-written"


def test_a_campaign_dated_in_the_year_one_is_refused(staff):
    sponsor = SponsorFactory()
    response = staff.post(
        f"{BASE}campaigns/",
        {"sponsor": sponsor.slug, "name": "Typo", "starts_at": "0001-01-01T00:00:00Z"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"]["starts_at"] == [
        "Give a time between the years 2000 and 2999."
    ]


# -- creatives


def test_a_text_strip_created_here_serves_on_the_next_request(staff, api_client):
    SlotFactory(key="strip", accepts_image=False)
    campaign = CampaignFactory()
    TopicFactory(slug="tiktok")
    response = staff.post(
        BASE + "creatives/",
        {
            "campaign": campaign.pk,
            "name": "Awards strip",
            "kind": "text",
            "headline": "The Lantern Awards",
            "cta_label": "Enter now",
            "click_url": "https://awards.example.com/enter",
            "slots": ["strip"],
            "include_topics": ["tiktok"],
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["slots"], body["include_topics"], body["image_info"]) == (
        ["strip"],
        ["tiktok"],
        None,
    )
    ad = api_client.get("/api/v1/ads/?slots=strip&topics=tiktok").json()["slots"]["strip"]
    assert ad["text"]["headline"] == "The Lantern Awards"
    assert api_client.get("/api/v1/ads/?slots=strip&topics=other").json()["slots"]["strip"] is None


def test_image_banners_upload_with_the_image_rules_and_must_fit_their_slots(staff, media_root):
    SlotFactory(key="leaderboard", width=728, height=90, accepts_text=False)
    SlotFactory(key="small", width=100, height=50)
    campaign = CampaignFactory()
    fields = {
        "campaign": campaign.pk,
        "name": "Banner",
        "kind": "image",
        "alt_text": "Awards banner",
        "click_url": "https://awards.example.com/",
    }

    def upload(content, name="banner.png", **extra):
        image = SimpleUploadedFile(name, content, "image/png")
        return staff.post(
            BASE + "creatives/", {**fields, **extra, "image": image}, format="multipart"
        )

    fits = upload(image_bytes("PNG", size=(728, 90)), slots=["leaderboard"])
    assert fits.status_code == 201, fits.json()
    info = fits.json()["image_info"]
    assert (info["width"], info["height"]) == (728, 90)
    assert {r["name"] for r in info["renditions"]} >= {"original", "thumbnail"}

    too_big = upload(image_bytes("PNG", size=(728, 90)), slots=["small"])
    assert too_big.status_code == 400
    assert "does not fit small" in str(too_big.json()["errors"]["slots"])
    creative = fits.json()["id"]
    stored = media_files(media_root)
    wider = SimpleUploadedFile("wide.png", image_bytes("PNG", size=(970, 90)), "image/png")
    patched = staff.patch(f"{BASE}creatives/{creative}/", {"image": wider}, format="multipart")
    assert patched.status_code == 400  # its slots are kept, and it would no longer fit them
    assert "does not fit leaderboard" in str(patched.json()["errors"]["slots"])
    assert Creative.objects.get().image_width == 728
    assert media_files(media_root) == stored  # a refused upload leaves no file behind
    not_an_image = upload(b"<?php echo 1; ?>", name="banner.png", slots=["leaderboard"])
    assert not_an_image.status_code == 400
    assert "image" in not_an_image.json()["errors"]
    assert Creative.objects.count() == 1


def test_a_form_clears_a_creatives_countdown_with_an_empty_value(staff):
    """A multipart part cannot be null; the schema's multipart type says an empty one clears."""
    creative = CreativeFactory(countdown=CountdownFactory(slug="awards"))
    fields = openapi_schema()["components"]["schemas"]["PatchedCreativeMultipartRequest"]
    assert "nullable" not in fields["properties"]["countdown"]
    assert "empty value clears" in fields["properties"]["countdown"]["description"]
    response = staff.patch(f"{BASE}creatives/{creative.pk}/", {"countdown": ""}, format="multipart")
    assert response.status_code == 200, response.json()
    assert response.json()["countdown"] is None
    creative.refresh_from_db()
    assert creative.countdown is None


def test_click_urls_must_be_http(staff):
    campaign = CampaignFactory()
    response = staff.post(
        BASE + "creatives/",
        {
            "campaign": campaign.pk,
            "name": "Strip",
            "kind": "text",
            "headline": "Hello",
            "cta_label": "Go",
            "click_url": "javascript:alert(1)",
        },
    )
    assert response.status_code == 400
    assert "click_url" in response.json()["errors"]


def test_creative_list_is_constant_in_queries(staff, django_assert_num_queries):
    slot = SlotFactory(key="strip")
    topics = [TopicFactory(slug=f"t{n}") for n in range(2)]
    CreativeFactory(slots=[slot], include=topics)
    # token+user, permissions (user, groups), count, rows, slots, include, exclude topics
    with django_assert_num_queries(8):
        assert staff.get(BASE + "creatives/").json()["count"] == 1
    CreativeFactory.create_batch(15, slots=[slot], include=topics)
    with django_assert_num_queries(8):
        assert staff.get(BASE + "creatives/?slot=strip&state=live").json()["count"] == 16


def test_pause_and_resume_a_creative(staff):
    creative = CreativeFactory()
    assert staff.post(f"{BASE}creatives/{creative.pk}/pause/").json()["state"] == "paused"
    assert staff.post(f"{BASE}creatives/{creative.pk}/resume/").json()["state"] == "live"
    assert staff.post(f"{BASE}creatives/{creative.pk + 99}/pause/").status_code == 404


@pytest.mark.parametrize("model", ["campaign", "creative"])
def test_admin_actions_and_api_pause_and_resume_alike_and_serve_it_at_once(
    staff, admin_client, model
):
    creative = CreativeFactory(slots=[SlotFactory(key="strip")])
    obj = creative.campaign if model == "campaign" else creative
    api, admin_list = f"{BASE}{model}s/{obj.pk}/", f"/admin/sponsors/{model}/"

    def served() -> bool:
        return staff.get("/api/v1/ads/?slots=strip").json()["slots"]["strip"] is not None

    def admin_action(action: str) -> str:
        data = {"action": action, "_selected_action": [obj.pk]}
        return admin_client.post(admin_list, data, follow=True).content.decode()

    actions = admin_client.get(admin_list).content.decode()
    assert f"Pause selected {model}s" in actions and f"Resume selected {model}s" in actions
    version = versions.read(versions.INVENTORY)
    assert staff.post(api + "pause/").json()["state"] == "paused"
    assert (served(), versions.read(versions.INVENTORY) != version) == (False, True)
    version = versions.read(versions.INVENTORY)
    assert f"1 {model}(s) resumed." in admin_action("resume")
    assert (served(), versions.read(versions.INVENTORY) != version) == (True, True)
    assert f"1 {model}(s) paused." in admin_action("pause")
    assert not served()
    version = versions.read(versions.INVENTORY)
    assert staff.post(api + "pause/").json()["state"] == "paused"  # already: nothing changes
    assert f"0 {model}(s) paused." in admin_action("pause")
    assert versions.read(versions.INVENTORY) == version
    assert staff.post(api + "resume/").json()["state"] == "live"
    assert served()


def test_nothing_with_delivery_history_can_be_deleted(staff):
    slot = SlotFactory(key="strip")
    creative = CreativeFactory(slots=[slot])
    DeliveryCounter.objects.create(
        hour=dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC), creative=creative, slot=slot
    )
    for path in (
        f"slots/{slot.pk}/",
        f"campaigns/{creative.campaign_id}/",
        f"creatives/{creative.pk}/",
    ):
        response = staff.delete(BASE + path)
        assert response.status_code == 409
        assert response.json()["code"] == "has_delivery_history"
    assert DeliveryCounter.objects.count() == 1
    fresh = CreativeFactory()
    assert staff.delete(f"{BASE}creatives/{fresh.pk}/").status_code == 204
    assert not Creative.objects.filter(pk=fresh.pk).exists()


# -- reports


@pytest.fixture
def delivery():
    strip, sidebar = SlotFactory(key="strip"), SlotFactory(key="sidebar")
    a = CreativeFactory(name="A", campaign__name="Spring", campaign__sponsor__slug="tiktok")
    b = CreativeFactory(name="B", campaign__name="Autumn")
    rows = [
        (dt.date(2026, 11, 1), a, strip, 1000, 10, 50, 1),
        (dt.date(2026, 11, 2), a, sidebar, 500, 5, 0, 0),
        (dt.date(2026, 11, 2), b, strip, 200, 0, 7, 0),
        (dt.date(2026, 10, 1), b, strip, 999, 9, 0, 0),  # outside the range asked
    ]
    for day, creative, slot, imps, clicks, bot_imps, bot_clicks in rows:
        hour = dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC)
        count(hour, creative, slot, imps, clicks)
        for event, n in (("impression", bot_imps), ("click", bot_clicks)):
            if n:
                apart(hour, "bot", n, creative, slot, event=event)
    return a, b


REPORT = BASE + "reports/delivery/?start=2026-11-01&end=2026-11-02"


def test_report_by_day_with_totals_and_bots_apart(staff, delivery, django_assert_num_queries):
    # token+user, permissions (user, groups), the billable sums, the uncounted events by day
    with django_assert_num_queries(5):
        report = staff.get(REPORT).json()
    assert [(r["day"], r["impressions"], r["clicks"]) for r in report["rows"]] == [
        ("2026-11-01", 1000, 10),
        ("2026-11-02", 700, 5),
    ]
    uncounted = {event: dict.fromkeys(REASONS, 0) for event in ("impressions", "clicks")}
    uncounted["impressions"]["bot"], uncounted["clicks"]["bot"] = 57, 1
    assert report["totals"] == {
        "impressions": 1700,
        "clicks": 15,
        "ctr": round(15 / 1700, 6),
        "bot_impressions": 57,
        "bot_clicks": 1,
        "uncounted": uncounted,
    }
    assert [r["uncounted"]["impressions"]["bot"] for r in report["rows"]] == [50, 7]


@pytest.mark.parametrize(
    ("group_by", "expected"),
    [
        ("campaign", [("Spring", 1500), ("Autumn", 200)]),
        ("creative", [("A", 1500), ("B", 200)]),
    ],
)
def test_report_by_campaign_and_creative(staff, delivery, group_by, expected):
    rows = staff.get(f"{REPORT}&group_by={group_by}").json()["rows"]
    assert sorted((r["name"], r["impressions"]) for r in rows) == sorted(expected)


def test_report_by_slot_and_filters(staff, delivery):
    a, _ = delivery
    by_slot = staff.get(f"{REPORT}&group_by=slot").json()["rows"]
    assert sorted((r["slot"], r["impressions"]) for r in by_slot) == [
        ("sidebar", 500),
        ("strip", 1200),
    ]
    only_a = staff.get(f"{REPORT}&creative={a.pk}").json()["totals"]
    assert only_a["impressions"] == 1500
    by_sponsor = staff.get(f"{REPORT}&sponsor=tiktok&slot=strip").json()["totals"]
    assert by_sponsor["impressions"] == 1000
    nothing = staff.get(f"{REPORT}&campaign=999999").json()
    assert (nothing["rows"], nothing["totals"]["ctr"]) == ([], 0.0)


def test_report_by_week_month_and_sponsor(staff, delivery):
    weeks = staff.get(f"{REPORT}&group_by=week").json()["rows"]
    # Sunday 1 November is in the week of Monday 26 October.
    assert [(r["week"], r["impressions"]) for r in weeks] == [
        ("2026-10-26", 1000),
        ("2026-11-02", 700),
    ]
    months = staff.get(f"{REPORT}&group_by=month").json()["rows"]
    assert [(r["month"], r["impressions"]) for r in months] == [("2026-11-01", 1700)]
    sponsors = staff.get(f"{REPORT}&group_by=sponsor").json()["rows"]
    assert ("tiktok", 1500) in [(r["sponsor"], r["impressions"]) for r in sponsors]
    split = staff.get(f"{REPORT}&group_by=slot_by_day").json()["rows"]
    assert [(r["slot"], r["day"], r["impressions"]) for r in split] == [
        ("strip", "2026-11-01", 1000),
        ("strip", "2026-11-02", 200),
        ("sidebar", "2026-11-02", 500),
    ]


def csv_lines(response) -> list[list[str]]:
    assert response.streaming
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.mark.parametrize("group_by", ["day", "campaign", "creative_by_day"])
def test_report_as_csv_streams_the_same_figures(staff, delivery, group_by):
    report = staff.get(f"{REPORT}&group_by={group_by}").json()
    response = staff.get(f"{REPORT}&group_by={group_by}&format=csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="delivery-by-{group_by.replace("_by_", "-by-")}-'
        '2026-11-01-to-2026-11-02.csv"'
    )
    header, *rows, totals = csv_lines(response)
    columns = header.index("impressions")
    assert [row[columns : columns + 2] for row in rows] == [
        [str(r["impressions"]), str(r["clicks"])] for r in report["rows"]
    ]
    assert totals[0] == "total"
    assert totals[columns:] == [
        str(report["totals"][c])
        for c in ("impressions", "clicks", "ctr", "bot_impressions", "bot_clicks")
    ] + [
        str(report["totals"]["uncounted"][e][r]) for e in ("impressions", "clicks") for r in REASONS
    ]


def test_report_csv_is_also_chosen_by_accept_and_errors_stay_json(staff, delivery):
    by_accept = staff.get(REPORT, HTTP_ACCEPT="text/csv")
    assert by_accept["Content-Type"] == "text/csv; charset=utf-8"
    assert csv_lines(by_accept)[-1][:3] == ["total", "1700", "15"]
    bad = staff.get(f"{BASE}reports/delivery/?start=2026-11-05&end=2026-11-01&format=csv")
    assert bad.status_code == 400
    assert bad["Content-Type"] == "application/json"
    assert bad.json()["errors"] == {"start": ["Must not be after end."]}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("format=xml", "format"),
        ("group_by=campaign_by_minute", "group_by"),
        ("start=2026-13-01", "start"),
        ("start=2026-11-05&end=2026-11-01", "start"),
        ("start=2024-01-01&end=2026-11-01", "start"),
        ("group_by=minute", "group_by"),
        ("campaign=abc", "campaign"),
        ("slot=<b>", "slot"),
    ],
)
def test_bad_report_parameters_answer_400(staff, query, field):
    response = staff.get(f"{BASE}reports/delivery/?{query}")
    assert response.status_code == 400
    assert field in response.json()["errors"]


@pytest.mark.skipif(not uses_redis(), reason="needs Redis (set REDIS_URL)")
def test_a_change_while_redis_is_down_is_saved_and_announced_when_it_answers(staff, redis_down):
    creative = CreativeFactory(name="Before")
    before = versions.current(versions.INVENTORY)
    with redis_down():
        assert staff.patch(f"{BASE}creatives/{creative.pk}/", {"name": "After"}).status_code == 200
        assert staff.post(f"{BASE}creatives/{creative.pk}/pause/").status_code == 200
        assert versions.INVENTORY in versions.breaker.owed  # the bump is owed, not lost
    creative.refresh_from_db()
    assert (creative.name, creative.is_active) == ("After", False)
    raw = versions._redis_client().get(versions.redis_key(versions.INVENTORY))
    assert raw.decode() == before  # nobody was told yet
    redis_back()
    assert versions.current(versions.INVENTORY) != before  # the first Redis use caught up
    assert not versions.breaker.owed
    assert staff.delete(f"{BASE}creatives/{creative.pk}/").status_code == 204


def test_report_rows_carry_their_reasons_beside_them(staff, delivery):
    a, b = delivery
    strip = Slot.objects.get(key="strip")
    hour = dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC)
    for reason, creative, n in (("replayed", a, 4), ("expired", b, 2), ("invalid", None, 9)):
        apart(hour, reason, n, creative, strip if creative else None)
    rows = staff.get(f"{REPORT}&group_by=creative").json()["rows"]
    by_name = {r["name"]: r["uncounted"]["impressions"] for r in rows}
    assert (by_name["A"]["replayed"], by_name["A"]["bot"]) == (4, 50)
    assert (by_name["B"]["expired"], by_name["B"]["bot"]) == (2, 7)
    totals = staff.get(f"{REPORT}&group_by=creative").json()["totals"]["uncounted"]
    assert totals["impressions"]["invalid"] == 9  # names nothing: in the totals only
    by_hour = staff.get(f"{REPORT}&group_by=hour").json()["rows"]
    nine = next(r for r in by_hour if r["hour"] == "2026-11-02T09:00:00Z")
    assert nine["uncounted"]["impressions"]["invalid"] == 9


@pytest.mark.parametrize(
    ("zone", "day", "hours"),
    [
        ("Europe/London", dt.date(2026, 3, 29), 23),  # the clocks go forward
        ("Europe/London", dt.date(2026, 10, 25), 25),  # and back
        ("America/New_York", dt.date(2026, 3, 8), 23),
        ("America/New_York", dt.date(2026, 11, 1), 25),
    ],
)
def test_days_are_cut_at_the_display_zones_midnight_on_dst_days(staff, settings, zone, day, hours):
    """One impression in every UTC hour around the day: the day holds 23 or 25 of them."""
    settings.TIME_ZONE = zone
    creative = CreativeFactory(slots=[SlotFactory(key="strip")])
    slot = creative.slots.get()
    start = dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC) - dt.timedelta(hours=12)
    for n in range(48):
        count(start + dt.timedelta(hours=n), creative, slot, 1)
    report = staff.get(f"{BASE}reports/delivery/?start={day}&end={day}").json()
    assert report["time_zone"] == zone
    assert [(r["day"], r["impressions"]) for r in report["rows"]] == [(day.isoformat(), hours)]


def test_schema_documents_the_report_csv_its_parameters_and_the_pace():
    schema = openapi_schema()
    report = schema["paths"]["/api/v1/ad-ops/reports/delivery/"]["get"]
    assert set(report["responses"]["200"]["content"]) == {"application/json", "text/csv"}
    for error in ("400", "401", "403"):
        assert set(report["responses"][error]["content"]) == {"application/json"}
    parameters = {p["name"]: p["schema"] for p in report["parameters"]}
    assert parameters["format"]["enum"] == ["json", "csv"]
    assert {"week", "month", "sponsor", "campaign_by_day"} <= set(parameters["group_by"]["enum"])
    campaign = schema["components"]["schemas"]["Campaign"]["properties"]
    assert campaign["pace"]["readOnly"] is True
    pace = schema["components"]["schemas"]["Pace"]["properties"]
    assert set(pace) == {"delivered", "goal", "expected", "percent_of_pace", "projected", "status"}
