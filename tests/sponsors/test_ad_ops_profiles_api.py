"""Staff API for what ad-ops manage beside the inventory: sponsors (with logos), disclosure
labels, sponsorships, and countdowns with their phases and extensions. The admin's rules,
400s with field errors, 409s for deletes other records forbid, constant-query lists, and
every save served by the public API on its next request."""

import datetime as dt
import io

import pytest
import time_machine
from django.contrib.auth.models import Group, Permission, User
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from rest_framework.authtoken.models import Token

from cms.images import REASONS
from sponsors.countdowns import countdown_extend
from sponsors.models import (
    Countdown,
    DeadlineExtension,
    DeadlinePhase,
    DisclosureLabel,
    Sponsor,
    Sponsorship,
)
from tests.cms.factories import ArticleFactory, TopicFactory
from tests.conftest import ContractAPIClient, media_files
from tests.images import image_bytes
from tests.sponsors.factories import SponsorFactory, SponsorshipFactory, UserFactory, label
from tests.sponsors.factories_ads import CreativeFactory
from tests.sponsors.factories_countdowns import countdown_with_phases

pytestmark = pytest.mark.django_db

BASE = "/api/v1/ad-ops/"
UTC = dt.UTC
EARLY = dt.datetime(2025, 11, 1, 23, 59, 59, tzinfo=UTC)
DEADLINE = dt.datetime(2025, 11, 30, 23, 59, 59, tzinfo=UTC)
FINAL = dt.datetime(2025, 12, 14, 23, 59, 59, tzinfo=UTC)
NOW = dt.datetime(2025, 11, 20, 12, 0, tzinfo=UTC)

SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b'<script>alert("logo")</script><rect width="10" height="10"/></svg>'
)

# What these endpoints need beyond the "Ad ops" group of migrations 0006 and 0009 (granted
# here explicitly: another change gives them to the group).
EXTRA_PERMISSIONS = [
    "view_disclosurelabel",
    "add_disclosurelabel",
    "change_disclosurelabel",
    "delete_disclosurelabel",
    "delete_sponsor",
    "view_deadlinephase",
    "add_deadlinephase",
    "change_deadlinephase",
    "delete_deadlinephase",
    "view_deadlineextension",
    "add_deadlineextension",
]


def login(client, user) -> None:
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")


def grant(user, *codenames) -> User:
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="sponsors", codename__in=codenames)
    )
    return User.objects.get(pk=user.pk)  # no permission cache


def staff_with(*codenames, username=None) -> User:
    user = UserFactory(username=username or f"staff-{'-'.join(codenames)}"[:150], is_staff=True)
    return grant(user, *codenames)


@pytest.fixture
def ad_ops_user():
    user = UserFactory(username="adops", is_staff=True)
    user.groups.add(Group.objects.get(name="Ad ops"))
    return grant(user, *EXTRA_PERMISSIONS)


@pytest.fixture
def staff(api_client, ad_ops_user):
    login(api_client, ad_ops_user)
    return api_client


@pytest.fixture
def public():
    """An anonymous reader of the public API (beside the staff client)."""
    return ContractAPIClient()


def errors(response) -> dict:
    assert response.status_code == 400, response.content
    return response.json()["errors"]


def png(name="logo.png", size=(120, 60), fmt="PNG", content_type="image/png"):
    return SimpleUploadedFile(name, image_bytes(fmt, size=size), content_type)


# ---------------------------------------------------------------------------------------------
# Who may call


ENDPOINTS = ["sponsors/", "labels/", "sponsorships/", "countdowns/"]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_anonymous_callers_get_401_and_accounts_that_are_not_staff_403(api_client, endpoint):
    response = api_client.get(BASE + endpoint)
    assert (response.status_code, response["WWW-Authenticate"]) == (401, "Token")
    reader = UserFactory(username="reader")
    reader.user_permissions.add(*Permission.objects.filter(content_type__app_label="sponsors"))
    login(api_client, reader)
    assert api_client.get(BASE + endpoint).status_code == 403


@pytest.mark.parametrize(
    ("endpoint", "model", "payload"),
    [
        ("sponsors/", "sponsor", {"name": "TikTok"}),
        ("labels/", "disclosurelabel", {"text": "Promoted by"}),
        ("countdowns/", "countdown", {"title": "Awards", "phases": []}),
    ],
)
def test_staff_need_the_model_permission_of_what_they_do(api_client, endpoint, model, payload):
    login(api_client, staff_with(f"view_{model}"))
    assert api_client.get(BASE + endpoint).status_code == 200
    assert api_client.post(BASE + endpoint, payload, format="json").status_code == 403
    login(api_client, staff_with(f"change_{model}"))
    assert api_client.get(BASE + endpoint).status_code == 403  # reading needs view_


# ---------------------------------------------------------------------------------------------
# Sponsors


