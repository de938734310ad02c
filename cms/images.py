"""Image uploads: the one place that decides what an acceptable image is, and how it is stored.

Every image field of the product is a ``SafeImageField``, and every upload path (admin forms,
the partner form, the API's multipart fields) asks the same question, ``validate_upload``, so
a refused file gets the same reason everywhere (``REASONS``, listed in the README). An upload
is accepted only when it is a still JPEG, PNG, WebP or GIF within the byte, pixel and memory
limits, and decodes; it is then re-encoded, which drops EXIF, GPS and any other metadata.
Validation happens before anything is written, so a refused upload leaves no file in
MEDIA_ROOT.

Nothing is decoded before the cheap checks pass: the size is read from the file's own header
(by ``declared_size`` here, before Pillow sees the file: Pillow's WebP reader allocates the
whole canvas as it opens), a second frame is looked for without decoding the first, and the
memory one decoded frame takes (width x height x bytes per pixel) is checked against
``IMAGE_MAX_DECODE_BYTES`` before the one decode. Animated images are refused: a banner
silently cut to its first frame is not the ad that was bought, and refusing needs no decoding.

Renditions (resized copies for front ends) are made once per source image and described in a
JSON field next to it, so API responses need no extra query or file access to list them.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import models
from PIL import Image, ImageOps, UnidentifiedImageError

ALLOWED_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}

# Widths (px) of the renditions front ends get; never upscaled.
RENDITION_WIDTHS = {"thumbnail": 320, "medium": 768, "large": 1600}

ACCEPTED = "Upload a JPEG, PNG, WebP or GIF."

# Every reason an upload is refused, by its stable code, in the order they are checked. The
# README's "Image rules" lists exactly these; tests/cms/test_image_bombs.py holds every upload
# path to them.
REASONS = {
    "image_too_large": "This file is %(size)s MB; images may be at most %(limit)s MB.",
    "image_svg": (
        "SVG files are not accepted: an SVG is a document that can carry scripts, which would "
        "run in readers' browsers. Upload a PNG or WebP instead (transparent backgrounds are "
        "kept)."
    ),
    "image_unreadable": f"This file is not an image we can read. {ACCEPTED}",
    "image_format": f"%(format)s files are not accepted. {ACCEPTED}",
    "image_too_many_pixels": (
        "This image has too many pixels: %(width)s x %(height)s pixels; the limit is "
        "%(limit)s megapixels."
    ),
    "image_animated": (
        "Animated images are not accepted (this file has more than one frame). Upload a still "
        "image."
    ),
    "image_too_much_memory": (
        "This image would take %(need)s MB of memory to decode; the limit is %(limit)s MB. "
        "Upload a smaller image."
    ),
    "image_corrupt": "This image is damaged or incomplete and cannot be decoded.",
}

# Bytes Pillow holds per pixel of a decoded image, by mode; every other mode takes 4 (RGB is
# stored padded to 4 bytes, like RGBA, CMYK, LA, I and F).
_BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2}

_RASTER_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"RIFF")


@dataclass(frozen=True)
class ImageInfo:
    format: str
    width: int
    height: int


def refusal(code: str, **params: Any) -> ValidationError:
    """The ValidationError for one of ``REASONS``."""
    return ValidationError(REASONS[code], code=code, params=params or None)


def _megabytes(size: int) -> float | int:
    value = round(size / 1_048_576, 1)
    return int(value) if value == int(value) else value


# ---------------------------------------------------------------------------------------------
# Reading headers without decoding


def _gif_size(data: bytes) -> tuple[int, int]:
    """The logical screen, grown to the first frame's extent (as Pillow grows it)."""
    width, height = struct.unpack("<HH", data[6:10])
    flags = data[10]
    pos = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    while pos < len(data) and data[pos] == 0x21:  # extensions: skip their sub-blocks
        pos += 2
        while pos < len(data) and data[pos]:
            pos += data[pos] + 1
        pos += 1
    if pos + 9 < len(data) and data[pos] == 0x2C:
        left, top, frame_width, frame_height = struct.unpack("<HHHH", data[pos + 1 : pos + 9])
        width, height = max(width, left + frame_width), max(height, top + frame_height)
    return width, height


def _webp_size(data: bytes) -> tuple[int, int] | None:
    kind = data[12:16]
    if kind == b"VP8X" and len(data) >= 30:  # extended: the canvas
        return 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(data[27:30], "little")
    if kind == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:  # lossless
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if kind == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":  # lossy
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    pos = 2
    while pos + 9 < len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # a start of frame
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return width, height
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            pos += 2
            continue
        pos += 2 + struct.unpack(">H", data[pos + 2 : pos + 4])[0]
    return None


def declared_size(data: bytes) -> tuple[int, int] | None:
    """Width and height as a JPEG, PNG, WebP or GIF header declares them, read without
    decoding (or None: another format, or a header too short to tell)."""
    try:
        if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
            return struct.unpack(">II", data[16:24])
        if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 13:
            return _gif_size(data)
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            return _webp_size(data)
        if data[:3] == b"\xff\xd8\xff":
            return _jpeg_size(data)
    except (struct.error, IndexError):
        return None
    return None


