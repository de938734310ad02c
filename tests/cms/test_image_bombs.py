"""Image bombs and other refused files get the same reason on every upload path, and cost
neither memory nor time: nothing is decoded before the header, frame and memory checks.

Every path of the product that takes an image is tried with the same files: the admin's add
forms (author photo, article hero and body image, creative, sponsor logo), the partner form
page, the partner submissions API (partner token) and the ad-ops API (creative image, sponsor
logo; ad-ops token). Each must answer the field error of ``cms.images.REASONS`` that the rules
give (the same code where the page carries one, the same words everywhere), create no row and
write nothing to MEDIA_ROOT.
"""

import functools
import json
import os
import subprocess
import sys
from io import BytesIO

import pytest
from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError
from django.test import Client
from PIL import Image
from rest_framework.authtoken.models import Token

from cms import images
from cms.models import Article, ArticleBlock, Author, Submission
from sponsors.models import Creative, Sponsor
from tests.conftest import ContractAPIClient, media_files
from tests.images import (
    SVG,
    animated,
    gif_bomb,
    image_bytes,
    jpeg_declaring,
    pixel_bomb_gif,
    png_declaring,
    upload,
    webp_declaring,
)
from tests.sponsors.factories import PartnerFactory, UserFactory
from tests.sponsors.factories_ads import CampaignFactory, SlotFactory

pytestmark = pytest.mark.django_db


@functools.cache
def bomb() -> bytes:
    return gif_bomb(frames=30, size=(4000, 4000))


@functools.cache
def large_png() -> bytes:
    return image_bytes("PNG", (4000, 4000))  # RGBA: 64 MB decoded


# name, bytes (made on first use), declared type, the reason's code
CASES = {
    "animated-gif-30x4000x4000": ("bomb.gif", bomb, "image/gif", "image_animated"),
    "gif-10000x10000": ("huge.gif", pixel_bomb_gif, "image/gif", "image_too_many_pixels"),
    "png-20000x20000": (
        "huge.png",
        lambda: png_declaring(20_000, 20_000),
        "image/png",
        "image_too_many_pixels",
    ),
    "webp-9000x9000": (
        "huge.webp",
        lambda: webp_declaring(9_000, 9_000),
        "image/webp",
        "image_too_many_pixels",
    ),
    "gif-frame-past-its-10x10-screen": (
        "wide.gif",
        lambda: pixel_bomb_gif((10_000, 10_000), screen=(10, 10)),
        "image/gif",
        "image_too_many_pixels",
    ),
    "jpeg-30000x30000": (
        "huge.jpg",
        lambda: jpeg_declaring(30_000, 30_000),
        "image/jpeg",
        "image_too_many_pixels",
    ),
    "apng": ("moving.png", lambda: animated("PNG"), "image/png", "image_animated"),
    "animated-webp": ("moving.webp", lambda: animated("WEBP"), "image/webp", "image_animated"),
    "svg": ("logo.svg", lambda: SVG, "image/svg+xml", "image_svg"),
    "svg-named-png": ("logo.png", lambda: SVG, "image/png", "image_svg"),
    "truncated-png": (
        "cut.png",
        lambda: image_bytes("PNG", (300, 300))[:200],
        "image/png",
        "image_corrupt",
    ),
}


@pytest.fixture(params=list(CASES), ids=list(CASES))
def case(request):
    name, make, content_type, code = CASES[request.param]
    data = make()
    with pytest.raises(ValidationError) as refused:
        images.validate_image_file(upload(name, data, content_type))
    assert refused.value.code == code
    return {
        "file": lambda: upload(name, data, content_type),
        "code": code,
        "messages": refused.value.messages,
    }


def test_the_issues_bomb_is_the_issues_size():
    assert 380_000 < len(bomb()) < 400_000  # "30 frames at 4000x4000 (388 KB)"


def test_the_reasons_read_as_the_readme_says(settings):
    settings.IMAGE_MAX_PIXELS = 40_000_000
    with pytest.raises(ValidationError) as animated:
        images.inspect_image(bomb())
    assert animated.value.messages == [
        "Animated images are not accepted (this file has more than one frame). Upload a still "
        "image."
    ]
    with pytest.raises(ValidationError) as pixels:
        images.inspect_image(png_declaring(20_000, 20_000))
    assert pixels.value.messages == [
        "This image has too many pixels: 20000 x 20000 pixels; the limit is 40 megapixels."
    ]
    readme = (settings.BASE_DIR / "README.md").read_text()
    for code in images.REASONS:
        assert f"`{code}`" in readme, f"the README's image rules do not list {code}"
    for answer in (
        animated.value.messages[0],
        pixels.value.messages[0],
        images.REASONS["image_svg"],
        images.REASONS["image_unreadable"],
        images.REASONS["image_corrupt"],
    ):
        assert answer in readme


# ---------------------------------------------------------------------------------------------
# The paths


@pytest.fixture
def superuser_client():
    client = Client()
    client.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw"))
    return client