def test_a_sponsor_is_created_with_its_logo_and_answers_the_renditions(staff, media_root):
    response = staff.post(
        BASE + "sponsors/",
        {
            "name": "TikTok",
            "logo": png(size=(800, 400)),
            "description": '<b>video</b><script>alert(1)</script><a href="javascript:x">x</a>',
            "website_url": "https://www.tiktok.com/business/",
            "contact_email": "ads@example.com",
        },
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["slug"] == "tiktok"  # made from the name
    assert "<b>video</b>" in body["description"] and "script" not in body["description"]
    assert "javascript" not in body["description"]
    assert (body["logo_info"]["width"], body["logo_info"]["height"]) == (800, 400)
    renditions = {r["name"]: r for r in body["logo_info"]["renditions"]}
    assert set(renditions) == {"original", "thumbnail", "medium", "large"}
    assert renditions["thumbnail"]["width"] == 320
    assert renditions["thumbnail"]["url"].startswith("http://testserver/media/")
    assert Sponsor.objects.get().logo_renditions["original"]["width"] == 800
    assert "logo" not in body  # the upload is write-only: what is stored shows in logo_info


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_png_and_webp_logos_keep_their_transparency(staff, fmt):
    image = Image.new("RGBA", (400, 120), (0, 0, 0, 0))
    image.paste((255, 0, 80, 255), (100, 20, 300, 100))
    out = io.BytesIO()
    image.save(out, format=fmt, **({"lossless": True} if fmt == "WEBP" else {}))
    upload = SimpleUploadedFile(f"logo.{fmt.lower()}", out.getvalue(), f"image/{fmt.lower()}")
    created = staff.post(BASE + "sponsors/", {"name": "Clear", "logo": upload}, format="multipart")
    assert created.status_code == 201, created.json()
    sponsor = Sponsor.objects.get()
    for path in (sponsor.logo.name, sponsor.logo_renditions["thumbnail"]["path"]):
        with default_storage.open(path, "rb") as fh:
            assert Image.open(fh).convert("RGBA").getpixel((0, 0))[3] == 0


def admin_logo_errors(client, upload) -> list[str]:
    client.force_login(User.objects.create_superuser("boss", password="x"))
    data = {
        "name": "Admin sponsor",
        "slug": "admin-sponsor",
        "is_active": "on",
        "sponsorships-TOTAL_FORMS": "0",
        "sponsorships-INITIAL_FORMS": "0",
        "logo": upload,
    }
    response = client.post("/admin/sponsors/sponsor/add/", data)
    assert response.status_code == 200  # refused: the form again
    return list(response.context["adminform"].form.errors["logo"])


@pytest.mark.parametrize(
    ("name", "content", "content_type", "expected"),
    [
        ("logo.svg", SVG, "image/svg+xml", REASONS["image_svg"]),
        ("logo.png", SVG, "image/png", REASONS["image_svg"]),  # an SVG renamed
        ("logo.png", b"<?php echo 1; ?>", "image/png", "This file is not an image we can read."),
        ("logo.png", image_bytes("PNG")[:60], "image/png", "damaged or incomplete"),
        ("logo.bmp", image_bytes("BMP"), "image/bmp", "BMP files are not accepted."),
        ("logo.txt", image_bytes("PNG"), "text/plain", "File extension “txt” is not allowed."),
    ],
)
def test_a_logo_that_the_admin_refuses_is_refused_with_the_admins_message(
    staff, client, media_root, name, content, content_type, expected
):
    response = staff.post(
        BASE + "sponsors/",
        {"name": "TikTok", "logo": SimpleUploadedFile(name, content, content_type)},
        format="multipart",
    )
    api_messages = errors(response)["logo"]
    assert any(expected in message for message in api_messages)
    admin_messages = admin_logo_errors(client, SimpleUploadedFile(name, content, content_type))
    assert api_messages == admin_messages
    assert not Sponsor.objects.exists()
    assert media_files(media_root) == []  # a refused upload leaves no file behind


def test_a_logo_is_replaced_and_removed(staff, media_root):
    sponsor = staff.post(
        BASE + "sponsors/", {"name": "TikTok", "logo": png(size=(200, 100))}, format="multipart"
    ).json()
    url = f"{BASE}sponsors/{sponsor['id']}/"
    wider = staff.patch(url, {"logo": png("wide.png", size=(400, 100))}, format="multipart")
    assert wider.status_code == 200, wider.json()
    assert wider.json()["logo_info"]["width"] == 400
    kept = staff.patch(url, {"name": "TikTok for Business"}, format="json").json()
    assert (kept["name"], kept["logo_info"]["width"]) == ("TikTok for Business", 400)
    removed = staff.patch(url, {"logo": None}, format="json")
    assert (removed.status_code, removed.json()["logo_info"]) == (200, None)
    assert not Sponsor.objects.get().logo
    not_a_file = staff.patch(url, {"logo": "https://example.com/logo.png"}, format="json")
    assert "logo" in errors(not_a_file)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "X", "website_url": "javascript:alert(1)"}, "website_url"),
        ({"name": "X", "website_url": "ftp://example.com/"}, "website_url"),
        ({"name": "X", "contact_email": "nobody"}, "contact_email"),
        ({"name": "X", "slug": "taken"}, "slug"),
        ({"name": "X", "slug": "not a slug"}, "slug"),
        ({"name": "X" * 121}, "name"),
        ({"name": "X", "is_active": "maybe"}, "is_active"),
    ],
)
def test_bad_sponsor_fields_answer_400_with_field_errors(staff, payload, field):
    SponsorFactory(slug="taken")
    assert field in errors(staff.post(BASE + "sponsors/", payload, format="json"))
    assert Sponsor.objects.count() == 1


@pytest.mark.parametrize("rows", [1, 20])
def test_the_sponsor_list_filters_and_searches_in_constant_queries(
    staff, rows, django_assert_num_queries
):
    SponsorFactory(name="Northwind Cloud", contact_email="ads@northwind.example", is_active=False)
    for n in range(rows):
        SponsorFactory(name=f"Reelhouse {n}")
    # token + user, permissions (user, groups), count, the page of sponsors
    with django_assert_num_queries(5):
        everything = staff.get(BASE + "sponsors/?page_size=100").json()
    assert everything["count"] == rows + 1
    with django_assert_num_queries(5):
        inactive = staff.get(BASE + "sponsors/?is_active=false").json()
    assert [s["name"] for s in inactive["results"]] == ["Northwind Cloud"]
    found = staff.get(BASE + "sponsors/?search=NORTHWIND+ads%40").json()["results"]
    assert [s["name"] for s in found] == ["Northwind Cloud"]
    assert "search" in errors(staff.get(BASE + "sponsors/?search=" + "x" * 201))
    assert "is_active" in errors(staff.get(BASE + "sponsors/?is_active=perhaps"))
    assert "page_size" in errors(staff.get(BASE + "sponsors/?page_size=0"))


