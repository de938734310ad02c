"""Partners submit content through the API and follow its review; no one else can."""

import datetime as dt
import json

import pytest
import time_machine
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from cms.models import Submission
from cms.submissions import submission_reject
from tests.cms.factories import TopicFactory
from tests.conftest import ContractAPIClient, media_files
from tests.images import image_bytes, jpeg_with_gps, upload
from tests.sponsors.factories import PartnerFactory, SubmissionFactory, editor_user

pytestmark = pytest.mark.django_db

URL = "/api/v1/submissions/"
ERROR_KEYS = {"status", "code", "detail", "errors"}

BLOCKS = [
    {"type": "paragraph", "text": "Brands are <em>listening</em> to their audience."},
    {"type": "heading", "text": "What changed"},
    {"type": "quote", "text": "Sound comes first.", "attribution": "A creative director"},
    {"type": "list", "items": ["Open with a voice", "Caption for the quiet viewers"]},
]


def client_for(user=None, *, contract=True):
    client = ContractAPIClient() if contract else APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def partner():
    return PartnerFactory(sponsor__name="TikTok")


@pytest.fixture
def api(partner):
    return client_for(partner.user)


def payload(**overrides):
    return {
        "headline": "Sound-on creative works",
        "standfirst": "Why.",
        "body": BLOCKS,
        **overrides,
    }


