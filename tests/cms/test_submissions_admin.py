"""Editors moderate partner submissions in the admin; approval and rejection end to end."""

import datetime as dt
import json

import pytest
import time_machine
from django.contrib.auth.models import Permission, User
from django.utils import timezone

from cms.models import Article, Submission, SubmissionTopic
from tests.cms.factories import TopicFactory
from tests.images import jpeg_with_gps, upload
from tests.sponsors.factories import PartnerFactory, SubmissionFactory, editor_user

pytestmark = pytest.mark.django_db

QUEUE = "/admin/cms/submission/"
T0 = dt.datetime(2026, 5, 4, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def editor(client):
    user = editor_user()
    client.force_login(user)
    return user


def at(minutes: int):
    return time_machine.travel(T0 + dt.timedelta(minutes=minutes), tick=False)


def test_queue_lists_pending_first_oldest_first(client, editor):
    with at(0):
        decided = SubmissionFactory(headline="Decided early")
    with at(10):
        older = SubmissionFactory(headline="Older pending")
    with at(20):
        newer = SubmissionFactory(headline="Newer pending")
    Submission.objects.filter(pk=decided.pk).update(
        status="rejected", rejection_reason="No.", decided_at=T0
    )
    page = client.get(QUEUE).content.decode()
    positions = [page.index(s.headline) for s in (older, newer, decided)]
    assert positions == sorted(positions)
    assert "Pending review" in page and "Rejected" in page


def test_approve_action_makes_draft_partner_articles_and_reports_counts(client, editor):
    TopicFactory(name="Video")
    partner = PartnerFactory(sponsor__name="TikTok")
    first = SubmissionFactory(submitted_by=partner.user, headline="First story")
    SubmissionTopic.objects.create(submission=first, topic=TopicFactory(name="Video"))
    second = SubmissionFactory(submitted_by=partner.user, headline="Second story")
    already = SubmissionFactory(submitted_by=partner.user)
    Submission.objects.filter(pk=already.pk).update(
        status="rejected", rejection_reason="No.", decided_at=timezone.now()
    )
    with at(30):
        response = client.post(
            QUEUE,
            {"action": "approve_selected", "_selected_action": [first.pk, second.pk, already.pk]},
            follow=True,
        )
    page = response.content.decode()
    assert "2 submission(s) approved" in page
    assert "1 skipped: already decided." in page

    first.refresh_from_db()
    assert first.status == "approved"
    assert first.decided_by == editor
    assert first.decided_at == T0 + dt.timedelta(minutes=30)
    article = first.article
    assert article.kind == Article.Kind.PARTNER
    assert article.status == Article.Status.DRAFT
    assert article.headline == "First story"
    assert article.standfirst == first.standfirst
    assert [t.name for t in article.topics.all()] == ["Video"]
    blocks = [(b.kind, b.text, b.attribution) for b in article.blocks.order_by("position")]
    assert blocks == [
        ("paragraph", "Words of a <b>first</b> paragraph.", ""),
        ("heading", "A heading", ""),
        ("quote", "Something said.", "Someone"),
        ("list", "One\nTwo", ""),
    ]
    sponsorship = article.sponsorships.get()
    assert sponsorship.sponsor.name == "TikTok"
    assert sponsorship.label.text == "Content created with"
    assert (sponsorship.starts_at, sponsorship.ends_at) == (None, None)
    assert Article.objects.filter(kind="partner").count() == 2


def test_approve_page_creates_the_draft_and_opens_it(client, editor):
    submission = SubmissionFactory(headline="Sound-on stories")
    change = client.get(f"{QUEUE}{submission.pk}/change/").content.decode()
    assert f"{QUEUE}{submission.pk}/approve/" in change
    assert f"{QUEUE}{submission.pk}/reject/" in change
    confirm = client.get(f"{QUEUE}{submission.pk}/approve/")
    assert "creates a <strong>draft</strong> partner article" in confirm.content.decode()
    response = client.post(f"{QUEUE}{submission.pk}/approve/", follow=True)
    submission.refresh_from_db()
    assert response.redirect_chain[-1][0] == f"/admin/cms/article/{submission.article.pk}/change/"
    assert "1 submission approved" in response.content.decode()
    # Approving twice changes nothing.
    client.post(f"{QUEUE}{submission.pk}/approve/")
    assert Article.objects.count() == 1


def test_reject_page_needs_a_reason_and_records_who_and_when(client, editor):
    submission = SubmissionFactory()
    response = client.post(f"{QUEUE}{submission.pk}/reject/", {"reason": "   "})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    response = client.post(f"{QUEUE}{submission.pk}/reject/", {"reason": "<b></b>"})
    assert "a rejection needs a reason" in response.content.decode()
    with at(5):
        response = client.post(
            f"{QUEUE}{submission.pk}/reject/", {"reason": "Reads like an advert."}, follow=True
        )
    assert "1 submission rejected" in response.content.decode()
    submission.refresh_from_db()
    assert submission.status == "rejected"
    assert submission.rejection_reason == "Reads like an advert."
    assert submission.decided_by == editor
    assert submission.decided_at == T0 + dt.timedelta(minutes=5)
    assert submission.article is None


def test_bulk_reject_asks_for_the_reason_then_reports_counts(client, editor):
    one, two = SubmissionFactory(), SubmissionFactory()
    ask = client.post(QUEUE, {"action": "reject_selected", "_selected_action": [one.pk, two.pk]})
    assert ask.status_code == 200
    assert "Reject 2 submission(s)?" in ask.content.decode()
    response = client.post(
        QUEUE,
        {
            "action": "reject_selected",
            "_selected_action": [one.pk, two.pk],
            "apply": "1",
            "reason": "Off topic for our readers.",
        },
        follow=True,
    )
    assert "2 submission(s) rejected" in response.content.decode()
    assert set(Submission.objects.values_list("status", "rejection_reason")) == {
        ("rejected", "Off topic for our readers.")
    }


def test_staff_without_the_moderation_permission_cannot_decide(client):
    user = User.objects.create_user("viewer", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_submission"))
    client.force_login(user)
    submission = SubmissionFactory()
    page = client.get(QUEUE).content.decode()
    assert submission.headline in page
    assert "approve_selected" not in page
    assert client.post(f"{QUEUE}{submission.pk}/approve/").status_code == 403
    assert client.post(f"{QUEUE}{submission.pk}/reject/", {"reason": "x"}).status_code == 403
    response = client.post(
        QUEUE, {"action": "approve_selected", "_selected_action": [submission.pk]}
    )
    submission.refresh_from_db()
    assert submission.status == "pending"
    assert response.status_code in (200, 302)


def test_partners_and_anonymous_cannot_open_the_queue(client):
    assert client.get(QUEUE).status_code == 302  # to the login page
    partner = PartnerFactory()
    client.force_login(partner.user)
    assert client.get(QUEUE).status_code == 302  # not staff: the admin never opens
    assert not partner.user.is_staff


def test_submissions_cannot_be_added_or_edited_in_the_admin(client, editor):
    submission = SubmissionFactory()
    assert client.get(f"{QUEUE}add/").status_code == 403
    response = client.post(f"{QUEUE}{submission.pk}/change/", {"headline": "Edited"})
    assert response.status_code == 403
    submission.refresh_from_db()
    assert submission.headline != "Edited"


# ---------------------------------------------------------------------------------------------
# End to end: submit (API and form) -> approve (admin) -> publish -> the sponsor block shows


def test_submit_approve_publish_shows_the_sponsor_block(client, editor, api_client):
    TopicFactory(name="Video")
    partner = PartnerFactory(sponsor__name="TikTok", sponsor__website_url="https://t.example/")
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {partner.user.auth_token.key}")
    created = api_client.post(
        "/api/v1/submissions/",
        {
            "headline": "Sound-on creative, a year in",
            "body": json.dumps(
                [
                    {"type": "paragraph", "text": "It starts with a <b>sound</b>."},
                    {"type": "list", "items": ["Voice first", "Captions second"]},
                ]
            ),
            "topics": ["video"],
            "hero_image": upload("hero.jpg", jpeg_with_gps(), "image/jpeg"),
            "hero_alt": "A studio microphone",
        },
        format="multipart",
    )
    assert created.status_code == 201
    submission_id = created.json()["id"]

    # The editor approves it in the admin and publishes the draft.
    client.post(f"{QUEUE}{submission_id}/approve/")
    article = Submission.objects.get(pk=submission_id).article
    assert article.hero_image and article.hero_alt == "A studio microphone"
    assert api_client.get(f"/api/v1/articles/{article.slug}/").status_code == 404  # a draft
    response = client.post(
        "/admin/cms/article/", {"action": "publish_now", "_selected_action": [article.pk]}
    )
    assert response.status_code == 302

    detail = api_client.get(f"/api/v1/articles/{article.slug}/").json()
    assert detail["kind"] == "partner"
    assert detail["sponsorship"]["label"] == "Content created with"
    assert detail["sponsorship"]["sponsor"]["name"] == "TikTok"
    assert detail["sponsorship"]["sponsor"]["website_url"] == "https://t.example/"
    assert detail["body"] == [
        {"type": "paragraph", "html": "It starts with a <b>sound</b>."},
        {"type": "list", "items": ["Voice first", "Captions second"]},
    ]
    assert detail["hero"]["renditions"]
    insights = api_client.get("/api/v1/insights/?sponsor=tiktok").json()["results"]
    assert [item["slug"] for item in insights] == [article.slug]
    status = api_client.get(f"/api/v1/submissions/{submission_id}/").json()["status"]
    assert status == "approved"