def looks_like_svg(head: bytes, name: str = "", content_type: str = "") -> bool:
    """True for an SVG (or gzipped SVG) upload, judged by its first bytes, name and type.

    A file that starts like a raster image is judged by its bytes alone (a PNG named .svg is
    a PNG, and gets the raster rules)."""
    if head.startswith(_RASTER_MAGIC):
        return False
    if name.lower().endswith((".svg", ".svgz")) or "svg" in content_type.lower():
        return True
    return b"<svg" in head[:4096].lower()


# ---------------------------------------------------------------------------------------------
# The rules


def _limits() -> tuple[int, int, int]:
    return settings.IMAGE_MAX_BYTES, settings.IMAGE_MAX_PIXELS, settings.IMAGE_MAX_DECODE_BYTES


def _check_pixels(width: int, height: int) -> None:
    _, max_pixels, _ = _limits()
    if width * height > max_pixels:
        raise refusal(
            "image_too_many_pixels", width=width, height=height, limit=max_pixels // 1_000_000
        )


def _open(data: bytes) -> Image.Image:
    """Open image bytes (reading headers only), turning every Pillow complaint into a reason."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Only a format whose header we do not read gets here (ours were measured already);
        # it is refused whatever its size, so say what it is not.
        raise refusal("image_unreadable") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, struct.error):
        raise refusal("image_unreadable") from None


def decode_bytes(image: Image.Image) -> int:
    """The memory decoding ``image``'s first frame takes: width x height x bytes per pixel."""
    return image.width * image.height * _BYTES_PER_PIXEL.get(image.mode, 4)


def _checked(
    data: bytes, *, name: str = "", content_type: str = "", still: bool = True
) -> Image.Image:
    """The upload decoded, once every rule that needs no decoding let it through.

    ``still=False`` (saving a file that was validated already, or one stored before animated
    images were refused) keeps an animated file's first frame instead of refusing it: only the
    first frame is ever decoded.
    """
    max_bytes, _, max_decode = _limits()
    if len(data) > max_bytes:
        raise refusal("image_too_large", size=_megabytes(len(data)), limit=_megabytes(max_bytes))
    if looks_like_svg(data[:4096], name, content_type):
        raise refusal("image_svg")
    declared = declared_size(data)
    if declared is not None:
        _check_pixels(*declared)  # before Pillow allocates anything
    image = _open(data)
    if image.format not in ALLOWED_FORMATS:
        raise refusal("image_format", format=image.format or "This kind of")
    _check_pixels(*image.size)
    try:
        # GIF: looks for a second frame's header without decoding the first; APNG and WebP
        # declare their frame count.
        animated = bool(getattr(image, "is_animated", False))
    except (OSError, ValueError, EOFError, struct.error):
        raise refusal("image_corrupt") from None
    if animated and still:
        raise refusal("image_animated")
    if decode_bytes(image) > max_decode:
        raise refusal(
            "image_too_much_memory",
            need=_megabytes(decode_bytes(image)),
            limit=_megabytes(max_decode),
        )
    try:
        image.load()  # the one decode: truncated or corrupt data fails here, not later
    except Exception:  # noqa: BLE001 - Pillow raises many types for corrupt data
        raise refusal("image_corrupt") from None
    return image


def inspect_image(data: bytes, *, name: str = "", content_type: str = "") -> ImageInfo:
    """Check an upload against every rule (``REASONS``); raise the first refusal."""
    image = _checked(data, name=name, content_type=content_type)
    assert image.format is not None  # _checked accepted one of ALLOWED_FORMATS
    return ImageInfo(format=image.format, width=image.width, height=image.height)


def _read(file: Any) -> bytes:
    """The upload's bytes, reading no more than one byte past the size limit."""
    max_bytes, _, _ = _limits()
    if hasattr(file, "seek"):
        file.seek(0)
    size = getattr(file, "size", None)
    if isinstance(size, int) and size > max_bytes:
        raise refusal("image_too_large", size=_megabytes(size), limit=_megabytes(max_bytes))
    data = file.read(max_bytes + 1)
    if hasattr(file, "seek"):
        file.seek(0)
    return data


def inspect_upload(file: Any) -> ImageInfo:
    """``inspect_image`` for an uploaded file, judged by its bytes, name and declared type."""
    return inspect_image(
        _read(file),
        name=getattr(file, "name", "") or "",
        content_type=getattr(file, "content_type", "") or "",
    )


def validate_image_file(file: Any) -> None:
    """Model-field validator: refuses anything ``inspect_upload`` refuses."""
    if file is None or getattr(file, "_committed", False):
        return  # an already stored file was checked when it was uploaded
    inspect_upload(file)