def test_partner_submits_blocks_and_sees_them_pending(api, partner):
    TopicFactory(name="TikTok")
    TopicFactory(name="Advertising")
    response = api.post(URL, payload(topics=["advertising", "tiktok"]), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "pending"
    assert body["sponsor"] == "tiktok"
    assert body["body"] == BLOCKS
    assert body["topics"] == ["advertising", "tiktok"]
    assert body["rejection_reason"] == ""
    assert body["word_count"] > 10
    assert response["Location"] == body["url"]
    submission = Submission.objects.get()
    assert submission.submitted_by == partner.user
    assert submission.sponsor == partner.sponsor


def test_body_can_be_sent_as_text(api):
    text = (
        "First paragraph of words.\n\n## A heading\n\n- one\n- two\n\n"
        "> Quoted words\n> — The speaker\n\nLast one."
    )
    response = api.post(URL, {"headline": "Text body", "body_text": text}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["body"] == [
        {"type": "paragraph", "text": "First paragraph of words."},
        {"type": "heading", "text": "A heading"},
        {"type": "list", "items": ["one", "two"]},
        {"type": "quote", "text": "Quoted words", "attribution": "The speaker"},
        {"type": "paragraph", "text": "Last one."},
    ]


def test_multipart_upload_with_hero_image_and_body_as_json(api, media_root):
    TopicFactory(name="Video")
    data = {
        "headline": "With a picture",
        "body": json.dumps(BLOCKS),
        "topics": ["video"],
        "hero_image": upload("photo.jpg", jpeg_with_gps(), "image/jpeg"),
        "hero_caption": "On set",
        "hero_alt": "A camera on a tripod",
    }
    response = api.post(URL, data, format="multipart")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["body"] == BLOCKS
    assert body["topics"] == ["video"]
    assert body["hero"]["alt"] == "A camera on a tripod"
    assert {r["name"] for r in body["hero"]["renditions"]} >= {"original", "thumbnail"}
    stored = Submission.objects.get().hero_image
    with stored.open("rb") as fh:
        assert b"SpyCam" not in fh.read()  # metadata stripped


def test_a_multipart_body_is_one_json_part_per_block_as_generated_clients_send_it(api):
    data = {"headline": "Form post", "body": [json.dumps(block) for block in BLOCKS]}
    response = api.post(URL, data, format="multipart")
    assert response.status_code == 201, response.json()
    assert response.json()["body"] == BLOCKS


@pytest.mark.parametrize(
    "body",
    [
        "[{not json",
        ["{}", "{not json"],
        "42",
        json.dumps([{"type": "video", "text": "x"}]),
        "[" * 100_000 + "]" * 100_000,  # nesting past Python's recursion limit
        json.dumps([{"type": "paragraph", "text": "x"}] * 101),
        [json.dumps({"type": "paragraph", "text": "x"})] * 101,
        "",
    ],
    ids=[
        "not-json",
        "one-part-not-json",
        "not-a-block",
        "bad-block",
        "deep-nesting",
        "101-blocks-in-one-part",
        "101-parts",
        "empty",
    ],
)
def test_a_multipart_body_that_is_not_json_blocks_is_a_400_naming_body(api, body):
    response = api.post(URL, {"headline": "Form post", "body": body}, format="multipart")
    assert response.status_code == 400, response.content[:300]
    answer = response.json()
    assert set(answer) == ERROR_KEYS
    assert any(key.split(".")[0] == "body" for key in answer["errors"]), answer
    assert not Submission.objects.exists()


def test_a_pending_submission_changes_its_body_by_multipart_too(api, partner):
    created = api.post(URL, payload(), format="json").json()
    blocks = [{"type": "paragraph", "text": "Rewritten from a form."}]
    response = api.patch(f"{URL}{created['id']}/", {"body": json.dumps(blocks)}, format="multipart")
    assert response.status_code == 200, response.json()
    assert response.json()["body"] == blocks


@pytest.mark.parametrize(
    "name, data",
    [
        ("notes.png", b"this is not an image"),
        ("big.png", image_bytes("PNG", size=(9000, 9000))),
    ],
)
def test_bad_hero_image_is_a_400_and_leaves_no_file(api, media_root, settings, name, data):
    settings.IMAGE_MAX_PIXELS = 50_000_000 if name == "notes.png" else 1_000_000
    response = api.post(
        URL,
        {"headline": "Pic", "body": json.dumps(BLOCKS), "hero_image": upload(name, data)},
        format="multipart",
    )
    assert response.status_code == 400
    assert "hero_image" in response.json()["errors"]
    assert not Submission.objects.exists()
    assert media_files(media_root) == []


@pytest.mark.parametrize(
    "field, value",
    [
        ("status", "approved"),
        ("sponsor", "someone-else"),
        ("reviewer", 1),
        ("decided_by", 1),
        ("rejection_reason", ""),
        ("word_count", 5),
        ("counts", {"views": 1000}),
        ("article", 3),
    ],
)
def test_fields_set_by_the_publisher_are_refused(api, field, value):
    response = api.post(URL, payload(**{field: value}), format="json")
    assert response.status_code == 400
    assert response.json()["errors"][field] == ["Set by the publisher; partners cannot set it."]
    assert not Submission.objects.exists()


def test_publisher_fields_are_refused_on_patch_too(api, partner):
    submission = SubmissionFactory(submitted_by=partner.user)
    response = api.patch(f"{URL}{submission.pk}/", {"status": "approved"}, format="json")
    assert response.status_code == 400
    submission.refresh_from_db()
    assert submission.status == "pending"


@pytest.mark.parametrize(
    "data, field",
    [
        ({"body": BLOCKS}, "headline"),
        ({"headline": "No body"}, "body"),
        ({"headline": "Both", "body": BLOCKS, "body_text": "Also text"}, "body"),
        ({"headline": "<script>alert(1)</script>", "body": BLOCKS}, "headline"),
        ({"headline": "x", "body": [{"type": "video", "text": "x"}]}, "body.0.type"),
        ({"headline": "x", "body": [{"type": "paragraph"}]}, "body"),
        ({"headline": "x", "body": [{"type": "paragraph", "text": "<script>x</script>"}]}, "body"),
        ({"headline": "x", "body": [{"type": "list", "items": []}]}, "body"),
        ({"headline": "x", "body": "not a list"}, "body"),
        ({"headline": "x", "body": BLOCKS, "topics": ["no-such-topic"]}, "topics"),
        ({"headline": "x", "body": BLOCKS, "topics": ["a", "b", "c", "d", "e", "f"]}, "topics"),
        ({"headline": "x" * 201, "body": BLOCKS}, "headline"),
        ({"headline": "x\x00y", "body": BLOCKS}, "headline"),
    ],
)
def test_unusable_input_is_a_400_with_field_errors(api, data, field):
    response = api.post(URL, data, format="json")
    assert response.status_code == 400
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert field in body["errors"], body
    assert not Submission.objects.exists()


def test_malformed_json_is_a_400(api):
    response = api.generic("POST", URL, "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_rate_limit_is_a_429_with_a_clear_message(api, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"submissions": "2/hour"},
    }
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assert api.post(URL, payload(), format="json").status_code == 201
    with time_machine.travel(start + dt.timedelta(minutes=10), tick=False):
        assert api.post(URL, payload(), format="json").status_code == 201
        response = api.post(URL, payload(), format="json")
        assert response.status_code == 429
        body = response.json()
        assert body["code"] == "throttled"
        assert body["detail"].startswith(
            "Too many submissions: a partner account may send at most 2 per hour. "
            "Try again in 50 minutes."
        )
        assert response["Retry-After"] == "3000"
        # Reading is not limited.
        assert api.get(URL).status_code == 200
    with time_machine.travel(start + dt.timedelta(minutes=61), tick=False):
        assert api.post(URL, payload(), format="json").status_code == 201
    assert Submission.objects.count() == 3


def test_rate_limit_is_per_partner(api, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"submissions": "1/hour"},
    }
    assert api.post(URL, payload(), format="json").status_code == 201
    assert api.post(URL, payload(), format="json").status_code == 429
    other = client_for(PartnerFactory().user)
    assert other.post(URL, payload(), format="json").status_code == 201


def test_partner_sees_its_submissions_with_status_and_reason(api, partner):
    editor = editor_user()
    mine_pending = SubmissionFactory(submitted_by=partner.user)
    mine_rejected = SubmissionFactory(submitted_by=partner.user)
    submission_reject(submission=mine_rejected, by=editor, reason="Too promotional.")
    SubmissionFactory()  # another partner's
    results = api.get(URL).json()["results"]
    assert [r["id"] for r in results] == [mine_rejected.pk, mine_pending.pk]
    assert results[0]["status"] == "rejected"
    assert results[0]["rejection_reason"] == "Too promotional."
    assert results[0]["decided_at"] is not None
    detail = api.get(f"{URL}{mine_rejected.pk}/").json()
    assert detail["rejection_reason"] == "Too promotional."
    assert "decided_by" not in detail  # who reviewed stays inside the newsroom


def test_partner_edits_and_withdraws_only_pending_submissions(api, partner):
    pending = SubmissionFactory(submitted_by=partner.user)
    response = api.patch(f"{URL}{pending.pk}/", {"headline": "Better headline"}, format="json")
    assert response.status_code == 200
    assert response.json()["headline"] == "Better headline"
    assert response.json()["body"] == pending.body  # untouched
    decided = SubmissionFactory(submitted_by=partner.user)
    submission_reject(submission=decided, by=editor_user(), reason="No.")
    response = api.patch(f"{URL}{decided.pk}/", {"headline": "Sneaky"}, format="json")
    assert response.status_code == 409
    assert "can no longer be changed" in response.json()["detail"]
    assert api.delete(f"{URL}{decided.pk}/").status_code == 409
    assert api.delete(f"{URL}{pending.pk}/").status_code == 204
    assert list(Submission.objects.values_list("pk", flat=True)) == [decided.pk]


def test_withdrawing_removes_the_image_files(api, media_root, django_capture_on_commit_callbacks):
    created = api.post(
        URL,
        {"headline": "Pic", "body": json.dumps(BLOCKS), "hero_image": upload()},
        format="multipart",
    ).json()
    assert media_files(media_root)
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"{URL}{created['id']}/").status_code == 204
    assert media_files(media_root) == []