def test_a_sponsor_saved_here_is_served_by_the_public_api_on_the_next_request(staff, public):
    sponsor = SponsorFactory(name="TikTok", slug="tiktok")
    assert public.get("/api/v1/sponsors/tiktok/").json()["name"] == "TikTok"  # now cached
    assert public.get("/api/v1/sponsors/").json()["count"] == 1
    staff.patch(
        f"{BASE}sponsors/{sponsor.pk}/",
        {"name": "TikTok for Business", "logo": png()},
        format="multipart",
    )
    shown = public.get("/api/v1/sponsors/tiktok/").json()
    assert shown["name"] == "TikTok for Business"
    assert {r["name"] for r in shown["logo"]["renditions"]} >= {"original", "thumbnail"}
    staff.patch(f"{BASE}sponsors/{sponsor.pk}/", {"is_active": False}, format="json")
    assert public.get("/api/v1/sponsors/tiktok/").status_code == 404
    assert public.get("/api/v1/sponsors/").json()["count"] == 0


def test_a_sponsor_with_content_cannot_be_deleted_and_one_without_can(staff):
    used = SponsorshipFactory(sponsor=SponsorFactory(name="Used")).sponsor
    response = staff.delete(f"{BASE}sponsors/{used.pk}/")
    assert response.status_code == 409
    assert response.json()["code"] == "protected"
    assert "1 sponsorship" in response.json()["detail"]
    assert "is_active" in response.json()["detail"]
    assert Sponsor.objects.filter(pk=used.pk).exists()
    unused = SponsorFactory(name="Unused")
    assert staff.delete(f"{BASE}sponsors/{unused.pk}/").status_code == 204
    assert staff.delete(f"{BASE}sponsors/{unused.pk}/").status_code == 404
    assert staff.get(f"{BASE}sponsors/999999/").status_code == 404


# ---------------------------------------------------------------------------------------------
# Disclosure labels


def test_labels_are_listed_in_their_order_and_validated_by_the_model(
    staff, django_assert_num_queries
):
    # token + user, permissions (user, groups), count, the labels
    with django_assert_num_queries(5):
        listed = staff.get(BASE + "labels/").json()
    assert [label["text"] for label in listed["results"]] == [
        "Content created with",
        "Sponsored by",
        "Paid post",
        "In partnership with",
    ]
    created = staff.post(BASE + "labels/", {"text": "Promoted by", "position": 9}, format="json")
    assert (created.status_code, created.json()["slug"]) == (201, "promoted-by")
    assert "text" in errors(staff.post(BASE + "labels/", {"text": "Sponsored by"}, format="json"))
    assert "position" in errors(
        staff.post(BASE + "labels/", {"text": "Negative", "position": -1}, format="json")
    )
    assert "text" in errors(staff.post(BASE + "labels/", {"text": "x" * 61}, format="json"))
    offered = staff.get(BASE + "labels/?is_active=true").json()["count"]
    assert offered == 5


def test_renaming_a_label_changes_the_public_article_on_the_next_request(staff, public):
    article = ArticleFactory(slug="sound-on")
    SponsorshipFactory(article=article, label=label("paid-post"))
    assert public.get("/api/v1/articles/sound-on/").json()["sponsorship"]["label"] == "Paid post"
    paid_post = DisclosureLabel.objects.get(slug="paid-post")
    staff.patch(f"{BASE}labels/{paid_post.pk}/", {"text": "Paid partnership"}, format="json")
    shown = public.get("/api/v1/articles/sound-on/").json()["sponsorship"]["label"]
    assert shown == "Paid partnership"


def test_a_label_in_use_cannot_be_deleted(staff):
    SponsorshipFactory(label=label("sponsored-by"))
    in_use = DisclosureLabel.objects.get(slug="sponsored-by")
    response = staff.delete(f"{BASE}labels/{in_use.pk}/")
    assert (response.status_code, response.json()["code"]) == (409, "protected")
    assert "is_active" in response.json()["detail"]
    unused = DisclosureLabel.objects.get(slug="in-partnership-with")
    assert staff.delete(f"{BASE}labels/{unused.pk}/").status_code == 204


# ---------------------------------------------------------------------------------------------
# Sponsorships


@pytest.fixture
def tiktok():
    return SponsorFactory(name="TikTok", slug="tiktok")


def test_a_sponsorship_created_here_shows_on_the_article_on_the_next_request(staff, public, tiktok):
    ArticleFactory(slug="sound-on")
    assert public.get("/api/v1/articles/sound-on/").json()["sponsorship"] is None  # cached
    response = staff.post(
        BASE + "sponsorships/",
        {"sponsor": "tiktok", "label": "sponsored-by", "article": "sound-on"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["sponsor"], body["label"], body["article"], body["topic"], body["state"]) == (
        "tiktok",
        "sponsored-by",
        "sound-on",
        None,
        "live",
    )
    block = public.get("/api/v1/articles/sound-on/").json()["sponsorship"]
    assert (block["label"], block["sponsor"]["slug"]) == ("Sponsored by", "tiktok")
    ends = (dt.datetime.now(UTC) - dt.timedelta(minutes=1)).isoformat()
    ended = staff.patch(f"{BASE}sponsorships/{body['id']}/", {"ends_at": ends}, format="json")
    assert (ended.status_code, ended.json()["state"]) == (200, "ended")
    assert public.get("/api/v1/articles/sound-on/").json()["sponsorship"] is None
    assert staff.delete(f"{BASE}sponsorships/{body['id']}/").status_code == 204
    assert not Sponsorship.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field", "text"),
    [
        ({"article": "sound-on", "topic": "tiktok"}, "non_field_errors", "one of them"),
        ({}, "non_field_errors", "one of them"),
        ({"topic": "tiktok"}, "non_field_errors", "give both a start and an end"),
        (
            {
                "article": "sound-on",
                "starts_at": "2026-05-02T00:00:00Z",
                "ends_at": "2026-05-01T00:00:00Z",
            },
            "ends_at",
            "The end must come after the start.",
        ),
        ({"article": "sound-on", "sponsor": "nobody"}, "sponsor", "No sponsor has the slug"),
        ({"article": "nothing-here"}, "article", "No article has the slug “nothing-here”."),
        ({"topic": "nothing-here"}, "topic", "No topic has the slug"),
        ({"article": "sound-on", "label": "unknown"}, "label", "No disclosure label has"),
        ({"article": "sound-on", "starts_at": "soon"}, "starts_at", "Datetime has wrong format"),
    ],
)
def test_bad_sponsorships_answer_400_with_the_models_messages(staff, tiktok, payload, field, text):
    ArticleFactory(slug="sound-on")
    TopicFactory(name="TikTok", slug="tiktok")
    body = {"sponsor": "tiktok", "label": "sponsored-by", **payload}
    found = errors(staff.post(BASE + "sponsorships/", body, format="json"))
    assert text in " ".join(found[field])
    assert not Sponsorship.objects.exists()


