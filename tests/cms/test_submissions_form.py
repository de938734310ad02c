"""The server-rendered "Add your own content +" form for signed-in partners."""

import pytest
from django.test import Client

from cms.models import Submission
from cms.submissions import submission_reject
from tests.cms.factories import TopicFactory
from tests.conftest import media_files
from tests.images import image_bytes, upload
from tests.sponsors.factories import PartnerFactory, SubmissionFactory, editor_user

pytestmark = pytest.mark.django_db

HOME, SUBMIT, LOGIN = "/partners/", "/partners/submit/", "/partners/login/"


@pytest.fixture
def partner(client):
    partner = PartnerFactory(sponsor__name="TikTok")
    client.force_login(partner.user)
    return partner


def form(**overrides):
    return {
        "headline": "Sound-on creative",
        "standfirst": "Why it works.",
        "body_text": "A paragraph.\n\n## A heading\n\n- one\n- two",
        "hero_caption": "",
        "hero_alt": "",
        **overrides,
    }


def test_partner_signs_in_and_finds_the_add_link():
    partner = PartnerFactory()
    client = Client()
    assert client.get(HOME).url.startswith(f"{LOGIN}?next=")
    response = client.post(
        LOGIN, {"username": partner.user.username, "password": "a-long-test-password"}
    )
    assert response.status_code == 302 and response.url == HOME
    page = client.get(HOME).content.decode()
    assert f'href="{SUBMIT}"' in page
    assert "Add your own content +" in page


def test_form_page_has_csrf_protection(partner):
    client = Client(enforce_csrf_checks=True)
    client.force_login(partner.user)
    page = client.get(SUBMIT)
    assert page.status_code == 200
    assert 'name="csrfmiddlewaretoken"' in page.content.decode()
    assert client.post(SUBMIT, form()).status_code == 403
    assert not Submission.objects.exists()


def test_partner_submits_through_the_form(client, partner, media_root):
    topic = TopicFactory(name="Video")
    data = form(topics=[topic.pk], hero_image=upload("hero.png", image_bytes("PNG")))
    response = client.post(SUBMIT, data, follow=True)
    assert response.redirect_chain[-1][0] == HOME
    page = response.content.decode()
    assert "sent to our editors for review" in page
    assert "Sound-on creative" in page and "Pending review" in page
    submission = Submission.objects.get()
    assert submission.sponsor == partner.sponsor
    assert submission.submitted_by == partner.user
    assert submission.body == [
        {"type": "paragraph", "text": "A paragraph."},
        {"type": "heading", "text": "A heading"},
        {"type": "list", "items": ["one", "two"]},
    ]
    assert [link.topic for link in submission.submission_topics.all()] == [topic]
    assert submission.hero_renditions


def test_form_errors_are_shown_and_nothing_is_stored(client, partner, media_root):
    response = client.post(
        SUBMIT, form(headline="", hero_image=upload("x.png", b"not an image at all"))
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "This field is required." in page
    assert "not an image we can read" in page
    assert not Submission.objects.exists()
    assert media_files(media_root) == []
    response = client.post(SUBMIT, form(body_text="<script>alert(1)</script>"))
    assert response.status_code == 400
    assert "markup on its own is removed" in response.content.decode()


def test_form_shares_the_api_rate_limit(client, partner, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"submissions": "1/day"},
    }
    assert client.post(SUBMIT, form()).status_code == 302
    response = client.post(SUBMIT, form())
    assert response.status_code == 429
    assert "Too many submissions: a partner account may send at most 1 per day." in (
        response.content.decode()
    )
    assert Submission.objects.count() == 1


def test_partner_sees_only_its_own_submissions_and_the_rejection_reason(client, partner):
    mine = SubmissionFactory(submitted_by=partner.user, headline="My story")
    submission_reject(submission=mine, by=editor_user(), reason="Needs sources.")
    SubmissionFactory(headline="Someone else's story")
    page = client.get(HOME).content.decode()
    assert "My story" in page and "Reason: Needs sources." in page
    assert "Someone else" not in page


def test_accounts_that_are_not_partners_are_refused(client):
    client.force_login(editor_user())
    assert client.get(SUBMIT).status_code == 403
    assert client.post(SUBMIT, form()).status_code == 403
    assert client.get(HOME).status_code == 403
    assert not Submission.objects.exists()