def test_partner_of_an_inactive_sponsor_is_refused(partner, api):
    partner.sponsor.is_active = False
    partner.sponsor.save()
    response = api.post(URL, payload(), format="json")
    assert response.status_code == 403


# ---------------------------------------------------------------------------------------------
# The permission matrix: every endpoint and verb, for the owner, another partner, an anonymous
# caller and an editor.

ACTORS = ["own", "other_partner", "anonymous", "editor"]
EXPECTED = {
    # (method, on the item?) -> status for own, other partner, anonymous, editor
    ("get", False): (200, 200, 401, 403),
    ("post", False): (201, 201, 401, 403),
    ("get", True): (200, 404, 401, 403),
    ("patch", True): (200, 404, 401, 403),
    ("delete", True): (204, 404, 401, 403),
    ("put", True): (405, 405, 401, 403),
}


@pytest.mark.parametrize("method, on_item", list(EXPECTED))
@pytest.mark.parametrize("actor", ACTORS)
def test_permission_matrix(method, on_item, actor):
    owner = PartnerFactory(sponsor__name="Owner Co")
    submission = SubmissionFactory(submitted_by=owner.user, headline="Owner's story")
    user = {
        "own": owner.user,
        "other_partner": PartnerFactory(sponsor__name="Rival Co").user,
        "anonymous": None,
        "editor": editor_user(),
    }[actor]
    # PUT is not offered (so not in the schema): check it with a plain client.
    client = client_for(user, contract=method != "put")
    url = f"{URL}{submission.pk}/" if on_item else URL
    data = payload(headline="Changed") if method in ("post", "put", "patch") else None
    response = getattr(client, method)(url, data, format="json")
    expected = EXPECTED[(method, on_item)][ACTORS.index(actor)]
    assert response.status_code == expected, response.content
    assert set(response.json()) == ERROR_KEYS if expected >= 400 else True
    if expected == 401:
        assert response["WWW-Authenticate"] == "Token"
    if actor == "other_partner" and method == "get" and not on_item:
        assert response.json()["results"] == []
    submission_exists = Submission.objects.filter(pk=submission.pk)
    if actor != "own":
        # Nothing of the owner's changed.
        assert submission_exists.get().headline == "Owner's story"


def test_a_superuser_without_a_partner_account_is_refused():
    from django.contrib.auth.models import User

    root = User.objects.create_superuser("root", "root@example.com", "x-long-password")
    assert client_for(root).get(URL).status_code == 403


def test_session_login_does_not_open_the_api(client, partner):
    client.force_login(partner.user)
    assert client.get(URL).status_code == 401