def test_a_retired_label_is_kept_by_its_sponsorships_but_not_chosen_anew(staff, tiktok):
    ArticleFactory(slug="sound-on")
    sponsorship = SponsorshipFactory(sponsor=tiktok, label=label("paid-post"))
    DisclosureLabel.objects.filter(slug="paid-post").update(is_active=False)
    url = f"{BASE}sponsorships/{sponsorship.pk}/"
    kept = staff.patch(url, {"ends_at": "2030-01-01T00:00:00Z"}, format="json")
    assert (kept.status_code, kept.json()["label"]) == (200, "paid-post")
    fresh = {"sponsor": "tiktok", "label": "paid-post", "article": "sound-on"}
    refused = errors(staff.post(BASE + "sponsorships/", fresh, format="json"))
    assert refused["label"] == ["“Paid post” is no longer offered: choose an offered label."]
    moved = staff.patch(url, {"label": "sponsored-by"}, format="json").json()["label"]
    assert moved == "sponsored-by"
    assert "label" in errors(staff.patch(url, {"label": "paid-post"}, format="json"))


def test_a_topic_sponsorship_covers_its_window(staff, public, tiktok):
    topic = TopicFactory(name="TikTok", slug="tiktok")
    ArticleFactory(slug="sound-on", topics=[topic])
    now = dt.datetime.now(UTC)
    response = staff.post(
        BASE + "sponsorships/",
        {
            "sponsor": "tiktok",
            "label": "in-partnership-with",
            "topic": "tiktok",
            "starts_at": (now - dt.timedelta(days=1)).isoformat(),
            "ends_at": (now + dt.timedelta(days=1)).isoformat(),
        },
        format="json",
    )
    assert (response.status_code, response.json()["state"]) == (201, "live")
    block = public.get("/api/v1/articles/sound-on/").json()["sponsorship"]
    assert block["label"] == "In partnership with"


@pytest.mark.parametrize("rows", [1, 15])
def test_the_sponsorship_list_filters_by_state_in_constant_queries(
    staff, tiktok, rows, django_assert_num_queries
):
    now = dt.datetime.now(UTC)
    topic = TopicFactory(name="Audio", slug="audio")
    for _ in range(rows):
        SponsorshipFactory(sponsor=tiktok)
    SponsorshipFactory(
        topic=topic,
        article=None,
        starts_at=now + dt.timedelta(days=2),
        ends_at=now + dt.timedelta(days=9),
    )
    SponsorshipFactory(article=ArticleFactory(), sponsor=SponsorFactory(is_active=False))
    # token + user, permissions (user, groups), count, the page (sponsor, label, article, topic)
    with django_assert_num_queries(5):
        listed = staff.get(BASE + "sponsorships/?page_size=100").json()
    assert listed["count"] == rows + 2
    assert {s["state"] for s in listed["results"]} == {"live", "upcoming", "sponsor_inactive"}
    with django_assert_num_queries(5):
        upcoming = staff.get(BASE + "sponsorships/?state=upcoming").json()["results"]
    assert [(s["topic"], s["article"]) for s in upcoming] == [("audio", None)]
    assert staff.get(BASE + "sponsorships/?sponsor=tiktok").json()["count"] == rows
    assert staff.get(BASE + "sponsorships/?state=live").json()["count"] == rows
    inactive = staff.get(BASE + "sponsorships/?state=sponsor_inactive").json()["results"]
    assert [s["state"] for s in inactive] == ["sponsor_inactive"]
    assert "state" in errors(staff.get(BASE + "sponsorships/?state=soon"))


# ---------------------------------------------------------------------------------------------
# Countdowns and their phases


def countdown_payload(**overrides) -> dict:
    return {
        "title": "The Lantern Awards for Marketing",
        "slug": "lantern-awards",
        "time_zone": "Europe/London",
        "closed_message": "Entries are closed",
        "phases": [
            {"label": "Early bird", "deadline": "2025-11-01T23:59:59"},
            {"label": "Deadline", "deadline": "2025-11-30T23:59:59"},
            {"label": "Final deadline", "deadline": "2025-12-14T23:59:59"},
        ],
        **overrides,
    }


@pytest.fixture
def awards():
    return countdown_with_phases(
        ("Early bird", EARLY),
        ("Deadline", DEADLINE),
        ("Final deadline", FINAL),
        title="The Lantern Awards for Marketing",
        slug="lantern-awards",
    )


def phase_id(countdown, label_text):
    return countdown.phases.get(label=label_text).pk


