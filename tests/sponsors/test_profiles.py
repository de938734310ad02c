"""Sponsor profiles: what ad-ops enter, what is stored, and the admin they use."""

import io

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from PIL import Image

from sponsors.models import Sponsor
from tests.conftest import media_files
from tests.images import image_bytes, upload
from tests.sponsors.factories import SponsorFactory, SponsorshipFactory

pytestmark = pytest.mark.django_db

SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b'<script>alert("logo")</script><rect width="10" height="10"/></svg>'
)


@pytest.fixture
def adops(client):
    user = User.objects.create_superuser("adops", "adops@example.com", "a-long-password-1")
    client.force_login(user)
    return user


def form_data(**overrides):
    return {
        "name": "TikTok",
        "slug": "tiktok",
        "description": "A short-video platform.",
        "website_url": "https://www.tiktok.com/business/",
        "contact_email": "ads@example.com",
        "is_active": "on",
        "sponsorships-TOTAL_FORMS": "0",
        "sponsorships-INITIAL_FORMS": "0",
        **overrides,
    }


def test_slug_is_made_from_the_name_and_kept_unique():
    assert SponsorFactory(name="TikTok").slug == "tiktok"
    assert SponsorFactory(name="TikTok").slug == "tiktok-2"


def test_description_keeps_a_safe_subset_of_rich_text():
    sponsor = SponsorFactory(
        description='<b>Bold</b> <a href="javascript:alert(1)" onclick="x()">link</a>'
        "<script>alert(1)</script><img src=x onerror=alert(1)>"
    )
    assert "<b>Bold</b>" in sponsor.description
    for bad in ("script", "onclick", "onerror", "javascript:", "<img"):
        assert bad not in sponsor.description


@pytest.mark.parametrize("url", ["ftp://example.com/", "javascript:alert(1)", "example.com"])
def test_find_out_more_url_must_be_http_or_https(url):
    sponsor = SponsorFactory.build(website_url=url)
    with pytest.raises(ValidationError) as error:
        sponsor.full_clean()
    assert "website_url" in error.value.message_dict


def test_svg_logo_is_refused_with_the_reason(client, adops, media_root):
    data = form_data(logo=upload("logo.svg", SVG, "image/svg+xml"))
    response = client.post("/admin/sponsors/sponsor/add/", data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "SVG files are not accepted" in page
    assert "can carry scripts" in page
    assert not Sponsor.objects.exists()
    assert media_files(media_root) == []


def test_svg_renamed_as_png_is_still_refused_with_the_reason(client, adops, media_root):
    response = client.post(
        "/admin/sponsors/sponsor/add/", form_data(logo=upload("logo.png", SVG, "image/png"))
    )
    assert "SVG files are not accepted" in response.content.decode()
    assert media_files(media_root) == []


def test_svg_is_refused_by_model_validation_too():
    sponsor = SponsorFactory.build(logo=upload("logo.svg", SVG, "image/svg+xml"))
    with pytest.raises(ValidationError) as error:
        sponsor.full_clean()
    assert "SVG files are not accepted" in " ".join(error.value.message_dict["logo"])


def _alpha_at_corner(path: str) -> int:
    with default_storage.open(path, "rb") as fh:
        image = Image.open(io.BytesIO(fh.read()))
        image.load()
    assert image.mode in ("RGBA", "LA", "P"), image.mode
    return image.convert("RGBA").getpixel((0, 0))[3]


def _transparent_logo(fmt: str) -> bytes:
    image = Image.new("RGBA", (400, 120), (0, 0, 0, 0))
    image.paste((255, 0, 80, 255), (100, 20, 300, 100))
    out = io.BytesIO()
    image.save(out, format=fmt, **({"lossless": True} if fmt == "WEBP" else {}))
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_logo_transparency_is_kept_in_the_file_and_its_renditions(client, adops, fmt):
    name = f"logo.{fmt.lower()}"
    data = form_data(logo=upload(name, _transparent_logo(fmt), f"image/{fmt.lower()}"))
    response = client.post("/admin/sponsors/sponsor/add/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    sponsor = Sponsor.objects.get()
    assert _alpha_at_corner(sponsor.logo.name) == 0
    for name in ("thumbnail", "medium", "large"):
        assert _alpha_at_corner(sponsor.logo_renditions[name]["path"]) == 0


def test_admin_list_shows_logo_thumbnail_and_filters_and_searches(client, adops):
    with_logo = SponsorFactory(name="TikTok", logo=upload("logo.png", image_bytes("PNG")))
    SponsorFactory(name="Dormant Brand", is_active=False)
    page = client.get("/admin/sponsors/sponsor/").content.decode()
    thumbnail = with_logo.logo_renditions["thumbnail"]["path"]
    assert f'src="/media/{thumbnail}"' in page
    assert 'alt="TikTok logo"' in page
    active = client.get("/admin/sponsors/sponsor/?is_active__exact=1").content.decode()
    assert "TikTok" in active and "Dormant Brand" not in active
    found = client.get("/admin/sponsors/sponsor/?q=dormant").content.decode()
    assert "Dormant Brand" in found and ">TikTok<" not in found


def test_sponsor_page_lists_its_content(client, adops):
    sponsorship = SponsorshipFactory(article__headline="Creators and the sound-on feed")
    page = client.get(f"/admin/sponsors/sponsor/{sponsorship.sponsor.pk}/change/")
    html = page.content.decode()
    assert "Creators and the sound-on feed" in html
    assert f"/admin/cms/article/{sponsorship.article.pk}/change/" in html
    assert "Live" in html


def test_changelist_query_count_does_not_grow(client, adops):
    for _ in range(3):
        SponsorshipFactory()

    def count() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert client.get("/admin/sponsors/sponsor/").status_code == 200
        return len(queries)

    few = count()
    for _ in range(20):
        SponsorshipFactory()
    assert count() == few