def form_errors(form, field):
    """(codes, messages) of one field's errors on a bound form."""
    errors = form.errors.as_data()[field]
    return [e.code for e in errors], [m for e in errors for m in e.messages]


def api_errors(response, field):
    assert response.status_code == 400, response.content[:500]
    body = response.json()
    assert set(body) == {"status", "code", "detail", "errors"}  # the API's error format
    return None, body["errors"][field]


def admin_author(client, file):
    response = client.post(
        "/admin/cms/author/add/", {"name": "Mei Tan", "slug": "mei-tan", "photo": file}
    )
    assert response.status_code == 200
    return form_errors(response.context["adminform"].form, "photo")


def _article(**extra):
    return {
        "headline": "A new article",
        "slug": "a-new-article",
        "kind": "news",
        "status": "draft",
        "article_topics-TOTAL_FORMS": "0",
        "article_topics-INITIAL_FORMS": "0",
        "blocks-TOTAL_FORMS": "0",
        "blocks-INITIAL_FORMS": "0",
        **extra,
    }


def admin_article_hero(client, file):
    response = client.post("/admin/cms/article/add/", _article(hero_image=file))
    assert response.status_code == 200
    return form_errors(response.context["adminform"].form, "hero_image")


def admin_article_block(client, file):
    data = _article(
        **{
            "blocks-TOTAL_FORMS": "1",
            "blocks-0-position": "0",
            "blocks-0-kind": "image",
            "blocks-0-alt_text": "A picture",
            "blocks-0-image": file,
        }
    )
    response = client.post("/admin/cms/article/add/", data)
    assert response.status_code == 200
    (blocks,) = [
        f.formset for f in response.context["inline_admin_formsets"] if f.formset.prefix == "blocks"
    ]
    return form_errors(blocks.forms[0], "image")


def admin_creative(client, file):
    slot = SlotFactory(key="leaderboard")
    data = {
        "campaign": CampaignFactory().pk,
        "name": "New banner",
        "kind": "image",
        "is_active": "on",
        "weight": 1,
        "click_url": "https://advertiser.example.com/",
        "alt_text": "A banner",
        "when_countdown_closes": "stop",
        "slots": [slot.pk],
        "image": file,
    }
    response = client.post("/admin/sponsors/creative/add/", data)
    assert response.status_code == 200
    return form_errors(response.context["adminform"].form, "image")


def admin_sponsor(client, file):
    data = {
        "name": "Lantern",
        "slug": "lantern",
        "is_active": "on",
        "sponsorships-TOTAL_FORMS": "0",
        "sponsorships-INITIAL_FORMS": "0",
        "logo": file,
    }
    response = client.post("/admin/sponsors/sponsor/add/", data)
    assert response.status_code == 200
    return form_errors(response.context["adminform"].form, "logo")


def partner_form(_client, file):
    client = Client()
    client.force_login(PartnerFactory().user)
    data = {"headline": "Sound-on", "body_text": "A paragraph.", "hero_image": file}
    response = client.post("/partners/submit/", data)
    assert response.status_code == 400
    return form_errors(response.context["form"], "hero_image")


def token_client(user):
    client = ContractAPIClient()  # every answer checked against the OpenAPI schema too
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def ad_ops_client():
    user = UserFactory(username="adops", is_staff=True)
    user.groups.add(Group.objects.get(name="Ad ops"))
    return token_client(user)


def partner_api(_client, file):
    api = token_client(PartnerFactory().user)
    data = {"headline": "Sound-on", "body_text": "A paragraph.", "hero_image": file}
    return api_errors(api.post("/api/v1/submissions/", data, format="multipart"), "hero_image")


def creative_api(_client, file):
    SlotFactory(key="leaderboard")
    data = {
        "campaign": CampaignFactory().pk,
        "name": "Banner",
        "kind": "image",
        "alt_text": "Awards banner",
        "click_url": "https://awards.example.com/",
        "slots": ["leaderboard"],
        "image": file,
    }
    response = ad_ops_client().post("/api/v1/ad-ops/creatives/", data, format="multipart")
    return api_errors(response, "image")


def sponsor_logo_api(_client, file):
    response = ad_ops_client().post(
        "/api/v1/ad-ops/sponsors/", {"name": "Lantern", "logo": file}, format="multipart"
    )
    return api_errors(response, "logo")


PATHS = [
    admin_author,
    admin_article_hero,
    admin_article_block,
    admin_creative,
    admin_sponsor,
    partner_form,
    partner_api,
    creative_api,
    sponsor_logo_api,
]

ROWS = [Author, Article, ArticleBlock, Creative, Sponsor, Submission]