@time_machine.travel(NOW, tick=False)
def test_a_countdown_is_created_with_its_phases_read_in_its_zone(staff, public):
    payload = countdown_payload(
        time_zone="America/New_York",
        phases=[
            {"label": "Deadline", "deadline": "2025-11-30T23:59:59"},  # EST: UTC-5
            {"label": "Final deadline", "deadline": "2025-12-14T23:59:59Z"},  # an offset: as is
        ],
    )
    response = staff.post(BASE + "countdowns/", payload, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["state"] == "open"
    assert [(p["label"], p["deadline"], p["passed"]) for p in body["phases"]] == [
        ("Deadline", "2025-11-30T23:59:59-05:00", False),
        ("Final deadline", "2025-12-14T18:59:59-05:00", False),
    ]
    stored = list(DeadlinePhase.objects.order_by("deadline").values_list("deadline", flat=True))
    assert stored == [
        dt.datetime(2025, 12, 1, 4, 59, 59, tzinfo=UTC),
        dt.datetime(2025, 12, 14, 23, 59, 59, tzinfo=UTC),
    ]
    shown = public.get("/api/v1/countdowns/lantern-awards/").json()
    assert (shown["label"], shown["deadline"]) == ("Deadline", "2025-11-30T23:59:59-05:00")


@pytest.mark.parametrize(
    ("zone", "wall_clock", "occurrence", "stored"),
    [
        ("Europe/London", "2025-10-26T01:30:00", "first", dt.datetime(2025, 10, 26, 0, 30)),
        ("Europe/London", "2025-10-26T01:30:00", "second", dt.datetime(2025, 10, 26, 1, 30)),
        ("America/New_York", "2025-11-02T01:30:00", "second", dt.datetime(2025, 11, 2, 6, 30)),
    ],
)
def test_a_time_that_happens_twice_needs_its_occurrence(
    staff, zone, wall_clock, occurrence, stored
):
    phases = [{"label": "Deadline", "deadline": wall_clock}]
    payload = countdown_payload(time_zone=zone, phases=phases)
    asked = errors(staff.post(BASE + "countdowns/", payload, format="json"))
    assert "happens twice in " + zone in asked["phases.0.occurrence"][0]
    phases[0]["occurrence"] = occurrence
    created = staff.post(BASE + "countdowns/", payload, format="json")
    assert created.status_code == 201, created.json()
    assert DeadlinePhase.objects.get().deadline == stored.replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("overrides", "field", "text"),
    [
        (
            {"phases": [{"label": "Deadline", "deadline": "2025-03-30T01:30:00"}]},
            "phases.0.deadline",
            "does not exist in Europe/London: that night the clocks go forward from 01:00 GMT "
            "to 02:00 BST",
        ),
        (
            {
                "phases": [
                    {"label": "Deadline", "deadline": "2025-11-30T23:59:59"},
                    {"label": "Early bird", "deadline": "2025-11-01T23:59:59"},
                ]
            },
            "phases.1.deadline",
            "Phases are listed in time order: “Early bird” must end after “Deadline”",
        ),
        (
            {
                "phases": [
                    {"label": "Deadline", "deadline": "2025-11-30T23:59:59"},
                    {"label": "Final deadline", "deadline": "2025-11-30T23:59:59Z"},
                ]
            },
            "phases.1.deadline",
            "“Deadline” and “Final deadline” have the same deadline",
        ),
        ({"phases": []}, "phases", "at least 1"),
        ({"phases": [{"label": "Deadline"}]}, "phases.0.deadline", "needs a deadline"),
        ({"phases": [{"deadline": "2025-11-30T23:59:59"}]}, "phases.0.label", "blank"),
        ({"phases": [{"label": "D", "deadline": "tomorrow"}]}, "phases.0.deadline", "format"),
        (
            {"phases": [{"label": "D", "deadline": "2025-11-30T23:59:59", "id": 0}]},
            "phases.0.id",
            "",
        ),
        ({"time_zone": "Mars/Olympus"}, "time_zone", "is not a known time zone"),
        ({"closed_link_label": "See the shortlist"}, "closed_link_url", "Give the address"),
        ({"closed_link_url": "javascript:alert(1)"}, "closed_link_url", ""),
        ({"title": ""}, "title", ""),
        (
            {"phases": [{"label": "D", "deadline": "2025-11-30T23:59:59", "occurrence": "third"}]},
            "phases.0.occurrence",
            "not a valid choice",
        ),
    ],
)
def test_bad_countdowns_answer_400_with_field_errors_and_save_nothing(
    staff, overrides, field, text
):
    found = errors(staff.post(BASE + "countdowns/", countdown_payload(**overrides), format="json"))
    assert field in found, found
    assert text in " ".join(found[field])
    assert not Countdown.objects.exists()


