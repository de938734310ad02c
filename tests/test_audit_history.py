"""Audit history: every path that writes an audited object leaves one entry with who, when,
what and the old and new values, readable in the admin and through the staff API."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token

from cms import history
from cms.models import Article
from cms.submissions import submission_approve
from sponsors.countdowns import countdown_extend
from sponsors.models import Campaign, Creative, DeadlinePhase, Slot, Sponsor
from tests.cms.factories import ArticleFactory, BlockFactory, TopicFactory
from tests.cms.test_article_editing import change_data
from tests.sponsors.factories import (
    SponsorFactory,
    SubmissionFactory,
    UserFactory,
    editor_user,
)
from tests.sponsors.factories_ads import CampaignFactory, CreativeFactory, SlotFactory
from tests.sponsors.factories_countdowns import countdown_with_phases
from tests.sponsors.reporting import count
from tests.sponsors.test_campaign_admin import form_data

pytestmark = pytest.mark.django_db

API = "/api/v1/ad-ops/"
NOW = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)


def entries(obj) -> list[history.Entry]:
    model = type(obj)
    return history.history_entries(model, history.history_rows(model, id=obj.pk))


def changes(entry: history.Entry) -> dict[str, tuple]:
    return {c.field: (c.old, c.new) for c in entry.changes}


@pytest.fixture
def adops():
    user = UserFactory(username="adops", is_staff=True)
    user.groups.add(Group.objects.get(name="Ad ops"))
    return user


@pytest.fixture
def admin_as_adops(adops):
    client = Client()
    client.force_login(adops)
    return client


@pytest.fixture
def staff(api_client, adops):
    token, _ = Token.objects.get_or_create(user=adops)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return api_client


def token_client(api_client, user):
    token, _ = Token.objects.get_or_create(user=user)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return api_client


# --- the admin --------------------------------------------------------------------------------


def test_admin_add_change_and_delete_of_a_slot_are_each_recorded_with_the_user(admin_as_adops):
    add = {
        "key": "strip",
        "name": "Strip",
        "width": "",
        "height": "",
        "accepts_text": "on",
        "is_active": "on",
        "house_creative": "",
    }
    response = admin_as_adops.post("/admin/sponsors/slot/add/", add)
    assert response.status_code == 302, response.content.decode()[:2000]
    slot = Slot.objects.get(key="strip")
    response = admin_as_adops.post(
        f"/admin/sponsors/slot/{slot.pk}/change/", {**add, "name": "Sitewide strip"}
    )
    assert response.status_code == 302
    response = admin_as_adops.post(f"/admin/sponsors/slot/{slot.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Slot.objects.exists()

    deleted, changed, created = entries(slot)
    assert [e.action for e in (deleted, changed, created)] == ["deleted", "changed", "created"]
    assert {e.user for e in (deleted, changed, created)} == {"adops"}
    assert changes(created)["name"] == (None, "Strip")
    assert changes(changed) == {"name": ("Strip", "Sitewide strip")}
    assert changes(deleted)["name"] == ("Sitewide strip", None)


def test_a_campaign_page_save_records_the_campaign_and_each_creative_once(admin_as_adops):
    slot, strip = SlotFactory(key="sidebar"), SlotFactory(key="strip")
    now = timezone.now().replace(microsecond=0)  # as the form posts it back
    campaign = CampaignFactory(
        name="Awards", starts_at=now - dt.timedelta(days=1), ends_at=now + dt.timedelta(days=9)
    )
    creative = CreativeFactory(campaign=campaign, name="Strip", headline="Old", slots=[slot])
    page = f"/admin/sponsors/campaign/{campaign.pk}/change/"
    data = form_data(admin_as_adops.get(page))
    data["name"] = ["Awards push"]
    data["creatives-0-headline"] = ["New"]
    data["creatives-0-slots"] = [str(strip.pk)]
    response = admin_as_adops.post(page, data)
    assert response.status_code == 302, response.context["errors"]

    latest = entries(campaign)[0]
    assert (latest.user, latest.action, changes(latest)) == (
        "adops",
        "changed",
        {"name": ("Awards", "Awards push")},
    )
    # The creative's headline and slots in one entry (its slots saved after it).
    latest, *_ = entries(creative)
    assert latest.user == "adops"
    assert changes(latest) == {"headline": ("Old", "New"), "slots": ([slot.pk], [strip.pk])}
    change = next(c for c in latest.changes if c.field == "slots")
    assert (change.old_display, change.new_display) == (str(slot), str(strip))


def test_admin_pause_and_resume_actions_record_every_row_changed(admin_as_adops):
    one, two = CampaignFactory(name="One"), CampaignFactory(name="Two")
    CampaignFactory(name="Already paused", is_active=False)
    ids = [str(c.pk) for c in Campaign.objects.all()]
    response = admin_as_adops.post(
        "/admin/sponsors/campaign/", {"action": "pause", "_selected_action": ids}
    )
    assert response.status_code == 302
    for campaign in (one, two):
        latest = entries(campaign)[0]
        assert (latest.user, latest.reason, changes(latest)) == (
            "adops",
            "paused",
            {"is_active": (True, False)},
        )
    paused = Campaign.objects.get(name="Already paused")
    assert [e.action for e in entries(paused)] == ["created"]  # unchanged: nothing recorded


def test_pausing_creatives_keeps_their_slots_in_the_history(staff):
    slot = SlotFactory(key="strip")
    creative = CreativeFactory(slots=[slot])
    assert staff.post(f"{API}creatives/{creative.pk}/pause/").status_code == 200
    latest = entries(creative)[0]
    assert (latest.user, latest.reason, changes(latest)) == (
        "adops",
        "paused",
        {"is_active": (True, False)},
    )


def test_an_article_body_and_topics_changed_in_the_admin_are_in_its_history():
    editor = editor_user("ed")
    client = Client()
    client.force_login(editor)
    article = ArticleFactory(headline="Sound on", status="draft", published_at=None)
    block = BlockFactory(article=article, position=1, kind="paragraph", text="Old words")
    topic = TopicFactory(name="TikTok")
    data = change_data(
        article,
        [{"id": block.pk, "position": "1", "kind": "paragraph", "rich_text": "<p>New words</p>"}],
    )
    data.update(
        {
            "article_topics-TOTAL_FORMS": "1",
            "article_topics-0-topic": str(topic.pk),
            "article_topics-0-position": "0",
            "article_topics-0-article": str(article.pk),
        }
    )
    response = client.post(f"/admin/cms/article/{article.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]

    latest = entries(article)[0]
    assert latest.user == "ed"
    found = changes(latest)
    assert found["body"] == ("[Paragraph] Old words", "[Paragraph] New words")
    assert found["topics"] == ([], [topic.pk])

    page = client.get(f"/admin/cms/article/{article.pk}/history/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "[Paragraph] New words" in html and "TikTok" in html and "ed" in html


def test_the_admin_history_page_shows_who_changed_what_and_escapes_values(admin_as_adops):
    campaign = CampaignFactory(name="Plain")
    campaign.name = "<script>alert(1)</script>"
    campaign._history_user = UserFactory(username="someone")
    campaign.save()
    page = admin_as_adops.get(f"/admin/sponsors/campaign/{campaign.pk}/history/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "someone" in html and "Plain" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html


def test_the_countdown_history_page_lists_its_phases_extensions(admin_as_adops, adops):
    deadline = timezone.now() + dt.timedelta(days=3)
    countdown = countdown_with_phases(("Deadline", deadline))
    phase = countdown.phases.get()
    countdown_extend(
        phase=phase, new_deadline=deadline + dt.timedelta(days=2), reason="Demand", by=adops
    )
    latest = entries(phase)[0]
    assert (latest.user, latest.reason) == ("adops", "extended: Demand")
    old, new = changes(latest)["deadline"]
    assert dt.datetime.fromisoformat(new) - dt.datetime.fromisoformat(old) == dt.timedelta(days=2)
    assert [e.action for e in entries(countdown)] == ["created"]  # the phase says it

    html = admin_as_adops.get(f"/admin/sponsors/countdown/{countdown.pk}/history/")
    assert html.status_code == 200
    assert "Deadline phases" in html.content.decode()
    assert "extended: Demand" in html.content.decode()


# --- the API ----------------------------------------------------------------------------------


def history_of(client, model: str, object_id: int, **params):
    return client.get(API + "history/", {"model": model, "object_id": object_id, **params})


@time_machine.travel(NOW, tick=False)
def test_api_create_update_and_delete_are_recorded_and_read_back_newest_first(staff):
    SponsorFactory(slug="tiktok", name="TikTok")
    payload = {
        "sponsor": "tiktok",
        "name": "Awards push",
        "starts_at": "2026-11-01T00:00:00Z",
        "ends_at": "2030-12-31T00:00:00Z",
        "tier": "sponsorship",
    }
    created = staff.post(API + "campaigns/", payload)
    assert created.status_code == 201
    pk = created.json()["id"]
    assert staff.patch(f"{API}campaigns/{pk}/", {"frequency_cap": 3}).status_code == 200
    assert staff.post(f"{API}campaigns/{pk}/pause/").status_code == 200
    assert staff.delete(f"{API}campaigns/{pk}/").status_code == 204

    body = history_of(staff, "campaign", pk).json()
    assert body["count"] == 4
    actions = [(e["action"], e["user"]) for e in body["results"]]
    assert actions == [
        ("deleted", "adops"),
        ("changed", "adops"),
        ("changed", "adops"),
        ("created", "adops"),
    ]
    deleted, paused, capped, made = body["results"]
    assert paused["reason"] == "paused"
    assert [(c["field"], c["old"], c["new"]) for c in paused["changes"]] == [
        ("is_active", True, False)
    ]
    assert [(c["field"], c["old"], c["new"]) for c in capped["changes"]] == [
        ("frequency_cap", None, 3)
    ]
    sponsor = next(c for c in made["changes"] if c["field"] == "sponsor")
    assert (sponsor["new"], sponsor["new_display"]) == (Sponsor.objects.get().pk, "TikTok")
    assert made["at"] == "2026-11-27T09:00:00Z"
    assert {c["field"] for c in deleted["changes"]} >= {"name", "sponsor", "tier"}


def test_an_api_creative_with_slots_and_topics_is_one_created_entry(staff):
    campaign = CampaignFactory()
    slot = SlotFactory(key="strip")
    topic = TopicFactory(name="TikTok", slug="tiktok")
    response = staff.post(
        API + "creatives/",
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
    (entry,) = history_of(staff, "creative", response.json()["id"]).json()["results"]
    found = {c["field"]: c["new"] for c in entry["changes"]}
    assert (entry["action"], found["slots"], found["include_topics"]) == (
        "created",
        [slot.pk],
        [topic.pk],
    )


def test_duplicating_a_campaign_records_the_copy_and_its_creatives(staff):
    slot = SlotFactory(key="strip")
    original = CampaignFactory(name="Autumn")
    CreativeFactory(campaign=original, name="Strip", slots=[slot])
    copied = staff.post(f"{API}campaigns/{original.pk}/duplicate/", {"name": "Spring"})
    assert copied.status_code == 201, copied.json()
    copy = Campaign.objects.get(name="Spring")
    (entry,) = entries(copy)
    assert (entry.action, entry.user, entry.reason) == (
        "created",
        "adops",
        f"duplicated from campaign {original.pk}",
    )
    (creative_entry,) = entries(Creative.objects.get(campaign=copy))
    assert creative_entry.user == "adops"
    assert changes(creative_entry)["slots"] == (None, [slot.pk])


def test_the_history_list_is_paginated_and_its_queries_do_not_grow(
    staff, django_assert_num_queries
):
    campaign = CampaignFactory(name="Edited")
    for n in range(30):
        campaign.name = f"Edited {n}"
        campaign.save()
    # token+user, permissions (user, groups), count, the page's rows, the row before the
    # page's oldest, the sponsors' names
    with django_assert_num_queries(7):
        first = history_of(staff, "campaign", campaign.pk, page_size=5).json()
    assert first["count"] == 31
    assert [c["new"] for c in first["results"][0]["changes"]] == ["Edited 29"]
    assert first["results"][-1]["changes"][0]["old"] == "Edited 24"
    with django_assert_num_queries(7):
        everything = history_of(staff, "campaign", campaign.pk, page_size=40).json()
    assert len(everything["results"]) == 31
    assert everything["results"][-1]["action"] == "created"


def test_creative_history_queries_do_not_grow_with_entries(staff, django_assert_num_queries):
    creative = CreativeFactory(slots=[SlotFactory(key="a")])
    for n in range(10):
        creative.weight = n + 2
        creative.save()
    # token+user, permissions (user, groups), count, rows, the row before, the three
    # many-to-many snapshots, the campaigns' and slots' names
    with django_assert_num_queries(11):
        assert history_of(staff, "creative", creative.pk).status_code == 200
    for n in range(10):
        creative.name = f"Renamed {n}"
        creative.save()
    with django_assert_num_queries(11):
        assert len(history_of(staff, "creative", creative.pk).json()["results"]) == 20


def test_history_errors_are_in_the_api_error_format(staff, api_client):
    campaign = CampaignFactory()
    for params in (
        {"model": "user", "object_id": 1},
        {"model": "campaign\u0000", "object_id": 1},
        {"model": "campaign", "object_id": "x"},
        {"model": "campaign", "object_id": 10**30},
        {"model": "campaign"},
    ):
        response = staff.get(API + "history/", params)
        assert response.status_code == 400, params
        assert response.json()["code"] == "invalid"
    assert history_of(staff, "campaign", 999_999).status_code == 404
    assert history_of(staff, "campaign", campaign.pk, page=9).status_code == 404


def test_history_needs_the_models_view_permission(api_client):
    campaign = CampaignFactory()
    article = ArticleFactory()
    anonymous = history_of(api_client, "campaign", campaign.pk)
    assert anonymous.status_code == 401
    assert Client().options(API + "history/").status_code == 401  # asks for a token first
    editor = token_client(api_client, editor_user("ed"))
    assert history_of(editor, "campaign", campaign.pk).status_code == 403
    assert history_of(editor, "article", article.pk).status_code == 200  # editors read articles
    assert history_of(editor, "sponsor", SponsorFactory().pk).status_code == 200
    partner = UserFactory(username="partner")
    partner.groups.add(Group.objects.get(name="Partners"))
    assert history_of(token_client(api_client, partner), "article", article.pk).status_code == 403


def test_an_object_that_existed_before_the_history_has_an_empty_history(staff):
    campaign = CampaignFactory()
    campaign.history.all().delete()  # as if made before the history was installed
    response = history_of(staff, "campaign", campaign.pk)
    assert (response.status_code, response.json()["results"]) == (200, [])


# --- services, commands and rules ---------------------------------------------------------


def test_an_approved_submission_makes_an_article_entry_with_its_body_and_topics():
    editor = editor_user("ed")
    topic = TopicFactory(name="TikTok")
    submission = SubmissionFactory()
    submission.submission_topics.create(topic=topic, position=0)
    article = submission_approve(submission=submission, by=editor)
    assert isinstance(article, Article)
    (entry,) = entries(article)
    found = changes(entry)
    assert (entry.action, entry.user) == ("created", "ed")
    assert entry.reason == f"approved from submission {submission.pk}"
    assert found["topics"] == (None, [topic.pk])
    assert "[Heading] A heading" in found["body"][1]


def test_load_demo_data_records_its_rows_as_made_by_the_command():
    call_command("load_demo_data", admin_password="admin", stdout=io.StringIO())
    campaign = Campaign.objects.order_by("pk").first()
    assert campaign is not None
    latest = entries(campaign)[0]
    assert (latest.user, latest.reason) == (None, "load_demo_data")


def test_a_creative_with_delivery_counts_stays_undeletable_and_no_deletion_is_recorded(staff):
    slot = SlotFactory(key="strip")
    creative = CreativeFactory(slots=[slot])
    count(timezone.now() - dt.timedelta(hours=1), creative, slot, 5, 0)
    response = staff.delete(f"{API}creatives/{creative.pk}/")
    assert response.status_code == 409
    assert Creative.objects.filter(pk=creative.pk).exists()
    assert "deleted" not in [e.action for e in entries(creative)]


def test_deleting_a_phase_in_a_service_is_recorded():
    deadline = timezone.now() + dt.timedelta(days=3)
    countdown = countdown_with_phases(("Early", deadline), ("Late", deadline + dt.timedelta(1)))
    phase = countdown.phases.get(label="Early")
    pk = phase.pk
    with history.audit_context(user=UserFactory(username="script"), reason="cleanup"):
        phase.delete()
    row = DeadlinePhase.history.filter(id=pk).first()
    assert (row.history_type, row.history_user.username, row.history_change_reason) == (
        "-",
        "script",
        "cleanup",
    )


def test_the_baseline_command_records_objects_without_history_once():
    campaign = CampaignFactory(name="Old")
    campaign.history.all().delete()  # as if made before the history was installed
    out = io.StringIO()
    call_command("audit_history_baseline", stdout=out)
    assert "sponsors.Campaign: 1 recorded" in out.getvalue()
    (entry,) = entries(campaign)
    assert (entry.action, entry.user) == ("changed", None)
    assert entry.reason.startswith("baseline")
    assert changes(entry)["name"] == (None, "Old")
    call_command("audit_history_baseline", stdout=out)
    assert len(entries(campaign)) == 1
    campaign.name = "Renamed"
    campaign.save()
    assert changes(entries(campaign)[0]) == {"name": ("Old", "Renamed")}


def test_the_admin_history_page_is_refused_to_who_may_not_see_the_object():
    campaign = CampaignFactory()
    client = Client()
    client.force_login(editor_user("ed"))
    assert client.get(f"/admin/sponsors/campaign/{campaign.pk}/history/").status_code == 403
    sponsor_page = client.get(f"/admin/sponsors/sponsor/{campaign.sponsor_id}/history/")
    assert sponsor_page.status_code == 200  # editors read sponsors


def test_the_admin_history_page_queries_do_not_grow_with_entries(admin_as_adops):
    creative = CreativeFactory(slots=[SlotFactory(key="a")])
    page = f"/admin/sponsors/creative/{creative.pk}/history/"

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin_as_adops.get(page).status_code == 200
        return len(captured)

    for n in range(3):
        creative.weight = n + 2
        creative.save()
    few = queries()
    for n in range(30):
        creative.name = f"Renamed {n}"
        creative.save()
    assert queries() == few


def test_deleting_a_block_in_the_admin_makes_one_article_entry():
    client = Client()
    client.force_login(editor_user("ed"))
    article = ArticleFactory(status="draft", published_at=None)
    keep = BlockFactory(article=article, position=1, kind="paragraph", text="Kept")
    gone = BlockFactory(article=article, position=2, kind="paragraph", text="Gone")
    before = len(entries(article))
    data = change_data(
        article,
        [
            {"id": keep.pk, "position": "1", "kind": "paragraph", "rich_text": "<p>Kept</p>"},
            {"id": gone.pk, "position": "2", "kind": "paragraph", "rich_text": "<p>Gone</p>"},
        ],
    )
    data["blocks-1-DELETE"] = "on"
    response = client.post(f"/admin/cms/article/{article.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    latest, *rest = entries(article)
    assert len(rest) == before
    assert changes(latest)["body"] == (
        "[Paragraph] Kept\n\n[Paragraph] Gone",
        "[Paragraph] Kept",
    )


@pytest.mark.django_db(transaction=True)
def test_migrating_a_database_with_data_starts_the_history_and_the_baseline_fills_it():
    before = [
        ("cms", "0005_partners_without_model_permissions"),
        ("sponsors", "0013_delivery_report_page"),
    ]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    sponsor = old.get_model("sponsors", "Sponsor").objects.create(name="Old", slug="old")
    old.get_model("sponsors", "Campaign").objects.create(
        sponsor=sponsor, name="Made before", starts_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    )
    try:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
        campaign = Campaign.objects.get(name="Made before")
        assert entries(campaign) == []  # the history starts with the migration
        call_command("audit_history_baseline", stdout=io.StringIO())
        campaign.name = "Changed after"
        campaign.save()
        assert changes(entries(campaign)[0]) == {"name": ("Made before", "Changed after")}
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