@pytest.mark.parametrize("path", PATHS, ids=[p.__name__ for p in PATHS])
def test_every_upload_path_refuses_with_the_same_reason_and_writes_nothing(
    path, case, superuser_client, media_root
):
    before = {model: model.objects.count() for model in ROWS}
    codes, messages = path(superuser_client, case["file"]())
    assert messages == case["messages"]
    if codes is not None:  # pages carry the code; the API's error format carries the words
        assert codes == [case["code"]]
    created = {m.__name__: m.objects.count() - n for m, n in before.items()}
    # fixtures made a sponsor (partner, campaign) at most; the upload itself made nothing
    assert created["Author"] == created["Article"] == created["ArticleBlock"] == 0
    assert created["Creative"] == created["Submission"] == 0
    assert not Sponsor.objects.filter(name="Lantern").exists()
    assert media_files(media_root) == []


# ---------------------------------------------------------------------------------------------
# Memory and time: measured in a process of its own (tests/cms/image_probe.py)

PROBE_BOUND_MB = 200


def probe(tmp_path, data: bytes, **env) -> dict:
    path = tmp_path / "upload.bin"
    path.write_bytes(data)
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-m", "tests.cms.image_probe", str(path)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "cms.settings", **env},
        timeout=120,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (bomb, "image_animated"),
        (pixel_bomb_gif, "image_too_many_pixels"),
        (lambda: webp_declaring(9_000, 9_000), "image_too_many_pixels"),
        (lambda: png_declaring(20_000, 20_000), "image_too_many_pixels"),
    ],
    ids=["animated-gif-30x4000x4000", "gif-10000x10000", "webp-9000x9000", "png-20000x20000"],
)
def test_refusing_a_bomb_takes_almost_no_memory(tmp_path, make, code):
    # Before the rules were bounded, accepting the animated bomb grew the worker by 2.1 GB.
    measured = probe(tmp_path, make())
    assert measured["outcome"] == code
    assert measured["peak_growth_mb"] < PROBE_BOUND_MB, measured


def test_accepting_a_large_image_decodes_it_once_within_the_bound(tmp_path):
    # 4000 x 4000 RGBA: 64 MB decoded; validation and re-encoding share that one decode.
    measured = probe(tmp_path, large_png())
    assert measured["outcome"] == "accepted"
    assert measured["peak_growth_mb"] < PROBE_BOUND_MB, measured


def test_the_decode_budget_is_checked_before_decoding(tmp_path):
    measured = probe(tmp_path, large_png(), IMAGE_MAX_DECODE_BYTES=str(32 * 1024 * 1024))
    assert measured["outcome"] == "image_too_much_memory"
    assert measured["peak_growth_mb"] < 20, measured  # the 64 MB were never allocated


def test_the_decode_budget_counts_bytes_per_pixel(settings):
    settings.IMAGE_MAX_DECODE_BYTES = 1_048_576  # 1 MB
    rgba = image_bytes("PNG", (1000, 1000))  # 4 bytes a pixel: 3.8 MB decoded
    with pytest.raises(ValidationError) as refused:
        images.inspect_image(rgba)
    assert refused.value.messages == [
        "This image would take 3.8 MB of memory to decode; the limit is 1 MB. Upload a smaller "
        "image."
    ]
    out = BytesIO()
    Image.new("L", (1000, 1000), 128).save(out, format="PNG")  # 1 byte a pixel: 0.95 MB
    assert images.inspect_image(out.getvalue()).width == 1000


def test_an_oversize_upload_is_refused_without_reading_it(settings):
    settings.IMAGE_MAX_BYTES = 1_048_576
    big = upload("big.png", b"\0" * (3 * 1_048_576), "image/png")

    class Unreadable:
        name, content_type, size = big.name, big.content_type, big.size

        def seek(self, offset):
            pass

        def read(self, *args):
            raise AssertionError("an upload known to be too large is not read")

    with pytest.raises(ValidationError) as refused:
        images.validate_image_file(Unreadable())
    assert refused.value.messages == ["This file is 3 MB; images may be at most 1 MB."]


def test_a_stored_animated_gif_is_copied_as_its_first_frame():
    """Files stored before animated images were refused: a copy (campaign duplicate,
    submission approval) re-encodes their first frame only."""
    small = gif_bomb(frames=3, size=(40, 30))
    data, info = images.reencode(small)
    with Image.open(BytesIO(data)) as copy:
        assert (copy.format, copy.size, getattr(copy, "n_frames", 1)) == ("GIF", (40, 30), 1)
    assert (info.width, info.height) == (40, 30)


@pytest.mark.parametrize(
    ("fmt", "options"),
    [
        ("JPEG", {}),
        ("JPEG", {"progressive": True}),
        ("PNG", {}),
        ("GIF", {}),
        ("WEBP", {}),
        ("WEBP", {"lossless": True}),
        ("WEBP", {"exif": b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x00"}),  # extended (VP8X)
    ],
    ids=["jpeg", "progressive-jpeg", "png", "gif", "webp-lossy", "webp-lossless", "webp-vp8x"],
)
def test_the_header_gives_the_size_pillow_reads(fmt, options):
    data = image_bytes(fmt, (333, 211), **options)
    with Image.open(BytesIO(data)) as opened:
        assert images.declared_size(data) == opened.size == (333, 211)