def _save_kwargs(fmt: str, image: Image.Image) -> dict[str, Any]:
    if fmt == "JPEG":
        return {"quality": 88, "optimize": True, "progressive": True}
    if fmt == "WEBP":
        return {"quality": 88, "method": 4}
    if fmt == "PNG":
        return {"optimize": True}
    return {}


def _prepare(image: Image.Image, fmt: str) -> Image.Image:
    ImageOps.exif_transpose(image, in_place=True)  # upright once EXIF is gone; no copy
    if fmt == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    return image


def reencode(data: bytes) -> tuple[bytes, ImageInfo]:
    """Check an upload and return it re-encoded without metadata, in its own format (a still:
    of a file stored before animated images were refused, its first frame)."""
    image = _checked(data, still=False)
    assert image.format is not None  # _checked accepted one of ALLOWED_FORMATS
    info = ImageInfo(format=image.format, width=image.width, height=image.height)
    out = io.BytesIO()
    prepared = _prepare(image, info.format)
    prepared.save(out, format=info.format, **_save_kwargs(info.format, prepared))
    return out.getvalue(), info


class SafeImageFormField(forms.ImageField):
    """Form field that reports our own clear messages before Django's generic one."""

    def to_python(self, data: Any) -> Any:
        if data in self.empty_values:
            return None
        inspect_upload(data)
        return super().to_python(data)


class SafeImageField(models.ImageField):
    """An ImageField that accepts only safe images and stores them re-encoded."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        validators = list(kwargs.pop("validators", []))
        if validate_image_file not in validators:
            validators.append(validate_image_file)
        kwargs["validators"] = validators
        super().__init__(*args, **kwargs)

    def formfield(self, **kwargs: Any) -> forms.Field | None:
        return super().formfield(**{"form_class": SafeImageFormField, **kwargs})

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        file = getattr(model_instance, self.attname)
        if file and not file._committed:
            data, info = reencode(_read(file))
            name = str(PurePosixPath(file.name).with_suffix("." + ALLOWED_FORMATS[info.format]))
            file.file = ContentFile(data, name=PurePosixPath(name).name)
            file.name = PurePosixPath(name).name
        return super().pre_save(model_instance, add)


# ---------------------------------------------------------------------------------------------
# Renditions


def build_renditions(name: str, widths: dict[str, int] | None = None) -> dict[str, Any]:
    """Make resized copies of a stored image; return their paths and sizes keyed by name.

    Each rendition is resized from the one decoded source (no full-size copy per rendition):
    the stored file passed the upload rules, so this decode fits IMAGE_MAX_DECODE_BYTES too.
    """
    widths = widths or RENDITION_WIDTHS
    with default_storage.open(name, "rb") as fh:
        source = Image.open(io.BytesIO(fh.read()))
        source.load()
    fmt: str = source.format if source.format != "GIF" else "PNG"  # type: ignore[assignment]  # a file Pillow opened has its format
    ext = ALLOWED_FORMATS[fmt]
    stem = PurePosixPath(name).stem
    result: dict[str, Any] = {
        "source": name,
        "original": {"path": name, "width": source.width, "height": source.height},
    }
    base = source.convert("RGBA") if source.mode == "P" else source
    for label, width in widths.items():
        image = base
        if image.width > width:
            height = max(1, round(image.height * width / image.width))
            image = image.resize((width, height), Image.Resampling.LANCZOS)
        image = _prepare(image, fmt)
        out = io.BytesIO()
        image.save(out, format=fmt, **_save_kwargs(fmt, image))
        path = default_storage.save(f"renditions/{stem}-{label}.{ext}", ContentFile(out.getvalue()))
        result[label] = {"path": path, "width": image.width, "height": image.height}
    return result


def delete_renditions(renditions: dict[str, Any] | None) -> None:
    """Remove rendition files that belonged to a replaced image."""
    for label, value in (renditions or {}).items():
        if label in ("source", "original") or not isinstance(value, dict):
            continue
        default_storage.delete(value["path"])


def refresh_renditions(instance: models.Model, image_field: str, renditions_field: str) -> None:
    """Rebuild renditions after a save when the source image changed (or was removed)."""
    file = getattr(instance, image_field)
    current = getattr(instance, renditions_field) or {}
    source = file.name if file else ""
    if current.get("source", "") == source:
        return
    delete_renditions(current)
    renditions = build_renditions(source) if source else {}
    setattr(instance, renditions_field, renditions)
    type(instance)._base_manager.filter(pk=instance.pk).update(**{renditions_field: renditions})


def rendition_urls(renditions: dict[str, Any] | None, request: Any = None) -> list[dict[str, Any]]:
    """Public description of renditions for APIs: name, absolute URL, width, height."""
    items = []
    for label, value in (renditions or {}).items():
        if label == "source" or not isinstance(value, dict):
            continue
        url = default_storage.url(value["path"])
        if request is not None:
            url = request.build_absolute_uri(url)
        items.append(
            {"name": label, "url": url, "width": value["width"], "height": value["height"]}
        )
    return items
