"""Image uploads: only real JPEG/PNG/WebP/GIF within limits, stored without metadata."""

import io
import struct
import zlib

import pytest
from django.contrib.auth.models import User
from PIL import Image

from cms.models import Author
from tests.conftest import media_files
from tests.images import image_bytes, jpeg_with_gps, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = User.objects.create_superuser("boss", "boss@example.com", "pw")
    client.force_login(user)
    return client


def add_author(client, file):
    return client.post(
        "/admin/cms/author/add/",
        {"name": "Mei Tan", "slug": "mei-tan", "role": "Reporter", "region": "", "photo": file},
    )


def huge_png(width: int, height: int) -> bytes:
    """A valid PNG header claiming width x height, with one compressed row of data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * (width + 1))
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def tiff_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (20, 20), (1, 2, 3)).save(out, format="TIFF")
    return out.getvalue()


EPS = (
    b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n%%EndComments\n"
    b"newpath 0 0 moveto 10 10 lineto stroke\nshowpage\n%%EOF\n"
)


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("notes.png", b"this is plain text, not a picture", "not an image we can read"),
        ("photo.jpg", tiff_bytes(), "TIFF files are not accepted"),
        ("logo.png", EPS, "not accepted"),
        ("cut.png", image_bytes("PNG", (300, 300))[:200], "damaged or incomplete"),
        ("bomb.png", huge_png(20_000, 20_000), "too many pixels"),
    ],
    ids=["text", "renamed-tiff", "renamed-eps", "truncated", "20000x20000"],
)
def test_refused_uploads_show_a_clear_error_and_leave_no_file(
    admin_client, media_root, name, data, message
):
    response = add_author(admin_client, upload(name, data))
    assert response.status_code == 200  # the form comes back with the error
    assert message in response.content.decode()
    assert not Author.objects.exists()
    assert media_files(media_root) == []


def test_oversize_file_is_refused(admin_client, media_root, settings):
    settings.IMAGE_MAX_BYTES = 2 * 1024 * 1024
    noisy = io.BytesIO()
    Image.effect_noise((1500, 1500), 100).convert("RGB").save(noisy, format="PNG")
    assert len(noisy.getvalue()) > settings.IMAGE_MAX_BYTES
    response = add_author(admin_client, upload("big.png", noisy.getvalue()))
    assert "images may be at most 2 MB" in response.content.decode()
    assert media_files(media_root) == []


def test_pixel_cap_is_checked_below_pillows_bomb_limit(admin_client, media_root, settings):
    settings.IMAGE_MAX_PIXELS = 1_000_000
    response = add_author(admin_client, upload("wide.png", huge_png(2_000, 1_000)))
    assert "2000 x 1000 pixels; the limit is 1 megapixels" in response.content.decode()
    assert media_files(media_root) == []


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF"])
def test_accepted_formats_are_stored_with_renditions(admin_client, media_root, fmt):
    response = add_author(
        admin_client, upload(f"photo.{fmt.lower()}", image_bytes(fmt, (900, 600)))
    )
    assert response.status_code == 302
    author = Author.objects.get()
    with Image.open(author.photo.path) as stored:
        assert stored.format == fmt
    assert author.photo_renditions["thumbnail"]["width"] == 320
    assert author.photo_renditions["thumbnail"]["height"] == 213
    assert author.photo_renditions["large"]["width"] == 900  # never upscaled


def test_metadata_is_stripped(admin_client, media_root):
    add_author(admin_client, upload("gps.jpg", jpeg_with_gps(), "image/jpeg"))
    author = Author.objects.get()
    with Image.open(author.photo.path) as stored:
        assert dict(stored.getexif()) == {}
        assert "exif" not in stored.info


def test_png_transparency_is_kept(admin_client, media_root):
    add_author(admin_client, upload("logo.png", image_bytes("PNG", (50, 50))))
    with Image.open(Author.objects.get().photo.path) as stored:
        assert stored.mode == "RGBA"