def test_the_admin_and_the_api_refuse_two_phases_at_one_time_with_the_same_message(staff, client):
    phases = [
        {"label": "Deadline", "deadline": "2025-11-30T23:59:59"},
        {"label": "Final deadline", "deadline": "2025-11-30T23:59:59"},
    ]
    found = errors(
        staff.post(BASE + "countdowns/", countdown_payload(phases=phases), format="json")
    )
    client.force_login(User.objects.create_superuser("boss", password="x"))
    admin = client.post(
        "/admin/sponsors/countdown/add/",
        {
            "title": "Lantern Awards",
            "slug": "lantern",
            "time_zone": "Europe/London",
            "closed_message": "Entries closed",
            "phases-TOTAL_FORMS": "2",
            "phases-INITIAL_FORMS": "0",
            "phases-MIN_NUM_FORMS": "1",
            "phases-MAX_NUM_FORMS": "1000",
            "phases-0-label": "Deadline",
            "phases-0-deadline_local_0": "2025-11-30",
            "phases-0-deadline_local_1": "23:59:59",
            "phases-1-label": "Final deadline",
            "phases-1-deadline_local_0": "2025-11-30",
            "phases-1-deadline_local_1": "23:59:59",
            "extensions-TOTAL_FORMS": "0",
            "extensions-INITIAL_FORMS": "0",
        },
    )
    admin_errors = [
        str(error)
        for formset in admin.context["inline_admin_formsets"]
        for error in formset.formset.non_form_errors()
    ]
    assert found["phases.1.deadline"] == admin_errors
    assert not Countdown.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_phases_are_renamed_added_and_removed_but_saved_deadlines_stay(staff, public, awards):
    url = f"{BASE}countdowns/{awards.pk}/"
    assert public.get("/api/v1/countdowns/lantern-awards/").json()["label"] == "Deadline"
    phases = staff.get(url).json()["phases"]
    phases[1]["label"] = "Main deadline"  # sent back as read, with its deadline unchanged
    del phases[0]  # Early bird goes
    phases.append({"label": "Late entries", "deadline": "2025-12-20T12:00:00"})
    response = staff.patch(url, {"phases": phases}, format="json")
    assert response.status_code == 200, response.json()
    assert [(p["label"], p["deadline"]) for p in response.json()["phases"]] == [
        ("Main deadline", "2025-11-30T23:59:59+00:00"),
        ("Final deadline", "2025-12-14T23:59:59+00:00"),
        ("Late entries", "2025-12-20T12:00:00+00:00"),
    ]
    assert awards.phases.count() == 3
    assert public.get("/api/v1/countdowns/lantern-awards/").json()["label"] == "Main deadline"
    renamed = staff.patch(url, {"title": "Lantern Awards 2025"}, format="json").json()
    assert (renamed["title"], len(renamed["phases"])) == ("Lantern Awards 2025", 3)
    assert public.get("/api/v1/countdowns/lantern-awards/").json()["title"] == "Lantern Awards 2025"


@time_machine.travel(NOW, tick=False)
def test_changing_the_zone_keeps_every_deadline_at_its_instant(staff, awards):
    response = staff.patch(
        f"{BASE}countdowns/{awards.pk}/", {"time_zone": "Asia/Singapore"}, format="json"
    )
    assert response.json()["phases"][1]["deadline"] == "2025-12-01T07:59:59+08:00"
    assert awards.phases.get(label="Deadline").deadline == DEADLINE


@time_machine.travel(NOW, tick=False)
def test_a_saved_deadline_moves_only_by_an_extension(staff, awards):
    url = f"{BASE}countdowns/{awards.pk}/"
    phases = staff.get(url).json()["phases"]
    phases[1]["deadline"] = "2025-12-05T23:59:59+00:00"
    found = errors(staff.patch(url, {"phases": phases}, format="json"))
    assert "moves only by an extension" in found["phases.1.deadline"][0]
    assert awards.phases.get(label="Deadline").deadline == DEADLINE
    other = countdown_with_phases(("Deadline", DEADLINE), title="Other awards")
    stranger = [{"id": other.phases.get().pk, "label": "Taken"}]
    assert "phases.0.id" in errors(staff.patch(url, {"phases": stranger}, format="json"))
    twice = [{"id": phase_id(awards, "Deadline")}, {"id": phase_id(awards, "Deadline")}]
    assert "phases.1.id" in errors(staff.patch(url, {"phases": twice}, format="json"))
    assert other.phases.get().label == "Deadline"


@time_machine.travel(NOW, tick=False)
def test_a_phase_with_history_cannot_be_removed(staff, awards):
    countdown_extend(
        phase=awards.phases.get(label="Deadline"),
        new_deadline=DEADLINE + dt.timedelta(days=1),
        reason="More time",
    )
    keep_only_final = [{"id": phase_id(awards, "Final deadline")}]
    url = f"{BASE}countdowns/{awards.pk}/"
    found = errors(staff.patch(url, {"phases": keep_only_final}, format="json"))
    assert found["phases"] == [
        "“Extended deadline” has extension history, which is kept for good: it cannot be "
        "removed, so keep it in the list."
    ]
    assert awards.phases.count() == 3


def test_phase_changes_need_the_phase_permissions_as_in_the_admin(api_client, awards):
    countdown_perms = ["view_countdown", "add_countdown", "change_countdown"]
    login(api_client, staff_with(*countdown_perms, username="no-phases"))
    created = api_client.post(BASE + "countdowns/", countdown_payload(slug="x"), format="json")
    assert created.status_code == 403
    assert "add_deadlinephase" in created.json()["detail"]
    url = f"{BASE}countdowns/{awards.pk}/"
    assert api_client.patch(url, {"title": "Renamed"}, format="json").status_code == 200
    phases = api_client.get(url).json()["phases"]
    renamed = [{**phases[0], "label": "Earliest"}, *phases[1:]]
    assert api_client.patch(url, {"phases": renamed}, format="json").status_code == 403
    fewer = api_client.patch(url, {"phases": phases[1:]}, format="json")
    assert "delete_deadlinephase" in fewer.json()["detail"]
    assert api_client.patch(url, {"phases": phases}, format="json").status_code == 200  # same
    login(api_client, staff_with(*countdown_perms, "change_deadlinephase", username="renamer"))
    assert api_client.patch(url, {"phases": renamed}, format="json").status_code == 200
    assert awards.phases.filter(label="Earliest").exists()
    assert awards.phases.count() == 3


@pytest.mark.parametrize("rows", [1, 15])
def test_the_countdown_list_is_constant_in_queries(staff, rows, django_assert_num_queries):
    for n in range(rows):
        countdown_with_phases(("Deadline", DEADLINE), ("Final", FINAL), title=f"Awards {n}")
    countdown_with_phases(("Deadline", EARLY), title="Old awards")
    # token + user, permissions (user, groups), count, the page of countdowns, their phases
    with time_machine.travel(NOW, tick=False), django_assert_num_queries(6):
        listed = staff.get(BASE + "countdowns/?page_size=100").json()
    assert listed["count"] == rows + 1
    assert all(len(c["phases"]) == 2 for c in listed["results"] if c["title"] != "Old awards")
    with time_machine.travel(NOW, tick=False), django_assert_num_queries(6):
        closed = staff.get(BASE + "countdowns/?state=closed").json()["results"]
    assert [(c["title"], c["state"]) for c in closed] == [("Old awards", "closed")]
    with time_machine.travel(NOW, tick=False):
        assert staff.get(BASE + "countdowns/?state=open").json()["count"] == rows
    assert staff.get(BASE + "countdowns/?search=old+awards").json()["count"] == 1
    assert "state" in errors(staff.get(BASE + "countdowns/?state=later"))


# ---------------------------------------------------------------------------------------------
# Extending


def extend(client, countdown, **body):
    with time_machine.travel(NOW, tick=False):
        return client.post(f"{BASE}countdowns/{countdown.pk}/extend/", body, format="json")


def test_extending_moves_the_deadline_keeps_the_history_and_serves_it_at_once(
    staff, public, awards
):
    with time_machine.travel(NOW, tick=False):
        assert public.get("/api/v1/countdowns/lantern-awards/").json()["label"] == "Deadline"
    response = extend(
        staff,
        awards,
        phase=phase_id(awards, "Deadline"),
        new_deadline="2025-12-05T23:59:59",
        reason="Agencies asked",
    )
    assert response.status_code == 201, response.json()
    assert response.json() | {"id": 0, "phase": 0} == {
        "id": 0,
        "phase": 0,
        "phase_label": "Deadline",
        "old_deadline": "2025-11-30T23:59:59+00:00",
        "new_deadline": "2025-12-05T23:59:59+00:00",
        "reason": "Agencies asked",
        "changed_by": "adops",
        "changed_at": "2025-11-20T12:00:00+00:00",
    }
    row = DeadlineExtension.objects.get()
    assert (row.changed_by.username, row.old_deadline, row.new_deadline) == (
        "adops",
        DEADLINE,
        dt.datetime(2025, 12, 5, 23, 59, 59, tzinfo=UTC),
    )
    with time_machine.travel(NOW, tick=False):
        shown = public.get("/api/v1/countdowns/lantern-awards/").json()
        detail = staff.get(f"{BASE}countdowns/{awards.pk}/").json()
    assert (shown["label"], shown["deadline"], shown["extended"]) == (
        "Extended deadline",
        "2025-12-05T23:59:59+00:00",
        True,
    )
    phase = detail["phases"][1]
    assert (phase["display_label"], phase["original_deadline"], phase["extended"]) == (
        "Extended deadline",
        "2025-11-30T23:59:59+00:00",
        True,
    )
    history = staff.get(f"{BASE}countdowns/{awards.pk}/extensions/").json()
    assert [(r["phase_label"], r["reason"]) for r in history["results"]] == [
        ("Deadline", "Agencies asked")
    ]


def test_the_extend_action_can_name_the_extended_phase_and_reopen_a_closed_countdown(staff, public):
    closed = countdown_with_phases(("Deadline", EARLY), slug="old-awards")
    with time_machine.travel(NOW, tick=False):
        assert public.get("/api/v1/countdowns/old-awards/").json()["state"] == "closed"
    response = extend(
        staff,
        closed,
        phase=closed.phases.get().pk,
        new_deadline="2025-11-25T18:00:00Z",
        reason="Reopened for late entries",
        extended_label="Late entries",
    )
    assert response.status_code == 201, response.json()
    with time_machine.travel(NOW, tick=False):
        shown = public.get("/api/v1/countdowns/old-awards/").json()
    assert (shown["state"], shown["label"]) == ("open", "Late entries")


@pytest.mark.parametrize(
    ("label_text", "body", "field", "text"),
    [
        ("Deadline", {"new_deadline": "2025-11-20T11:59:00"}, "new_deadline", "is in the past"),
        (
            "Final deadline",
            {"new_deadline": "2025-11-30T12:00:00"},
            "new_deadline",
            "must be after the previous phase “Deadline”",
        ),
        (
            "Deadline",
            {"new_deadline": "2025-12-20T12:00:00"},
            "new_deadline",
            "must be before the next phase “Final deadline”",
        ),
        ("Deadline", {"new_deadline": "2025-11-30T23:59:59"}, "new_deadline", "already the"),
        ("Deadline", {"reason": ""}, "reason", "may not be blank"),
        ("Deadline", {"reason": "   "}, "reason", ""),
        ("Deadline", {"reason": "x" * 2001}, "reason", "no more than 2000"),
        ("Deadline", {"new_deadline": "next week"}, "new_deadline", "wrong format"),
        ("Deadline", {"phase": 999999}, "phase", "does not exist"),
        ("Deadline", {"occurrence": "both"}, "occurrence", "not a valid choice"),
        ("Deadline", {"extended_label": "x" * 81}, "extended_label", "no more than 80"),
    ],
)
def test_bad_extensions_answer_400_with_field_errors_and_keep_no_history(
    staff, awards, label_text, body, field, text
):
    request = {
        "phase": phase_id(awards, label_text),
        "new_deadline": "2025-12-05T23:59:59",
        "reason": "Agencies asked",
        **body,
    }
    found = errors(extend(staff, awards, **request))
    assert text in " ".join(found[field]), found
    assert not DeadlineExtension.objects.exists()
    assert awards.phases.get(label="Deadline").deadline == DEADLINE


def test_an_extension_reads_its_time_in_the_countdowns_zone(staff):
    london = countdown_with_phases(("Deadline", dt.datetime(2026, 3, 1, tzinfo=UTC)))
    gap = extend(
        staff, london, phase=london.phases.get().pk, new_deadline="2026-03-29T01:30:00", reason="r"
    )
    assert "does not exist in Europe/London" in errors(gap)["new_deadline"][0]
    york = countdown_with_phases(
        ("Deadline", dt.datetime(2026, 10, 1, tzinfo=UTC)), time_zone="America/New_York"
    )
    fold = {"phase": york.phases.get().pk, "new_deadline": "2026-11-01T01:30:00", "reason": "r"}
    assert "happens twice" in errors(extend(staff, york, **fold))["occurrence"][0]
    chosen = extend(staff, york, **fold, occurrence="second")
    assert chosen.json()["new_deadline"] == "2026-11-01T01:30:00-05:00"
    assert DeadlineExtension.objects.get().new_deadline == dt.datetime(
        2026, 11, 1, 6, 30, tzinfo=UTC
    )


def test_a_phase_of_another_countdown_cannot_be_extended_here(staff, awards):
    other = countdown_with_phases(("Deadline", DEADLINE), title="Other awards")
    body = {"phase": other.phases.get().pk, "new_deadline": "2025-12-05T23:59:59", "reason": "r"}
    assert "phase" in errors(extend(staff, awards, **body))
    assert extend(staff, Countdown(pk=999999), **body).status_code == 404


def test_extending_needs_change_countdown_and_add_extension_and_reading_needs_view(
    api_client, awards
):
    body = {"phase": phase_id(awards, "Deadline"), "new_deadline": "2025-12-05T23:59:59"}
    body["reason"] = "Agencies asked"
    login(api_client, staff_with("view_countdown", "change_countdown", username="changer"))
    assert extend(api_client, awards, **body).status_code == 403
    assert api_client.get(f"{BASE}countdowns/{awards.pk}/extensions/").status_code == 200
    login(api_client, staff_with("add_deadlineextension", "change_countdown", username="mover"))
    assert extend(api_client, awards, **body).status_code == 201
    assert api_client.get(f"{BASE}countdowns/{awards.pk}/extensions/").status_code == 403
    assert DeadlineExtension.objects.count() == 1


@pytest.mark.parametrize("rows", [1, 12])
def test_the_history_list_is_constant_in_queries(staff, awards, rows, django_assert_num_queries):
    deadline = awards.phases.get(label="Final deadline")
    for n in range(rows):
        countdown_extend(
            phase=deadline,
            new_deadline=FINAL + dt.timedelta(hours=n + 1),
            reason=f"Move {n}",
            now=NOW,
        )
    # token + user, permissions (user, groups), the countdown, count, the page of history
    with django_assert_num_queries(6):
        history = staff.get(f"{BASE}countdowns/{awards.pk}/extensions/?page_size=100").json()
    assert history["count"] == rows
    assert history["results"][0]["reason"] == f"Move {rows - 1}"  # newest first
    assert staff.get(f"{BASE}countdowns/999999/extensions/").status_code == 404


# ---------------------------------------------------------------------------------------------
# Deleting countdowns


def test_a_countdown_with_history_or_creatives_cannot_be_deleted(staff, awards):
    countdown_extend(
        phase=awards.phases.get(label="Final deadline"),
        new_deadline=FINAL + dt.timedelta(days=1),
        reason="More time",
        now=NOW,
    )
    response = staff.delete(f"{BASE}countdowns/{awards.pk}/")
    assert (response.status_code, response.json()["code"]) == (409, "protected")
    assert "1 deadline extension" in response.json()["detail"]
    shown = countdown_with_phases(("Deadline", DEADLINE), title="Shown")
    CreativeFactory(countdown=shown)
    assert "1 creative" in staff.delete(f"{BASE}countdowns/{shown.pk}/").json()["detail"]
    free = countdown_with_phases(("Deadline", DEADLINE), title="Free", slug="free")
    assert staff.delete(f"{BASE}countdowns/{free.pk}/").status_code == 204
    assert not DeadlinePhase.objects.filter(countdown_id=free.pk).exists()
    assert Countdown.objects.count() == 2
    assert DeadlineExtension.objects.count() == 1


# ---------------------------------------------------------------------------------------------
# The schema


def test_every_answer_and_every_parameter_limit_is_in_the_schema():
    from tests.contract import openapi_schema

    paths = openapi_schema()["paths"]
    ours = {
        path: ops
        for path, ops in paths.items()
        if path.startswith(
            (
                "/api/v1/ad-ops/sponsors/",
                "/api/v1/ad-ops/labels/",
                "/api/v1/ad-ops/sponsorships/",
                "/api/v1/ad-ops/countdowns/",
            )
        )
    }
    assert len(ours) == 10  # four lists, four details, extend, extensions
    for path, operations in ours.items():
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            answers = set(operation["responses"])
            assert {"401", "403"} <= answers, (method, path)
            if "{id}" in path:
                assert "404" in answers, (method, path)
            if method in ("post", "put", "patch") or path.endswith("s/"):
                assert "400" in answers, (method, path)
            for status, answer in operation["responses"].items():
                if status != "204":
                    assert "application/json" in answer.get("content", {}), (method, path, status)
    for path in ("sponsors", "labels", "countdowns"):
        assert "409" in paths[f"/api/v1/ad-ops/{path}/{{id}}/"]["delete"]["responses"]
    listing = {
        p["name"]: p["schema"] for p in paths["/api/v1/ad-ops/sponsors/"]["get"]["parameters"]
    }
    assert (listing["page_size"]["minimum"], listing["page_size"]["maximum"]) == (1, 100)
    assert listing["search"]["maxLength"] == 200
    assert listing["is_active"]["type"] == "boolean"
    body = paths["/api/v1/ad-ops/sponsors/"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in body
    history = paths["/api/v1/ad-ops/countdowns/{id}/extensions/"]["get"]
    assert {p["name"] for p in history["parameters"]} == {"id", "page", "page_size"}
